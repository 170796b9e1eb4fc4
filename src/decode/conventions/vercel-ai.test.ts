import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  APICallError,
  Output,
  embed,
  generateObject,
  generateText,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import { MockEmbeddingModelV3, MockLanguageModelV3, simulateReadableStream } from "ai/test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { normaliseSpan } from "../normalise.ts";
import { fromReadableSpan, makeSpan } from "../../../test/helpers/make-span.ts";
import { vercelAiConvention } from "./vercel-ai.ts";

/** The provider-level result types, taken from the mock (`@ai-sdk/provider` is not our dependency). */
type GenerateResult = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>;
type Usage = GenerateResult["usage"];

// These tests run the real `ai` 6.x package against mock models and read the spans its
// telemetry recorded, so they break when the SDK changes what it emits.

function usage(input: number, output: number): Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: output, text: output, reasoning: undefined },
  };
}

function textResult(text: string, modelId?: string): GenerateResult {
  return {
    content: [{ type: "text", text }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: usage(40, 9),
    warnings: [],
    ...(modelId === undefined ? {} : { response: { modelId } }),
  };
}

/** A tracer recording into memory, and the recorded spans normalised into rows by span name. */
function recorder() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const telemetry = {
    isEnabled: true,
    functionId: "support-agent",
    tracer: provider.getTracer("ai"),
    metadata: { sessionId: "sess-42" },
  };
  const rows = (name: string): AgentOutputRow[] =>
    exporter
      .getFinishedSpans()
      .filter((span) => span.name === name)
      .map((span) => {
        const row = normaliseSpan(fromReadableSpan(span));
        if (row === null) throw new Error(`${name} produced no row`);
        return row;
      });
  return { telemetry, rows, exporter };
}

const weatherTool = tool({
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, sky: "sunny", celsius: 21 }),
});

