/**
 * LangChain messages as instrumentations serialise them into `output.value`: OpenInference's
 * LangChain instrumentation writes `message_to_dict` (`{"type": "ai", "data": {...}}`), else a
 * Pydantic dump (`{"type": "ai", "content": ...}`); LangChain.js and OpenLLMetry write the
 * serializable constructor form (`{"lc": 1, "type": "constructor", "id": [..., "AIMessage"],
 * "kwargs": {...}}`). A LangGraph agent's output is its whole state, `{"messages": [...]}`, every
 * message of the run; its answer is the last AI message.
 */

import { contentText, isRecord, toToolCalls } from "./read-attrs.ts";
import type { ToolCall } from "./read-attrs.ts";

/** One LangChain message, reduced to what rows need. */
export interface LangChainMessage {
  /** user, assistant, system or tool (LangChain's human, ai, system, tool); "" when unknown. */
  role: string;
  /** The content as text: a string as it is, content blocks through contentText. */
  text: string;
  /** An AI message's tool calls. */
  calls: ToolCall[];
  /** A tool message's tool_call_id; "" otherwise. */
  toolCallId: string;
}

const ROLE_BY_TYPE: ReadonlyMap<string, string> = new Map([
  ["ai", "assistant"],
  ["aimessage", "assistant"],
  ["aimessagechunk", "assistant"],
  ["assistant", "assistant"],
  ["human", "user"],
  ["humanmessage", "user"],
  ["user", "user"],
  ["system", "system"],
  ["systemmessage", "system"],
  ["tool", "tool"],
  ["toolmessage", "tool"],
  ["function", "tool"],
]);

/** A serialised LangChain message in any of the three forms, or undefined for anything else. */
export function langChainMessage(value: unknown): LangChainMessage | undefined {
  if (!isRecord(value)) return undefined;
  let type: unknown;
  let body: Record<string, unknown>;
  if (value.lc === 1 && value.type === "constructor" && Array.isArray(value.id)) {
    // Constructor form: the class name is the last element of id.
    if (!isRecord(value.kwargs)) return undefined;
    type = value.id[value.id.length - 1];
    body = value.kwargs;
  } else if (typeof value.type === "string" && isRecord(value.data)) {
    type = value.type;
    body = value.data;
  } else {
    type = value.type ?? value.role;
    body = value;
  }
  const role = typeof type === "string" ? ROLE_BY_TYPE.get(type.toLowerCase()) : undefined;
  if (role === undefined || !("content" in body)) return undefined;
  return {
    role,
    text: body.content === null || body.content === undefined ? "" : contentText(body.content),
    calls: toToolCalls(body.tool_calls),
    toolCallId: typeof body.tool_call_id === "string" ? body.tool_call_id : "",
  };
}

/**
 * The answer of a LangGraph state (`{"messages": [...], ...}`): its last AI message. Undefined
 * when the value is not such a state or holds no AI message, so the caller keeps the value.
 */
export function lastAssistantMessage(state: unknown): LangChainMessage | undefined {
  if (!isRecord(state) || !Array.isArray(state.messages)) return undefined;
  for (let i = state.messages.length - 1; i >= 0; i--) {
    const message = langChainMessage(state.messages[i]);
    if (message?.role === "assistant") return message;
  }
  return undefined;
}
