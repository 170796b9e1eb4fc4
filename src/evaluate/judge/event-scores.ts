/**
 * External evaluations (docs/judge.md "External evaluations"): the results users' own
 * evaluators emit as gen_ai.evaluation.result events, which the decoder keeps as evaluation
 * span attributes (docs/conventions.md "Evaluation results"), stored as evaluation_scores rows
 * of Source event, beside the judge's: one table of every score, whoever gave it. Rules read
 * them as evaluation.<name>.* fields straight from the output, as before.
 */

import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { EvaluationScore } from "../../store/tables/evaluation-scores.ts";
import { evaluationsOf } from "../fields.ts";

/** The evaluation results of committed outputs, one score row per (output, name). */
export function eventScoresOf(rows: readonly AgentOutputRow[]): EvaluationScore[] {
  const scores: EvaluationScore[] = [];
  for (const row of rows) {
    for (const [name, parts] of Object.entries(evaluationsOf(row))) {
      scores.push({
        time: row.Timestamp,
        traceId: row.TraceId,
        spanId: row.SpanId,
        name,
        source: "event",
        ruleId: "",
        ruleVersion: "",
        service: row.ServiceName,
        agent: row.AgentName,
        model: "",
        score: typeof parts.score === "number" ? parts.score : null,
        label: typeof parts.label === "string" ? parts.label : "",
        explanation: typeof parts.explanation === "string" ? parts.explanation : "",
      });
    }
  }
  return scores;
}
