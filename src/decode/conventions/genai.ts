/**
 * OTel GenAI semantic conventions (docs/gen-ai/gen-ai-spans.md, gen-ai-agent-spans.md; since
 * 2026 the semantic-conventions-genai repository, model/gen-ai/spans.yaml), current and
 * deprecated: `gen_ai.input.messages`/`gen_ai.output.messages` (JSON text or structured), the
 * pre-1.37 per-message span events (`gen_ai.user.message` … `gen_ai.choice`), and the indexed
 * `gen_ai.prompt.N.*`/`gen_ai.completion.N.*` attributes OpenLLMetry still writes. Workflows,
 * plans, retrievals and memory operations are read too (genai-steps.ts).
 */

import { emptyOutput } from "../agent-output.ts";
import type { AgentOutput, Convention, OutputKind } from "../agent-output.ts";
import type { AttrMap } from "../span.ts";
import {
  MEMORY_OPERATIONS,
  fillMemory,
  fillRetrieval,
  isOpenAiAgentsGenAiRoot,
} from "./genai-steps.ts";
import { canonicalProvider } from "./provider-names.ts";
import {
  contentText,
  errorTypeOf,
  firstNumber,
  firstOfList,
  firstString,
  getString,
  indexed,
  isRecord,
  looseContentText,
  partText,
  structured,
  textOf,
  toMessages,
  toToolCalls,
  transcript,
} from "./read-attrs.ts";
import type { ChatMessage, SpanView, ToolCall } from "./read-attrs.ts";

/**
 * Kind of each well-known `gen_ai.operation.name`; other names produce no output. create_agent
 * defines an agent and answers nothing: a `definition`, which no content rule for agent runs
 * reads.
 */
const KIND_BY_OPERATION: ReadonlyMap<string, OutputKind> = new Map([
  ["chat", "llm"],
  ["text_completion", "llm"],
  ["generate_content", "llm"],
  ["embeddings", "llm"],
  ["invoke_agent", "agent"],
  ["create_agent", "definition"],
  ["execute_tool", "tool"],
  ["invoke_workflow", "workflow"],
  ["plan", "plan"],
  ["retrieval", "retrieval"],
  ...MEMORY_OPERATIONS.map((operation): [string, OutputKind] => [operation, "memory"]),
]);

/** OpenLLMetry's `llm.request.type` values, for spans without `gen_ai.operation.name`. */
const OPERATION_BY_REQUEST_TYPE: ReadonlyMap<string, string> = new Map([
  ["chat", "chat"],
  ["completion", "text_completion"],
  ["embedding", "embeddings"],
  ["embeddings", "embeddings"],
]);

const PROVIDER_KEYS = ["gen_ai.provider.name", "gen_ai.system"];
const INPUT_TOKEN_KEYS = [
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.prompt_tokens",
  "llm.usage.prompt_tokens",
];
const OUTPUT_TOKEN_KEYS = [
  "gen_ai.usage.output_tokens",
  "gen_ai.usage.completion_tokens",
  "llm.usage.completion_tokens",
];

/** Deprecated per-message events (semconv ≤ 1.36) and the role each one carries. */
const ROLE_BY_EVENT: ReadonlyMap<string, string> = new Map([
  ["gen_ai.system.message", "system"],
  ["gen_ai.user.message", "user"],
  ["gen_ai.assistant.message", "assistant"],
  ["gen_ai.tool.message", "tool"],
]);

/**
 * A GenAI span: it names its operation, or names a provider (current or deprecated key) with a
 * model, or carries OpenLLMetry's indexed prompts or completions.
 */
export function isGenAiSpan(attrs: AttrMap): boolean {
  if (getString(attrs, "gen_ai.operation.name") !== "") return true;
  const hasProvider = "gen_ai.provider.name" in attrs || "gen_ai.system" in attrs;
  if (hasProvider && ("gen_ai.request.model" in attrs || "gen_ai.response.model" in attrs)) {
    return true;
  }
  return (
    "gen_ai.prompt.0.content" in attrs ||
    "gen_ai.prompt.0.role" in attrs ||
    "gen_ai.completion.0.content" in attrs ||
    "gen_ai.completion.0.role" in attrs
  );
}

