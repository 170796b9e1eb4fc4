/**
 * One agent output: an LLM call, an agent run, a tool call, or one of the steps around them
 * (a workflow, a plan, a retrieval, a memory operation, an agent definition), with the fields
 * rules read. Each convention module turns a DecodedSpan into this shape; `normaliseSpan` (in
 * normalise.ts) turns it into an `agent_outputs` row.
 */

import type { OutputKind } from "../rules/rule.ts";
import type { AttrMap } from "./span.ts";

/**
 * What the output is (docs/conventions.md "Kind and Operation"; the list is the rules' own,
 * OUTPUT_KINDS in rules/rule.ts):
 * - `llm`: one model call; `agent`: one agent run; `tool`: one tool call;
 * - `workflow`: one run of a workflow that orchestrates agents (GenAI `invoke_workflow`, an
 *   OpenLLMetry workflow, the trace root of the OpenAI Agents SDK), so that a run is not
 *   counted as two agent runs;
 * - `plan`: an agent's planning step; `retrieval`: a search of a data source; `memory`: a
 *   memory operation (`search_memory`, `create_memory` …);
 * - `definition`: an agent being created (`create_agent`), which answers nothing.
 * Only llm, agent and tool outputs are answers the built-in content detectors check.
 */
export type { OutputKind };

/** The conventions we understand, recorded on every row as `Convention`. */
export type ConventionName = "genai" | "openinference" | "vercel-ai" | "openllmetry";

/**
 * Operation names follow the OTel GenAI `gen_ai.operation.name` values where one fits:
 * chat, text_completion, generate_content, embeddings, invoke_agent, create_agent,
 * execute_tool, invoke_workflow, plan, retrieval, and the memory operations (create_memory,
 * search_memory, update_memory, upsert_memory, delete_memory, create_memory_store,
 * delete_memory_store). Other conventions map onto these (see docs/conventions.md).
 */
export type OperationName = string;

export interface AgentOutput {
  convention: ConventionName;
  kind: OutputKind;
  operation: OperationName;
  /** gen_ai.agent.name, ai.telemetry.functionId, traceloop.entity.name …; "" when unknown. */
  agentName: string;
  agentId: string;
  conversationId: string;
  /**
   * The provider as a GenAI `gen_ai.provider.name` value (openai, anthropic, aws.bedrock …;
   * provider-names.ts), whatever the convention called it; "" when unknown. The value as
   * recorded stays in its attribute (gen_ai.system, ai.model.provider, llm.provider …).
   */
  provider: string;
  requestModel: string;
  responseModel: string;
  /** The input as readable text: a "role: text" line per message, other parts as JSON. */
  inputText: string;
  /** The output as readable text; for structured output the JSON text. */
  outputText: string;
  /** gen_ai.output.type or equivalent: "text", "json", "image", "speech" …; "" when unknown. */
  outputType: string;
  /** The first finish reason, lowercased as the provider gave it ("stop", "length" …). */
  finishReason: string;
  toolName: string;
  toolCallId: string;
  /** Tool arguments as text (JSON text when they were structured). */
  toolArguments: string;
  /** Tool result as text (JSON text when it was structured). */
  toolResult: string;
  inputTokens: number | null;
  outputTokens: number | null;
  /** error.type, or the exception type of an exception event; "" when none. */
  errorType: string;
}

/**
 * A span as the convention modules see it (a DecodedSpan is one). `kind` (OTLP SpanKind) and
 * `scope` tell the trace root of an instrumentation apart from its other spans.
 */
export interface ConventionSpan {
  name: string;
  kind?: number;
  attributes: AttrMap;
  events: { name: string; attributes: AttrMap }[];
  resource: { attributes: AttrMap };
  scope?: { name: string };
}

/** A convention module: recognises its spans and extracts the output, or returns null. */
export interface Convention {
  name: ConventionName;
  /** Returns the output for a span of this convention, or null when the span is not one. */
  extract(span: ConventionSpan): AgentOutput | null;
}

/** An AgentOutput with every field empty, for conventions to fill in. */
export function emptyOutput(
  convention: ConventionName,
  kind: OutputKind,
  operation: OperationName,
): AgentOutput {
  return {
    convention,
    kind,
    operation,
    agentName: "",
    agentId: "",
    conversationId: "",
    provider: "",
    requestModel: "",
    responseModel: "",
    inputText: "",
    outputText: "",
    outputType: "",
    finishReason: "",
    toolName: "",
    toolCallId: "",
    toolArguments: "",
    toolResult: "",
    inputTokens: null,
    outputTokens: null,
    errorType: "",
  };
}
