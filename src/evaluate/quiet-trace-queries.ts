/** The SQL of the quiet-trace evaluator: which traces have gone quiet. */

import type { Store } from "../store/store.ts";

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
