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
}
