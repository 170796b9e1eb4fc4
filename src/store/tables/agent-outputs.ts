/**
 * Row shapes of the tables Plumbline writes, keyed by column name as JSONEachRow wants them.
 * DateTime64(9) values are written as "<unix seconds>.<9 digits>" text, which ClickHouse parses
 * without loss.
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

/** One row of `agent_outputs`. */
export interface AgentOutputRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  ServiceName: string;
  ServiceVersion: string;
  SpanName: string;
  Convention: string;
  Kind: string;
  Operation: string;
  AgentName: string;
  AgentId: string;
  ConversationId: string;
  Provider: string;
  RequestModel: string;
  ResponseModel: string;
  /** ResponseModel when known, else RequestModel: the one rules match on. */
  Model: string;
  InputText: string;
  OutputText: string;
  /** The output as JSON text when it parses as JSON, "" otherwise. */
  OutputJson: string;
  OutputIsJson: boolean;
  OutputType: string;
  FinishReason: string;
  ToolName: string;
  ToolCallId: string;
  ToolArguments: string;
  ToolResult: string;
  InputTokens: number | null;
  OutputTokens: number | null;
  /** Nanoseconds, as a decimal string (UInt64). */
  DurationNs: string;
  /** Unset | Ok | Error */
  StatusCode: string;
  StatusMessage: string;
  ErrorType: string;
  SpanAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
}
