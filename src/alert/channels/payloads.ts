/**
 * The exact bodies each channel format sends, as pure functions of a notification (documented,
 * with an example of each, in docs/alerts.md "Payloads"). Slack lives in slack-payload.ts.
 */

import type { Alert, AlertExample, Measurement, Notification, NotificationKind } from "../types.ts";
import type { Severity } from "../../rules/rule.ts";
import {
  alertSummary,
  alertUrl,
  baseUrl,
  notificationStatus,
  traceUrl,
  truncate,
  type NotificationStatus,
} from "./alert-text.ts";

export { slackPayload, type SlackPayloadOptions } from "./slack-payload.ts";

export const PLUMBLINE_PAYLOAD_VERSION = "plumbline.alert.v1";

/**
 * Our own format, version 1. A public contract: fields are only ever added within a version;
 * removing or changing one makes `plumbline.alert.v2`. Absent values are `null`, never missing.
 */
export interface PlumblinePayloadV1 {
  version: typeof PLUMBLINE_PAYLOAD_VERSION;
  /** Stable across retries and equal to the `webhook-id` header: dedupe on it. */
  id: string;
  kind: NotificationKind;
  status: NotificationStatus;
  channel: string;
  /** When the notification was made (ISO 8601); the same on every retry. */
  createdAt: string;
  /** When this attempt was made (ISO 8601). */
  sentAt: string;
  alert: {
    fingerprint: string;
    ruleId: string;
    ruleVersion: string;
    summary: string;
    description: string;
    severity: Severity;
    runbook: string | null;
    state: Alert["state"];
    labels: Record<string, string>;
    counts: { failed: number; evaluated: number };
    firstSeen: string;
    lastSeen: string;
    startsAt: string | null;
    endsAt: string | null;
    examples: (AlertExample & { url: string })[];
    links: Record<string, string>;
    /** Plumbline's API view of this alert (history, evidence, deliveries). */
    url: string;
    /** Rate and drift rules: the evaluation behind the notification; null for other rules. */
    measurement: Measurement | null;
  };
}

export interface PayloadOptions {
  /** Where people reach this Plumbline (`https://plumbline.example.com`); links start with it. */
  externalUrl: string;
  /** Unix ms of this attempt; defaults to the clock. */
  now?: number;
}

