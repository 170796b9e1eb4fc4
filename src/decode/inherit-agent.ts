/**
 * LLM and tool calls made inside an agent run rarely name the agent (or the conversation)
 * themselves; rules that match on `agent` expect them to. An output without an agent name takes
 * the name and id of its nearest ancestor output that has one, and an output without a
 * conversation id that of its nearest ancestor span with one (an output or not: a LangGraph
 * root chain, a Temporal workflow span), else the one the trace's other spans name (one trace
 * is one turn of one conversation), among the given spans: the spans of one request at
 * ingest, or of the whole stored trace when it is completed later (receive/complete-pending.ts).
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { conversationIdOf } from "./conversation-id.ts";
import type { DecodedSpan } from "./span.ts";

type SpanLinks = Pick<DecodedSpan, "traceId" | "spanId" | "parentSpanId"> &
  Partial<Pick<DecodedSpan, "attributes">>;

/**
 * Fills empty AgentName, AgentId and ConversationId from the nearest ancestors, in place.
 * Returns the rows still without an agent name whose ancestry leaves the given spans: an
 * ancestor not among them (exported in another request) may still name the agent.
 */
export function inheritAgentNames(
  rows: AgentOutputRow[],
  spans: readonly SpanLinks[],
  conversationAttributes: readonly string[] = [],
): AgentOutputRow[] {
  const unresolved: AgentOutputRow[] = [];
  const parentOf = new Map<string, string>();
  /** Conversation ids that spans name themselves, by span and by trace (the first seen). */
  const spanConversation = new Map<string, string>();
  const traceConversation = new Map<string, string>();
  const outputs = new Map<string, AgentOutputRow>();
  for (const row of rows) outputs.set(key(row.TraceId, row.SpanId), row);
  for (const span of spans) {
    const spanKey = key(span.traceId, span.spanId);
    parentOf.set(spanKey, span.parentSpanId);
    if (span.attributes === undefined) continue;
    const output = outputs.get(spanKey);
    // An output's own reading: the user's names, then its convention's, then the well-known.
    const id = conversationIdOf(span.attributes, conversationAttributes, output?.ConversationId);
    if (output !== undefined) output.ConversationId = id;
    if (id === "") continue;
    spanConversation.set(spanKey, id);
    if (!traceConversation.has(span.traceId)) traceConversation.set(span.traceId, id);
  }
  for (const row of rows) {
    if (row.ConversationId !== "" && !traceConversation.has(row.TraceId)) {
      traceConversation.set(row.TraceId, row.ConversationId);
    }
  }
  if (!rows.some((r) => r.AgentName === "" || r.ConversationId === "")) return unresolved;
  // Names and ids as they came, before any row took an ancestor's: a walk reads these only.
  const own = new Map(
    rows.map((r) => [
      r,
      { agent: r.AgentName, agentId: r.AgentId, conversation: r.ConversationId },
    ]),
  );
  for (const row of rows) {
    let needAgent = row.AgentName === "";
    let needConversation = row.ConversationId === "";
    if (!needAgent && !needConversation) continue;
    let parent = row.ParentSpanId;
    let leftTheSpans = false;
    // Bounded walk: a malformed request could contain a parent cycle.
    for (let depth = 0; parent !== "" && depth < 64 && (needAgent || needConversation); depth++) {
      const parentKey = key(row.TraceId, parent);
      const spanNamed = spanConversation.get(parentKey);
      if (needConversation && spanNamed !== undefined) {
        row.ConversationId = spanNamed;
        needConversation = false;
      }
      const ancestor = outputs.get(parentKey);
      const given = ancestor && own.get(ancestor);
      if (given !== undefined && ancestor !== undefined) {
        if (needAgent && given.agent !== "") {
          row.AgentName = given.agent;
          if (row.AgentId === "") row.AgentId = given.agentId;
          needAgent = false;
        }
        if (needConversation && given.conversation !== "") {
          row.ConversationId = given.conversation;
          needConversation = false;
        }
      }
      const next = parentOf.get(parentKey);
      if (next === undefined) {
        leftTheSpans = true;
        break;
      }
      parent = next;
    }
    if (needConversation) row.ConversationId = traceConversation.get(row.TraceId) ?? "";
    if (needAgent && leftTheSpans) unresolved.push(row);
  }
  return unresolved;
}

function key(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}