describe("vercel-ai convention (ai 6.x generateText)", () => {
  it("reads a one-step text answer as an agent run and one model call", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      provider: "openai.chat",
      modelId: "gpt-4o-mini",
      doGenerate: textResult("Your order ships on Monday.", "gpt-4o-mini-2024-07-18"),
    });
    await generateText({
      model,
      system: "You are a support agent.",
      prompt: "When does my order ship?",
      experimental_telemetry: telemetry,
    });

    const [run] = rows("ai.generateText");
    expect(run).toMatchObject({
      Convention: "vercel-ai",
      Kind: "agent",
      Operation: "invoke_agent",
      AgentName: "support-agent",
      ConversationId: "sess-42",
      // ai.model.provider is openai.chat: the provider is openai, as other conventions say.
      Provider: "openai",
      RequestModel: "gpt-4o-mini",
      Model: "gpt-4o-mini",
      InputText: "system: You are a support agent.\nuser: When does my order ship?",
      OutputText: "Your order ships on Monday.",
      OutputIsJson: false,
      OutputJson: "",
      FinishReason: "stop",
      InputTokens: 40,
      OutputTokens: 9,
      StatusCode: "Unset",
      ErrorType: "",
    });
    const [call] = rows("ai.generateText.doGenerate");
    expect(call).toMatchObject({
      Kind: "llm",
      Operation: "chat",
      AgentName: "support-agent",
      RequestModel: "gpt-4o-mini",
      ResponseModel: "gpt-4o-mini-2024-07-18",
      Model: "gpt-4o-mini-2024-07-18",
      InputText: "system: You are a support agent.\nuser: When does my order ship?",
      OutputText: "Your order ships on Monday.",
      FinishReason: "stop",
      InputTokens: 40,
      OutputTokens: 9,
    });
  });

  it("reads a tool call step, the tool span and the final answer", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      modelId: "gpt-4o",
      doGenerate: [
        {
          content: [
            {
              type: "tool-call",
              toolCallId: "call_7",
              toolName: "getWeather",
              input: '{"city":"Paris"}',
            },
          ],
          finishReason: { unified: "tool-calls", raw: "tool_calls" },
          usage: usage(50, 12),
          warnings: [],
        },
        textResult("It is sunny in Paris, 21 °C."),
      ],
    });
    await generateText({
      model,
      prompt: "Weather in Paris?",
      tools: { getWeather: weatherTool },
      stopWhen: stepCountIs(3),
      experimental_telemetry: telemetry,
    });

    const [askTool, answer] = rows("ai.generateText.doGenerate");
    expect(askTool).toMatchObject({
      OutputText: "",
      FinishReason: "tool-calls",
      ToolName: "getWeather",
      ToolCallId: "call_7",
      ToolArguments: '{"city":"Paris"}',
      InputTokens: 50,
      OutputTokens: 12,
    });
    expect(answer).toMatchObject({
      OutputText: "It is sunny in Paris, 21 °C.",
      FinishReason: "stop",
      ToolName: "",
    });
    expect(answer?.InputText).toBe(
      [
        "user: Weather in Paris?",
        'assistant: {"input":{"city":"Paris"},"toolCallId":"call_7","toolName":"getWeather","type":"tool-call"}',
        'tool: {"output":{"type":"json","value":{"celsius":21,"city":"Paris","sky":"sunny"}},"toolCallId":"call_7","toolName":"getWeather","type":"tool-result"}',
      ].join("\n"),
    );

    const [toolCall] = rows("ai.toolCall");
    expect(toolCall).toMatchObject({
      Kind: "tool",
      Operation: "execute_tool",
      AgentName: "support-agent",
      ToolName: "getWeather",
      ToolCallId: "call_7",
      ToolArguments: '{"city":"Paris"}',
      ToolResult: '{"city":"Paris","sky":"sunny","celsius":21}',
      OutputText: '{"city":"Paris","sky":"sunny","celsius":21}',
      OutputJson: '{"city":"Paris","sky":"sunny","celsius":21}',
      OutputIsJson: true,
    });

    const [run] = rows("ai.generateText");
    expect(run).toMatchObject({
      Kind: "agent",
      InputText: "user: Weather in Paris?",
      OutputText: "It is sunny in Paris, 21 °C.",
      FinishReason: "stop",
      // Usage summed over both steps.
      InputTokens: 90,
      OutputTokens: 21,
    });
  });

  it("reads structured output from generateText with Output.object as JSON", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      doGenerate: textResult('{"category":"shipping","urgent":false}'),
    });
    await generateText({
      model,
      prompt: "Classify: where is my parcel?",
      output: Output.object({ schema: z.object({ category: z.string(), urgent: z.boolean() }) }),
      experimental_telemetry: telemetry,
    });

    const [run] = rows("ai.generateText");
    expect(run).toMatchObject({
      OutputText: '{"category":"shipping","urgent":false}',
      OutputJson: '{"category":"shipping","urgent":false}',
      OutputIsJson: true,
    });
  });

  it("reads generateObject's object as JSON output", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      modelId: "gpt-4o",
      doGenerate: textResult('{"refund": true, "amount": 25}'),
    });
    await generateObject({
      model,
      schema: z.object({ refund: z.boolean(), amount: z.number() }),
      prompt: "Should we refund order 1234?",
      experimental_telemetry: telemetry,
    });

    const [run] = rows("ai.generateObject");
    expect(run).toMatchObject({
      Kind: "agent",
      Operation: "invoke_agent",
      AgentName: "support-agent",
      InputText: "user: Should we refund order 1234?",
      // The outer span records JSON.stringify of the validated object.
      OutputText: '{"refund":true,"amount":25}',
      OutputJson: '{"refund":true,"amount":25}',
      OutputType: "json",
      FinishReason: "stop",
      InputTokens: 40,
      OutputTokens: 9,
    });
    const [call] = rows("ai.generateObject.doGenerate");
    expect(call).toMatchObject({
      Kind: "llm",
      OutputText: '{"refund": true, "amount": 25}',
      OutputJson: '{"refund": true, "amount": 25}',
      OutputType: "json",
      InputTokens: 40,
      OutputTokens: 9,
    });
  });

  it("reads streamText and its doStream call", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      modelId: "claude-haiku",
      doStream: {
        stream: simulateReadableStream({
          initialDelayInMs: null,
          chunkDelayInMs: null,
          chunks: [
            { type: "stream-start", warnings: [] },
            { type: "text-start", id: "t1" },
            { type: "text-delta", id: "t1", delta: "Your refund " },
            { type: "text-delta", id: "t1", delta: "is on its way." },
            { type: "text-end", id: "t1" },
            {
              type: "finish",
              finishReason: { unified: "length", raw: "max_tokens" },
              usage: usage(30, 5),
            },
          ],
        }),
      },
    });
    const result = streamText({
      model,
      prompt: "Refund status?",
      experimental_telemetry: telemetry,
    });
    await result.consumeStream();

    const [run] = rows("ai.streamText");
    expect(run).toMatchObject({
      Kind: "agent",
      OutputText: "Your refund is on its way.",
      FinishReason: "length",
      InputTokens: 30,
      OutputTokens: 5,
    });
    const [call] = rows("ai.streamText.doStream");
    expect(call).toMatchObject({
      Kind: "llm",
      Operation: "chat",
      OutputText: "Your refund is on its way.",
      FinishReason: "length",
      RequestModel: "claude-haiku",
    });
  });

  it("records a failed model call's error class", async () => {
    const { telemetry, rows } = recorder();
    const model = new MockLanguageModelV3({
      doGenerate: () => {
        throw new APICallError({
          message: "Rate limit reached",
          url: "https://api.example.com/v1/chat",
          requestBodyValues: {},
          statusCode: 429,
          isRetryable: false,
        });
      },
    });
    await expect(
      generateText({ model, prompt: "Hi", maxRetries: 0, experimental_telemetry: telemetry }),
    ).rejects.toThrow("Rate limit reached");

    for (const row of [...rows("ai.generateText"), ...rows("ai.generateText.doGenerate")]) {
      expect(row).toMatchObject({
        StatusCode: "Error",
        StatusMessage: "Rate limit reached",
        ErrorType: "AI_APICallError",
        OutputText: "",
      });
    }
  });

  it("reads the doEmbed call of embed and skips the wrapping ai.embed span", async () => {
    const { telemetry, rows, exporter } = recorder();
    const model = new MockEmbeddingModelV3({
      modelId: "text-embedding-3-small",
      doEmbed: { embeddings: [[0.1, 0.2, 0.3]], usage: { tokens: 4 }, warnings: [] },
    });
    await embed({ model, value: "refund policy", experimental_telemetry: telemetry });

    const [call] = rows("ai.embed.doEmbed");
    expect(call).toMatchObject({
      Kind: "llm",
      Operation: "embeddings",
      AgentName: "support-agent",
      RequestModel: "text-embedding-3-small",
      InputText: "refund policy",
      OutputText: "",
      InputTokens: 4,
    });
    const outer = exporter.getFinishedSpans().find((span) => span.name === "ai.embed");
    expect(outer).toBeDefined();
    if (outer !== undefined) expect(normaliseSpan(fromReadableSpan(outer))).toBeNull();
  });
});

