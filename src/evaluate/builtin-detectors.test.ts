/**
 * The built-in detectors (rules/builtin/) on realistic telemetry: spans carrying the attributes
 * the OTel GenAI instrumentations, the Vercel AI SDK (v6 telemetry) and OpenInference record,
 * normalised into rows as ingest does. Each detector must catch its silent failure and stay
 * quiet on the look-alikes a production agent produces every day.
 */

import { loadTestRuleFile } from "../../test/helpers/rules.ts";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeEvent, makeSpan, START_NANOS } from "../../test/helpers/make-span.ts";
import type { SpanOverrides } from "../../test/helpers/make-span.ts";
import { inheritAgentNames } from "../decode/inherit-agent.ts";
import { normaliseSpan, normaliseSpans } from "../decode/normalise.ts";
import { SpanKind, StatusCode } from "../decode/span.ts";
import type { AttrMap, DecodedSpan } from "../decode/span.ts";
import type { CompiledRule } from "./compile-rule.ts";

import type { Finding } from "../rules/rule.ts";

const builtinDir = fileURLToPath(new URL("../../rules/builtin/", import.meta.url));
const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

/** A built-in detector, loaded from its file and compiled as the rule set does. */
function detector(name: string): CompiledRule {
  const result = loadTestRuleFile(path.join(builtinDir, `${name}.json`), builtinDir);
  if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  return result.rule;
}

/** Findings of an output rule on one span, as the engine evaluates it (only when it matches). */
async function check(rule: CompiledRule, span: DecodedSpan): Promise<Finding[]> {
  const row = normaliseSpan(span);
  if (row === null) throw new Error(`span ${span.name} is no agent output`);
  return rule.matches(row) ? rule.evaluateOutput(row) : [];
}

/** Findings of a trace rule on a whole trace, normalised and named as ingest does. */
function checkTrace(rule: CompiledRule, spans: DecodedSpan[]): Finding[] {
  const { rows, unrecognised } = normaliseSpans(spans);
  expect(unrecognised.map((span) => span.name)).toEqual([]);
  inheritAgentNames(rows, spans);
  return rule.evaluateTrace(rows);
}

// ---------------------------------------------------------------------------------------------
// Span builders. Times are milliseconds into the trace; ids are the span's own.

interface Placement {
  spanId?: string;
  parentSpanId?: string;
  startMs?: number;
  endMs?: number;
}

function placed({ spanId, parentSpanId, startMs = 0, endMs = 1500 }: Placement): SpanOverrides {
  return {
    traceId: TRACE_ID,
    ...(spanId !== undefined && { spanId }),
    ...(parentSpanId !== undefined && { parentSpanId }),
    startTimeUnixNano: START_NANOS + BigInt(startMs) * 1_000_000n,
    endTimeUnixNano: START_NANOS + BigInt(endMs) * 1_000_000n,
  };
}

function failed(message: string, type: string): SpanOverrides {
  return {
    statusCode: StatusCode.Error,
    statusMessage: message,
    events: [makeEvent("exception", { "exception.type": type, "exception.message": message })],
  };
}

type GenAiPart =
  | { type: "text"; content: string }
  | { type: "tool_call"; id: string; name: string; arguments: Record<string, unknown> };

const say = (content: string): GenAiPart => ({ type: "text", content });
const call = (name: string, args: Record<string, unknown>, id: string): GenAiPart => ({
  type: "tool_call",
  id,
  name,
  arguments: args,
});

const SUPPORT_PROMPT = "You are the support agent of Acme Outdoor. Be brief and accurate.";

/**
 * An OpenAI chat completion as the OTel GenAI instrumentations record it with content capture
 * on (semantic conventions 1.37: gen_ai.input.messages / gen_ai.output.messages as JSON).
 */
