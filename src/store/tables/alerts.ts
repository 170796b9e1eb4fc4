/**
 * The alert tables (migration 5): alerts (the state machine's latest record per alert),
 * alert_events (its transitions), outbox and deliveries (notifications and every attempt to
 * deliver one), silences. The store keeps of a notification only the columns it filters on and
 * the whole as JSON, so the types here are the few fields it reads, not the alert stage's.
 * Values are bound as parameters; only table names from the validated config are part of the
 * SQL text.
 */

import { UNIX_TIMESTAMPS } from "../read-settings.ts";
import type { Store } from "../store.ts";

/** What the outbox and deliveries tables read of a notification; the rest is kept as JSON. */
export interface StoredNotification {
  id: string;
  channel: string;
  kind: string;
  /** ISO 8601. */
  createdAt: string;
  alert: { fingerprint?: string | undefined };
}

export type OutboxStatus = "pending" | "delivered" | "failed" | "silenced";

/** One version of an outbox entry. */
export interface OutboxRecord<N extends StoredNotification = StoredNotification> {
  notification: N;
  status: OutboxStatus;
  attempts: number;
  /** Unix ms. */
  nextAttemptAt: number;
  lastError: string;
}

/** One attempt to deliver a notification. */
export interface DeliveryRecord {
  notification: StoredNotification;
  attempt: number;
  result:
    | { outcome: "success"; status: number; latencyMs: number }
    | {
        outcome: "failure" | "retry";
        status?: number | undefined;
        error: string;
        latencyMs: number;
      };
  /** Unix ms. */
  at: number;
}

