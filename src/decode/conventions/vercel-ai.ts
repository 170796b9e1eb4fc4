/**
 * Vercel AI SDK v6 telemetry (`experimental_telemetry`), as emitted by `ai` 6.x
 * (src/telemetry/*, generate-text.ts, generate-object.ts, embed.ts): one `ai.generateText`
 * (or streamText/generateObject/streamObject) span per call, one `.doGenerate`/`.doStream`
 * child per model call, one `ai.toolCall` span per executed tool. Every span carries
 * `ai.operationId` and `ai.telemetry.functionId`. AI SDK 7 emits the GenAI conventions instead.
 */

import { emptyOutput } from "../agent-output.ts";
import type { AgentOutput, Convention, OutputKind } from "../agent-output.ts";
import type { AttrMap } from "../span.ts";
import {
  errorTypeOf,
  firstNumber,
  firstString,
  getString,
  isRecord,
  structured,
  textOf,
  toMessages,
  transcript,
  unquoteJsonString,
} from "./read-attrs.ts";
import type { ChatMessage } from "./read-attrs.ts";
import { aiSdkProviderName, canonicalProvider } from "./provider-names.ts";

interface Mapping {
  kind: OutputKind;
  operation: string;
}

const AGENT_RUN: Mapping = { kind: "agent", operation: "invoke_agent" };
const MODEL_CALL: Mapping = { kind: "llm", operation: "chat" };
const EMBEDDING_CALL: Mapping = { kind: "llm", operation: "embeddings" };

/**
 * Operations that are outputs. The outer call is an agent run (possibly several steps and tool
 * calls); each doGenerate/doStream is one model call. For embeddings only the doEmbed spans
 * count: the outer ai.embed/ai.embedMany span wraps them (and their retries) and would count
 * the same call twice. ai.rerank and anything else produce no output.
 */
const OUTPUT_BY_OPERATION: ReadonlyMap<string, Mapping> = new Map([
  ["ai.generateText", AGENT_RUN],
  ["ai.streamText", AGENT_RUN],
  ["ai.generateObject", AGENT_RUN],
  ["ai.streamObject", AGENT_RUN],
  ["ai.generateText.doGenerate", MODEL_CALL],
  ["ai.streamText.doStream", MODEL_CALL],
  ["ai.generateObject.doGenerate", MODEL_CALL],
  ["ai.streamObject.doStream", MODEL_CALL],
  ["ai.toolCall", { kind: "tool", operation: "execute_tool" }],
  ["ai.embed.doEmbed", EMBEDDING_CALL],
  ["ai.embedMany.doEmbed", EMBEDDING_CALL],
]);

/** Where users put a conversation id in `experimental_telemetry.metadata`, by habit. */
const CONVERSATION_KEYS = [
  "ai.telemetry.metadata.conversationId",
  "ai.telemetry.metadata.sessionId",
];

/** A Vercel AI SDK span: it has `ai.operationId`, or its name is one of the SDK's `ai.*` names. */
export function isVercelAiSpan(span: { name: string; attributes: AttrMap }): boolean {
  return "ai.operationId" in span.attributes || span.name.startsWith("ai.");
}

/** The Vercel AI SDK v6 convention. */
export const vercelAiConvention: Convention = {
  name: "vercel-ai",
  extract(span) {
    const attrs = span.attributes;
    if (!isVercelAiSpan(span)) return null;
    const operationId = getString(attrs, "ai.operationId") || span.name;
    const mapped = OUTPUT_BY_OPERATION.get(operationId);
    if (mapped === undefined) return null;

    const out = emptyOutput("vercel-ai", mapped.kind, mapped.operation);
    out.agentName = getString(attrs, "ai.telemetry.functionId");
    out.conversationId = firstString(attrs, CONVERSATION_KEYS);
    // ai.model.provider is `<provider>.<api>` (openai.chat); the row says openai, as the
    // other conventions do. The id as recorded stays in the attribute.
    out.provider = canonicalProvider(aiSdkProviderName(getString(attrs, "ai.model.provider")));
    out.requestModel = getString(attrs, "ai.model.id");
    out.responseModel = getString(attrs, "ai.response.model");
    out.errorType = errorTypeOf(span);

    if (mapped === EMBEDDING_CALL) {
      out.inputTokens = firstNumber(attrs, ["ai.usage.tokens"]);
      // ai.values: one JSON text per embedded value; the vectors are no text output.
      const values = attrs["ai.values"];
      out.inputText = Array.isArray(values)
        ? values.map((v) => unquoteJsonString(textOf(v))).join("\n")
        : "";
      return out;
    }
    if (mapped.kind === "tool") {
      out.toolName = getString(attrs, "ai.toolCall.name");
      out.toolCallId = getString(attrs, "ai.toolCall.id");
      out.toolArguments = getString(attrs, "ai.toolCall.args");
      // JSON.stringify of what execute returned: a string result reads as the string.
      out.toolResult = unquoteJsonString(getString(attrs, "ai.toolCall.result"));
      out.inputText = out.toolArguments;
      out.outputText = out.toolResult;
      return out;
    }

    // generateObject writes the older promptTokens/completionTokens names (v6 TODO in source).
    out.inputTokens = firstNumber(attrs, ["ai.usage.inputTokens", "ai.usage.promptTokens"]);
    out.outputTokens = firstNumber(attrs, ["ai.usage.outputTokens", "ai.usage.completionTokens"]);
    out.finishReason = getString(attrs, "ai.response.finishReason").toLowerCase();
    out.inputText = transcript(
      mapped === AGENT_RUN
        ? callPromptMessages(attrs["ai.prompt"])
        : toMessages(structured(attrs["ai.prompt.messages"])),
    );
    fillResponse(out, attrs);
    return out;
  },
};

/** `ai.prompt` of the outer span: JSON `{system, prompt, messages}` as the caller passed them. */
function callPromptMessages(value: unknown): ChatMessage[] {
  const prompt = structured(value);
  if (!isRecord(prompt)) return [];
  const messages: ChatMessage[] = [];
  if (typeof prompt.system === "string") messages.push({ role: "system", text: prompt.system });
  else if (prompt.system !== undefined) {
    messages.push(...toMessages(Array.isArray(prompt.system) ? prompt.system : [prompt.system]));
  }
  if (typeof prompt.prompt === "string") messages.push({ role: "user", text: prompt.prompt });
  else messages.push(...toMessages(prompt.prompt));
  messages.push(...toMessages(prompt.messages));
  return messages;
}

function fillResponse(out: AgentOutput, attrs: AttrMap): void {
  const text = getString(attrs, "ai.response.text");
  const object = getString(attrs, "ai.response.object");
  if (object !== "") {
    out.outputText = unquoteJsonString(object);
    // An enum output is a JSON string literal: text, not an object.
    out.outputType = out.outputText === object ? "json" : "text";
  } else {
    out.outputText = text;
  }
  if (out.outputText !== "") return;

  // ai.response.toolCalls: JSON [{toolCallId, toolName, input}]; input is JSON text on
  // doGenerate spans and the parsed object on the outer span.
  const calls = structured(attrs["ai.response.toolCalls"]);
  if (!Array.isArray(calls) || calls.length !== 1 || !isRecord(calls[0])) return;
  const call = calls[0];
  out.toolName = typeof call.toolName === "string" ? call.toolName : "";
  out.toolCallId = typeof call.toolCallId === "string" ? call.toolCallId : "";
  out.toolArguments = textOf(call.input ?? call.args);
}