/** The `plumbline` format: the whole alert, versioned. */
export function plumblinePayload(
  notification: Notification,
  options: PayloadOptions,
): PlumblinePayloadV1 {
  const { alert } = notification;
  return {
    version: PLUMBLINE_PAYLOAD_VERSION,
    id: notification.id,
    kind: notification.kind,
    status: notificationStatus(notification),
    channel: notification.channel,
    createdAt: notification.createdAt,
    sentAt: new Date(options.now ?? Date.now()).toISOString(),
    alert: {
      fingerprint: alert.fingerprint,
      ruleId: alert.ruleId,
      ruleVersion: alert.ruleVersion,
      summary: alertSummary(alert),
      description: alert.description,
      severity: alert.severity,
      runbook: alert.runbook ?? null,
      state: alert.state,
      labels: { ...alert.labels },
      counts: { failed: alert.counts.failed, evaluated: alert.counts.evaluated },
      firstSeen: alert.firstSeen,
      lastSeen: alert.lastSeen,
      startsAt: alert.startsAt ?? null,
      endsAt: alert.endsAt ?? null,
      examples: alert.examples.map((example) => ({
        traceId: example.traceId,
        spanId: example.spanId,
        field: example.field,
        observed: example.observed,
        message: example.message,
        at: example.at,
        url: traceUrl(options.externalUrl, example.traceId, example.spanId),
      })),
      links: { ...alert.links },
      url: alertUrl(options.externalUrl, alert),
      measurement: alert.measurement === undefined ? null : { ...alert.measurement },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

/** Alertmanager writes Go's zero time as the endsAt of a firing alert in webhook bodies. */
export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

export interface AlertmanagerWebhookAlert {
  status: NotificationStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** alertmanager/notify/webhook `Message`: template.Data plus version, groupKey, truncatedAlerts. */
export interface AlertmanagerWebhookPayload {
  receiver: string;
  status: NotificationStatus;
  alerts: AlertmanagerWebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
}

/**
 * The Alertmanager webhook body (version "4"), so that anything that takes Alertmanager
 * webhooks (Grafana OnCall, PagerDuty and Opsgenie bridges, custom receivers) takes ours.
 * Plumbline groups by fingerprint (like `group_by: ['...']`), so the group labels are the
 * labels the alerts share, and the group key stays the same from firing to resolved.
 */
export function alertmanagerWebhookPayload(
  notifications: Notification | readonly Notification[],
  options: { receiver: string; externalUrl: string },
): AlertmanagerWebhookPayload {
  const list: readonly Notification[] = Array.isArray(notifications)
    ? notifications
    : [notifications as Notification];
  if (list.length === 0) throw new TypeError("an Alertmanager webhook body needs an alert");
  const alerts = list.map((notification): AlertmanagerWebhookAlert => {
    const { alert } = notification;
    const status = notificationStatus(notification);
    return {
      status,
      labels: alertmanagerLabels(alert),
      annotations: alertmanagerAnnotations(alert),
      startsAt: alert.startsAt ?? alert.firstSeen,
      endsAt: status === "firing" ? GO_ZERO_TIME : (alert.endsAt ?? notification.createdAt),
      generatorURL: alertUrl(options.externalUrl, alert),
      fingerprint: alert.fingerprint,
    };
  });
  const commonLabels = common(alerts.map((alert) => alert.labels));
  return {
    receiver: options.receiver,
    status: alerts.some((alert) => alert.status === "firing") ? "firing" : "resolved",
    alerts,
    groupLabels: commonLabels,
    commonLabels,
    commonAnnotations: common(alerts.map((alert) => alert.annotations)),
    externalURL: baseUrl(options.externalUrl),
    version: "4",
    groupKey: `{}:${labelSetString(commonLabels)}`,
    truncatedAlerts: 0,
  };
}

/** One postable alert of Alertmanager's API v2 (`POST /api/v2/alerts` takes an array). */
export interface AlertmanagerPostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/**
 * The body of `POST /api/v2/alerts`. Alertmanager keeps a firing alert until its endsAt, so a
 * firing one ends two resend intervals from now (Prometheus does the same with four): posted
 * again every `resendMs` it stays firing, and if Plumbline goes away it resolves by itself.
 * A resolved one ends now.
 */
export function alertmanagerApiAlerts(
  notification: Notification,
  options: PayloadOptions & { resendMs: number },
): AlertmanagerPostableAlert[] {
  const { alert } = notification;
  const now = options.now ?? Date.now();
  const firing = notificationStatus(notification) === "firing";
  return [
    {
      labels: alertmanagerLabels(alert),
      annotations: alertmanagerAnnotations(alert),
      startsAt: alert.startsAt ?? alert.firstSeen,
      endsAt: new Date(firing ? now + 2 * options.resendMs : now).toISOString(),
      generatorURL: alertUrl(options.externalUrl, alert),
    },
  ];
}

/**
 * The alert's labels as Alertmanager wants them: `alertname` (the rule id) and `severity`
 * added, names made valid Prometheus label names, empty values dropped (Prometheus treats an
 * empty label as absent), keys sorted as Go writes maps.
 */
export function alertmanagerLabels(alert: Alert): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(alert.labels)) {
    const key = labelName(name);
    if (value !== "" && !Object.hasOwn(labels, key)) labels[key] = value;
  }
  labels["alertname"] = alert.ruleId;
  labels["severity"] = alert.severity;
  return sorted(labels);
}

const MAX_ANNOTATION_OBSERVED = 200;

/**
 * Prometheus' conventional annotations (summary, description, runbook_url) plus the evidence:
 * counts, first and last seen, the examples (one per line) and their trace ids, and each
 * configured link as `<name>_url`.
 */
export function alertmanagerAnnotations(alert: Alert): Record<string, string> {
  const annotations: Record<string, string> = {
    summary: alertSummary(alert),
    description: alert.description,
    rule_version: alert.ruleVersion,
    failed: String(alert.counts.failed),
    evaluated: String(alert.counts.evaluated),
    first_seen: alert.firstSeen,
    last_seen: alert.lastSeen,
  };
  if (alert.runbook) annotations["runbook_url"] = alert.runbook;
  if (alert.examples.length > 0) {
    annotations["examples"] = alert.examples.map(exampleLine).join("\n");
    annotations["example_trace_ids"] = [...new Set(alert.examples.map((e) => e.traceId))].join(",");
  }
  for (const [name, url] of Object.entries(alert.links)) {
    const key = labelName(name.endsWith("_url") ? name : `${name}_url`);
    if (!Object.hasOwn(annotations, key)) annotations[key] = url;
  }
  return sorted(annotations);
}

/** `trace 4bf9… span 00f0… output.json: message (observed: …)`. */
export function exampleLine(example: AlertExample): string {
  const observed = truncate(example.observed.replace(/\s+/g, " "), MAX_ANNOTATION_OBSERVED);
  return `trace ${example.traceId} span ${example.spanId} ${example.field}: ${example.message} (observed: ${observed})`;
}

/** A valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`): other characters become `_`. */
function labelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(cleaned) || cleaned === "" ? `_${cleaned}` : cleaned;
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** The pairs every record has, with the same value (Alertmanager's common labels). */
function common(records: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = records;
  if (first === undefined) return {};
  return Object.fromEntries(
    Object.entries(first).filter(([name, value]) =>
      rest.every((record) => Object.hasOwn(record, name) && record[name] === value),
    ),
  );
}

/** Prometheus' LabelSet.String(): `{a="1", b="2"}`, sorted by name, values quoted. */
function labelSetString(labels: Record<string, string>): string {
  const pairs = Object.entries(sorted(labels)).map(
    ([name, value]) => `${name}=${JSON.stringify(value)}`,
  );
  return `{${pairs.join(", ")}}`;
}
