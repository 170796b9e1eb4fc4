/**
 * What every payload says the same way: the status a notification reports, the one-line
 * summary of an alert, and the links back to Plumbline.
 */

import type { Alert, Notification } from "../types.ts";

export type NotificationStatus = "firing" | "resolved";

/** `resolved` for a resolve message; a test reports the state of the alert it carries. */
export function notificationStatus(notification: Notification): NotificationStatus {
  if (notification.kind === "resolved") return "resolved";
  if (notification.kind === "test" && notification.alert.state === "resolved") return "resolved";
  return "firing";
}

/** `https://plumbline.example.com/` → `https://plumbline.example.com`. */
export function baseUrl(externalUrl: string): string {
  return externalUrl.replace(/\/+$/, "");
}

/** The alert's page in Plumbline's web UI: history, evidence and deliveries. */
export function alertUrl(externalUrl: string, alert: Pick<Alert, "fingerprint">): string {
  return `${baseUrl(externalUrl)}/alerts/${encodeURIComponent(alert.fingerprint)}`;
}

/** A trace in Plumbline's web UI, opened at one span (the failing output) when given. */
export function traceUrl(externalUrl: string, traceId: string, spanId?: string): string {
  const span = spanId === undefined || spanId === "" ? "" : `?span=${encodeURIComponent(spanId)}`;
  return `${baseUrl(externalUrl)}/traces/${encodeURIComponent(traceId)}${span}`;
}

/** `failed / evaluated` with the share, e.g. `12 of 340 outputs failed (3.5%)`. */
export function countsText(counts: Alert["counts"]): string {
  const share = failedShare(counts);
  if (share === undefined) return `${counts.failed} failed`;
  const outputs = counts.evaluated === 1 ? "output" : "outputs";
  return `${counts.failed} of ${counts.evaluated} ${outputs} failed (${share})`;
}

/** failed / evaluated as a percentage (`3.5%`, `12%`), or undefined when nothing was evaluated. */
export function failedShare(counts: Alert["counts"]): string | undefined {
  if (counts.evaluated <= 0) return undefined;
  const value = (counts.failed / counts.evaluated) * 100;
  if (value === 0 || value >= 10) return `${Math.round(value)}%`;
  return `${Number(value.toPrecision(2))}%`;
}

/** Where the alert is: `service billing-agent, agent invoice-extractor`, or "" without them. */
export function scopeText(labels: Record<string, string>): string {
  return ["service", "agent"]
    .filter((name) => labels[name])
    .map((name) => `${name} ${labels[name]}`)
    .join(", ");
}

/**
 * One line that says what happened, for chat previews, e-mail subjects and Alertmanager's
 * `summary`: `invoice-extraction-complete: 12 of 340 outputs failed (3.5%) in service
 * billing-agent, agent invoice-extractor`.
 */
export function alertSummary(alert: Alert): string {
  const scope = scopeText(alert.labels);
  return `${alert.ruleId}: ${whatText(alert)}${scope === "" ? "" : ` in ${scope}`}`;
}

/**
 * What the alert measured: the counts of failing outputs, or for a window rule (rate, drift)
 * its latest evaluation (`ks p-value 2.1e-9 < threshold 0.05`).
 */
export function whatText(alert: Alert): string {
  return alert.measurement?.message ?? countsText(alert.counts);
}

/** A string cut to at most `max` UTF-16 units with "…", never between a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