/** The OTel GenAI convention. */
export const genAiConvention: Convention = {
  name: "genai",
  extract(span) {
    const attrs = span.attributes;
    if (!isGenAiSpan(attrs)) return null;
    let operation = operationOf(attrs);
    let kind = KIND_BY_OPERATION.get(operation);
    if (kind === undefined) return null;
    if (operation === "invoke_agent" && isOpenAiAgentsGenAiRoot(span)) {
      [kind, operation] = ["workflow", "invoke_workflow"];
    }

    const out = emptyOutput("genai", kind, operation);
    out.provider = canonicalProvider(firstString(attrs, PROVIDER_KEYS));
    out.requestModel = getString(attrs, "gen_ai.request.model");
    out.responseModel = getString(attrs, "gen_ai.response.model");
    out.agentName = getString(attrs, "gen_ai.agent.name");
    // A workflow is named after itself (its agents have their own rows and names): the span
    // name is `invoke_workflow <name>`, or the trace name for the OpenAI Agents root.
    if (kind === "workflow" && out.agentName === "") {
      out.agentName =
        getString(attrs, "gen_ai.workflow.name") || span.name.replace(/^invoke_workflow\s*/, "");
    }
    out.agentId = getString(attrs, "gen_ai.agent.id");
    out.conversationId = getString(attrs, "gen_ai.conversation.id");
    out.outputType = getString(attrs, "gen_ai.output.type");
    out.inputTokens = firstNumber(attrs, INPUT_TOKEN_KEYS);
    out.outputTokens = firstNumber(attrs, OUTPUT_TOKEN_KEYS);
    out.errorType = errorTypeOf(span);

    if (kind === "tool") {
      out.toolName = getString(attrs, "gen_ai.tool.name");
      out.toolCallId = getString(attrs, "gen_ai.tool.call.id");
      out.toolArguments = textOf(attrs["gen_ai.tool.call.arguments"]);
      out.toolResult = textOf(attrs["gen_ai.tool.call.result"]);
      out.inputText = out.toolArguments;
      out.outputText = out.toolResult;
      return out;
    }
    if (kind === "retrieval") fillRetrieval(out, attrs);
    else if (kind === "memory") fillMemory(out, attrs);
    else {
      out.inputText = transcript(inputMessages(span));
      // An agent definition has instructions (the input) and no output.
      if (kind !== "definition") fillOutput(out, span);
    }
    return out;
  },
};

function operationOf(attrs: AttrMap): string {
  const named = getString(attrs, "gen_ai.operation.name");
  if (named !== "") return named;
  const requestType = getString(attrs, "llm.request.type");
  if (requestType === "") return "chat";
  return OPERATION_BY_REQUEST_TYPE.get(requestType) ?? requestType;
}

/** Input messages from the first source present: attributes, then events, then indexed keys. */
function inputMessages(span: SpanView): ChatMessage[] {
  const attrs = span.attributes;
  const messages: ChatMessage[] = [];
  const instructions = structured(attrs["gen_ai.system_instructions"]);
  if (instructions !== undefined) {
    messages.push({ role: "system", text: contentText(instructions) });
  } else if (typeof attrs["gen_ai.system_instructions"] === "string") {
    messages.push({ role: "system", text: attrs["gen_ai.system_instructions"] });
  }
  const current = structured(attrs["gen_ai.input.messages"]);
  if (current !== undefined) {
    // The Responses API instrumentation also puts the instructions first among the messages.
    const input = toMessages(current);
    const [instruction] = messages;
    const [first] = input;
    const repeated =
      instruction !== undefined &&
      first !== undefined &&
      first.role === "system" &&
      first.text === instruction.text;
    return repeated ? input : messages.concat(input);
  }

  for (const event of span.events) {
    const role = ROLE_BY_EVENT.get(event.name);
    if (role !== undefined) messages.push({ role, text: eventContent(event.attributes) });
  }
  if (messages.length > 0) return messages;

  for (const item of indexed(attrs, "gen_ai.prompt.")) {
    messages.push({ role: getString(item, "role"), text: looseContentText(item.content) });
  }
  if (messages.length > 0) return messages;
  // gen_ai.prompt as one JSON attribute: semantic conventions ≤ 1.26.
  return toMessages(structured(attrs["gen_ai.prompt"]));
}