describe("vercelAiConvention.extract", () => {
  it("ignores spans that are not the SDK's", () => {
    const span = makeSpan({ name: "POST /chat", attributes: { "http.method": "POST" } });
    expect(vercelAiConvention.extract(span)).toBeNull();
  });

  it("ignores SDK operations that are not outputs", () => {
    const span = makeSpan({ name: "ai.rerank", attributes: { "ai.operationId": "ai.rerank" } });
    expect(vercelAiConvention.extract(span)).toBeNull();
  });

  it("reads a string tool result as the string", () => {
    const span = makeSpan({
      name: "ai.toolCall",
      attributes: {
        "ai.operationId": "ai.toolCall",
        "ai.toolCall.name": "lookupOrder",
        "ai.toolCall.id": "call_1",
        "ai.toolCall.args": '{"orderId":"1234"}',
        "ai.toolCall.result": '"Order 1234 shipped"',
      },
    });
    expect(vercelAiConvention.extract(span)).toMatchObject({
      toolResult: "Order 1234 shipped",
      outputText: "Order 1234 shipped",
    });
  });

  it.each([
    ["openai.chat", "openai"],
    ["openai.responses", "openai"],
    ["anthropic.messages", "anthropic"],
    ["azure.responses", "azure.ai.openai"],
    ["amazon-bedrock", "aws.bedrock"],
    ["google.generative-ai", "gcp.gemini"],
    ["google.vertex.chat", "gcp.vertex_ai"],
    ["vertex.anthropic.messages", "gcp.vertex_ai"],
    ["mistral.chat", "mistral_ai"],
    ["xai.chat", "x_ai"],
    ["lmstudio.chat", "lmstudio"], // an openai-compatible provider the app named
  ])("reads provider %s as %s; the attribute keeps the id", (id, provider) => {
    const span = makeSpan({
      name: "ai.generateText.doGenerate",
      attributes: {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.model.provider": id,
        "ai.model.id": "some-model",
        "ai.response.text": "Hello.",
      },
    });
    expect(vercelAiConvention.extract(span)?.provider).toBe(provider);
    expect(normaliseSpan(span)?.SpanAttributes["ai.model.provider"]).toBe(id);
  });
});
