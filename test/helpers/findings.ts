/** Findings and evaluation records as the engine hands them on, for alert and store tests. */

import type { CheckEvaluation, Finding } from "../../src/rules/findings.ts";

export function makeFinding(overrides: Partial<Finding> = {}): Finding {
  return {
    ruleId: "refund-json",
    ruleVersion: "0123456789ab",
    severity: "critical",
    scope: "output",
    code: "assertion_failed",
    path: "output.json.amount",
    message: "amount 900 is above 500",
    observed: "900",
    expected: "at most 500",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    time: "1769860800.250000000",
    labels: {
      service: "support",
      agent: "triage",
      operation: "chat",
      model: "gpt-4o-mini",
      tool: "",
    },
    ...overrides,
  };
}

/** The evaluation record of a finding's output (failed unless told otherwise). */
export function evaluationOf(finding: Finding, failed = true): CheckEvaluation {
  return {
    ruleId: finding.ruleId,
    time: finding.time,
    service: finding.labels.service,
    agent: finding.labels.agent,
    outputKey: finding.scope === "trace" ? finding.traceId : `${finding.traceId}/${finding.spanId}`,
    failed,
  };
}