function genAiChat(
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
function genAiTool(
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
function genAiAgent(
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
function vercelBase(operationId: string): AttrMap {
  return {
    "operation.name": `${operationId} support-agent`,
    "resource.name": "support-agent",
    "ai.operationId": operationId,
    "ai.telemetry.functionId": "support-agent",
    "ai.telemetry.metadata.sessionId": "sess-42",
  };
}

/** One model call of the AI SDK v6 (`ai.generateText.doGenerate` and friends). */
function vercelModelCall(
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
function vercelRun(
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
function vercelToolCall(
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

// ---------------------------------------------------------------------------------------------

describe("builtin.truncated-output", () => {
  const rule = detector("truncated-output");

  it("flags an OpenAI chat completion cut off at max_tokens (finish reason length)", async () => {
    const span = genAiChat(
      "Summarise our returns policy for a customer in Germany.",
      [say("Sure. You can return any item within 30 days of delivery. To start a return, open")],
      "length",
      { spanId: "5fb397be34d26b51", attributes: { "gen_ai.request.max_tokens": 20 } },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.truncated-output",
        severity: "warning",
        code: "assertion_failed",
        path: "finish_reason",
        observed: "length",
        message: expect.stringContaining("the output was cut off") as unknown,
        traceId: TRACE_ID,
        spanId: "5fb397be34d26b51",
      }),
    ]);
  });

  it("flags an AI SDK stream that hit the token limit", async () => {
    const span = vercelModelCall(
      { text: "Your order #4411 left our warehouse on Monday and is now with DHL. The trac" },
      "length",
      { spanId: "a3ce929d0e0e4736", operationId: "ai.streamText.doStream" },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.truncated-output",
        code: "assertion_failed",
        path: "finish_reason",
        observed: "length",
        spanId: "a3ce929d0e0e4736",
      }),
    ]);
  });

  it.each(["max_tokens", "MAX_TOKENS", "content_filter"])(
    "flags finish reason %s as the providers spell it",
    async (finishReason) => {
      const span = genAiChat(
        "Tell me about your warranty.",
        [say("Our warranty covers")],
        finishReason,
      );
      const findings = await check(rule, span);
      expect(findings.map((f) => [f.code, f.observed])).toEqual([
        ["assertion_failed", finishReason.toLowerCase()],
      ]);
    },
  );

  it("does not flag answers that stopped on their own, or to call a tool", async () => {
    const spans = [
      genAiChat("Where is my order #4411?", [say("Order #4411 shipped yesterday.")], "stop"),
      genAiChat(
        "Where is my order #4411?",
        [call("lookup_order", { order_id: "4411" }, "call_Qx1bX5D2mBXwuT7pmHQ3nEGa")],
        "tool_calls",
      ),
      vercelModelCall(
        {
          toolCalls: [
            {
              toolCallId: "toolu_01A09q90qw90lq917835lq9",
              toolName: "lookupOrder",
              input: '{"orderId":"4411"}',
            },
          ],
        },
        "tool-calls",
      ),
      vercelModelCall({ text: "It shipped yesterday with DHL." }, "stop"),
    ];
    for (const span of spans) expect(await check(rule, span), span.name).toEqual([]);
  });
});

