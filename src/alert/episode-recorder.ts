/**
 * The alert replay's store and outbox (alert-replay.ts): instead of saving the manager's
 * records and sending its messages, it cuts each alert's history into episodes — from pending
 * (or straight firing) to resolved, or dropped while pending — with their peak, their first
 * examples and when the alert took each in, and counts the messages each channel would have
 * received, those a silence held at the time apart.
 */

import type { Rule } from "../rules/rule.ts";
import type { AlertStateStore, AlertTransition } from "./alert-manager.ts";
import type { AlertEpisode, NotificationCounts, RuleAlerts } from "./alert-replay.ts";
import { addCounts } from "./alert-replay.ts";
import { buildAlert } from "./evidence.ts";
import { MAX_EXAMPLES } from "./examples.ts";
import { isSilenced, type Silence } from "./silences.ts";
import type { AlertRecord } from "./state-machine.ts";
import type { Measurement, Notification } from "./types.ts";

export interface EpisodeRecorder {
  /** The manager's store: the records it saves and the changes of state it appends. */
  store: AlertStateStore;
  /** The manager's outbox: every message it makes. */
  enqueue(notifications: Notification[]): Promise<void>;
  /** Whether any alert is pending or firing. */
  anyOpen(): boolean;
  /** What each rule's alerts did, in rule order; open episodes fire up to `untilMs`. */
  results(untilMs: number): RuleAlerts[];
}

/** An episode while it is being recorded. */
interface Recording {
  ruleId: string;
  episode: AlertEpisode;
  pendingSince: number;
  firingSince: number | undefined;
  seen: Set<string>;
  peakValue: number;
}

