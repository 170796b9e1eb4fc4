/** A drift_results row for tests of what consumes window evaluations (scheduler, backtest). */

import type { Rule } from "../../src/rules/rule.ts";
import type { WindowEvaluation } from "../../src/rules/findings.ts";

export function windowRow(
  rule: Rule,
  atMs: number,
  overrides: Partial<WindowEvaluation> = {},
): WindowEvaluation {
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    checkType: "drift",
    evaluatedAt: atMs,
    windowStart: atMs - 3_600_000,
    windowEnd: atMs,
    referenceStart: null,
    referenceEnd: null,
    field: "duration_ms",
    method: "ks",
    status: "ok",
    statistic: 0.1,
    pValue: 0.5,
    threshold: 0.05,
    direction: "below",
    currentSize: 100,
    referenceSize: 100,
    bins: [],
    currentCounts: [],
    referenceCounts: [],
    message: "",
    ...overrides,
  };
}
