/**
 * evaluation_scores (migration 10): one row per evaluation result of an output, from the judge
 * (Source judge) or from the user's own evaluators' gen_ai.evaluation.result events (Source
 * event). Window rules read the judge's rows as evaluation.<name>.* fields
 * (evaluate/windows/sql-fields.ts), beside the events' copies in SpanAttributes.
 */

import { UNIX_TIMESTAMPS } from "../read-settings.ts";
import type { Store } from "../store.ts";

/** One evaluation result as stored. */
export interface EvaluationScore {
  /** The output's time, "<unix seconds>.<9 digits>". */
  time: string;
  traceId: string;
  spanId: string;
  name: string;
  source: "judge" | "event";
  /** The judge rule ("" for events). */
  ruleId: string;
  ruleVersion: string;
  service: string;
  agent: string;
  /** The judge's model ("" for events). */
  model: string;
  score: number | null;
  /** The judge's verdict (pass, fail), or the event's label. */
  label: string;
  explanation: string;
}

interface EvaluationScoreRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  Name: string;
  Source: string;
  RuleId: string;
  RuleVersion: string;
  ServiceName: string;
  AgentName: string;
  Model: string;
  Score: number | null;
  Label: string;
  Explanation: string;
}

export async function writeEvaluationScores(
  store: Store,
  scores: readonly EvaluationScore[],
): Promise<void> {
  if (scores.length === 0) return;
  await store.client.insert({
    table: store.tables.evaluationScores,
    values: scores.map((s): EvaluationScoreRow => ({
      Timestamp: s.time,
      TraceId: s.traceId,
      SpanId: s.spanId,
      Name: s.name,
      Source: s.source,
      RuleId: s.ruleId,
      RuleVersion: s.ruleVersion,
      ServiceName: s.service,
      AgentName: s.agent,
      Model: s.model,
      Score: s.score !== null && Number.isFinite(s.score) ? s.score : null,
      Label: s.label,
      Explanation: s.explanation,
    })),
    format: "JSONEachRow",
  });
}

/** The evaluation results of one trace, by name and span. */
export async function evaluationScoresOf(
  store: Store,
  traceId: string,
): Promise<EvaluationScore[]> {
  const result = await store.client.query({
    query: `SELECT * FROM ${store.tables.evaluationScores} FINAL WHERE TraceId = {trace:String}
ORDER BY Name, SpanId`,
    query_params: { trace: traceId },
    format: "JSONEachRow",
    clickhouse_settings: UNIX_TIMESTAMPS,
  });
  const rows = await result.json<EvaluationScoreRow>();
  return rows.map((row) => ({
    time: row.Timestamp,
    traceId: row.TraceId,
    spanId: row.SpanId,
    name: row.Name,
    source: row.Source === "event" ? "event" : "judge",
    ruleId: row.RuleId,
    ruleVersion: row.RuleVersion,
    service: row.ServiceName,
    agent: row.AgentName,
    model: row.Model,
    score: row.Score === null ? null : Number(row.Score),
    label: row.Label,
    explanation: row.Explanation,
  }));
}