function msText(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export async function saveOutbox(store: Store, entries: readonly OutboxRecord[]): Promise<void> {
  if (entries.length === 0) return;
  const updatedAt = Date.now();
  await store.client.insert({
    table: store.tables.outbox,
    values: entries.map((e, i) => ({
      Id: e.notification.id,
      Channel: e.notification.channel,
      Fingerprint: e.notification.alert.fingerprint ?? "",
      Kind: e.notification.kind,
      CreatedAt: msText(Date.parse(e.notification.createdAt)),
      Notification: JSON.stringify(e.notification),
      Status: e.status,
      Attempts: e.attempts,
      NextAttemptAt: msText(e.nextAttemptAt),
      LastError: e.lastError,
      // Versions of one id written in the same millisecond must still order: add the index.
      UpdatedAt: msText(updatedAt + i / 1000),
    })),
    format: "JSONEachRow",
  });
}

/** The pending entries; `N` is what the caller stored as the notification. */
export async function pendingOutbox<N extends StoredNotification>(
  store: Store,
): Promise<OutboxRecord<N>[]> {
  const result = await store.client.query({
    query: `SELECT Notification, Status, Attempts, toUnixTimestamp64Milli(NextAttemptAt) AS NextAttemptAt, LastError
FROM ${store.tables.outbox} FINAL WHERE Status = 'pending'`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    Notification: string;
    Status: OutboxStatus;
    Attempts: number;
    NextAttemptAt: string;
    LastError: string;
  }>();
  return rows.map((r) => ({
    notification: JSON.parse(r.Notification) as N,
    status: r.Status,
    attempts: Number(r.Attempts),
    nextAttemptAt: Number(r.NextAttemptAt),
    lastError: r.LastError,
  }));
}

export async function recordDeliveryAttempt(store: Store, attempt: DeliveryRecord): Promise<void> {
  const { result } = attempt;
  await store.client.insert({
    table: store.tables.deliveries,
    values: [
      {
        Time: msText(attempt.at),
        NotificationId: attempt.notification.id,
        Channel: attempt.notification.channel,
        Fingerprint: attempt.notification.alert.fingerprint ?? "",
        Attempt: attempt.attempt,
        Outcome: result.outcome,
        StatusCode: result.status ?? 0,
        Error: result.outcome === "success" ? "" : result.error,
        LatencyMs: Math.round(result.latencyMs),
      },
    ],
    format: "JSONEachRow",
  });
}

/** Outbox entries and delivery attempts of one alert, newest first. */
export async function deliveriesOf(
  store: Store,
  fingerprint: string,
): Promise<{ notifications: unknown[]; attempts: unknown[] }> {
  const [notifications, attempts] = await Promise.all([
    store.client
      .query({
        query: `SELECT Id, Channel, Kind, CreatedAt, Status, Attempts, NextAttemptAt, LastError
FROM ${store.tables.outbox} FINAL WHERE Fingerprint = {fingerprint:String} ORDER BY CreatedAt DESC LIMIT 200`,
        query_params: { fingerprint },
        format: "JSONEachRow",
      })
      .then((r) => r.json()),
    store.client
      .query({
        query: `SELECT Time, NotificationId, Channel, Attempt, Outcome, StatusCode, Error, LatencyMs
FROM ${store.tables.deliveries} WHERE Fingerprint = {fingerprint:String} ORDER BY Time DESC LIMIT 500`,
        query_params: { fingerprint },
        format: "JSONEachRow",
      })
      .then((r) => r.json()),
  ]);
  return { notifications, attempts };
}

/** The latest record of one alert. */
export interface StoredAlert {
  fingerprint: string;
  ruleId: string;
  state: string;
  /** The state machine's record, JSON. */
  record: string;
}

export async function saveAlerts(store: Store, rows: StoredAlert[]): Promise<void> {
  if (rows.length === 0) return;
  const updatedAt = Date.now();
  await store.client.insert({
    table: store.tables.alerts,
    values: rows.map((r, i) => ({
      Fingerprint: r.fingerprint,
      RuleId: r.ruleId,
      State: r.state,
      Record: r.record,
      UpdatedAt: msText(updatedAt + i / 1000),
    })),
    format: "JSONEachRow",
  });
}

/** The latest record of every alert (optionally only in one state). */
export async function loadAlerts(store: Store, state?: string): Promise<StoredAlert[]> {
  const result = await store.client.query({
    query: `SELECT Fingerprint, RuleId, State, Record FROM ${store.tables.alerts} FINAL
WHERE {state:String} = '' OR State = {state:String} ORDER BY Fingerprint`,
    query_params: { state: state ?? "" },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    Fingerprint: string;
    RuleId: string;
    State: string;
    Record: string;
  }>();
  return rows.map((r) => ({
    fingerprint: r.Fingerprint,
    ruleId: r.RuleId,
    state: r.State,
    record: r.Record,
  }));
}

/** One transition of an alert. */
export interface AlertEvent {
  at: number;
  fingerprint: string;
  ruleId: string;
  from: string;
  to: string;
  notification: string;
  failed: number;
  evaluated: number;
}

export async function appendAlertEvents(store: Store, events: AlertEvent[]): Promise<void> {
  if (events.length === 0) return;
  await store.client.insert({
    table: store.tables.alertEvents,
    values: events.map((e) => ({
      Time: msText(e.at),
      Fingerprint: e.fingerprint,
      RuleId: e.ruleId,
      FromState: e.from,
      ToState: e.to,
      Notification: e.notification,
      Failed: e.failed,
      Evaluated: e.evaluated,
    })),
    format: "JSONEachRow",
  });
}

export async function alertHistory(store: Store, fingerprint: string): Promise<unknown[]> {
  const result = await store.client.query({
    query: `SELECT * FROM ${store.tables.alertEvents} WHERE Fingerprint = {fingerprint:String} ORDER BY Time DESC LIMIT 500`,
    query_params: { fingerprint },
    format: "JSONEachRow",
    clickhouse_settings: UNIX_TIMESTAMPS,
  });
  return result.json();
}

export async function saveSilence(
  store: Store,
  id: string,
  silence: unknown,
  deleted: boolean,
): Promise<void> {
  await store.client.insert({
    table: store.tables.silences,
    values: [
      {
        Id: id,
        Silence: JSON.stringify(silence),
        Deleted: deleted ? 1 : 0,
        UpdatedAt: msText(Date.now()),
      },
    ],
    format: "JSONEachRow",
  });
}

export async function loadSilences(store: Store): Promise<unknown[]> {
  const result = await store.client.query({
    query: `SELECT Silence FROM ${store.tables.silences} FINAL WHERE Deleted = 0`,
    format: "JSONEachRow",
  });
  return (await result.json<{ Silence: string }>()).map((r) => JSON.parse(r.Silence) as unknown);
}

/**
 * Every silence saved, deleted ones too, with when each was deleted (unix ms, null if it was
 * not): what a backtest needs to apply the silences that held at each moment of the past.
 */
export async function silenceHistory(
  store: Store,
): Promise<{ silence: unknown; deletedAtMs: number | null }[]> {
  const result = await store.client.query({
    query: `SELECT Silence, Deleted, toUnixTimestamp64Milli(UpdatedAt) AS updatedAt
FROM ${store.tables.silences} FINAL`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ Silence: string; Deleted: number; updatedAt: string }>();
  return rows.map((r) => ({
    silence: JSON.parse(r.Silence) as unknown,
    deletedAtMs: Number(r.Deleted) === 1 ? Number(r.updatedAt) : null,
  }));
}
