/**
 * OpenInference (Arize) semantic conventions, spec/semantic_conventions.md: the span kind in
 * `openinference.span.kind`, chat messages as flattened `llm.input_messages.N.message.*` and
 * `llm.output_messages.N.message.*` attributes, and `input.value`/`output.value` for the rest.
 */

import { emptyOutput } from "../agent-output.ts";
import type { AgentOutput, Convention, OutputKind } from "../agent-output.ts";
import type { AttrMap } from "../span.ts";
import {
  chatModelInput,
  completeFromLangChain,
  firstGeneration,
  isIncomplete,
  lastAssistantMessage,
  toolMessage,
} from "./langchain-messages.ts";
import type { FlatMessage, Generation } from "./langchain-messages.ts";
import { canonicalProvider } from "./provider-names.ts";
import {
  errorTypeOf,
  firstNumber,
  firstString,
  getString,
  indexed,
  isRecord,
  structured,
  textOf,
  transcript,
} from "./read-attrs.ts";
import type { SpanView } from "./read-attrs.ts";

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

const WORKFLOW: { kind: OutputKind; operation: string } = {
  kind: "workflow",
  operation: "invoke_workflow",
};

const AGENT: { kind: OutputKind; operation: string } = {
  kind: "agent",
  operation: "invoke_agent",
};

/**
 * Content items that are text: `text`, or untyped; the OpenAI Responses API's `input_text` and
 * `output_text` (openinference-instrumentation-openai writes its parts' types as they are), and
 * `refusal`, whose text is what the model answered. `reasoning` and images are not output text.
 */
const TEXT_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "",
  "text",
  "input_text",
  "output_text",
  "refusal",
]);

/** Where instrumentations put the requested model in `llm.invocation_parameters`. */
const INVOCATION_MODEL_KEYS = ["model", "model_name", "model_id", "modelId"];

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
    const metadata = metadataOf(attrs);
    const agentOfRun = metadataString(metadata, "lc_agent_name");
    let mapped = OUTPUT_BY_SPAN_KIND.get(spanKind);
    if (spanKind === "CHAIN" && agentOfRun !== "" && span.name === agentOfRun) mapped = AGENT;
    if (mapped === undefined) return null;
    if (spanKind === "AGENT" && isOpenAiAgentsTraceRoot(span)) mapped = WORKFLOW;

    const out = emptyOutput("openinference", mapped.kind, mapped.operation);
    // LangChain.js's instrumentation records neither llm.provider nor llm.system; the chat model
    // names its provider in the run's metadata (ls_provider: openai, anthropic, google_genai …).
    out.provider = canonicalProvider(
      firstString(attrs, ["llm.provider", "llm.system"]) || metadataString(metadata, "ls_provider"),
    );
    // llm.model_name is "the model returned by the API" (spec): the response model. The model
    // asked for is in llm.invocation_parameters, which is also all a failed call records.
    // embedding.model_name is the only model an EMBEDDING span names: it stands for both.
    // LangChain.js's instrumentation writes the requested model as llm.model_name; the model
    // that answered is only in output.value, the LLMResult of the run.
    const embeddingModel = spanKind === "EMBEDDING" ? getString(attrs, "embedding.model_name") : "";
    const generation = spanKind === "LLM" ? firstGeneration(attrs["output.value"]) : undefined;
    out.requestModel =
      getString(attrs, "llm.request.model_name") || invocationModel(attrs) || embeddingModel;
    out.responseModel =
      getString(attrs, "llm.response.model_name") ||
      embeddingModel ||
      (generation?.model ?? "") ||
      getString(attrs, "llm.model_name");
    // A LangChain createAgent run passes its name (lc_agent_name) down to every run inside it.
    out.agentName = getString(attrs, "agent.name") || agentOfRun;
    out.conversationId = getString(attrs, "session.id");
    out.inputTokens = firstNumber(attrs, ["llm.token_count.prompt"]);
    out.outputTokens = firstNumber(attrs, ["llm.token_count.completion"]);
    out.finishReason = getString(attrs, "llm.finish_reason").toLowerCase();
    out.errorType = errorTypeOf(span);

    switch (spanKind) {
      case "LLM":
        fillLlm(out, attrs, generation);
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
      case "CHAIN": // only a createAgent run comes this far
        // Many agent instrumentations name the span after the agent and omit agent.name; the
        // OpenAI Agents trace root is named after the workflow.
        if (out.agentName === "") out.agentName = span.name;
        fillValues(out, attrs);
        fillGraphAnswer(out);
        break;
      default:
        fillTool(out, attrs, span.name);
    }
    return out;
  },
};

