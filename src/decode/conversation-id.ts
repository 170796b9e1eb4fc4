/**
 * Which conversation (or durable workflow) a span belongs to. Every convention has its own
 * name for it; a span names at most one, and the first name found wins, in this order: the
 * attribute names the user configured (`PLUMBLINE_CONVERSATION_ATTRIBUTES`), then what the
 * span's convention module read, then the well-known names below. A span that names none
 * takes the id of its nearest ancestor that does (inherit-agent.ts), and an output of a
 * trace where only some non-ancestor span names it (a sibling, a root exported later) takes
 * the trace's at read time (evaluate's conversation reader), since one trace is one turn.
 */

import type { AttrMap } from "./span.ts";
import { firstString, structured } from "./conventions/read-attrs.ts";

/**
 * Well-known conversation, session, thread and workflow ids, most specific first. See
 * docs/conversations.md "Conversation ids".
 */
export const CONVERSATION_ATTRIBUTES: readonly string[] = [
  // OTel GenAI semantic conventions.
  "gen_ai.conversation.id",
  // OpenInference.
  "session.id",
  // OpenLLMetry association properties (Traceloop.set_association_properties).
  "traceloop.association.properties.session_id",
  "traceloop.association.properties.conversation_id",
  "traceloop.association.properties.thread_id",
  "traceloop.association.properties.chat_id",
  "traceloop.association.properties.sessionId",
  "traceloop.association.properties.conversationId",
  "traceloop.association.properties.threadId",
  // LangGraph's checkpointer thread, as LangSmith-style exporters flatten it.
  "langgraph.thread_id",
  "langsmith.metadata.thread_id",
  "langsmith.metadata.session_id",
  "metadata.thread_id",
  // Vercel AI SDK experimental_telemetry.metadata, by habit.
  "ai.telemetry.metadata.conversationId",
  "ai.telemetry.metadata.sessionId",
  "ai.telemetry.metadata.threadId",
  // Durable execution: Temporal's OpenTelemetry interceptors, Inngest's SDK.
  "temporalWorkflowID",
  "temporal.workflow.id",
  "sdk.run.id",
  "inngest.run.id",
];

/** Keys of a JSON `metadata` attribute (OpenInference; LangGraph puts `thread_id` there). */
const METADATA_KEYS = ["thread_id", "session_id", "conversation_id", "threadId", "sessionId"];

/**
 * The conversation id a span names itself: the user's attribute names first, then `read`
 * (what its convention module read), then the well-known names and the `thread_id` of an
 * OpenInference `metadata` object; "" when it names none.
 */
export function conversationIdOf(
  attributes: AttrMap,
  userAttributes: readonly string[],
  read = "",
): string {
  return (
    firstString(attributes, userAttributes) ||
    read ||
    firstString(attributes, CONVERSATION_ATTRIBUTES) ||
    metadataConversationId(attributes)
  );
}

function metadataConversationId(attributes: AttrMap): string {
  if (!("metadata" in attributes)) return "";
  const metadata = structured(attributes["metadata"]);
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return "";
  const record = metadata as Record<string, unknown>;
  for (const key of METADATA_KEYS) {
    const value = record[key];
    if (typeof value === "string" && value !== "") return value;
    if (typeof value === "number") return String(value);
  }
  return "";
}
