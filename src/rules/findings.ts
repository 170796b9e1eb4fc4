/**
 * What evaluating a rule produces, as the stages hand it on: findings and evaluation records
 * from evaluate to alert and to the store, window evaluations from the window scheduler. These
 * are domain values; the store maps them to its rows (src/store/tables/).
 */

import type { OutputLabelName } from "./alert-spec.ts";
import type { Severity } from "./rule.ts";

/** The output labels of a finding: the output (or trace span) it is about. */
export type OutputLabels = Record<OutputLabelName, string>;

/**
 * One failed evaluation, shaped like a zod issue: which rule, what went wrong, where (the
 * field), what was seen and what was expected, and the output it is about (its time and the
 * labels alerting groups by). Findings are collected, never thrown.
 */
export interface Finding {
  ruleId: string;
  ruleVersion: string;
  severity: Severity;
  /**
   * Output rules find per output, trace rules per trace, conversation rules per conversation
   * (each about one span of it).
   */
  scope: "output" | "trace" | "conversation";
  /** Conversation rules: the conversation the finding is about. */
  conversationId?: string;
  /**
   * A stable code: schema_violation, not_json, assertion_failed, expr_false, duplicate, …; one
   * of RULE_PROBLEM_CODES makes it a RuleProblem, never a failure.
   */
  code: string;
  /** The field the finding is about (a path of the rules grammar), or "" for the whole output. */
  path: string;
  message: string;
  /** An excerpt of the observed value (at most 200 characters). */
  observed: string;
  expected: string;
  traceId: string;
  spanId: string;
  /** The output's time: "<unix seconds>.<9 digits>", as outputs are stored. */
  time: string;
  labels: OutputLabels;
}

/**
 * A problem of the rule, not a verdict on the output: evaluating it threw (`rule_error`, or
 * `expr_error` inside an expression) or was stopped by the time or depth limit
 * (`expr_timeout`, reported only when its retry was stopped too). It never counts as a
 * failure, never steps an alert, and its evaluation is not counted at all (neither failed nor
 * passed); it is stored beside the findings (marked `rule_error`), logged, and counted per rule
 * (docs/rules.md "Rule problems"). Shaped like a finding so that it can be shown like one.
 */
export interface RuleProblem extends Finding {
  code: RuleProblemCode;
}

/**
 * judge_error: the judge could not be asked or its reply did not parse (after one retry);
 * judge_budget: the rule's or the overall tokens-per-day budget was spent, the output was not
 * judged (docs/judge.md). Neither says anything about the output.
 */
export type RuleProblemCode =
  "expr_timeout" | "expr_error" | "rule_error" | "judge_error" | "judge_budget";

/** The codes that make a finding-shaped value a rule problem. */
export const RULE_PROBLEM_CODES: ReadonlySet<string> = new Set<RuleProblemCode>([
  "expr_timeout",
  "expr_error",
  "rule_error",
  "judge_error",
  "judge_budget",
]);

/** Whether this is a problem of the rule rather than a failure of the output. */
export function isRuleProblem(finding: Finding): finding is RuleProblem {
  return RULE_PROBLEM_CODES.has(finding.code);
}

/**
 * One evaluation of a rule on one output (output rules) or one trace (trace rules), failed or
 * not: what failure ratios are counted from. An evaluation that ended in nothing but rule
 * problems judged nothing and has no record.
 */
export interface CheckEvaluation {
  ruleId: string;
  /** The output's (the trace's first matching output's) time, as in Finding. */
  time: string;
  service: string;
  agent: string;
  /**
   * traceId/spanId for output rules, traceId for trace rules, conversation:<id>/<traceId> for
   * conversation rules (one per turn): counted once however often evaluated.
   */
  outputKey: string;
  failed: boolean;
}

/**
 * One entity's part of an absence evaluation (docs/silence.md): its outputs in the window
 * against the count expected from the same window of earlier days.
 */
export interface AbsenceGroup {
  /** The entity: the check's groupBy labels (service, agent …) and their values. */
  labels: Record<string, string>;
  /** drift: silent; ok: sending as expected; insufficient: too sparse to tell. */
  status: "ok" | "drift" | "insufficient";
  observed: number;
  /** Mean count of the same window on the counted earlier days. */
  expected: number;
  /** How many earlier days counted (those since its first output in the history read). */
  days: number;
  /** P(X ≤ observed) for X ~ Poisson(expected). */
  pValue: number;
  /** Its latest output (unix ms), or null when none in the history read. */
  lastSeenMs: number | null;
  message: string;
}

/** One evaluation of a drift, rate or absent rule over its window. Times are unix milliseconds. */
export interface WindowEvaluation {
  ruleId: string;
  ruleVersion: string;
  checkType: "drift" | "rate" | "absent";
  evaluatedAt: number;
  windowStart: number;
  windowEnd: number;
  referenceStart: number | null;
  referenceEnd: number | null;
  field: string;
  method: string;
  /** ok: no drift, not breached; drift: drifted or breached; insufficient: too few samples. */
  status: "ok" | "drift" | "insufficient" | "error";
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  direction: string;
  currentSize: number;
  referenceSize: number;
  bins: string[];
  currentCounts: number[];
  referenceCounts: number[];
  message: string;
  /** Absence rules: one result per entity, each its own alert; the row above sums them up. */
  groups?: AbsenceGroup[];
}