describe("builtin.empty-output", () => {
  const rule = detector("empty-output");

  it("flags a chat completion that ended normally with no text and no tool call", async () => {
    const span = genAiChat("Can I change the delivery address?", [say("")], "stop", {
      spanId: "b7ad6b7169203331",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.empty-output",
        severity: "warning",
        code: "assertion_failed",
        path: "output.text",
        observed: "(absent)",
        message: "the output is empty although the call ended OK",
        spanId: "b7ad6b7169203331",
      }),
    ]);
  });

  it("flags an AI SDK model call that returned nothing", async () => {
    const span = vercelModelCall({}, "stop", { spanId: "c0a8e7d3f2b1a495" });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.empty-output",
        code: "assertion_failed",
        path: "output.text",
        observed: "(absent)",
        spanId: "c0a8e7d3f2b1a495",
      }),
    ]);
  });

  it("does not flag a response that only called a tool", async () => {
    const genAi = genAiChat(
      "Where is my order #4411?",
      [call("lookup_order", { order_id: "4411" }, "call_Qx1bX5D2mBXwuT7pmHQ3nEGa")],
      "tool_calls",
    );
    const vercel = vercelModelCall(
      {
        toolCalls: [
          {
            toolCallId: "toolu_01A09q90qw90lq917835lq9",
            toolName: "lookupOrder",
            input: '{"orderId":"4411"}',
          },
        ],
      },
      "tool-calls",
    );
    expect(await check(rule, genAi)).toEqual([]);
    expect(await check(rule, vercel)).toEqual([]);
  });

  it("does not flag parallel tool calls, whatever the finish reason says", async () => {
    // Gemini reports STOP when it answers with function calls.
    const gemini = genAiChat(
      "Compare the weather in Paris and Berlin.",
      [
        call("get_weather", { city: "Paris" }, "call_1"),
        call("get_weather", { city: "Berlin" }, "call_2"),
      ],
      "stop",
      {
        attributes: {
          "gen_ai.provider.name": "gcp.gemini",
          "gen_ai.request.model": "gemini-2.0-flash",
          "gen_ai.response.model": "gemini-2.0-flash",
        },
      },
    );
    // openinference-instrumentation-openai records no finish reason.
    const openInference = makeSpan({
      name: "ChatCompletion",
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.model_name": "gpt-4o-2024-08-06",
        "llm.invocation_parameters": '{"model": "gpt-4o", "parallel_tool_calls": true}',
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Compare the weather in Paris and Berlin.",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments":
          '{"city": "Paris"}',
        "llm.output_messages.0.message.tool_calls.1.tool_call.id": "call_2",
        "llm.output_messages.0.message.tool_calls.1.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.1.tool_call.function.arguments":
          '{"city": "Berlin"}',
        "llm.token_count.prompt": 88,
        "llm.token_count.completion": 46,
      },
    });
    // OpenAI-compatible servers (vLLM, Ollama) often say "stop" too; the AI SDK passes it on.
    const compatible = vercelModelCall(
      {
        toolCalls: [
          { toolCallId: "call_1", toolName: "getWeather", input: '{"city":"Paris"}' },
          { toolCallId: "call_2", toolName: "getWeather", input: '{"city":"Berlin"}' },
        ],
      },
      "stop",
    );
    // OpenLLMetry's OpenAI instrumentation, pointed at Ollama.
    const openLlmetry = makeSpan({
      name: "openai.chat",
      kind: SpanKind.Client,
      attributes: {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "llama3.1:8b",
        "gen_ai.response.model": "llama3.1:8b",
        "gen_ai.openai.api_base": "http://localhost:11434/v1/",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "Compare the weather in Paris and Berlin.",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.completion.0.tool_calls.0.id": "call_1",
        "gen_ai.completion.0.tool_calls.0.name": "get_weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
        "gen_ai.completion.0.tool_calls.1.id": "call_2",
        "gen_ai.completion.0.tool_calls.1.name": "get_weather",
        "gen_ai.completion.0.tool_calls.1.arguments": '{"city": "Berlin"}',
        "gen_ai.usage.prompt_tokens": 88,
        "gen_ai.usage.completion_tokens": 46,
      },
    });
    for (const span of [gemini, openInference, compatible, openLlmetry]) {
      expect(await check(rule, span), span.name).toEqual([]);
    }
  });

  it("does not flag an embeddings call", async () => {
    const genAi = makeSpan({
      name: "embeddings text-embedding-3-small",
      kind: SpanKind.Client,
      attributes: {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 8,
        "gen_ai.embeddings.dimension.count": 1536,
      },
    });
    const vercel = makeSpan({
      name: "ai.embed.doEmbed",
      attributes: {
        ...vercelBase("ai.embed.doEmbed"),
        "ai.model.provider": "openai.embedding",
        "ai.model.id": "text-embedding-3-small",
        "ai.values": ['"refund policy for damaged items"'],
        "ai.embeddings": ["[0.0123,-0.0456,0.0789]"],
        "ai.usage.tokens": 5,
      },
    });
    expect(await check(rule, genAi)).toEqual([]);
    expect(await check(rule, vercel)).toEqual([]);
  });

  it("does not flag a call that failed (the error is reported elsewhere)", async () => {
    const vercel = vercelModelCall({}, "error", {
      span: failed("Overloaded", "AI_APICallError"),
    });
    const genAi = genAiChat("Can I change the delivery address?", [], "", {
      span: failed("Request timed out.", "openai.APITimeoutError"),
      attributes: { "error.type": "openai.APITimeoutError" },
    });
    expect(await check(rule, vercel)).toEqual([]);
    expect(await check(rule, genAi)).toEqual([]);
  });

  it("does not flag spans whose instrumentation did not capture message content", async () => {
    const span = makeSpan({
      name: "chat gpt-4o-mini",
      kind: SpanKind.Client,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 412,
        "gen_ai.usage.output_tokens": 38,
      },
    });
    expect(await check(rule, span)).toEqual([]);
  });
});