function fillLlm(out: AgentOutput, attrs: AttrMap, generation: Generation | undefined): void {
  const input = messagesOf(attrs, "llm.input_messages.");
  // LangChain.js's instrumentation leaves out content that is not a string (a part array, as
  // createAgent makes the system prompt) and every tool call's id; input.value has them all.
  if (input.some(isIncomplete)) {
    completeFromLangChain(input, chatModelInput(attrs["input.value"]), false);
  }
  if (input.length > 0) {
    out.inputText = transcript(
      input.map((m) => ({
        role: m.role,
        // A turn that only called tools shows its calls.
        text: m.text === "" && m.calls.length > 0 ? textOf(m.calls) : m.text,
      })),
    );
  } else {
    const prompts = indexed(attrs, "llm.prompts.").map((p) => getString(p, "prompt.text"));
    out.inputText = prompts.length > 0 ? prompts.join("\n") : getString(attrs, "input.value");
  }

  const output = messagesOf(attrs, "llm.output_messages.");
  completeFromLangChain(output, [generation?.message], true);
  if (output.length > 0) {
    out.outputText = output
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
  const calls = output.flatMap((m) => m.calls);
  const [onlyCall] = calls;
  if (out.outputText === "" && calls.length === 1 && onlyCall !== undefined) {
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
  out.outputType = mimeToOutputType(getString(attrs, "output.mime_type"));
  // LangChain tools return a ToolMessage, which the instrumentation records whole (LangChain.js's
  // in the run's outputs, {"output": …}): the result is its content.
  const message = toolMessage(structured(out.toolResult));
  if (message !== undefined) {
    out.toolResult = message.text;
    out.outputType = "";
    if (out.toolCallId === "") out.toolCallId = message.toolCallId;
  }
  out.inputText = out.toolArguments;
  out.outputText = out.toolResult;
}

/**
 * A LangGraph agent's output.value is its whole state, every message of the run: the answer
 * is the last AI message (its content, or its lone tool call when it ended on one). The state
 * as recorded stays readable as attributes.output.value.
 */
function fillGraphAnswer(out: AgentOutput): void {
  const answer = lastAssistantMessage(structured(out.outputText));
  if (answer === undefined) return;
  out.outputText = answer.answerText;
  // The type described output.value (application/json), not the answer.
  out.outputType = "";
  const [onlyCall] = answer.calls;
  if (answer.text === "" && answer.calls.length === 1 && onlyCall !== undefined) {
    out.toolName = onlyCall.name;
    out.toolCallId = onlyCall.id;
    out.toolArguments = onlyCall.arguments;
  }
}

/** The requested model in llm.invocation_parameters (JSON text of the request's parameters). */
function invocationModel(attrs: AttrMap): string {
  const params = structured(attrs["llm.invocation_parameters"]);
  if (!isRecord(params)) return "";
  for (const key of INVOCATION_MODEL_KEYS) {
    const value = params[key];
    if (typeof value === "string" && value !== "") return value;
  }
  return "";
}

/** OpenInference's OpenAI Agents instrumentation (openinference-instrumentation-openai-agents). */
const OPENAI_AGENTS_SCOPE = "openinference.instrumentation.openai_agents";

/** The OpenAI Agents SDK's default trace name (RunConfig.workflow_name). */
const OPENAI_AGENTS_DEFAULT_TRACE_NAME = "Agent workflow";

/**
 * The span OpenInference's OpenAI Agents instrumentation makes for the SDK's trace: an AGENT
 * span named after the trace ("Agent workflow" unless the run names it), with the agent spans
 * inside. It carries only its span kind (and, in later versions, the run's input and output):
 * never agent.name or graph.node.id, which agent spans have since 2026, nor llm.system, which
 * every span but the root had before.
 */
function isOpenAiAgentsTraceRoot(span: SpanView): boolean {
  const attrs = span.attributes;
  if ("agent.name" in attrs || "graph.node.id" in attrs || "llm.system" in attrs) return false;
  if ("llm.provider" in attrs) return false;
  return span.scope?.name === OPENAI_AGENTS_SCOPE || span.name === OPENAI_AGENTS_DEFAULT_TRACE_NAME;
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
 * `message.contents.M.message_content.*`, and `message.tool_calls.M.tool_call.*`.
 */
function messagesOf(attrs: AttrMap, prefix: string): FlatMessage[] {
  return indexed(attrs, prefix).map((item) => {
    let text = getString(item, "message.content");
    if (text === "") {
      for (const content of indexed(item, "message.contents.")) {
        const type = getString(content, "message_content.type");
        if (TEXT_CONTENT_TYPES.has(type)) text += getString(content, "message_content.text");
      }
    }
    const calls = indexed(item, "message.tool_calls.").map((call) => ({
      id: getString(call, "tool_call.id"),
      name: getString(call, "tool_call.function.name"),
      arguments: getString(call, "tool_call.function.arguments"),
    }));
    return { role: getString(item, "message.role"), text, calls };
  });
}

/**
 * The span's `metadata` (JSON text in the spec; a kvlist from some exporters): LangChain's
 * instrumentations record the run's metadata there (`ls_provider`, `lc_agent_name` …).
 */
function metadataOf(attrs: AttrMap): Record<string, unknown> {
  const metadata = structured(attrs["metadata"]);
  return isRecord(metadata) ? metadata : {};
}

function metadataString(metadata: Record<string, unknown>, key: string): string {
  const value = metadata[key];
  return typeof value === "string" ? value : "";
}
