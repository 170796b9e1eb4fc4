/**
 * LangChain messages as instrumentations serialise them into `output.value`: OpenInference's
 * LangChain instrumentation writes `message_to_dict` (`{"type": "ai", "data": {...}}`), else a
 * Pydantic dump (`{"type": "ai", "content": ...}`); LangChain.js and OpenLLMetry write the
 * serializable constructor form (`{"lc": 1, "type": "constructor", "id": [..., "AIMessage"],
 * "kwargs": {...}}`). A LangGraph agent's output is its whole state, `{"messages": [...]}`, every
 * message of the run; its answer is the last AI message. A chat model run's input is
 * `{"messages": [[...]]}` (one list per prompt) and its output an `LLMResult`
 * (`{"generations": [[...]], "llmOutput": {...}}`); a tool run's output is the `ToolMessage` it
 * returned, which LangChain.js's instrumentation records in the run's outputs, `{"output": ...}`.
 */

import type { AttrValue } from "../span.ts";
import { contentText, isRecord, partText, structured, toToolCalls } from "./read-attrs.ts";
import type { ToolCall } from "./read-attrs.ts";

/** One LangChain message, reduced to what rows need. */
export interface LangChainMessage {
  /** user, assistant, system or tool (LangChain's human, ai, system, tool); "" when unknown. */
  role: string;
  /** The content as text: a string as it is, content blocks through contentText. */
  text: string;
  /**
   * Only the text of the content: its text blocks, run together, without the tool_use, image …
   * blocks that `text` writes as JSON (an answer, as OutputText holds it).
   */
  answerText: string;
  /** An AI message's tool calls. */
  calls: ToolCall[];
  /** A tool message's tool_call_id; "" otherwise. */
  toolCallId: string;
  /** The model that answered, from an AI message's `response_metadata`; "" when not named. */
  model: string;
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
  const content = body.content ?? "";
  return {
    role,
    text: contentText(content),
    answerText: Array.isArray(content)
      ? content.map((part) => partText(part) ?? "").join("")
      : contentText(content),
    calls: toToolCalls(body.tool_calls),
    toolCallId: typeof body.tool_call_id === "string" ? body.tool_call_id : "",
    model: isRecord(body.response_metadata) ? modelName(body.response_metadata) : "",
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

/**
 * The ToolMessage a tool run returned: the value itself, or the run's outputs wrapper
 * `{"output": <ToolMessage>}`. Undefined for any other value, so the caller keeps it.
 */
export function toolMessage(value: unknown): LangChainMessage | undefined {
  const inner = isRecord(value) && Object.keys(value).length === 1 ? value.output : undefined;
  const message = langChainMessage(inner ?? value);
  return message?.role === "tool" ? message : undefined;
}

/** How a chat model run's input and output begin as JSON text (JSON.stringify or json.dumps). */
const CHAT_MODEL_INPUT_START = /^\s*\{\s*"messages"\s*:\s*\[\s*\[/;
const LLM_RESULT_START = /^\s*\{\s*"generations"\s*:/;

/**
 * A value that is JSON text beginning as `start`, parsed; a structured value as it is. Other
 * text is not parsed: most spans' input.value and output.value are no LangChain run's.
 */
function parsedIf(value: AttrValue | undefined, start: RegExp): unknown {
  if (typeof value === "string" && !start.test(value)) return undefined;
  return structured(value);
}

/**
 * The messages of a chat model run's input.value (`{"messages": [[...]]}`): those of its first
 * prompt, which the instrumentation flattens into `llm.input_messages` (position for position;
 * undefined where an item is not a message). Empty for any other value.
 */
export function chatModelInput(
  inputValue: AttrValue | undefined,
): (LangChainMessage | undefined)[] {
  const value = parsedIf(inputValue, CHAT_MODEL_INPUT_START);
  if (!isRecord(value) || !Array.isArray(value.messages)) return [];
  const [first] = value.messages;
  const prompt: unknown[] = Array.isArray(first) ? first : value.messages;
  return prompt.map((item) => langChainMessage(item));
}

/** The first generation of a chat model run's output (an LLMResult), reduced to what rows need. */
export interface Generation {
  /** Its message; undefined for a text completion's generation (`{text}` only). */
  message: LangChainMessage | undefined;
  /**
   * The model that answered: the message's `response_metadata.model_name`, else the
   * generation's `generationInfo` (`generation_info` in Python), else the result's `llmOutput`
   * (`llm_output`); "" when none names it.
   */
  model: string;
}

/**
 * The first generation of a chat model run's output.value, an LLMResult (`{"generations":
 * [[...]], "llmOutput": {...}}`): the one the instrumentation flattens into
 * `llm.output_messages`. Undefined for any other value.
 */
export function firstGeneration(outputValue: AttrValue | undefined): Generation | undefined {
  const value = parsedIf(outputValue, LLM_RESULT_START);
  if (!isRecord(value) || !Array.isArray(value.generations)) return undefined;
  const [choices] = value.generations;
  const generation: unknown = Array.isArray(choices) ? choices[0] : undefined;
  if (!isRecord(generation)) return undefined;
  const message = langChainMessage(generation.message);
  const info = generation.generationInfo ?? generation.generation_info;
  const result = value.llmOutput ?? value.llm_output;
  const model =
    message?.model ||
    (isRecord(info) ? modelName(info) : "") ||
    (isRecord(result) ? modelName(result) : "");
  return { message, model };
}

/** `model_name` (LangChain's standard key), else `model` (Ollama, Anthropic), as text. */
function modelName(metadata: Record<string, unknown>): string {
  for (const key of ["model_name", "model"]) {
    const value = metadata[key];
    if (typeof value === "string" && value !== "") return value;
  }
  return "";
}

/** A message as an instrumentation flattens it into attributes: its role, text and calls. */
export interface FlatMessage {
  role: string;
  text: string;
  calls: ToolCall[];
}

/**
 * Fills, in place, what flattened messages lack from the LangChain messages they were flattened
 * from (position for position, when the roles agree): an empty text (an output's from its text
 * blocks only, as OutputText holds), missing tool calls, a call's empty id (from the call at the
 * same position, when it has the same name).
 */
export function completeFromLangChain(
  messages: FlatMessage[],
  sources: readonly (LangChainMessage | undefined)[],
  isOutput: boolean,
): void {
  messages.forEach((message, i) => {
    const source = sources[i];
    if (source === undefined || source.role !== message.role) return;
    if (message.text === "") message.text = isOutput ? source.answerText : source.text;
    if (message.calls.length === 0) message.calls = source.calls;
    message.calls.forEach((call, j) => {
      const same = source.calls[j];
      if (call.id === "" && same !== undefined && same.name === call.name) call.id = same.id;
    });
  });
}

/** Whether a flattened message lacks anything completeFromLangChain could fill. */
export function isIncomplete(message: FlatMessage): boolean {
  return message.text === "" || message.calls.some((call) => call.id === "");
}
