/**
 * Reads and writes of the evaluation tables. Values are bound as parameters; only table
 * names from the validated config are part of the SQL text.
 */

import type { CheckEvaluationRow, CheckResultRow } from "./check-rows.ts";
import type { AgentOutputRow } from "./rows.ts";
import type { Store } from "./store.ts";

// Rows read back for the engine look as they did at ingest: DateTime64 as "<unix s>.<ns>",
// whatever the server's time zone.
const AS_INGESTED = { date_time_output_format: "unix_timestamp" } as const;

export async function writeCheckResults(store: Store, rows: CheckResultRow[]): Promise<void> {
  if (rows.length === 0) return;
  await store.client.insert({
    table: store.tables.checkResults,
    values: rows,
    format: "JSONEachRow",
  });
}

export async function writeCheckEvaluations(
  store: Store,
  rows: CheckEvaluationRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await store.client.insert({
    table: store.tables.checkEvaluations,
    values: rows,
    format: "JSONEachRow",
  });
}

/** A background job's durable position, or undefined before its first run. */
export async function readCursor(store: Store, name: string): Promise<number | undefined> {
  const result = await store.client.query({
    query: `SELECT argMax(Value, UpdatedAt) AS value FROM ${store.tables.cursors} WHERE Name = {name:String} HAVING count() > 0`,
    query_params: { name },
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ value: string }>();
  return row === undefined ? undefined : Number(row.value);
}

export async function writeCursor(store: Store, name: string, value: number): Promise<void> {
  await store.client.insert({
    table: store.tables.cursors,
    values: [{ Name: name, Value: value }],
    format: "JSONEachRow",
  });
}

/**
 * Traces with outputs inserted in (afterMs, uptoMs] and none after uptoMs: they have been quiet
 * since uptoMs. Times are insert times (InsertedAt), so late, back-dated spans count as new.
 */
export async function quietTraceIds(
  store: Store,
  afterMs: number,
  uptoMs: number,
): Promise<{ traceId: string; lastInsertMs: number }[]> {
  const { outputs } = store.tables;
  const result = await store.client.query({
    query: `SELECT TraceId, toUnixTimestamp64Milli(max(InsertedAt)) AS last FROM ${outputs}
WHERE TraceId IN (
  SELECT DISTINCT TraceId FROM ${outputs}
  WHERE InsertedAt > fromUnixTimestamp64Milli({after:Int64})
    AND InsertedAt <= fromUnixTimestamp64Milli({upto:Int64})
)
GROUP BY TraceId
HAVING max(InsertedAt) <= fromUnixTimestamp64Milli({upto:Int64})`,
    query_params: { after: afterMs, upto: uptoMs },
    format: "JSONEachRow",
  });
  return (await result.json<{ TraceId: string; last: string }>()).map((r) => ({
    traceId: r.TraceId,
    lastInsertMs: Number(r.last),
  }));
}

// The bulky columns, left out when the rules reading the rows never look at them; they then
// read as empty (no attributes, no input text).
const BULKY = "InputText, SpanAttributes, ResourceAttributes";

/**
 * Every output of these traces (duplicates from client retries collapsed), oldest first.
 * `lean` leaves the input text and the attribute maps out.
 */
export async function outputsOfTraces(
  store: Store,
  traceIds: string[],
  lean = false,
): Promise<AgentOutputRow[]> {
  if (traceIds.length === 0) return [];
  const columns = lean
    ? `* EXCEPT (InsertedAt, ${BULKY}), '' AS InputText, map() AS SpanAttributes, map() AS ResourceAttributes`
    : "* EXCEPT InsertedAt";
  const result = await store.client.query({
    query: `SELECT ${columns} FROM ${store.tables.outputs} FINAL
WHERE TraceId IN {traceIds:Array(String)} ORDER BY TraceId, Timestamp`,
    query_params: { traceIds },
    format: "JSONEachRow",
    clickhouse_settings: AS_INGESTED,
  });
  return result.json<AgentOutputRow>();
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

/** Outputs with Timestamp in [fromMs, toMs), oldest first (backtest pages). */
export async function outputsInWindow(
  store: Store,
  fromMs: number,
  toMs: number,
  service?: string,
): Promise<AgentOutputRow[]> {
  const result = await store.client.query({
    query: `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
WHERE Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
  AND ({service:String} = '' OR ServiceName = {service:String})
ORDER BY Timestamp`,
    query_params: { from: fromMs, to: toMs, service: service ?? "" },
    format: "JSONEachRow",
    clickhouse_settings: AS_INGESTED,
  });
  return result.json<AgentOutputRow>();
}

/** Ids of traces whose first output falls in [fromMs, toMs). */
export async function tracesStartingInWindow(
  store: Store,
  fromMs: number,
  toMs: number,
  service?: string,
): Promise<string[]> {
  const result = await store.client.query({
    query: `SELECT TraceId FROM ${store.tables.outputs}
WHERE ({service:String} = '' OR ServiceName = {service:String})
GROUP BY TraceId
HAVING min(Timestamp) >= fromUnixTimestamp64Milli({from:Int64}) AND min(Timestamp) < fromUnixTimestamp64Milli({to:Int64})`,
    query_params: { from: fromMs, to: toMs, service: service ?? "" },
    format: "JSONEachRow",
  });
  return (await result.json<{ TraceId: string }>()).map((r) => r.TraceId);
}

/** Unix ms of the oldest and newest stored outputs, or undefined when there are none. */
export async function outputTimeRange(
  store: Store,
): Promise<{ first: number; last: number } | undefined> {
  const result = await store.client.query({
    query: `SELECT toUnixTimestamp64Milli(min(Timestamp)) AS first, toUnixTimestamp64Milli(max(Timestamp)) AS last, count() AS n FROM ${store.tables.outputs}`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ first: string; last: string; n: string }>();
  return row === undefined || Number(row.n) === 0
    ? undefined
    : { first: Number(row.first), last: Number(row.last) };
}
