/** The SQL of the quiet-trace evaluator: which traces have gone quiet. */

import type { Store } from "../store/store.ts";
import { outputsOfTraces } from "../store/tables/agent-outputs.ts";
import { readCursor, writeCursor } from "../store/tables/cursors.ts";
import type { QuietTraceStore } from "./quiet-traces.ts";

/** The quiet-trace evaluator's reads and its cursor, in the store. */
export function quietTraceStore(store: Store): QuietTraceStore {
  return {
    readCursor: (name) => readCursor(store, name),
    writeCursor: (name, value) => writeCursor(store, name, value),
    quietTraceIds: (after, upto) => quietTraceIds(store, after, upto),
    outputsOfTraces: (ids, lean) => outputsOfTraces(store, ids, lean),
  };
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
