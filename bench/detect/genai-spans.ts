/**
 * Agent runs as data, and their emission through a real OTel tracer, back-dated. The span
 * shapes follow the OTel GenAI semantic conventions as docs/conventions.md lists what Plumbline
 * reads from them: `invoke_agent <agent>` (gen_ai.agent.name, the run's input and answer),
 * `chat <model>` (models, finish reasons, token usage, gen_ai.input.messages /
 * gen_ai.output.messages as JSON text with parts) and `execute_tool <tool>` (gen_ai.tool.name,
 * gen_ai.tool.call.id / .arguments / .result).
 */

import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type HrTime,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { ModelChoice } from "./scenarios.ts";

/**
 * One span of a planned run; `parent` is the index of an earlier span of the same run. Times are
 * offsets from the run's start, in whole microseconds, so that a span's duration does not depend
 * on where the run sits in time (an epoch in milliseconds as a double is only exact to ~0.2 µs).
 */
export interface SpanPlan {
  name: string;
  kind: SpanKind;
  startOffsetMs: number;
  endOffsetMs: number;
  parent: number | null;
  attributes: Attributes;
  status: { code: SpanStatusCode; message?: string };
  events?: { name: string; offsetMs: number; attributes: Attributes }[];
}

/** A planned agent run: its spans, root first, each parent before its children. */
export interface RunPlan {
  /** The run's start, whole epoch milliseconds. */
  startMs: number;
  spans: SpanPlan[];
  /** Legitimate noise this run carries (out of stock, a retried tool error …). */
  legitimate: LegitimateEvent[];
}

export type LegitimateEvent =
  "out-of-stock" | "tool-error-retried" | "no-search-results" | "stopped-at-max-tokens";

const PROVIDER = "openai";

export interface AgentCall {
  agentName: string;
  agentId: string;
  conversationId: string;
  model: ModelChoice;
  startOffsetMs: number;
  endOffsetMs: number;
  input: string;
  answer: string;
}

/** The run's root span: `invoke_agent <agent>`, its input and its answer. */
export function agentSpan(call: AgentCall): SpanPlan {
  return {
    name: `invoke_agent ${call.agentName}`,
    kind: SpanKind.INTERNAL,
    startOffsetMs: call.startOffsetMs,
    endOffsetMs: call.endOffsetMs,
    parent: null,
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.provider.name": PROVIDER,
      "gen_ai.agent.name": call.agentName,
      "gen_ai.agent.id": call.agentId,
      "gen_ai.conversation.id": call.conversationId,
      "gen_ai.request.model": call.model.requestModel,
      "gen_ai.input.messages": JSON.stringify([textMessage("user", call.input)]),
      "gen_ai.output.messages": JSON.stringify([
        { ...textMessage("assistant", call.answer), finish_reason: "stop" },
      ]),
    },
    status: { code: SpanStatusCode.OK },
  };
}

export interface ChatCall {
  model: ModelChoice;
  parent: number;
  startOffsetMs: number;
  endOffsetMs: number;
  instructions: string;
  input: string;
  output: string;
  finishReason: "stop" | "length";
  outputType: "json" | "text";
  inputTokens: number;
  outputTokens: number;
  maxTokens: number;
  temperature: number;
  responseId: string;
}

/** One model call: `chat <request model>`. */
export function chatSpan(call: ChatCall): SpanPlan {
  return {
    name: `chat ${call.model.requestModel}`,
    kind: SpanKind.CLIENT,
    startOffsetMs: call.startOffsetMs,
    endOffsetMs: call.endOffsetMs,
    parent: call.parent,
    attributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": PROVIDER,
      "gen_ai.request.model": call.model.requestModel,
      "gen_ai.request.max_tokens": call.maxTokens,
      "gen_ai.request.temperature": call.temperature,
      "gen_ai.output.type": call.outputType,
      "gen_ai.response.model": call.model.responseModel,
      "gen_ai.response.id": call.responseId,
      "gen_ai.response.finish_reasons": [call.finishReason],
      "gen_ai.usage.input_tokens": call.inputTokens,
      "gen_ai.usage.output_tokens": call.outputTokens,
      "gen_ai.system_instructions": JSON.stringify([{ type: "text", content: call.instructions }]),
      "gen_ai.input.messages": JSON.stringify([textMessage("user", call.input)]),
      "gen_ai.output.messages": JSON.stringify([
        { ...textMessage("assistant", call.output), finish_reason: call.finishReason },
      ]),
      "server.address": "api.openai.com",
      "server.port": 443,
    },
    status: { code: SpanStatusCode.UNSET },
  };
}

