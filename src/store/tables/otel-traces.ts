/**
 * otel_traces (migration 1): one row per span, keyed by column name as JSONEachRow wants it.
 * DateTime64(9) values are written as "<unix seconds>.<9 digits>" text.
 */

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
