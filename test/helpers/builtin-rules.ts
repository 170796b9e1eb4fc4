/**
 * Shared builders for the built-in detector tests (test/builtin-rules/): the detectors loaded
 * from rules/builtin/, checked on spans carrying the attributes the OTel GenAI
 * instrumentations, the Vercel AI SDK (v6 telemetry) and OpenInference record, normalised into
 * rows as ingest does.
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { inheritAgentNames } from "../../src/decode/inherit-agent.ts";
import { normaliseSpan, normaliseSpans } from "../../src/decode/normalise.ts";
import { SpanKind, StatusCode } from "../../src/decode/span.ts";
import type { AttrMap, DecodedSpan } from "../../src/decode/span.ts";
import type { CompiledRule } from "../../src/evaluate/compile-rule.ts";
import type { Finding } from "../../src/rules/findings.ts";
import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import { makeEvent, makeSpan, START_NANOS } from "./make-span.ts";
import type { SpanOverrides } from "./make-span.ts";
import { loadTestRuleFile } from "./rules.ts";

export const builtinDir = fileURLToPath(new URL("../../rules/builtin/", import.meta.url));
export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

/** A built-in detector, loaded from its file and compiled as the rule set does. */
export function detector(name: string): CompiledRule {
  const result = loadTestRuleFile(path.join(builtinDir, `${name}.json`), builtinDir);
  if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  return result.rule;
}

/** Findings of an output rule on one span, as the engine evaluates it (only when it matches). */
export async function check(rule: CompiledRule, span: DecodedSpan): Promise<Finding[]> {
  const row = normaliseSpan(span);
  if (row === null) throw new Error(`span ${span.name} is no agent output`);
  return rule.matches(row) ? rule.evaluateOutput(row) : [];
}

/** Findings of a trace rule on a whole trace, normalised and named as ingest does. */
export function checkTrace(rule: CompiledRule, spans: DecodedSpan[]): Finding[] {
  const { rows, unrecognised } = normaliseSpans(spans);
  expect(unrecognised.map((span) => span.name)).toEqual([]);
  inheritAgentNames(rows, spans);
  return rule.evaluateTrace(rows);
}

/**
 * Findings of a conversation rule on a conversation whose turns are `turns` (each the spans of
 * one trace, built with TRACE_ID and times into the turn): each turn gets its own trace id and
 * starts a minute after the one before, is normalised and named as ingest does, and is checked
 * against the turns before it as the conversation evaluator does; then the whole conversation
 * once more, as when it has gone quiet.
 */
export function checkConversation(rule: CompiledRule, turns: DecodedSpan[][]): Finding[] {
  const rows: AgentOutputRow[] = [];
  const findings: Finding[] = [];
  turns.forEach((spans, i) => {
    const traceId = `${(i + 1).toString(16).padStart(2, "0")}${TRACE_ID.slice(2)}`;
    const shift = BigInt(i) * 60_000_000_000n;
    const turn = spans.map((span) => ({
      ...span,
      traceId,
      startTimeUnixNano: span.startTimeUnixNano + shift,
      endTimeUnixNano: span.endTimeUnixNano + shift,
    }));
    const normalised = normaliseSpans(turn);
    inheritAgentNames(normalised.rows, turn);
    rows.push(...normalised.rows);
    const id = rows.find((row) => row.ConversationId !== "")?.ConversationId ?? "conversation";
    findings.push(
      ...rule.evaluateConversation(id, rows, { kind: "turn", traceIds: new Set([traceId]) }),
    );
  });
  const id = rows.find((row) => row.ConversationId !== "")?.ConversationId ?? "conversation";
  findings.push(...rule.evaluateConversation(id, rows, { kind: "final" }));
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Span builders. Times are milliseconds into the trace; ids are the span's own.

export interface Placement {
  spanId?: string;
  parentSpanId?: string;
  startMs?: number;
  endMs?: number;
}

export function placed({
  spanId,
  parentSpanId,
  startMs = 0,
  endMs = 1500,
}: Placement): SpanOverrides {
  return {
    traceId: TRACE_ID,
    ...(spanId !== undefined && { spanId }),
    ...(parentSpanId !== undefined && { parentSpanId }),
    startTimeUnixNano: START_NANOS + BigInt(startMs) * 1_000_000n,
    endTimeUnixNano: START_NANOS + BigInt(endMs) * 1_000_000n,
  };
}

export function failed(message: string, type: string): SpanOverrides {
  return {
    statusCode: StatusCode.Error,
    statusMessage: message,
    events: [makeEvent("exception", { "exception.type": type, "exception.message": message })],
  };
}

export type GenAiPart =
  | { type: "text"; content: string }
  | { type: "tool_call"; id: string; name: string; arguments: Record<string, unknown> };

export const say = (content: string): GenAiPart => ({ type: "text", content });
export const call = (name: string, args: Record<string, unknown>, id: string): GenAiPart => ({
  type: "tool_call",
  id,
  name,
  arguments: args,
});

export const SUPPORT_PROMPT = "You are the support agent of Acme Outdoor. Be brief and accurate.";

/**
 * An OpenAI chat completion as the OTel GenAI instrumentations record it with content capture
 * on (semantic conventions 1.37: gen_ai.input.messages / gen_ai.output.messages as JSON).
 */
export function genAiChat(
  user: string,
  output: GenAiPart[],
  finishReason: string,
  options: Placement & { attributes?: AttrMap; span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: "chat gpt-4o-mini",
    kind: SpanKind.Client,
    ...placed(options),
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.response.id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
      "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
      "gen_ai.response.finish_reasons": [finishReason],
      "gen_ai.usage.input_tokens": 412,
      "gen_ai.usage.output_tokens": 38,
      "server.address": "api.openai.com",
      "gen_ai.input.messages": JSON.stringify([
        { role: "system", parts: [say(SUPPORT_PROMPT)] },
        { role: "user", parts: [say(user)] },
      ]),
      "gen_ai.output.messages": JSON.stringify([
        { role: "assistant", parts: output, finish_reason: finishReason },
      ]),
      ...options.attributes,
    },
    ...options.span,
  });
}

