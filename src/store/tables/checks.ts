/**
 * The evaluation tables (migration 4): check_results (one row per finding), check_evaluations
 * and its per-minute counters check_counts. Findings and evaluation records come in as domain
 * values and are mapped to rows here. Values are bound as parameters; only table names from
 * the validated config are part of the SQL text.
 */

import type { CheckEvaluation, Finding } from "../../rules/findings.ts";
import type { Store } from "../store.ts";

export interface CheckResultRow {
  /** The output's (or trace's) time, DateTime64(9) text. */
  Timestamp: string;
  RuleId: string;
  RuleVersion: string;
  Severity: string;
  /** "output" or "trace". */
  Scope: string;
  ServiceName: string;
  AgentName: string;
  Operation: string;
  Model: string;
  ToolName: string;
  TraceId: string;
  SpanId: string;
  Code: string;
  Field: string;
  Message: string;
  Observed: string;
  Expected: string;
}

export interface CheckEvaluationRow {
  /** Unix seconds at the start of the output's minute. */
  Minute: number;
  RuleId: string;
  ServiceName: string;
  AgentName: string;
  /** traceId/spanId for output rules, traceId for trace rules: counted once however often evaluated. */
  OutputKey: string;
  Failed: 0 | 1;
}

export function checkResultRow(finding: Finding): CheckResultRow {
  return {
    Timestamp: finding.time,
    RuleId: finding.ruleId,
    RuleVersion: finding.ruleVersion,
    Severity: finding.severity,
    Scope: finding.scope,
    ServiceName: finding.labels.service,
    AgentName: finding.labels.agent,
    Operation: finding.labels.operation,
    Model: finding.labels.model,
    ToolName: finding.labels.tool,
    TraceId: finding.traceId,
    SpanId: finding.spanId,
    Code: finding.code,
    Field: finding.path,
    Message: finding.message,
    Observed: finding.observed,
    Expected: finding.expected,
  };
}

export function checkEvaluationRow(evaluation: CheckEvaluation): CheckEvaluationRow {
  return {
    Minute: minuteOf(evaluation.time),
    RuleId: evaluation.ruleId,
    ServiceName: evaluation.service,
    AgentName: evaluation.agent,
    OutputKey: evaluation.outputKey,
    Failed: evaluation.failed ? 1 : 0,
  };
}

/** Unix seconds at the start of the minute of a "<unix seconds>.<fraction>" time (0 if not one). */
function minuteOf(time: string): number {
  const seconds = Number(time.split(".")[0]);
  return Number.isFinite(seconds) ? Math.floor(seconds / 60) * 60 : 0;
}

export async function writeFindings(store: Store, findings: readonly Finding[]): Promise<void> {
  if (findings.length === 0) return;
  await store.client.insert({
    table: store.tables.checkResults,
    values: findings.map(checkResultRow),
    format: "JSONEachRow",
  });
}

export async function writeCheckEvaluations(
  store: Store,
  evaluations: readonly CheckEvaluation[],
): Promise<void> {
  if (evaluations.length === 0) return;
  await store.client.insert({
    table: store.tables.checkEvaluations,
    values: evaluations.map(checkEvaluationRow),
    format: "JSONEachRow",
  });
}

export interface CheckFilter {
  rule?: string | undefined;
  service?: string | undefined;
  trace?: string | undefined;
  since?: number | undefined;
  limit: number;
}

/** Findings, newest first. */
export async function listChecks(store: Store, filter: CheckFilter): Promise<unknown[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit };
  if (filter.rule !== undefined) {
    where.push("RuleId = {rule:String}");
    params["rule"] = filter.rule;
  }
  if (filter.service !== undefined) {
    where.push("ServiceName = {service:String}");
    params["service"] = filter.service;
  }
  if (filter.trace !== undefined) {
    where.push("TraceId = {trace:String}");
    params["trace"] = filter.trace;
  }
  if (filter.since !== undefined) {
    where.push("Timestamp >= fromUnixTimestamp64Milli({since:Int64})");
    params["since"] = filter.since;
  }
  const result = await store.client.query({
    query: `SELECT * FROM ${store.tables.checkResults} FINAL
${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
    query_params: params,
    format: "JSONEachRow",
  });
  return result.json();
}

export interface RuleCounts {
  evaluated: number;
  failed: number;
  /** Unix ms of the last minute with an evaluation, or undefined. */
  lastEvaluatedAt: number | undefined;
}

/** Per rule: outputs (or traces) evaluated and failed since `sinceMs`. */
export async function ruleCounts(store: Store, sinceMs: number): Promise<Map<string, RuleCounts>> {
  return countsByRule(
    store,
    `SELECT RuleId, uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed,
  toUnixTimestamp(max(Minute)) * 1000 AS last
FROM ${store.tables.checkCounts}
WHERE Minute >= toStartOfMinute(fromUnixTimestamp64Milli({since:Int64}))
GROUP BY RuleId`,
    sinceMs,
  );
}

/**
 * Runs a per-rule count query (columns RuleId, evaluated, failed, last in Unix ms; parameter
 * `since`) into RuleCounts by rule id.
 */
export async function countsByRule(
  store: Store,
  query: string,
  sinceMs: number,
): Promise<Map<string, RuleCounts>> {
  const result = await store.client.query({
    query,
    query_params: { since: sinceMs },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    RuleId: string;
    evaluated: string;
    failed: string;
    last: string;
  }>();
  return new Map(
    rows.map((r) => [
      r.RuleId,
      { evaluated: Number(r.evaluated), failed: Number(r.failed), lastEvaluatedAt: Number(r.last) },
    ]),
  );
}

/** Per (service, agent): failed / evaluated outputs of one rule over a window, by SQL. */
export async function rateCounts(
  store: Store,
  ruleId: string,
  windowMs: number,
): Promise<{ service: string; agent: string; evaluated: number; failed: number }[]> {
  const result = await store.client.query({
    query: `SELECT ServiceName, AgentName, uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed
FROM ${store.tables.checkCounts}
WHERE RuleId = {rule:String} AND Minute >= toStartOfMinute(now() - toIntervalSecond({window:UInt32}))
GROUP BY ServiceName, AgentName`,
    query_params: { rule: ruleId, window: Math.ceil(windowMs / 1000) },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    ServiceName: string;
    AgentName: string;
    evaluated: string;
    failed: string;
  }>();
  return rows.map((r) => ({
    service: r.ServiceName,
    agent: r.AgentName,
    evaluated: Number(r.evaluated),
    failed: Number(r.failed),
  }));
}