export interface ToolCall {
  name: string;
  callId: string;
  parent: number;
  startOffsetMs: number;
  endOffsetMs: number;
  args: unknown;
  /** The result; absent when the call failed. */
  result?: unknown;
  /** A failure the tool raised: the span ends in Error, with an exception event. */
  error?: { type: string; message: string };
}

/** One tool call: `execute_tool <tool>`; a raised error is status Error + error.type. */
export function toolSpan(call: ToolCall): SpanPlan {
  const attributes: Attributes = {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": call.name,
    "gen_ai.tool.type": "function",
    "gen_ai.tool.call.id": call.callId,
    "gen_ai.tool.call.arguments": JSON.stringify(call.args),
  };
  if (call.error !== undefined) {
    attributes["error.type"] = call.error.type;
    return {
      name: `execute_tool ${call.name}`,
      kind: SpanKind.INTERNAL,
      startOffsetMs: call.startOffsetMs,
      endOffsetMs: call.endOffsetMs,
      parent: call.parent,
      attributes,
      status: { code: SpanStatusCode.ERROR, message: call.error.message },
      events: [
        {
          name: "exception",
          offsetMs: call.endOffsetMs,
          attributes: {
            "exception.type": call.error.type,
            "exception.message": call.error.message,
          },
        },
      ],
    };
  }
  attributes["gen_ai.tool.call.result"] = JSON.stringify(call.result);
  return {
    name: `execute_tool ${call.name}`,
    kind: SpanKind.INTERNAL,
    startOffsetMs: call.startOffsetMs,
    endOffsetMs: call.endOffsetMs,
    parent: call.parent,
    attributes,
    status: { code: SpanStatusCode.OK },
  };
}

function textMessage(role: string, content: string) {
  return { role, parts: [{ type: "text", content }] };
}

/** Emits a planned run through `tracer`, back-dated to its own times; returns its trace id. */
export function emitRun(tracer: Tracer, run: RunPlan): string {
  const baseSeconds = Math.floor(run.startMs / 1000);
  const baseNanos = (run.startMs - baseSeconds * 1000) * 1_000_000;
  /** The exact HrTime of an offset: integer arithmetic, no epoch-sized doubles. */
  const at = (offsetMs: number): HrTime => {
    const nanos = baseNanos + Math.round(offsetMs * 1_000_000);
    return [baseSeconds + Math.floor(nanos / 1e9), nanos % 1e9];
  };
  const started: Span[] = [];
  for (const plan of run.spans) {
    const parent = plan.parent === null ? undefined : started[plan.parent];
    const context = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
    const span = tracer.startSpan(
      plan.name,
      { kind: plan.kind, startTime: at(plan.startOffsetMs), attributes: plan.attributes },
      context,
    );
    for (const event of plan.events ?? [])
      span.addEvent(event.name, event.attributes, at(event.offsetMs));
    if (plan.status.code !== SpanStatusCode.UNSET) span.setStatus(plan.status);
    started.push(span);
  }
  // Each child as it finished, the root last, as an instrumented agent ends them.
  for (let i = 1; i <= started.length; i++) {
    const index = i % started.length;
    const plan = run.spans[index];
    if (plan !== undefined) started[index]?.end(at(plan.endOffsetMs));
  }
  const root = started[0];
  if (root === undefined) throw new Error("a run needs at least its root span");
  return root.spanContext().traceId;
}
