/**
 * otel_traces (migration 1): one row per span, keyed by column name as JSONEachRow wants it.
 * DateTime64(9) values are written as "<unix seconds>.<9 digits>" text.
 */

import type { Store } from "../store.ts";

/**
 * One span in the layout of the OpenTelemetry Collector contrib clickhouseexporter's
 * `otel_traces` table. Nested columns are written flattened (`Events.Name` …).
 */
export interface OtelTracesRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  /** Unspecified | Internal | Server | Client | Producer | Consumer */
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Record<string, string>;
  /** Nanoseconds, as a decimal string (UInt64). */
  Duration: string;
  /** Unset | Ok | Error */
  StatusCode: string;
  StatusMessage: string;
  "Events.Timestamp": string[];
  "Events.Name": string[];
  "Events.Attributes": Record<string, string>[];
  "Links.TraceId": string[];
  "Links.SpanId": string[];
  "Links.TraceState": string[];
  "Links.Attributes": Record<string, string>[];
}

/** Every span of these traces, oldest first, times as "<seconds>.<9 digits>" text. */
export async function spansOfTraces(
  store: Store,
  traceIds: readonly string[],
): Promise<OtelTracesRow[]> {
  if (traceIds.length === 0) return [];
  const result = await store.client.query({
    query: `SELECT * EXCEPT Timestamp, toString(toUnixTimestamp64Nano(Timestamp)) AS TimestampNanos,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), \`Events.Timestamp\`) AS EventNanos
FROM ${store.tables.traces}
WHERE TraceId IN {traceIds:Array(String)}
ORDER BY TimestampNanos`,
    query_params: { traceIds: [...traceIds] },
    format: "JSONEachRow",
  });
  const rows = await result.json<
    Omit<OtelTracesRow, "Timestamp" | "Events.Timestamp"> & {
      TimestampNanos: string;
      EventNanos: string[];
    }
  >();
  return rows.map(({ TimestampNanos, EventNanos, ...row }) => ({
    ...row,
    Timestamp: nanosText(TimestampNanos),
    "Events.Timestamp": EventNanos.map(nanosText),
  }));
}

/** "1700000000123456789" → "1700000000.123456789". */
function nanosText(nanos: string): string {
  const digits = nanos.padStart(10, "0");
  return `${digits.slice(0, -9)}.${digits.slice(-9)}`;
}
