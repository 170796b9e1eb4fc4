/**
 * One agent output: an LLM call, an agent run or a tool call, with the fields rules read.
 * Each convention module turns a DecodedSpan into this shape; `toAgentOutputRow` (in
 * agent-output-row.ts) turns it into an `agent_outputs` row.
 */

import type { AttrMap } from "./span.ts";

/** What the output is. */
export type OutputKind = "llm" | "agent" | "tool";

/** The conventions we understand, recorded on every row as `Convention`. */
export type ConventionName = "genai" | "openinference" | "vercel-ai" | "openllmetry";

/**
 * Operation names follow the OTel GenAI `gen_ai.operation.name` values where one fits:
 * chat, text_completion, generate_content, embeddings, invoke_agent, create_agent,
 * execute_tool. Other conventions map onto these (see docs/conventions.md).
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
  /** gen_ai.provider.name (or the deprecated gen_ai.system); "" when unknown. */
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

/** A convention module: recognises its spans and extracts the output, or returns null. */
export interface Convention {
  name: ConventionName;
  /** Returns the output for a span of this convention, or null when the span is not one. */
  extract(span: {
    name: string;
    attributes: AttrMap;
    events: { name: string; attributes: AttrMap }[];
    resource: { attributes: AttrMap };
  }): AgentOutput | null;
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
