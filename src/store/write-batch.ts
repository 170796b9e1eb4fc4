import type { AgentOutputRow } from "./tables/agent-outputs.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";

/** Everything one OTLP request writes, committed together. */
export interface WriteBatch {
  traces: OtelTracesRow[];
  outputs: AgentOutputRow[];
}
