/**
 * Which output rows are not final when their request is stored: an output is evaluated at once
 * when its request holds all it needs (no added latency), and otherwise waits, marked
 * `plumbline.pending`, until its trace is quiet (receive/complete-pending.ts):
 *
 * - "agent": no agent name, and its ancestry leaves the request (the agent span may be in a
 *   later export: an SDK flushes every few seconds, and an agent run can outlast that);
 * - "content": a GenAI-convention LLM call without its output, as the instrumentations that
 *   send messages as log records (`gen_ai.user.message`, `gen_ai.choice`, the
 *   `gen_ai.client.inference.operation.details` event) leave their spans; the input may be
 *   there in part (the Responses API's `gen_ai.system_instructions` stays on the span).
 */

import { PENDING_ATTRIBUTE, type AgentOutputRow } from "../store/tables/agent-outputs.ts";

/** Marks the rows that wait for their trace, in place; returns how many. */
export function markPending(
  rows: readonly AgentOutputRow[],
  withoutAgent: readonly AgentOutputRow[],
): number {
  const noAgent = new Set(withoutAgent);
  let marked = 0;
  for (const row of rows) {
    const waits = [
      ...(noAgent.has(row) ? ["agent"] : []),
      ...(awaitsContent(row) ? ["content"] : []),
    ];
    if (waits.length === 0) continue;
    row.SpanAttributes = { ...row.SpanAttributes, [PENDING_ATTRIBUTE]: waits.join(",") };
    marked++;
  }
  return marked;
}

/**
 * An LLM call whose content has not arrived (or was not captured at all): only the GenAI
 * convention sends content as logs, and a call that answered with a tool call alone has it.
 */
export function awaitsContent(row: AgentOutputRow): boolean {
  return (
    row.Kind === "llm" &&
    row.Convention === "genai" &&
    row.OutputText === "" &&
    row.ToolName === "" &&
    row.SpanAttributes["gen_ai.output.messages"] === undefined
  );
}

/** The row as final: without the pending mark. */
export function withoutPending(row: AgentOutputRow): AgentOutputRow {
  if (row.SpanAttributes[PENDING_ATTRIBUTE] === undefined) return row;
  const { [PENDING_ATTRIBUTE]: _pending, ...attributes } = row.SpanAttributes;
  return { ...row, SpanAttributes: attributes };
}
