import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";

/** Outputs split by trace, each trace's outputs in the order they came. */
export function groupByTrace(rows: AgentOutputRow[]): AgentOutputRow[][] {
  const byTrace = new Map<string, AgentOutputRow[]>();
  for (const row of rows) {
    const list = byTrace.get(row.TraceId);
    if (list === undefined) byTrace.set(row.TraceId, [row]);
    else list.push(row);
  }
  return [...byTrace.values()];
}
