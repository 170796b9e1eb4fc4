/**
 * Rule health as an alert (docs/alerts.md "Rule health"): a rule that cannot do its job — a
 * judge rule out of budget, rate limited, unable to reach its judge or getting errors back,
 * any rule whose evaluations all end in rule problems — raises one alert labelled
 * `alert="rule_health"`, with the rule's id and its `state`, and resolves it once the rule is
 * ok again. A pure transition, as state-machine.ts: no clock, no I/O.
 *
 * It is a problem of the rule, never a failure of an output: the alert carries no counts and
 * no examples, and it has its own fingerprint, apart from the rule's own alerts, so it never
 * steps them.
 */

import type { Rule } from "../rules/rule.ts";
import { fingerprint } from "./fingerprint.ts";
import { newAlertRecord, type AlertRecord, type StepResult } from "./state-machine.ts";

/** How a rule is doing, as the evaluate stage reports it. */
export interface RuleHealthReport {
  ruleId: string;
  /**
   * `ok`, or the state it is stuck in: a judge rule's (budget_exhausted, rate_limited,
   * judge_unreachable, judge_errors), or `rule_errors` for a rule whose last evaluations all
   * hit a rule problem.
   */
  state: string;
  /** The last problem, for the alert's description. */
  message: string | undefined;
}

/** The label that tells a rule-health alert from the rule's own alerts. */
export const RULE_HEALTH_LABEL = { alert: "rule_health" } as const;

/** Rule-health alerts are warnings: the rule's outputs are not checked, none is known bad. */
const SEVERITY = "warning" as const;

export function ruleHealthFingerprint(ruleId: string): string {
  return fingerprint(ruleId, RULE_HEALTH_LABEL);
}

export function isRuleHealthRecord(record: Pick<AlertRecord, "labels">): boolean {
  return record.labels["alert"] === RULE_HEALTH_LABEL.alert;
}

/** A new, inactive rule-health record of `ruleId`. */
export function newRuleHealthRecord(ruleId: string): AlertRecord {
  return newAlertRecord({
    fingerprint: ruleHealthFingerprint(ruleId),
    ruleId,
    labels: { ...RULE_HEALTH_LABEL, state: "ok" },
  });
}

/**
 * The next record after a health report at `now`: not ok fires at once (a rule that cannot
 * judge is already a gap in coverage), a change of state is carried in the `state` label, a
 * firing alert is notified again `repeatIntervalMs` after its last notification, and ok
 * resolves it.
 */
export function stepRuleHealth(
  record: AlertRecord,
  report: RuleHealthReport,
  now: number,
  repeatIntervalMs: number,
): StepResult {
  const healthy = report.state === "ok";
  if (record.state !== "firing") {
    if (healthy) return { record };
    return {
      record: {
        ...record,
        labels: { ...record.labels, state: report.state },
        state: "firing",
        pendingSince: now,
        firingSince: now,
        firstSeen: now,
        lastSeen: now,
        lastNotifiedAt: now,
        resolvedAt: undefined,
        failed: 0,
        evaluated: 0,
        examples: [],
      },
      notify: "firing",
    };
  }
  if (healthy) {
    return {
      record: { ...record, state: "resolved", resolvedAt: now, lastNotifiedAt: now },
      notify: "resolved",
    };
  }
  // Unchanged while the state holds: nothing to save every tick.
  const next: AlertRecord =
    record.labels["state"] === report.state
      ? record
      : { ...record, labels: { ...record.labels, state: report.state }, lastSeen: now };
  if (now - (record.lastNotifiedAt ?? now) >= repeatIntervalMs) {
    return { record: { ...next, lastNotifiedAt: now }, notify: "repeat" };
  }
  return { record: next };
}

/** What the alert says of its rule: the rule's labels, a warning, a description of the state. */
export function ruleHealthAlertRule(
  rule: Pick<Rule, "id" | "version" | "labels">,
  record: Pick<AlertRecord, "labels">,
  message: string | undefined,
): Pick<Rule, "id" | "version" | "description" | "severity" | "labels"> {
  const state = record.labels["state"] ?? "unknown";
  return {
    id: rule.id,
    version: rule.version,
    labels: rule.labels,
    severity: SEVERITY,
    description: `Rule ${rule.id} is not healthy (${state.replaceAll("_", " ")}): its outputs are not being checked${message === undefined ? "" : ` (${message})`}. A problem of the rule, not a failure of any output.`,
  };
}
