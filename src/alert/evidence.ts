/**
 * An alert record turned into the Alert that notifications carry: the rule's description,
 * severity and runbook, labels, counts, times, examples and links.
 */

import type { Rule } from "../rules/rule.ts";
import { MAX_EXAMPLES } from "./examples.ts";
import { expandLinkTemplate, type LinkValues } from "./links.ts";
import type { AlertRecord } from "./state-machine.ts";
import type { Alert } from "./types.ts";

/** A link's time range is at least this wide, so one failure still opens a usable view. */
export const MIN_LINK_RANGE_MS = 60_000;

/**
 * The Alert of a record that is pending, firing or resolved (an inactive record is no alert:
 * passing one is a bug). Labels: the rule's, then the group labels, then `rule` and
 * `severity`; later ones win, empty values are left out. Links: each template (see links.ts)
 * whose values the alert has, plus `plumbline` (Plumbline's view of the first example's
 * trace, when there is an example) and `alert` (this alert in Plumbline's API).
 */
export function buildAlert(
  record: AlertRecord,
  rule: Pick<Rule, "id" | "version" | "description" | "severity" | "labels"> & {
    runbook?: string | undefined;
  },
  linkTemplates: Readonly<Record<string, string>>,
  externalUrl: string,
): Alert {
  if (record.state === "inactive" || record.pendingSince === undefined) {
    throw new Error(`alert ${record.fingerprint} is inactive; there is no alert to build`);
  }
  const firstSeen = record.firstSeen ?? record.pendingSince;
  const lastSeen = record.lastSeen ?? firstSeen;
  const resolvedAt = record.state === "resolved" ? record.resolvedAt : undefined;
  const examples = record.examples.slice(0, MAX_EXAMPLES);
  const first = examples[0];

  const values: LinkValues = {
    ruleId: rule.id,
    fingerprint: record.fingerprint,
    startsAtMs: String(firstSeen),
    endsAtMs: String(Math.max(resolvedAt ?? lastSeen, firstSeen + MIN_LINK_RANGE_MS)),
    ...(first !== undefined && { traceId: first.traceId, spanId: first.spanId }),
    ...(nonEmpty(record.labels.service) && { service: record.labels.service }),
  };
  const links: Record<string, string> = {};
  for (const [name, template] of Object.entries(linkTemplates)) {
    const link = expandLinkTemplate(template, values);
    if (link !== undefined) links[name] = link;
  }
  const base = externalUrl.replace(/\/+$/, "");
  // Plumbline's web UI: the first example's span in its trace, and the alert's page.
  if (first !== undefined) {
    links.plumbline = `${base}/traces/${encodeURIComponent(first.traceId)}?span=${encodeURIComponent(first.spanId)}`;
  }
  links.alert = `${base}/alerts/${encodeURIComponent(record.fingerprint)}`;

  return {
    fingerprint: record.fingerprint,
    ruleId: rule.id,
    ruleVersion: rule.version,
    description: rule.description,
    severity: rule.severity,
    runbook: rule.runbook,
    labels: withoutEmpty({
      ...rule.labels,
      ...record.labels,
      rule: rule.id,
      severity: rule.severity,
    }),
    state: record.state,
    counts: { failed: record.failed, evaluated: record.evaluated },
    firstSeen: iso(firstSeen),
    lastSeen: iso(lastSeen),
    startsAt: record.firingSince === undefined ? undefined : iso(record.firingSince),
    endsAt: resolvedAt === undefined ? undefined : iso(resolvedAt),
    examples,
    links,
    ...(record.measurement !== undefined && { measurement: record.measurement }),
  };
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}

function withoutEmpty(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== ""));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
