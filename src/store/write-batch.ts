import type { AgentOutputRow } from "./tables/agent-outputs.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";

/** Per minute, service and span name: what ingest saw. Summed by ClickHouse. */
export interface IngestStatRow {
  /** Unix seconds at the start of the minute. */
  Minute: number;
  ServiceName: string;
  SpanName: string;
  Received: number;
  Rejected: number;
  Outputs: number;
  Unrecognised: number;
}

/** Everything one OTLP request writes, committed together. */
export interface WriteBatch {
  traces: OtelTracesRow[];
  outputs: AgentOutputRow[];
}
