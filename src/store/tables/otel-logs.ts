/**
 * otel_logs (migration 8): one row per log record, keyed by column name as JSONEachRow wants it,
 * in the layout of the OpenTelemetry Collector contrib clickhouseexporter's logs table.
 * Timestamp (DateTime64(9)) is written as "<unix seconds>.<9 digits>" text. The table's
 * `__otel_materialized_*` columns are computed by ClickHouse and never written.
 */

import type { Store } from "../store.ts";

export interface OtelLogsRow {
  Timestamp: string;
  /** Lowercase hex, or "" when the record has no trace. */
  TraceId: string;
  SpanId: string;
  /** UInt8: the low 8 bits of the record's flags (the W3C trace flags). */
  TraceFlags: number;
  SeverityText: string;
  /** UInt8: the SeverityNumber, cut to 8 bits as the exporter's uint8() does. */
  SeverityNumber: number;
  ServiceName: string;
  /** The body as text: pdata `AsString()`, maps and arrays as JSON. */
  Body: string;
  ResourceSchemaUrl: string;
  ResourceAttributes: Record<string, string>;
  ScopeSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Record<string, string>;
  LogAttributes: Record<string, string>;
  EventName: string;
}

/** A stored log record as the output completion reads it back (decode/log-events.ts). */
export interface StoredLogEvent {
  TraceId: string;
  SpanId: string;
  EventName: string;
  /** Unix nanoseconds as decimal text. */
  TimestampNanos: string;
  Body: string;
  LogAttributes: Record<string, string>;
}

/**
 * The GenAI log records of these traces that belong to a span (`gen_ai.*` by event name, or by
 * the older `event.name` attribute), oldest first.
 */
export async function genAiLogEventsOfTraces(
  store: Store,
  traceIds: readonly string[],
): Promise<StoredLogEvent[]> {
  if (traceIds.length === 0) return [];
  const result = await store.client.query({
    query: `SELECT TraceId, SpanId, EventName, toString(toUnixTimestamp64Nano(Timestamp)) AS TimestampNanos,
  Body, LogAttributes
FROM ${store.tables.logs}
WHERE TraceId IN {traceIds:Array(String)} AND SpanId != ''
  AND (startsWith(EventName, 'gen_ai.') OR startsWith(LogAttributes['event.name'], 'gen_ai.'))
ORDER BY Timestamp`,
    query_params: { traceIds: [...traceIds] },
    format: "JSONEachRow",
  });
  return result.json<StoredLogEvent>();
}