describe("builtin.invalid-json", () => {
  const rule = detector("invalid-json");
  const classify = "Classify this ticket: my parcel arrived crushed, I want my money back.";
  const jsonMode = { "gen_ai.output.type": "json" };

  it("flags JSON mode answered with prose around the JSON", async () => {
    const text = 'Sure! Here is the classification:\n{"intent": "refund", "confidence": 0.92}';
    const span = genAiChat(classify, [say(text)], "stop", {
      spanId: "e457b5a2e4d86bd1",
      attributes: { ...jsonMode, "gen_ai.openai.request.response_format": "json_object" },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        severity: "warning",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        message: "JSON was requested but the output does not parse as JSON",
        spanId: "e457b5a2e4d86bd1",
      }),
    ]);
  });

  it("flags an AI SDK generateObject call whose model returned broken JSON", async () => {
    const text = '{"refund": true, "amount": 25, "reason": "item arrived crushed",}';
    const span = vercelModelCall({ object: text }, "stop", {
      spanId: "f1e2d3c4b5a69788",
      operationId: "ai.generateObject.doGenerate",
      prompt: "Should we refund order 1234?",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        spanId: "f1e2d3c4b5a69788",
      }),
    ]);
  });

  it("flags a json_schema response format answered with invalid JSON (OpenInference)", async () => {
    const span = makeSpan({
      name: "ChatCompletion",
      spanId: "0f1e2d3c4b5a6978",
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o-2024-08-06",
        // json.dumps of the request parameters, as the Python instrumentation writes them.
        "llm.invocation_parameters":
          '{"model": "gpt-4o", "response_format": {"type": "json_schema", "json_schema": {"name": "Ticket", "strict": true, "schema": {"type": "object"}}}}',
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": classify,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": '{"intent": "refund", "confidence": 0.9',
      },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        code: "assertion_failed",
        path: "output.text",
        observed: '{"intent": "refund", "confidence": 0.9',
        spanId: "0f1e2d3c4b5a6978",
      }),
    ]);
  });

  it("does not flag JSON that was asked for and returned, plain or fenced", async () => {
    const plain = genAiChat(classify, [say('{"intent": "refund", "confidence": 0.92}')], "stop", {
      attributes: jsonMode,
    });
    const fenced = genAiChat(
      classify,
      [say('```json\n{\n  "intent": "refund",\n  "confidence": 0.92\n}\n```')],
      "stop",
      { attributes: { "gen_ai.openai.request.response_format": "json_object" } },
    );
    const object = vercelModelCall({ object: '{"refund":true,"amount":25}' }, "stop", {
      operationId: "ai.generateObject.doGenerate",
    });
    expect(await check(rule, plain)).toEqual([]);
    expect(await check(rule, fenced)).toEqual([]);
    expect(await check(rule, object)).toEqual([]);
  });

  it("does not flag plain text when JSON was not asked for", async () => {
    const text = "Your parcel arrived damaged — I'm sorry. I've opened refund case R-7731 for you.";
    expect(await check(rule, genAiChat(classify, [say(text)], "stop"))).toEqual([]);
    expect(
      await check(
        rule,
        genAiChat(classify, [say(text)], "stop", { attributes: { "gen_ai.output.type": "text" } }),
      ),
    ).toEqual([]);
    expect(await check(rule, vercelModelCall({ text }, "stop"))).toEqual([]);
  });

  it("does not flag a JSON-mode call that failed or only called a tool", async () => {
    const timedOut = genAiChat(classify, [], "", {
      attributes: jsonMode,
      span: failed("Request timed out.", "openai.APITimeoutError"),
    });
    const toolCall = genAiChat(
      classify,
      [call("lookup_order", { order_id: "1234" }, "call_9")],
      "tool_calls",
      { attributes: jsonMode },
    );
    expect(await check(rule, timedOut)).toEqual([]);
    expect(await check(rule, toolCall)).toEqual([]);
  });
});

