/**
 * builtin.empty-output (rules/builtin/empty-output.json) on realistic telemetry, built with the
 * span builders of test/helpers/builtin-rules.ts. The detector must catch its silent failure and
 * stay quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import { SpanKind } from "../../src/decode/span.ts";
import type { AttrMap, DecodedSpan } from "../../src/decode/span.ts";
import { normaliseSpan } from "../../src/decode/normalise.ts";
import { makeSpan } from "../helpers/make-span.ts";
import {
  detector,
  check,
  failed,
  say,
  call,
  genAiChat,
  genAiStep,
  vercelBase,
  vercelModelCall,
} from "../helpers/builtin-rules.ts";

/** The span with these attributes added (or replaced). */
function withAttributes(span: DecodedSpan, attributes: AttrMap): DecodedSpan {
  return { ...span, attributes: { ...span.attributes, ...attributes } };
}

/** The span without these attributes, as when a processor drops them. */
function withoutAttributes(span: DecodedSpan, ...keys: string[]): DecodedSpan {
  const kept = Object.entries(span.attributes).filter(([key]) => !keys.includes(key));
  return { ...span, attributes: Object.fromEntries(kept) };
}

/** What the AI SDK records under `ai.response.providerMetadata` for an Anthropic call. */
const ANTHROPIC_METADATA = JSON.stringify({
  anthropic: {
    usage: { input_tokens: 388, output_tokens: 1 },
    cacheCreationInputTokens: 0,
    stopSequence: null,
  },
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
    // With recordOutputs on, the SDK writes ai.response.text only when the response has a text
    // part, but writes the provider metadata whenever the provider returns some (Anthropic's
    // always does): that says the outputs were recorded.
    const span = withAttributes(vercelModelCall({}, "stop", { spanId: "c0a8e7d3f2b1a495" }), {
      "ai.response.providerMetadata": ANTHROPIC_METADATA,
    });
    // A streamed call records its text as it accumulated: "" when nothing came.
    const streamed = withAttributes(
      vercelModelCall({ text: "" }, "stop", { operationId: "ai.streamText.doStream" }),
      { "ai.response.providerMetadata": ANTHROPIC_METADATA },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.empty-output",
        code: "assertion_failed",
        path: "output.text",
        observed: "(absent)",
        spanId: "c0a8e7d3f2b1a495",
      }),
    ]);
    expect(await check(rule, streamed)).toEqual([
      expect.objectContaining({ ruleId: "builtin.empty-output", path: "output.text" }),
    ]);
  });

  it("flags an empty output whose input was not recorded", async () => {
    // The output messages are there (and empty); the input messages were not recorded: a
    // collector dropping gen_ai.input.messages as personal data, or the AI SDK with
    // recordInputs: false.
    const genAi = withoutAttributes(
      genAiChat("Can I change the delivery address?", [say("")], "stop", {
        spanId: "d4e5f60718293a4b",
      }),
      "gen_ai.input.messages",
    );
    const vercel = withoutAttributes(
      withAttributes(vercelModelCall({}, "stop", { spanId: "e5f6071829304b5c" }), {
        "ai.response.providerMetadata": ANTHROPIC_METADATA,
      }),
      "ai.prompt.messages",
    );
    expect(normaliseSpan(genAi)?.InputText).toBe("");
    expect(normaliseSpan(vercel)?.InputText).toBe("");
    expect(await check(rule, genAi)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.empty-output",
        path: "output.text",
        spanId: "d4e5f60718293a4b",
      }),
    ]);
    expect(await check(rule, vercel)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.empty-output",
        path: "output.text",
        spanId: "e5f6071829304b5c",
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

  it("does not flag a call whose output was not recorded, even when its input was", async () => {
    // The AI SDK with recordOutputs: false (recordInputs left on): the prompt is there, but no
    // ai.response.text, object, reasoning, toolCalls or providerMetadata.
    const span = vercelModelCall({}, "stop");
    expect(normaliseSpan(span)?.InputText).not.toBe("");
    expect(await check(rule, span)).toEqual([]);
  });

  it("does not flag an agent being created (create_agent): it defines an agent, it answers nothing", async () => {
    // As an instrumentation that records gen_ai.output.messages on every GenAI span writes it.
    const span = genAiStep("create_agent", {
      "gen_ai.provider.name": "azure.ai.inference",
      "gen_ai.agent.name": "support-triage",
      "gen_ai.agent.id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.system_instructions": JSON.stringify([{ type: "text", content: "Be brief." }]),
      "gen_ai.output.messages": "[]",
    });
    expect(normaliseSpan(span)).toMatchObject({ Kind: "definition", Operation: "create_agent" });
    expect(await check(rule, span)).toEqual([]);
  });
});
