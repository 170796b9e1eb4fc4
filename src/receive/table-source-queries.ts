/**
 * Reads of the table source mode: span counts per minute of `otel_traces` (what changed), and
 * the spans of minutes that changed whose outputs are not stored yet, with the other spans of
 * their traces (for agent names). Timestamps come back as "seconds.nanoseconds".
 */

import type { OtelTracesRow } from "../store/tables/otel-traces.ts";
import type { Store } from "../store/store.ts";

/** Span count per minute (unix seconds of its start) with a start in [fromMs, toMs). */
export async function spanCountsPerMinute(
  store: Store,
  fromMs: number,
  toMs: number,
): Promise<Map<number, number>> {
  const result = await store.client.query({
    query: `SELECT toUnixTimestamp(toStartOfMinute(Timestamp)) AS minute, count() AS spans
FROM ${store.tables.traces}
WHERE Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
GROUP BY minute`,
    query_params: { from: fromMs, to: toMs },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ minute: number | string; spans: string }>();
  return new Map(rows.map((r) => [Number(r.minute), Number(r.spans)]));
}

/** A span row and whether it is new (in a changed minute, with no stored output yet). */
export type SourceSpanRow = OtelTracesRow & { IsNew: number };

/**
 * The spans of the given minutes that have no `agent_outputs` row yet (new, or never an
 * output), plus every other span of their traces (IsNew 0), oldest first.
 */
export async function newSpansOfMinutes(
  store: Store,
  minutes: readonly number[],
): Promise<SourceSpanRow[]> {
  if (minutes.length === 0) return [];
  const from = Math.min(...minutes);
  const to = Math.max(...minutes) + 60;
  const { traces, outputs } = store.tables;
  const result = await store.client.query({
    query: `WITH candidates AS (
  SELECT TraceId, SpanId FROM ${traces}
  WHERE Timestamp >= toDateTime({from:UInt32}) AND Timestamp < toDateTime({to:UInt32})
    AND toUnixTimestamp(toStartOfMinute(Timestamp)) IN {minutes:Array(UInt32)}
    AND (TraceId, SpanId) NOT IN (
      SELECT TraceId, SpanId FROM ${outputs}
      WHERE Timestamp >= toDateTime({from:UInt32}) AND Timestamp < toDateTime({to:UInt32})
    )
)
SELECT * EXCEPT Timestamp, toString(toUnixTimestamp64Nano(Timestamp)) AS TimestampNanos,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), \`Events.Timestamp\`) AS EventNanos,
  (TraceId, SpanId) IN (SELECT TraceId, SpanId FROM candidates) AS IsNew
FROM ${traces}
WHERE TraceId IN (SELECT TraceId FROM candidates)
ORDER BY TimestampNanos`,
    query_params: { from, to, minutes: [...minutes] },
    format: "JSONEachRow",
  });
  const rows = await result.json<
    Omit<SourceSpanRow, "Timestamp" | "Events.Timestamp" | "IsNew"> & {
      TimestampNanos: string;
      EventNanos: string[];
      IsNew: number | boolean;
    }
  >();
  return rows.map(({ TimestampNanos, EventNanos, IsNew, ...row }) => ({
    ...row,
    Timestamp: nanosText(TimestampNanos),
    "Events.Timestamp": EventNanos.map(nanosText),
    IsNew: IsNew === true || IsNew === 1 ? 1 : 0,
  }));
}

/** "1700000000123456789" → "1700000000.123456789". */
function nanosText(nanos: string): string {
  const digits = nanos.padStart(10, "0");
  return `${digits.slice(0, -9)}.${digits.slice(-9)}`;
}