describe("builtin.tool-error-in-disguise", () => {
  const rule = detector("tool-error-in-disguise");

  it("flags an OAuth error returned as a tool result (GenAI execute_tool)", async () => {
    const result =
      '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}';
    const span = genAiTool("list_calendar_events", { date: "2025-03-14" }, result, {
      spanId: "1a2b3c4d5e6f7081",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.tool-error-in-disguise",
        severity: "critical",
        code: "assertion_failed",
        path: "tool.result",
        observed: result,
        message: "the tool call reported success but returned an error",
        spanId: "1a2b3c4d5e6f7081",
      }),
    ]);
  });

  it("flags an HTTP error returned as text by an AI SDK tool", async () => {
    const span = vercelToolCall(
      "getShipmentStatus",
      { trackingNumber: "JD014600006281412345" },
      "HTTP 429 Too Many Requests: rate limit exceeded, retry after 60s",
      { spanId: "2b3c4d5e6f708192" },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        code: "assertion_failed",
        path: "tool.result",
        observed: "HTTP 429 Too Many Requests: rate limit exceeded, retry after 60s",
        spanId: "2b3c4d5e6f708192",
      }),
    ]);
  });

  it('flags Slack\'s {"ok": false} on an OpenInference tool span', async () => {
    const span = makeSpan({
      name: "post_slack_message",
      spanId: "3c4d5e6f708192a3",
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "post_slack_message",
        "input.value": '{"channel": "#support-escalations", "text": "Order 4411 needs a refund"}',
        "input.mime_type": "application/json",
        "output.value": '{"ok": false, "error": "channel_not_found"}',
        "output.mime_type": "application/json",
      },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        code: "assertion_failed",
        path: "tool.result",
        observed: '{"ok": false, "error": "channel_not_found"}',
      }),
    ]);
  });

  it("does not flag results that are data, even when they mention errors", async () => {
    const article = [
      "Designing resilient checkout flows",
      "A checkout is a chain of calls: cart, pricing, tax, payment and fulfilment. ".repeat(5),
      "Good error handling means every failure is either retried or reported; a 429 from the",
      "payment provider should back off, and an internal server error should page someone.",
      "Idempotency keys make retries safe. ".repeat(10),
    ].join("\n");
    const results: [string, Record<string, unknown>, string][] = [
      ["send_email", { to: "jane@example.com" }, '{"status":"delivered","error":null}'],
      ["web_search", { query: "checkout error handling" }, article],
      ["search_orders", { customer_id: "cus_81" }, '{"items":[]}'],
      ["get_weather", { city: "Paris" }, '{"city":"Paris","sky":"sunny","celsius":21}'],
    ];
    for (const [name, args, result] of results) {
      expect(await check(rule, genAiTool(name, args, result)), name).toEqual([]);
    }
    expect(
      await check(rule, vercelToolCall("searchOrders", { customerId: "cus_81" }, { items: [] })),
    ).toEqual([]);
  });

  it("believes a result that declares success, whatever its message mentions", async () => {
    const revoked =
      '{"success": true, "message": "API token revoked; further requests will return 401 Unauthorized."}';
    const refreshed =
      '{"ok": true, "message": "Session refreshed: the previous access token expired at 09:14."}';
    expect(
      await check(rule, genAiTool("revoke_api_token", { token_id: "tok_19" }, revoked)),
    ).toEqual([]);
    expect(await check(rule, genAiTool("refresh_session", { user_id: "u_81" }, refreshed))).toEqual(
      [],
    );
  });

  it("still flags a success envelope that carries errors", async () => {
    const result =
      '{"success": true, "sent": 1, "errors": [{"to": "bob@example", "reason": "invalid address"}]}';
    const span = genAiTool("send_bulk_email", { campaign: "refund-notice" }, result);
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({ code: "assertion_failed", path: "tool.result", observed: result }),
    ]);
  });

  it("leaves tool calls whose span failed to builtin.error-swallowed", async () => {
    const span = genAiTool("create_refund", { order_id: "4411" }, '{"error":"timeout"}', {
      span: failed("ReadTimeout", "httpx.ReadTimeout"),
    });
    expect(await check(rule, span)).toEqual([]);
  });
});