export function createEpisodeRecorder(options: {
  rules: readonly Rule[];
  silences?: readonly Silence[];
  /** The replay's clock. */
  now(): number;
}): EpisodeRecorder {
  const rulesById = new Map(options.rules.map((rule) => [rule.id, rule]));
  /** Fingerprint → the episode being recorded, or the last one (for its late messages). */
  const latest = new Map<string, Recording>();
  const open = new Set<string>();
  const episodes: Recording[] = [];

  /** A changed record, after a step at `options.now()`: starts an episode, widens its peak. */
  function observe(record: AlertRecord): void {
    if (record.state !== "pending" && record.state !== "firing") return;
    if (record.pendingSince === undefined) return;
    let recording = latest.get(record.fingerprint);
    if (recording !== undefined && open.has(record.fingerprint)) {
      // each: a pending episode that went quiet ends when the next failure starts a new one,
      // in the same step and without a change of state.
      if (recording.pendingSince !== record.pendingSince) close(recording, "dropped");
    }
    if (recording === undefined || !open.has(record.fingerprint)) {
      recording = startRecording(record);
      latest.set(record.fingerprint, recording);
      open.add(record.fingerprint);
      episodes.push(recording);
    }
    widenPeak(recording, record);
    for (const example of record.examples) {
      const key = JSON.stringify([example.traceId, example.spanId, example.field, example.at]);
      if (recording.seen.has(key)) continue;
      recording.seen.add(key);
      if (recording.episode.examples.length < MAX_EXAMPLES) {
        recording.episode.examples.push({ ...example, seenAt: iso(options.now()) });
      }
    }
  }

  function startRecording(record: AlertRecord): Recording {
    const rule = rulesById.get(record.ruleId);
    return {
      ruleId: record.ruleId,
      episode: {
        fingerprint: record.fingerprint,
        labels: rule === undefined ? { ...record.labels } : buildAlert(record, rule, {}, "").labels,
        group: Object.fromEntries(
          Object.entries(record.labels).filter(([, value]) => value !== ""),
        ),
        pendingAt: iso(record.pendingSince ?? options.now()),
        firingAt: null,
        resolvedAt: null,
        droppedAt: null,
        firingMs: 0,
        peak: { at: iso(options.now()), failed: 0, evaluated: 0, ratio: null },
        examples: [],
        notifications: emptyCounts(),
      },
      pendingSince: record.pendingSince ?? options.now(),
      firingSince: undefined,
      seen: new Set(),
      peakValue: Number.NEGATIVE_INFINITY,
    };
  }

  function widenPeak(recording: Recording, record: AlertRecord): void {
    const mode = rulesById.get(record.ruleId)?.alertSpec.mode;
    const ratio = record.evaluated > 0 ? record.failed / record.evaluated : null;
    const measurement = record.measurement;
    // each: the episode's counts only grow; rate: the worst window; window: the evaluation
    // furthest past its threshold in the direction that means drift.
    const value =
      mode === "each"
        ? record.failed
        : mode === "rate"
          ? (ratio ?? 0)
          : measurement === undefined
            ? Number.NEGATIVE_INFINITY
            : pastThreshold(measurement);
    if (value <= recording.peakValue) return;
    recording.peakValue = value;
    recording.episode.peak = {
      at: iso(mode === "each" ? (record.lastFailureAt ?? options.now()) : options.now()),
      failed: record.failed,
      evaluated: record.evaluated,
      ratio,
      ...(measurement !== undefined && { measurement }),
    };
  }

  function transition(event: AlertTransition): void {
    const recording = latest.get(event.record.fingerprint);
    if (recording === undefined) return;
    const { episode } = recording;
    if (event.notification !== "") episode.notifications[event.notification]++;
    if (event.record.state === "firing" && event.from !== "firing") {
      recording.firingSince = event.at;
      episode.firingAt = iso(event.at);
    }
    if (!open.has(event.record.fingerprint)) return;
    if (event.record.state === "resolved") close(recording, "resolved", event.at);
    if (event.record.state === "inactive") close(recording, "dropped", event.at);
  }

  function close(recording: Recording, how: "resolved" | "dropped", at = options.now()): void {
    const { episode } = recording;
    if (how === "resolved") episode.resolvedAt = iso(at);
    else episode.droppedAt = iso(at);
    if (recording.firingSince !== undefined) episode.firingMs = at - recording.firingSince;
    open.delete(episode.fingerprint);
  }

  function deliver(notification: Notification): void {
    const recording = latest.get(notification.alert.fingerprint);
    if (recording === undefined) return;
    const counts = recording.episode.notifications;
    const at = Date.parse(notification.createdAt);
    if (options.silences !== undefined && isSilenced(notification.alert, options.silences, at)) {
      counts.silenced++;
      return;
    }
    counts.channels[notification.channel] = (counts.channels[notification.channel] ?? 0) + 1;
  }

  return {
    store: {
      saveRecords: async (records) => {
        for (const record of records) observe(record);
      },
      appendEvents: async (events) => {
        for (const event of events) transition(event);
      },
    },
    enqueue: async (notifications) => {
      for (const notification of notifications) deliver(notification);
    },
    anyOpen: () => open.size > 0,
    results(untilMs) {
      for (const fingerprint of open) {
        const recording = latest.get(fingerprint);
        if (recording?.firingSince !== undefined) {
          recording.episode.firingMs = untilMs - recording.firingSince;
        }
      }
      return options.rules.map((rule) => {
        const alerts = episodes
          .filter((r) => r.ruleId === rule.id)
          .map((r) => r.episode)
          .sort((a, b) => a.pendingAt.localeCompare(b.pendingAt));
        const fired = alerts.filter((a) => a.firingAt !== null);
        return {
          ruleId: rule.id,
          mode: rule.alertSpec.mode,
          alerts,
          fired: fired.length,
          firingMs: fired.reduce((sum, a) => sum + a.firingMs, 0),
          notifications: addCounts(alerts.map((a) => a.notifications)),
        };
      });
    },
  };
}

/**
 * How far a measurement went towards drift, larger meaning further: a p-value is drift when
 * small (drift tests and rate baselines alike); a statistic in its `direction`.
 */
function pastThreshold(measurement: Measurement): number {
  if (measurement.pValue !== null) return -measurement.pValue;
  if (measurement.statistic === null) return Number.NEGATIVE_INFINITY;
  return measurement.direction === "above" ? measurement.statistic : -measurement.statistic;
}

function emptyCounts(): NotificationCounts {
  return { firing: 0, repeat: 0, resolved: 0, channels: {}, silenced: 0 };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
