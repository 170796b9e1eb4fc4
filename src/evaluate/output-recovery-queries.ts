/** The SQL of output recovery: outputs by insert time, and its checkpoint. */

import { UNIX_TIMESTAMPS } from "../store/read-settings.ts";
import type { Store } from "../store/store.ts";
import {
  SPAN_JOIN_SETTINGS,
  withSpanAttributes,
  type AgentOutputRow,
} from "../store/tables/agent-outputs.ts";
import { readCursor, writeCursor } from "../store/tables/cursors.ts";
import type { InsertKey, OutputRecoveryStore } from "./output-recovery.ts";

export function outputRecoveryStore(store: Store): OutputRecoveryStore {
  return {
    readCursor: (name) => readCursor(store, name),
    writeCursor: (name, value) => writeCursor(store, name, value),
    outputsInserted: (after, upto, from, limit) => outputsInserted(store, after, upto, from, limit),
  };
}

/**
 * Outputs inserted in (afterMs, uptoMs], past `from` in (InsertedAt, TraceId, SpanId) order.
 * The minmax index on InsertedAt (migration 4) skips the parts inserted before.
 */
export async function outputsInserted(
  store: Store,
  afterMs: number,
  uptoMs: number,
  from: InsertKey | undefined,
  limit: number,
): Promise<{ row: AgentOutputRow; key: InsertKey }[]> {
  const result = await store.client.query({
    query: `${withSpanAttributes(
      store,
      `SELECT * EXCEPT InsertedAt, toUnixTimestamp64Milli(InsertedAt) AS InsertedAtMs
FROM ${store.tables.outputs}
WHERE InsertedAt > fromUnixTimestamp64Milli({after:Int64})
  AND InsertedAt <= fromUnixTimestamp64Milli({upto:Int64})
  AND (toUnixTimestamp64Milli(InsertedAt), TraceId, SpanId) > ({fromMs:Int64}, {fromTrace:String}, {fromSpan:String})
ORDER BY InsertedAt, TraceId, SpanId
LIMIT {limit:UInt32}`,
    )}
ORDER BY InsertedAtMs, TraceId, SpanId`,
    query_params: {
      after: afterMs,
      upto: uptoMs,
      fromMs: from?.insertedAtMs ?? afterMs,
      fromTrace: from?.traceId ?? "",
      fromSpan: from?.spanId ?? "",
      limit,
    },
    format: "JSONEachRow",
    clickhouse_settings: { ...UNIX_TIMESTAMPS, ...SPAN_JOIN_SETTINGS },
  });
  const rows = await result.json<AgentOutputRow & { InsertedAtMs: string }>();
  return rows.map(({ InsertedAtMs, ...row }) => ({
    row,
    key: { insertedAtMs: Number(InsertedAtMs), traceId: row.TraceId, spanId: row.SpanId },
  }));
}
