import type { EncodedRows } from "./json-each-row.ts";
import type { AgentOutputRow } from "./tables/agent-outputs.ts";
import type { OtelLogsRow } from "./tables/otel-logs.ts";
import type { MetricRows } from "./tables/otel-metrics.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";

/**
 * Everything one OTLP request writes, committed together: spans with their outputs, or log
 * records, or data points (a request carries one signal; the group committer merges requests).
 */
export interface WriteBatch {
  traces: OtelTracesRow[];
  outputs: AgentOutputRow[];
  logs?: OtelLogsRow[];
  metrics?: MetricRows;
  /**
   * Spans and outputs already encoded as insert text, written with (after) the rows above.
   * Ingest encodes each request's rows as it decodes it, so that a group commit hands the store
   * bytes it has only to concatenate, and no row object waits in memory for the insert.
   */
  encoded?: EncodedSpans;
}

/** The `otel_traces` and `agent_outputs` lines of one or more requests. */
export interface EncodedSpans {
  traces: EncodedRows;
  outputs: EncodedRows;
}