describe("builtin.error-swallowed", () => {
  const rule = detector("error-swallowed");
  const ask = "My tent arrived torn, please refund order 4411.";
  const refund = { order_id: "4411", amount: 89.0, reason: "damaged" };

  /** An agent run that asks for a refund, calls create_refund, then answers. */
  function refundTrace(
    toolSpan: SpanOverrides,
    result: string,
    answer: string,
    agentSpan: SpanOverrides = {},
  ): DecodedSpan[] {
    const agentId = "a1b2c3d4e5f60718";
    return [
      genAiAgent(ask, answer, { spanId: agentId, startMs: 0, endMs: 4200, span: agentSpan }),
      genAiChat(ask, [call("create_refund", refund, "call_r1")], "tool_calls", {
        spanId: "b1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 40,
        endMs: 910,
      }),
      genAiTool("create_refund", refund, result, {
        spanId: "c1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 930,
        endMs: 2950,
        callId: "call_r1",
        span: toolSpan,
      }),
      genAiChat(ask, [say(answer)], "stop", {
        spanId: "d1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 2990,
        endMs: 4150,
      }),
    ];
  }

  it("flags an agent run that ended OK after its tool call raised", () => {
    const spans = refundTrace(
      failed("ReadTimeout: payments-api did not answer within 2s", "httpx.ReadTimeout"),
      "",
      "Done! Your refund of $89.00 is on its way.",
    );
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.error-swallowed",
        severity: "critical",
        code: "error_swallowed",
        path: "status",
        observed: "Unset",
        message:
          "agent run support-triage (span a1b2c3d4e5f60718) ended with status Unset after tool create_refund (span c1b2c3d4e5f60718) failed with status Error: ReadTimeout: payments-api did not answer within 2s",
        traceId: TRACE_ID,
        spanId: "a1b2c3d4e5f60718",
      }),
    ]);
  });

  it("flags an AI SDK call whose tool returned an error payload and the model carried on", () => {
    const runId = "7a6b5c4d3e2f1001";
    const args = { to: "jane@example.com", subject: "Your refund", body: "Refund issued." };
    const spans = [
      vercelRun("Email Jane that her refund was issued.", "I've emailed Jane.", "stop", {
        spanId: runId,
        startMs: 0,
        endMs: 3800,
      }),
      vercelModelCall(
        {
          toolCalls: [
            { toolCallId: "toolu_1", toolName: "sendEmail", input: JSON.stringify(args) },
          ],
        },
        "tool-calls",
        { spanId: "7a6b5c4d3e2f1002", parentSpanId: runId, startMs: 10, endMs: 1400 },
      ),
      vercelToolCall(
        "sendEmail",
        args,
        { ok: false, error: "mailbox_unavailable" },
        { spanId: "7a6b5c4d3e2f1003", parentSpanId: runId, startMs: 1410, endMs: 1890 },
      ),
      vercelModelCall({ text: "I've emailed Jane." }, "stop", {
        spanId: "7a6b5c4d3e2f1004",
        parentSpanId: runId,
        startMs: 1900,
        endMs: 3790,
      }),
    ];
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.error-swallowed",
        code: "error_swallowed",
        path: "status",
        observed: "Unset",
        message: expect.stringContaining(
          'after tool sendEmail (span 7a6b5c4d3e2f1003) failed with error payload: "error" is set',
        ) as unknown,
        spanId: runId,
      }),
    ]);
  });

  it("does not flag a run that ended with Error after its tool failed", () => {
    const spans = refundTrace(
      failed("ReadTimeout: payments-api did not answer within 2s", "httpx.ReadTimeout"),
      "",
      "",
      failed("create_refund failed: ReadTimeout", "httpx.ReadTimeout"),
    );
    expect(checkTrace(rule, spans)).toEqual([]);
  });

  it("does not flag a run whose tool call succeeded", () => {
    const spans = refundTrace(
      {},
      '{"refund_id":"re_3P4x2LJ0i0a1b2c3","status":"succeeded","amount":8900,"error":null}',
      "Done! Your refund of $89.00 is on its way.",
    );
    expect(checkTrace(rule, spans)).toEqual([]);
  });
});

