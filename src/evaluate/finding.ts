/**
 * Findings, one place: checks produce drafts (what went wrong, where, seen and expected), and
 * `toFinding` stamps them with the rule and the span. Observed values are excerpted here, and
 * only here, so every finding's `observed` is at most EXCERPT_CHARS characters.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { Finding } from "../rules/findings.ts";
import type { Rule } from "../rules/rule.ts";

/** A finding before it knows its rule and span; `observed` is the raw value. */
export interface FindingDraft {
  code: string;
  path: string;
  message: string;
  observed: unknown;
  expected: string;
}

export const EXCERPT_CHARS = 200;

/** What a finding shows for a field that is not there. */
export const ABSENT = Symbol("absent");

/**
 * A short text form of a value: strings as they are, everything else as JSON, `(absent)` for
 * a missing field; cut to EXCERPT_CHARS characters with a trailing "…".
 */
export function excerpt(value: unknown): string {
  let text: string;
  if (value === ABSENT) text = "(absent)";
  else if (typeof value === "string") text = value;
  else if (value === undefined) text = "(undefined)";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
}

/** The finding of a draft about one output (or, for trace checks, one span of the trace). */
export function toFinding(
  rule: Pick<Rule, "id" | "version" | "severity" | "check">,
  span: FindingSpan,
  draft: FindingDraft,
): Finding {
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    severity: rule.severity,
    scope:
      rule.check.type === "trace"
        ? "trace"
        : rule.check.type === "conversation"
          ? "conversation"
          : "output",
    code: draft.code,
    path: draft.path,
    message: draft.message,
    observed: excerpt(draft.observed),
    expected: draft.expected,
    traceId: span.TraceId,
    spanId: span.SpanId,
    time: span.Timestamp,
    labels: {
      service: span.ServiceName,
      agent: span.AgentName,
      operation: span.Operation,
      model: span.Model,
      tool: span.ToolName,
    },
  };
}

/** What a finding takes from the output it is about. */
export type FindingSpan = Pick<
  AgentOutputRow,
  | "TraceId"
  | "SpanId"
  | "Timestamp"
  | "ServiceName"
  | "AgentName"
  | "Operation"
  | "Model"
  | "ToolName"
>;
