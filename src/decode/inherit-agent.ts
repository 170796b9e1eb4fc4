/**
 * LLM and tool calls made inside an agent run rarely name the agent themselves; rules that
 * match on `agent` expect them to. An output without an agent name takes the name of its
 * nearest ancestor output that has one, among the spans of the same request (an SDK exports a
 * run's spans together unless the run outlasts its batch delay).
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { DecodedSpan } from "./span.ts";

/** Fills empty AgentName (and AgentId) from the nearest named ancestor, in place. */
export function inheritAgentNames(rows: AgentOutputRow[], spans: DecodedSpan[]): void {
  if (rows.length < 2 || !rows.some((r) => r.AgentName === "")) return;
  const parentOf = new Map<string, string>();
  for (const span of spans) parentOf.set(key(span.traceId, span.spanId), span.parentSpanId);
  const named = new Map<string, AgentOutputRow>();
  for (const row of rows) {
    if (row.AgentName !== "") named.set(key(row.TraceId, row.SpanId), row);
  }
  if (named.size === 0) return;
  for (const row of rows) {
    if (row.AgentName !== "") continue;
    let parent = row.ParentSpanId;
    // Bounded walk: a malformed request could contain a parent cycle.
    for (let depth = 0; parent !== "" && depth < 64; depth++) {
      const ancestor = named.get(key(row.TraceId, parent));
      if (ancestor !== undefined) {
        row.AgentName = ancestor.AgentName;
        if (row.AgentId === "") row.AgentId = ancestor.AgentId;
        break;
      }
      parent = parentOf.get(key(row.TraceId, parent)) ?? "";
    }
  }
}

function key(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}