describe("builtin.duplicate-side-effect", () => {
  const rule = detector("duplicate-side-effect");
  const agentId = "9f8e7d6c5b4a3921";

  /** An agent run whose model asks for each tool call in turn, each executed after it. */
  function agentTrace(calls: [name: string, args: string][]): DecodedSpan[] {
    const ask = "Please sort out order 4411.";
    const spans = [genAiAgent(ask, "All done.", { spanId: agentId, endMs: 9000 })];
    calls.forEach(([name, args], i) => {
      const startMs = 100 + i * 1000;
      const callId = `call_${i + 1}`;
      const parsed = JSON.parse(args) as Record<string, unknown>;
      spans.push(
        genAiChat(ask, [call(name, parsed, callId)], "tool_calls", {
          spanId: `${i + 1}000000000000a01`,
          parentSpanId: agentId,
          startMs,
          endMs: startMs + 600,
        }),
        genAiTool(name, args, '{"status":"ok"}', {
          spanId: `${i + 1}000000000000b01`,
          parentSpanId: agentId,
          startMs: startMs + 620,
          endMs: startMs + 900,
          callId,
        }),
      );
    });
    return spans;
  }

  it("flags create_refund called twice with the same arguments in a different key order", () => {
    const spans = agentTrace([
      ["lookup_order", '{"order_id":"4411"}'],
      ["create_refund", '{"order_id":"4411","amount":89.0,"reason":"damaged"}'],
      ["create_refund", '{"reason": "damaged", "amount": 89.0, "order_id": "4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.duplicate-side-effect",
        severity: "critical",
        code: "duplicate",
        path: "tool.name, tool.arguments",
        observed: '["create_refund",{"amount":89,"order_id":"4411","reason":"damaged"}]',
        message: expect.stringContaining(
          "span 3000000000000b01 repeats span 2000000000000b01: same tool.name, tool.arguments",
        ) as unknown,
        traceId: TRACE_ID,
        spanId: "3000000000000b01",
      }),
    ]);
  });

  it("flags an AI SDK sendEmail executed twice with the same arguments", () => {
    const runId = "6e5d4c3b2a190801";
    const args = { to: "jane@example.com", subject: "Your refund", body: "Refund issued." };
    const spans = [
      vercelRun("Email Jane that her refund was issued.", "Sent.", "stop", {
        spanId: runId,
        endMs: 6000,
      }),
      vercelToolCall(
        "sendEmail",
        args,
        { id: "msg_1", status: "sent" },
        {
          spanId: "6e5d4c3b2a190802",
          parentSpanId: runId,
          startMs: 1200,
          endMs: 1900,
          callId: "toolu_1",
        },
      ),
      vercelToolCall(
        "sendEmail",
        args,
        { id: "msg_2", status: "sent" },
        {
          spanId: "6e5d4c3b2a190803",
          parentSpanId: runId,
          startMs: 3400,
          endMs: 4100,
          callId: "toolu_2",
        },
      ),
    ];
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        code: "duplicate",
        path: "tool.name, tool.arguments",
        spanId: "6e5d4c3b2a190803",
        message: expect.stringContaining("repeats span 6e5d4c3b2a190802") as unknown,
      }),
    ]);
  });

  it("does not flag the same side effect with different arguments", () => {
    const spans = agentTrace([
      ["send_email", '{"to":"jane@example.com","subject":"Your refund"}'],
      ["send_email", '{"to":"ops@acme.example","subject":"Refund issued for order 4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([]);
  });

  it("matches side-effecting tool names, not read-only ones that mention a side effect", () => {
    const matches = (name: string) => {
      const row = normaliseSpan(genAiTool(name, { id: "4411" }, '{"status":"ok"}'));
      return row !== null && rule.matches(row);
    };
    for (const name of [
      "create_refund",
      "send_email",
      "sendEmail",
      "cancel_subscription",
      "book_table",
    ]) {
      expect(matches(name), name).toBe(true);
    }
    for (const name of [
      "lookup_order",
      "get_payment_status",
      "get_refund_status",
      "getUpdates",
      "list_refunds",
      "mcp__stripe__get_refund",
      "OrdersPlugin-GetRefundStatus",
    ]) {
      expect(matches(name), name).toBe(false);
    }
  });

  it("does not flag read-only tools called twice with the same arguments", () => {
    const spans = agentTrace([
      ["lookup_order", '{"order_id":"4411"}'],
      ["create_refund", '{"order_id":"4411","amount":89.0}'],
      ["get_refund_status", '{"order_id":"4411"}'],
      ["lookup_order", '{"order_id":"4411"}'],
      ["get_refund_status", '{"order_id":"4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([]);
  });
});

describe("builtin.refusal", () => {
  const rule = detector("refusal");

  it("flags a chat completion that refused", async () => {
    const text = "I'm sorry, but I can't help with that request.";
    const span = genAiChat("Write me a fake receipt for order 4411.", [say(text)], "stop", {
      spanId: "8d7c6b5a49382716",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.refusal",
        severity: "warning",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        message: "the output is a refusal",
        spanId: "8d7c6b5a49382716",
      }),
    ]);
  });

  it("flags an AI SDK agent run that refused (curly apostrophes)", async () => {
    const text = "I’m sorry, but I can’t assist with that.";
    const span = vercelRun("Give me another customer's address.", text, "stop", {
      spanId: "9e8d7c6b5a493827",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.refusal",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        spanId: "9e8d7c6b5a493827",
      }),
    ]);
  });

  it("does not flag apologies that go on to answer or ask", async () => {
    for (const text of [
      "I'm sorry, but I can't find that order in our system — could you check the number?",
      "Sorry, but I can't process refunds over $500 myself — I've escalated your request to a supervisor, who will email you within 24 hours.",
      "I'm sorry for the delay! Your order #4411 shipped this morning.",
    ]) {
      expect(
        await check(rule, genAiChat("Where is order 4471?", [say(text)], "stop")),
        text,
      ).toEqual([]);
    }
    expect(
      await check(
        rule,
        vercelRun(
          "Where is order 4471?",
          "Sorry, but I can't find order 4471. Is it 4411?",
          "stop",
        ),
      ),
    ).toEqual([]);
  });
});
