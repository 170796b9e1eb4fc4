/**
 * OpenInference (Arize) semantic conventions, spec/semantic_conventions.md: the span kind in
 * `openinference.span.kind`, chat messages as flattened `llm.input_messages.N.message.*` and
 * `llm.output_messages.N.message.*` attributes, and `input.value`/`output.value` for the rest.
 */

import { emptyOutput } from "../agent-output.ts";
import type { AgentOutput, Convention, OutputKind } from "../agent-output.ts";
import type { AttrMap } from "../span.ts";
import {
  errorTypeOf,
  firstNumber,
  firstString,
  getString,
  indexed,
  textOf,
  transcript,
} from "./read-attrs.ts";
import type { ChatMessage, ToolCall } from "./read-attrs.ts";

/**
 * Span kinds that are agent outputs. CHAIN (glue code), RETRIEVER, RERANKER, GUARDRAIL,
 * EVALUATOR and PROMPT spans are steps around the model, not outputs, and produce none.
 */
const OUTPUT_BY_SPAN_KIND: ReadonlyMap<string, { kind: OutputKind; operation: string }> = new Map([
  ["LLM", { kind: "llm", operation: "chat" }],
  ["EMBEDDING", { kind: "llm", operation: "embeddings" }],
  ["AGENT", { kind: "agent", operation: "invoke_agent" }],
  ["TOOL", { kind: "tool", operation: "execute_tool" }],
]);

/** An OpenInference span: the required `openinference.span.kind` is set. */
export function isOpenInferenceSpan(attrs: AttrMap): boolean {
  return getString(attrs, "openinference.span.kind") !== "";
}

/** The OpenInference convention. */
export const openInferenceConvention: Convention = {
  name: "openinference",
  extract(span) {
    const attrs = span.attributes;
    const spanKind = getString(attrs, "openinference.span.kind").toUpperCase();
    const mapped = OUTPUT_BY_SPAN_KIND.get(spanKind);
    if (mapped === undefined) return null;

    const out = emptyOutput("openinference", mapped.kind, mapped.operation);
    out.provider = firstString(attrs, ["llm.provider", "llm.system"]);
    // llm.model_name is "the model returned by the API, else the one requested" (spec), so it
    // fills whichever of the two the instrumentation did not record separately.
    const modelKeys =
      spanKind === "EMBEDDING" ? ["embedding.model_name", "llm.model_name"] : ["llm.model_name"];
    const model = firstString(attrs, modelKeys);
    out.requestModel = getString(attrs, "llm.request.model_name") || model;
    out.responseModel = getString(attrs, "llm.response.model_name") || model;
    out.agentName = getString(attrs, "agent.name");
    out.conversationId = getString(attrs, "session.id");
    out.inputTokens = firstNumber(attrs, ["llm.token_count.prompt"]);
    out.outputTokens = firstNumber(attrs, ["llm.token_count.completion"]);
    out.finishReason = getString(attrs, "llm.finish_reason").toLowerCase();
    out.errorType = errorTypeOf(span);

    switch (spanKind) {
      case "LLM":
        fillLlm(out, attrs);
        break;
      case "EMBEDDING":
        // The output is vectors: nothing a text rule reads.
        out.inputText =
          getString(attrs, "input.value") ||
          indexed(attrs, "embedding.embeddings.")
            .map((e) => getString(e, "embedding.text"))
            .join("\n");
        break;
      case "AGENT":
        // Many agent instrumentations name the span after the agent and omit agent.name.
        if (out.agentName === "") out.agentName = span.name;
        fillValues(out, attrs);
        break;
      default:
        fillTool(out, attrs, span.name);
    }
    return out;
  },
};

function fillLlm(out: AgentOutput, attrs: AttrMap): void {
  const input = messagesOf(attrs, "llm.input_messages.", true);
  if (input.messages.length > 0) out.inputText = transcript(input.messages);
  else {
    const prompts = indexed(attrs, "llm.prompts.").map((p) => getString(p, "prompt.text"));
    out.inputText = prompts.length > 0 ? prompts.join("\n") : getString(attrs, "input.value");
  }

  const output = messagesOf(attrs, "llm.output_messages.", false);
  if (output.messages.length > 0) {
    out.outputText = output.messages
      .filter((m) => m.text !== "")
      .map((m) => m.text)
      .join("\n");
  } else {
    const choices = indexed(attrs, "llm.choices.").map((c) => getString(c, "completion.text"));
    // output.value of an LLM span is usually the provider's whole response body, so it is
    // only the output text when the instrumentation recorded nothing more specific.
    if (choices.length > 0) out.outputText = choices.join("\n");
    else fillValues(out, attrs);
  }
  const [onlyCall] = output.calls;
  if (out.outputText === "" && output.calls.length === 1 && onlyCall !== undefined) {
    out.toolName = onlyCall.name;
    out.toolCallId = onlyCall.id;
    out.toolArguments = onlyCall.arguments;
  }
}

function fillTool(out: AgentOutput, attrs: AttrMap, spanName: string): void {
  out.toolName = getString(attrs, "tool.name") || spanName;
  out.toolCallId = firstString(attrs, ["tool.id", "tool_call.id", "tool.call_id"]);
  // tool.parameters is the tool's parameter schema in the spec, but some instrumentations
  // write the call's arguments there; it is only the last resort.
  out.toolArguments = firstString(attrs, [
    "tool_call.function.arguments",
    "input.value",
    "tool.parameters",
  ]);
  out.toolResult = getString(attrs, "output.value");
  out.inputText = out.toolArguments;
  out.outputText = out.toolResult;
  out.outputType = mimeToOutputType(getString(attrs, "output.mime_type"));
}

/** input.value / output.value, with the output type from output.mime_type. */
function fillValues(out: AgentOutput, attrs: AttrMap): void {
  if (out.inputText === "") out.inputText = getString(attrs, "input.value");
  out.outputText = getString(attrs, "output.value");
  out.outputType = mimeToOutputType(getString(attrs, "output.mime_type"));
}

function mimeToOutputType(mime: string): string {
  if (mime === "application/json") return "json";
  if (mime === "text/plain") return "text";
  return "";
}

/**
 * Flattened messages under a prefix: `message.role`, `message.content` or the text items of
 * `message.contents.M.message_content.*`, and `message.tool_calls.M.tool_call.*`. With
 * `callsAsText`, a turn that only called tools reads as its calls (for input transcripts).
 */
function messagesOf(
  attrs: AttrMap,
  prefix: string,
  callsAsText: boolean,
): { messages: ChatMessage[]; calls: ToolCall[] } {
  const messages: ChatMessage[] = [];
  const calls: ToolCall[] = [];
  for (const item of indexed(attrs, prefix)) {
    let text = getString(item, "message.content");
    if (text === "") {
      for (const content of indexed(item, "message.contents.")) {
        const type = getString(content, "message_content.type");
        if (type === "" || type === "text") text += getString(content, "message_content.text");
      }
    }
    const messageCalls = indexed(item, "message.tool_calls.").map((call) => ({
      id: getString(call, "tool_call.id"),
      name: getString(call, "tool_call.function.name"),
      arguments: getString(call, "tool_call.function.arguments"),
    }));
    calls.push(...messageCalls);
    if (callsAsText && text === "" && messageCalls.length > 0) text = textOf(messageCalls);
    messages.push({ role: getString(item, "message.role"), text });
  }
  return { messages, calls };
}
