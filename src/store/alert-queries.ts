/**
 * Reads and writes of the alert tables (migration 5). Values are bound as parameters; only
 * table names from the validated config are part of the SQL text.
 */

import type { DeliveryAttempt, OutboxEntry, OutboxStatus } from "../alert/delivery-worker.ts";
import type { Notification } from "../alert/types.ts";
import type { Store } from "./store.ts";

const AS_MS = { date_time_output_format: "unix_timestamp" } as const;

function msText(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export async function saveOutbox(store: Store, entries: OutboxEntry[]): Promise<void> {
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

export async function pendingOutbox(store: Store): Promise<OutboxEntry[]> {
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
    notification: JSON.parse(r.Notification) as Notification,
    status: r.Status,
    attempts: Number(r.Attempts),
    nextAttemptAt: Number(r.NextAttemptAt),
    lastError: r.LastError,
  }));
}

export async function recordDeliveryAttempt(store: Store, attempt: DeliveryAttempt): Promise<void> {
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

export interface AlertRow {
  fingerprint: string;
  ruleId: string;
  state: string;
  /** The state machine's record, JSON. */
  record: string;
}

export async function saveAlerts(store: Store, rows: AlertRow[]): Promise<void> {
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
export async function loadAlerts(store: Store, state?: string): Promise<AlertRow[]> {
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

export interface AlertEventRow {
  at: number;
  fingerprint: string;
  ruleId: string;
  from: string;
  to: string;
  notification: string;
  failed: number;
  evaluated: number;
}

export async function appendAlertEvents(store: Store, events: AlertEventRow[]): Promise<void> {
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
    clickhouse_settings: AS_MS,
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

/** Per (service, agent): failed / evaluated outputs of one rule over a window, by SQL. */
export async function rateCounts(
  store: Store,
  ruleId: string,
  windowMs: number,
): Promise<{ service: string; agent: string; evaluated: number; failed: number }[]> {
  const result = await store.client.query({
    query: `SELECT ServiceName, AgentName, uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed
FROM ${store.tables.checkCounts}
WHERE RuleId = {rule:String} AND Minute >= toStartOfMinute(now() - toIntervalSecond({window:UInt32}))
GROUP BY ServiceName, AgentName`,
    query_params: { rule: ruleId, window: Math.ceil(windowMs / 1000) },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    ServiceName: string;
    AgentName: string;
    evaluated: string;
    failed: string;
  }>();
  return rows.map((r) => ({
    service: r.ServiceName,
    agent: r.AgentName,
    evaluated: Number(r.evaluated),
    failed: Number(r.failed),
  }));
}
