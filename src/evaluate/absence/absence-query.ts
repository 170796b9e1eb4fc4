/**
 * The SQL of absence rules (docs/silence.md): one query for every entity of a rule, and for a
 * batch of evaluation times at once (a backtest, a catch-up after downtime). ClickHouse counts
 * each entity's (the check's groupBy columns) matching outputs per bucket of g ms, g the
 * greatest common divisor of `every`, `window` and a day, with the first and last output of
 * each bucket, over the history every evaluation of the batch reads, [t − days·24h − 2w, t).
 * Every window, and the same window on each earlier day, is then a whole run of buckets, so
 * each evaluation gets exactly the counts, first and last output a query of its own would
 * give (absence-query.test: both ways). A 20-minute window every 5 minutes over 7 days is
 * 2,016 buckets an entity at most, whatever the traffic.
 *
 * Rows are read without FINAL: a span a client re-sent counts twice, which only raises a count,
 * and a count far from zero is all the test needs to know; not merging parts keeps a 7-day
 * read cheap.
 */

import type { OutputLabelName } from "../../rules/alert-spec.ts";
import type { MatchSpec } from "../../rules/rule.ts";
import type { Store } from "../../store/store.ts";
import { SPAN_JOIN_SETTINGS } from "../../store/tables/agent-outputs.ts";
import { matchSql } from "../windows/sql-match.ts";
import { SqlParams } from "../windows/sql-params.ts";
import { outputsWithScores } from "../windows/window-queries.ts";

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
  /** Its first and last output (unix ms) in the history read, [t − days·24h − 2w, t). */
  firstMs: number;
  lastMs: number;
}

export interface AbsenceQuery {
  match: MatchSpec;
  groupBy: readonly OutputLabelName[];
  everyMs: number;
  windowMs: number;
  days: number;
}

/** One entity's buckets, oldest first. */
interface Buckets {
  labels: Record<string, string>;
  bucket: number[];
  count: number[];
  first: number[];
  last: number[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** How far back an evaluation at t reads: one window more than the earliest day's. */
const historyMs = (q: AbsenceQuery) => q.days * DAY_MS + 2 * q.windowMs;

/** The SQL and its parameters for evaluations at `atsMs` (exported for tests). */
export function absenceSql(
  store: Store,
  q: AbsenceQuery,
  atsMs: readonly number[],
): { query: string; params: Record<string, unknown>; bucketMs: number } {
  const params = new SqlParams();
  const match = matchSql(q.match, params);
  const bucketMs = gcd(gcd(q.everyMs, q.windowMs), DAY_MS);
  const from = params.add(Math.min(...atsMs) - historyMs(q), "Int64");
  const to = params.add(Math.max(...atsMs), "Int64");
  const bounds = `(Timestamp >= fromUnixTimestamp64Milli(${from}) AND Timestamp < fromUnixTimestamp64Milli(${to}))`;
  const columns = q.groupBy.map((label, i) => `${ENTITY_COLUMNS[label]} AS g${i}`);
  const keys = q.groupBy.map((_, i) => `g${i}`);
  const query = `SELECT ${keys.join(", ")}, groupArray(b) AS bucket, groupArray(n) AS count,
  groupArray(first) AS first, groupArray(last) AS last
FROM (
  SELECT ${keys.join(", ")}, intDiv(ms, ${params.add(bucketMs, "Int64")}) AS b, count() AS n,
    min(ms) AS first, max(ms) AS last
  FROM (
    SELECT ${columns.join(", ")}, toUnixTimestamp64Milli(Timestamp) AS ms
    FROM ${outputsWithScores(store, match, bounds, params, false)}
    WHERE ${bounds} AND (${match})
  )
  GROUP BY ${keys.join(", ")}, b
  ORDER BY b
)
GROUP BY ${keys.join(", ")}
ORDER BY ${keys.join(", ")}`;
  return { query, params: params.values, bucketMs };
}

/**
 * For each of `atsMs`, every entity the rule's match saw in that evaluation's history, with
 * its counts: one query for all of them.
 */
export async function entityCountsAt(
  store: Store,
  q: AbsenceQuery,
  atsMs: readonly number[],
): Promise<EntityCounts[][]> {
  if (atsMs.length === 0) return [];
  const { query, params, bucketMs } = absenceSql(store, q, atsMs);
  const result = await store.client.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: SPAN_JOIN_SETTINGS,
  });
  const rows = await result.json<Record<string, unknown>>();
  const entities: Buckets[] = rows.map((row) => ({
    labels: Object.fromEntries(q.groupBy.map((label, i) => [label, String(row[`g${i}`] ?? "")])),
    bucket: (row["bucket"] as unknown[]).map(Number),
    count: (row["count"] as unknown[]).map(Number),
    first: (row["first"] as unknown[]).map(Number),
    last: (row["last"] as unknown[]).map(Number),
  }));
  return atsMs.map((at) => entities.flatMap((e) => countsAt(e, q, at, bucketMs) ?? []));
}

/** One evaluation's counts of one entity from its buckets; undefined when it sent nothing then. */
function countsAt(
  e: Buckets,
  q: AbsenceQuery,
  atMs: number,
  bucketMs: number,
): EntityCounts | undefined {
  // Bucket b holds [b·g, (b+1)·g); every bound below is a multiple of g.
  const lo = firstIndexAtOrAfter(e.bucket, (atMs - historyMs(q)) / bucketMs);
  const hi = firstIndexAtOrAfter(e.bucket, atMs / bucketMs);
  if (lo >= hi) return undefined;
  const counts: number[] = [];
  for (let d = 0; d <= q.days; d++) {
    const start = (atMs - q.windowMs - d * DAY_MS) / bucketMs;
    const end = (atMs - d * DAY_MS) / bucketMs;
    let n = 0;
    for (let i = firstIndexAtOrAfter(e.bucket, start); i < hi && (e.bucket[i] ?? end) < end; i++) {
      n += e.count[i] ?? 0;
    }
    counts.push(n);
  }
  return {
    labels: e.labels,
    counts,
    firstMs: e.first[lo] ?? 0,
    lastMs: e.last[hi - 1] ?? 0,
  };
}

/** The index of the first bucket ≥ b (buckets sorted ascending). */
function firstIndexAtOrAfter(buckets: readonly number[], b: number): number {
  let low = 0;
  let high = buckets.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((buckets[mid] ?? 0) < b) low = mid + 1;
    else high = mid;
  }
  return low;
}
