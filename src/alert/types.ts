/**
 * The alert stage's shared shapes: an alert (one per fingerprint), the notification that tells
 * people about a change of it, and the outcome of delivering one.
 */

import type { Severity } from "../rules/rule.ts";

export type AlertState = "pending" | "firing" | "resolved";

/** An example finding carried as evidence (at most 5 per alert). */
export interface AlertExample {
  traceId: string;
  spanId: string;
  field: string;
  observed: string;
  message: string;
  /** ISO 8601 time of the output. */
  at: string;
}

/** The latest evaluation behind a window rule's alert (rate and drift checks). */
export interface Measurement {
  checkType: "rate" | "drift" | "absent";
  /** The statistical test or "threshold". */
  method: string;
  field: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  /** above: drift when the value is at or above the threshold; below: when below. */
  direction: string;
  /** ISO 8601 bounds of the current window and of the reference (null without one). */
  windowStart: string;
  windowEnd: string;
  referenceStart: string | null;
  referenceEnd: string | null;
  currentSize: number;
  referenceSize: number;
  message: string;
  /** Absence rules: the entity's expected count (currentSize is the observed one) and its latest output. */
  absence?: { observed: number; expected: number; days: number; lastSeen: string | null };
}

export interface Alert {
  /** sha256 (first 16 hex digits) of the rule id and the grouping labels. */
  fingerprint: string;
  ruleId: string;
  ruleVersion: string;
  description: string;
  severity: Severity;
  runbook: string | undefined;
  /** The rule's labels, the grouping labels (service, agent by default), `rule` and `severity`. */
  labels: Record<string, string>;
  state: AlertState;
  /** Failed and evaluated outputs in the current window (for `each`: since it started firing). */
  counts: { failed: number; evaluated: number };
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
  /** When it started firing (ISO 8601), if it has. */
  startsAt: string | undefined;
  /** When it resolved (ISO 8601), if it has. */
  endsAt: string | undefined;
  examples: AlertExample[];
  /** Links built from the configured URL templates, by name (grafana, traces, plumbline …). */
  links: Record<string, string>;
  /** Window rules only: the evaluation that fired (or resolved) the alert. */
  measurement?: Measurement;
}

/** Why a notification is sent. */
export type NotificationKind = "firing" | "repeat" | "resolved" | "test";

/** What is sent to a channel, written to the outbox before any attempt. */
export interface Notification {
  /** Stable across retries: the `webhook-id`, so receivers can dedupe. */
  id: string;
  kind: NotificationKind;
  channel: string;
  alert: Alert;
  /** ISO 8601, when the notification was created. */
  createdAt: string;
}

/** The outcome of one delivery attempt, as a value. */
export type DeliveryResult =
  | { outcome: "success"; status: number; latencyMs: number }
  /** Never retried: a 4xx other than 408/429, or a payload the receiver refused. */
  | {
      outcome: "failure";
      status: number | undefined;
      error: string;
      latencyMs: number;
      disableChannel?: boolean;
    }
  /** Retried after `afterMs` (from Retry-After when the receiver sent one). */
  | {
      outcome: "retry";
      status: number | undefined;
      error: string;
      latencyMs: number;
      afterMs: number | undefined;
    };