/**
 * An `execute_tool` span (GenAI agent spans), with arguments and result captured; arguments
 * given as text are recorded exactly so (as the model wrote them).
 */
export function genAiTool(
  name: string,
  args: Record<string, unknown> | string,
  result: string,
  options: Placement & { callId?: string; span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: `execute_tool ${name}`,
    kind: SpanKind.Internal,
    ...placed(options),
    attributes: {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": name,
      "gen_ai.tool.type": "function",
      "gen_ai.tool.call.id": options.callId ?? "call_Qx1bX5D2mBXwuT7pmHQ3nEGa",
      "gen_ai.tool.call.arguments": typeof args === "string" ? args : JSON.stringify(args),
      ...(result !== "" && { "gen_ai.tool.call.result": result }),
    },
    ...options.span,
  });
}

/** An `invoke_agent` span of the support-triage agent. */
export function genAiAgent(
  user: string,
  answer: string,
  options: Placement & { span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: "invoke_agent support-triage",
    kind: SpanKind.Internal,
    ...placed({ parentSpanId: "", ...options }),
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.provider.name": "openai",
      "gen_ai.agent.name": "support-triage",
      "gen_ai.agent.id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
      "gen_ai.conversation.id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [say(user)] }]),
      "gen_ai.output.messages": JSON.stringify([
        { role: "assistant", parts: [say(answer)], finish_reason: "stop" },
      ]),
    },
    ...options.span,
  });
}

/** What every span of one AI SDK call carries (experimental_telemetry with a functionId). */
export function vercelBase(operationId: string): AttrMap {
  return {
    "operation.name": `${operationId} support-agent`,
    "resource.name": "support-agent",
    "ai.operationId": operationId,
    "ai.telemetry.functionId": "support-agent",
    "ai.telemetry.metadata.sessionId": "sess-42",
  };
}