/** Output text, finish reason and a lone tool call, from the first output source present. */
function fillOutput(out: AgentOutput, span: SpanView): void {
  const attrs = span.attributes;
  const texts: string[] = [];
  const calls: ToolCall[] = [];
  let finishReason = firstOfList(attrs["gen_ai.response.finish_reasons"]);

  const current = structured(attrs["gen_ai.output.messages"]);
  if (Array.isArray(current)) {
    for (const message of current) {
      if (!isRecord(message)) continue;
      collectParts(message.parts, texts, calls);
      if (finishReason === "" && typeof message.finish_reason === "string") {
        finishReason = message.finish_reason;
      }
    }
  } else {
    const choices = span.events.filter((event) => event.name === "gen_ai.choice");
    for (const choice of choices) {
      readChoice(choice.attributes, texts, calls);
      if (finishReason === "") finishReason = getString(choice.attributes, "finish_reason");
    }
    if (choices.length === 0) {
      for (const item of indexed(attrs, "gen_ai.completion.")) {
        const text = looseContentText(item.content);
        if (text !== "") texts.push(text);
        for (const call of indexed(item, "tool_calls.")) {
          calls.push({
            id: getString(call, "id"),
            name: getString(call, "name"),
            arguments: textOf(call.arguments),
          });
        }
        if (finishReason === "") finishReason = getString(item, "finish_reason");
      }
      if (texts.length === 0 && calls.length === 0) {
        // gen_ai.completion as one JSON attribute: semantic conventions ≤ 1.26.
        for (const message of toMessages(structured(attrs["gen_ai.completion"]))) {
          if (message.text !== "") texts.push(message.text);
        }
      }
    }
  }
  out.outputText = texts.join("\n");
  out.finishReason = finishReason.toLowerCase();
  const [onlyCall] = calls;
  if (out.outputText === "" && calls.length === 1 && onlyCall !== undefined) {
    out.toolName = onlyCall.name;
    out.toolCallId = onlyCall.id;
    out.toolArguments = onlyCall.arguments;
  }
}

/** Text parts into `texts`, GenAI `tool_call` parts into `calls`; other parts are not output text. */
function collectParts(parts: unknown, texts: string[], calls: ToolCall[]): void {
  if (!Array.isArray(parts)) return;
  let text = "";
  for (const part of parts) {
    const partString = partText(part);
    if (partString !== undefined) text += partString;
    else if (isRecord(part) && part.type === "tool_call") {
      calls.push({
        id: typeof part.id === "string" ? part.id : "",
        name: typeof part.name === "string" ? part.name : "",
        arguments: textOf(part.arguments),
      });
    }
  }
  if (text !== "") texts.push(text);
}

/** A deprecated `gen_ai.choice` event: `message` as JSON `{role, content, tool_calls}`, or `content`. */
function readChoice(attrs: AttrMap, texts: string[], calls: ToolCall[]): void {
  const message = structured(attrs.message);
  if (isRecord(message)) {
    const text = contentText(message.content ?? "");
    if (text !== "") texts.push(text);
    calls.push(...toToolCalls(message.tool_calls));
    return;
  }
  const text = eventContent(attrs);
  if (text !== "") texts.push(text);
  calls.push(...toToolCalls(structured(attrs.tool_calls)));
}

/** The content of a deprecated message event: its `content` attribute, else its `message`. */
function eventContent(attrs: AttrMap): string {
  if (attrs.content !== undefined) return looseContentText(attrs.content);
  const message = structured(attrs.message);
  if (isRecord(message)) return contentText(message.content ?? "");
  return looseContentText(attrs.message);
}
