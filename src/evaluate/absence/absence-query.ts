/**
 * The SQL of absence rules (docs/silence.md): one query for every entity of a rule. For each
 * entity (the check's groupBy columns) it counts the matching outputs in the current window
 * [t − w, t) and in the same window on each of the `days` previous days, and finds its first
 * and last output in the history read, [t − days·24h − 2w, t). Rows are read without FINAL: a
 * span a client re-sent counts twice, which only raises a count, and a count far from zero is
 * all the test needs to know; not merging parts keeps a 7-day read cheap.
 */

import type { OutputLabelName } from "../../rules/alert-spec.ts";
import type { Store } from "../../store/store.ts";
import { SPAN_JOIN_SETTINGS } from "../../store/tables/agent-outputs.ts";
import { matchSql } from "../windows/sql-match.ts";
import { SqlParams } from "../windows/sql-params.ts";
import { outputsWithScores } from "../windows/window-queries.ts";
import type { MatchSpec } from "../../rules/rule.ts";

const DAY_MS = 86_400_000;

/** The agent_outputs column of each entity label. */
export const ENTITY_COLUMNS: Record<OutputLabelName, string> = {
  service: "ServiceName",
  agent: "AgentName",
  operation: "Operation",
  model: "Model",
  tool: "ToolName",
};

export interface EntityCounts {
  labels: Record<string, string>;
  /** counts[0]: the current window; counts[d]: the same window d days earlier. */
  counts: number[];
  firstMs: number;
  lastMs: number;
}

export interface AbsenceQuery {
  match: MatchSpec;
  groupBy: readonly OutputLabelName[];
  atMs: number;
  windowMs: number;
  days: number;
}

/** The SQL and its parameters (exported for tests that read the query). */
export function absenceSql(
  store: Store,
  q: AbsenceQuery,
): { query: string; params: Record<string, unknown> } {
  const params = new SqlParams();
  const match = matchSql(q.match, params);
  const at = params.add(q.atMs, "Int64");
  const day = params.add(DAY_MS, "Int64");
  const window = params.add(q.windowMs, "Int64");
  // One window more than the earliest day's: an entity that sent in it existed before that
  // day's window began, so the day counts even when its first output in the window came late.
  const from = params.add(q.atMs - q.days * DAY_MS - 2 * q.windowMs, "Int64");
  const bounds = `(Timestamp >= fromUnixTimestamp64Milli(${from}) AND Timestamp < fromUnixTimestamp64Milli(${at}))`;
  const columns = q.groupBy.map((label, i) => `${ENTITY_COLUMNS[label]} AS g${i}`);
  const keys = q.groupBy.map((_, i) => `g${i}`);
  // A row `delta` ms before t is in the window of day d = ⌊(delta − 1) / 24h⌋ when it is at
  // most w into that day (delta > 0: rows are before t).
  const perDay = Array.from({ length: q.days + 1 }, (_, d) => `countIf(inWindow AND d = ${d})`);
  const query = `SELECT ${keys.join(", ")},
  toUnixTimestamp64Milli(min(Timestamp)) AS firstMs,
  toUnixTimestamp64Milli(max(Timestamp)) AS lastMs,
  [${perDay.join(", ")}] AS counts
FROM (
  SELECT ${columns.join(", ")}, Timestamp,
    ${at} - toUnixTimestamp64Milli(Timestamp) AS delta,
    intDiv(delta - 1, ${day}) AS d,
    delta - d * ${day} <= ${window} AS inWindow
  FROM ${outputsWithScores(store, match, bounds, params, false)}
  WHERE ${bounds} AND (${match})
)
GROUP BY ${keys.join(", ")}
ORDER BY ${keys.join(", ")}`;
  return { query, params: params.values };
}

/** Every entity the rule's match saw in the history read, with its counts. */
export async function entityCounts(store: Store, q: AbsenceQuery): Promise<EntityCounts[]> {
  const { query, params } = absenceSql(store, q);
  const result = await store.client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: SPAN_JOIN_SETTINGS,
  });
  const rows = await result.json<Record<string, unknown>>();
  return rows.map((row) => ({
    labels: Object.fromEntries(q.groupBy.map((label, i) => [label, String(row[`g${i}`] ?? "")])),
    counts: (row["counts"] as unknown[]).map(Number),
    firstMs: Number(row["firstMs"]),
    lastMs: Number(row["lastMs"]),
  }));
}