/** One model call of the AI SDK v6 (`ai.generateText.doGenerate` and friends). */
export function vercelModelCall(
  response: { text?: string; object?: string; toolCalls?: unknown[] },
  finishReason: string,
  options: Placement & { operationId?: string; prompt?: string; span?: SpanOverrides } = {},
): DecodedSpan {
  const operationId = options.operationId ?? "ai.generateText.doGenerate";
  const prompt = options.prompt ?? "Where is my order #4411?";
  return makeSpan({
    name: operationId,
    kind: SpanKind.Internal,
    ...placed(options),
    attributes: {
      ...vercelBase(operationId),
      "ai.model.provider": "anthropic.messages",
      "ai.model.id": "claude-3-5-haiku-latest",
      "ai.settings.maxRetries": 2,
      "ai.prompt.messages": JSON.stringify([
        { role: "system", content: SUPPORT_PROMPT },
        { role: "user", content: [{ type: "text", text: prompt }] },
      ]),
      "gen_ai.system": "anthropic.messages",
      "gen_ai.request.model": "claude-3-5-haiku-latest",
      ...(response.text !== undefined && { "ai.response.text": response.text }),
      ...(response.object !== undefined && { "ai.response.object": response.object }),
      ...(response.toolCalls !== undefined && {
        "ai.response.toolCalls": JSON.stringify(response.toolCalls),
      }),
      "ai.response.finishReason": finishReason,
      "ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL",
      "ai.response.model": "claude-3-5-haiku-20241022",
      "ai.response.timestamp": "2023-11-14T22:13:21.623Z",
      "ai.usage.inputTokens": 388,
      "ai.usage.outputTokens": 61,
      "ai.usage.totalTokens": 449,
      "gen_ai.response.finish_reasons": [finishReason],
      "gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL",
      "gen_ai.response.model": "claude-3-5-haiku-20241022",
      "gen_ai.usage.input_tokens": 388,
      "gen_ai.usage.output_tokens": 61,
    },
    ...options.span,
  });
}

/** The outer `ai.generateText` span of one call (all steps). */
export function vercelRun(
  prompt: string,
  text: string,
  finishReason: string,
  options: Placement & { span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: "ai.generateText",
    kind: SpanKind.Internal,
    ...placed({ parentSpanId: "", ...options }),
    attributes: {
      ...vercelBase("ai.generateText"),
      "ai.model.provider": "anthropic.messages",
      "ai.model.id": "claude-3-5-haiku-latest",
      "ai.settings.maxRetries": 2,
      "ai.prompt": JSON.stringify({ system: SUPPORT_PROMPT, prompt }),
      "ai.response.finishReason": finishReason,
      ...(text !== "" && { "ai.response.text": text }),
      "ai.usage.inputTokens": 801,
      "ai.usage.outputTokens": 97,
    },
    ...options.span,
  });
}

/** An `ai.toolCall` span; the SDK records JSON.stringify of what execute returned. */
export function vercelToolCall(
  name: string,
  args: Record<string, unknown>,
  result: unknown,
  options: Placement & { callId?: string; span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: "ai.toolCall",
    kind: SpanKind.Internal,
    ...placed(options),
    attributes: {
      ...vercelBase("ai.toolCall"),
      "ai.toolCall.name": name,
      "ai.toolCall.id": options.callId ?? "toolu_01A09q90qw90lq917835lq9",
      "ai.toolCall.args": JSON.stringify(args),
      ...(result !== undefined && { "ai.toolCall.result": JSON.stringify(result) }),
    },
    ...options.span,
  });
}

/**
 * A GenAI span of one of the operations around model calls and agent runs (invoke_workflow,
 * plan, retrieval, the memory operations, create_agent), as semantic-conventions-genai's
 * spans.yaml describes them, with the given attributes added.
 */
export function genAiStep(
  operation: string,
  attributes: AttrMap,
  options: Placement & { name?: string; span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: options.name ?? operation,
    kind: SpanKind.Internal,
    ...placed(options),
    attributes: { "gen_ai.operation.name": operation, ...attributes },
    ...options.span,
  });
}

/**
 * An OpenLLMetry (Traceloop SDK) entity span: `@workflow`, `@agent` or `@tool`, with the call's
 * arguments and return value as the SDK records them (json.dumps). Spans inside an `@agent`
 * carry `gen_ai.agent.name`.
 */
export function traceloopEntity(
  kind: "workflow" | "agent" | "tool",
  name: string,
  input: unknown,
  output: unknown,
  options: Placement & { workflow?: string; agent?: string; span?: SpanOverrides } = {},
): DecodedSpan {
  return makeSpan({
    name: `${name}.${kind}`,
    kind: SpanKind.Internal,
    ...placed(options),
    attributes: {
      "traceloop.span.kind": kind,
      "traceloop.entity.name": name,
      "traceloop.workflow.name": options.workflow ?? name,
      ...(options.agent !== undefined && { "gen_ai.agent.name": options.agent }),
      "traceloop.entity.input": JSON.stringify({ args: [input], kwargs: {} }),
      ...(output !== undefined && { "traceloop.entity.output": JSON.stringify(output) }),
    },
    ...options.span,
  });
}
