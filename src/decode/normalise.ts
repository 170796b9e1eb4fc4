/**
 * Spans to `agent_outputs` rows: each span that is an LLM call, an agent run, a tool call or
 * one of the steps around them (a workflow, a plan, a retrieval, a memory operation, an agent
 * definition) under one of the conventions we understand becomes one row; every other span
 * becomes none. See docs/conventions.md for what each convention reads.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { AgentOutput, Convention } from "./agent-output.ts";
import { attrsToStrings } from "./attr-string.ts";
import { evaluationAttributes } from "./conventions/evaluation-events.ts";
import { genAiConvention } from "./conventions/genai.ts";
import { openInferenceConvention } from "./conventions/openinference.ts";
import { openLlmetryConvention } from "./conventions/openllmetry.ts";
import { getString } from "./conventions/read-attrs.ts";
import { vercelAiConvention } from "./conventions/vercel-ai.ts";
import { nanosToDateTime64 } from "./span-row.ts";
import { StatusCode } from "./span.ts";
import type { DecodedSpan } from "./span.ts";

/**
 * Most specific marker first. Instrumentations stack: OpenInference's and OpenLLMetry's SDKs
 * and the Vercel AI SDK v6 all also write `gen_ai.*` attributes, so the generic GenAI reading
 * comes last. A convention that recognises a span but finds no output in it (an OpenInference
 * CHAIN, say) passes it on, so a span marked by two instrumentations gets the other's reading.
 */
export const CONVENTIONS: readonly Convention[] = [
  openInferenceConvention,
  openLlmetryConvention,
  vercelAiConvention,
  genAiConvention,
];

/** The `agent_outputs` row of a span, or null when the span is no agent output. */
export function normaliseSpan(span: DecodedSpan): AgentOutputRow | null {
  for (const convention of CONVENTIONS) {
    const output = convention.extract(span);
    if (output !== null) return toRow(span, output);
  }
  return null;
}

/** Rows for the spans that are agent outputs; the others, unchanged, in `unrecognised`. */
export function normaliseSpans(spans: readonly DecodedSpan[]): {
  rows: AgentOutputRow[];
  unrecognised: DecodedSpan[];
} {
  const rows: AgentOutputRow[] = [];
  const unrecognised: DecodedSpan[] = [];
  for (const span of spans) {
    const row = normaliseSpan(span);
    if (row === null) unrecognised.push(span);
    else rows.push(row);
  }
  return { rows, unrecognised };
}

function toRow(span: DecodedSpan, output: AgentOutput): AgentOutputRow {
  const outputJson = outputJsonText(output.outputText);
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  return {
    Timestamp: nanosToDateTime64(span.startTimeUnixNano),
    TraceId: span.traceId,
    SpanId: span.spanId,
    ParentSpanId: span.parentSpanId,
    ServiceName: span.resource.serviceName,
    ServiceVersion: getString(span.resource.attributes, "service.version"),
    SpanName: span.name,
    Convention: output.convention,
    Kind: output.kind,
    Operation: output.operation,
    AgentName: output.agentName,
    AgentId: output.agentId,
    ConversationId: output.conversationId,
    Provider: output.provider,
    RequestModel: output.requestModel,
    ResponseModel: output.responseModel,
    Model: output.responseModel || output.requestModel,
    InputText: output.inputText,
    OutputText: output.outputText,
    OutputJson: outputJson,
    OutputIsJson: outputJson !== "",
    OutputType: output.outputType,
    FinishReason: output.finishReason,
    ToolName: output.toolName,
    ToolCallId: output.toolCallId,
    ToolArguments: output.toolArguments,
    ToolResult: output.toolResult,
    InputTokens: output.inputTokens,
    OutputTokens: output.outputTokens,
    DurationNs: (duration > 0n ? duration : 0n).toString(),
    StatusCode: statusName(span.statusCode),
    StatusMessage: span.statusMessage,
    // A span with Error status but no error class still failed: it gets the GenAI
    // conventions' fallback value "_OTHER" ("the instrumentation doesn't define a custom
    // value"), so rules can find every failure with ErrorType != ''.
    ErrorType: output.errorType || (span.statusCode === StatusCode.Error ? ERROR_TYPE_OTHER : ""),
    SpanAttributes: spanAttributes(span),
    ResourceAttributes: attrsToStrings(span.resource.attributes),
  };
}

/**
 * The span's attributes as the exporter writes them, plus the evaluation results among its
 * events under `plumbline.evaluation.*` (evaluation-events.ts), where both the rules' Node and
 * SQL readers find them. They are the row's only keys that are not the span's own.
 */
function spanAttributes(span: DecodedSpan): Record<string, string> {
  const attributes = attrsToStrings(span.attributes);
  return span.events.length === 0
    ? attributes
    : Object.assign(attributes, evaluationAttributes(span.events));
}

/** The otel_traces spelling of a status code; codes outside the proto enum read as Unset. */
function statusName(code: number): string {
  if (code === StatusCode.Ok) return "Ok";
  if (code === StatusCode.Error) return "Error";
  return "Unset";
}

/** error.type's fallback value in the OTel semantic conventions (registry/attributes/error.md). */
export const ERROR_TYPE_OTHER = "_OTHER";

/**
 * The output as JSON text when it is a JSON object or array, "" otherwise (a bare string or
 * number is not structured output). Models often wrap structured output in one fenced block,
 * so a text that is exactly one ```json (or unlabelled ```) block counts by its contents. The
 * text is returned as written, only trimmed and unfenced: parsing validates it, and not
 * re-serialising keeps integers beyond 2^53 exact.
 */
export function outputJsonText(text: string): string {
  let body = text.trim();
  if (body.startsWith("```")) body = fencedBody(body);
  const first = body.charCodeAt(0);
  if (first !== 0x7b && first !== 0x5b) return ""; // { or [
  try {
    JSON.parse(body);
    return body;
  } catch {
    return "";
  }
}

/** The contents of a text that is exactly one ```json or ``` fenced block, else "". */
function fencedBody(text: string): string {
  const newline = text.indexOf("\n");
  if (newline < 0 || text.length < newline + 4 || !text.endsWith("```")) return "";
  const language = text.slice(3, newline).trim().toLowerCase();
  if (language !== "" && language !== "json") return "";
  const body = text.slice(newline + 1, text.length - 3);
  return body.includes("```") ? "" : body.trim();
}
