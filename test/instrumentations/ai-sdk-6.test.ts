/**
 * The Vercel AI SDK 6 (`ai`) with `@ai-sdk/openai` pointed at the fake, telemetry on
 * (`experimental_telemetry` with the app's tracer): `ai.generateText` / `ai.streamText` runs,
 * their `….doGenerate` / `….doStream` model calls (provider `openai.chat` or
 * `openai.responses`), and `ai.toolCall` spans. The run's tool waits longer than the batch
 * delay, so its first model call goes out before the run.
 */

import { createOpenAI } from "@ai-sdk/openai";
import { trace } from "@opentelemetry/api";
import { generateText, Output, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.ts";
import type { TestService } from "../helpers/service.ts";
import {
  contains,
  report,
  settledComparisons,
  sleep,
  startPlumbline,
  startTelemetry,
  TOOL_WAIT_MS,
  type Comparison,
  type ScenarioResult,
  type Telemetry,
} from "./harness.ts";

const LIBRARY = "ai 6.0.326 + @ai-sdk/openai 3.0.139";
const MODEL = "gpt-4o-mini";
const ANSWERED = "gpt-4o-mini-2024-07-18";
const SYSTEM = "You are a weather assistant.";
const QUESTION = "What is the weather in Lisbon?";
const ANSWER = "It is sunny and 21°C in Lisbon.";
const WEATHER = { city: "Lisbon", sky: "sunny", celsius: 21 };

let service: TestService;
let fake: FakeOpenAI;
let telemetry: Telemetry;
let openai: ReturnType<typeof createOpenAI>;
let longRunTraceId = "";
const results = new Map<string, Comparison>();

/** Telemetry settings of one call: the app's tracer, the function id naming the agent. */
const telemetryOf = (functionId: string) => ({
  isEnabled: true,
  functionId,
  tracer: telemetry.tracerProvider.getTracer("ai"),
});

/** Runs `call` under a fresh root so that its trace id is known. */
async function inTrace<T>(call: () => Promise<T>): Promise<{ traceId: string; value: T }> {
  return trace.getTracer("app").startActiveSpan("POST /ask", async (span) => {
    try {
      return { traceId: span.spanContext().traceId, value: await call() };
    } finally {
      span.end();
    }
  });
}

const weatherTool = tool({
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    await sleep(TOOL_WAIT_MS); // the first model call goes out in an earlier export request
    return { ...WEATHER, city };
  },
});

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  "agent run whose tool outlasts the batch delay": async () => {
    fake.script(
      { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }] },
      { text: ANSWER, usage: { input: 64, output: 12 } },
    );
    const { traceId, value } = await inTrace(() =>
      generateText({
        model: openai.chat(MODEL),
        system: SYSTEM,
        prompt: QUESTION,
        tools: { get_weather: weatherTool },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
        experimental_telemetry: telemetryOf("weather-agent"),
      }),
    );
    expect(value.text).toBe(ANSWER);
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.generateText",
          fields: {
            Convention: "vercel-ai",
            Kind: "agent",
            Operation: "invoke_agent",
            AgentName: "weather-agent",
            Provider: "openai", // ai.model.provider is "openai.chat": the API, not the provider
            RequestModel: MODEL,
            InputText: `system: ${SYSTEM}\nuser: ${QUESTION}`,
            OutputText: ANSWER,
            FinishReason: "stop",
            InputTokens: 21 + 64, // summed over the run's steps
            OutputTokens: 9 + 12,
            StatusCode: "Unset",
            ErrorType: "",
          },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            Operation: "chat",
            AgentName: "weather-agent",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `system: ${SYSTEM}\nuser: ${QUESTION}`,
            OutputText: "",
            FinishReason: "tool-calls",
            ToolName: "get_weather",
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            InputTokens: 21,
            OutputTokens: 9,
          },
        },
        {
          span: "ai.toolCall",
          fields: {
            Kind: "tool",
            Operation: "execute_tool",
            AgentName: "weather-agent",
            ToolName: "get_weather",
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            ToolResult: JSON.stringify(WEATHER),
            OutputText: JSON.stringify(WEATHER),
          },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            AgentName: "weather-agent",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: contains(`system: ${SYSTEM}`, `user: ${QUESTION}`, "celsius"),
            OutputText: ANSWER,
            FinishReason: "stop",
            InputTokens: 64,
            OutputTokens: 12,
          },
        },
      ],
    };
  },

  "streamed plain answer": async () => {
    fake.script({ text: ANSWER, usage: { input: 15, output: 11 } });
    const { traceId, value } = await inTrace(async () => {
      const result = streamText({
        model: openai.chat(MODEL),
        prompt: QUESTION,
        maxRetries: 0,
        experimental_telemetry: telemetryOf("ask"),
      });
      return result.text;
    });
    expect(value).toBe(ANSWER);
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.streamText",
          fields: {
            Kind: "agent",
            AgentName: "ask",
            Provider: "openai",
            InputText: `user: ${QUESTION}`,
            OutputText: ANSWER,
            FinishReason: "stop",
            InputTokens: 15,
            OutputTokens: 11,
          },
        },
        {
          span: "ai.streamText.doStream",
          fields: {
            Kind: "llm",
            Operation: "chat",
            AgentName: "ask",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `user: ${QUESTION}`,
            OutputText: ANSWER,
            FinishReason: "stop",
            InputTokens: 15,
            OutputTokens: 11,
          },
        },
      ],
    };
  },

  "answer cut off at maxOutputTokens": async () => {
    fake.script({
      text: "It is sunny and",
      finishReason: "length",
      usage: { input: 15, output: 5 },
    });
    const { traceId } = await inTrace(() =>
      generateText({
        model: openai.chat(MODEL),
        prompt: QUESTION,
        maxOutputTokens: 5,
        maxRetries: 0,
        experimental_telemetry: telemetryOf("ask"),
      }),
    );
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.generateText",
          fields: { Kind: "agent", OutputText: "It is sunny and", FinishReason: "length" },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            OutputText: "It is sunny and",
            FinishReason: "length",
            InputTokens: 15,
            OutputTokens: 5,
          },
        },
      ],
    };
  },

  "JSON output through Output.object": async () => {
    const json = '{"city":"Lisbon","celsius":21}';
    fake.script({ text: json });
    const { traceId, value } = await inTrace(() =>
      generateText({
        model: openai.chat(MODEL),
        prompt: QUESTION,
        output: Output.object({ schema: z.object({ city: z.string(), celsius: z.number() }) }),
        maxRetries: 0,
        experimental_telemetry: telemetryOf("extract"),
      }),
    );
    expect(value.output).toEqual({ city: "Lisbon", celsius: 21 });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.generateText",
          fields: { Kind: "agent", AgentName: "extract", OutputText: json, OutputIsJson: true },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            Provider: "openai",
            OutputText: json,
            OutputIsJson: true,
            FinishReason: "stop",
          },
        },
      ],
    };
  },

  "Responses API answer": async () => {
    fake.script({ text: ANSWER, usage: { input: 30, output: 10 } });
    const { traceId, value } = await inTrace(() =>
      generateText({
        model: openai(MODEL), // the provider's default: the Responses API
        system: SYSTEM,
        prompt: QUESTION,
        maxRetries: 0,
        experimental_telemetry: telemetryOf("ask"),
      }),
    );
    expect(value.text).toBe(ANSWER);
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.generateText",
          fields: { Kind: "agent", AgentName: "ask", Provider: "openai", OutputText: ANSWER },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            Operation: "chat",
            Provider: "openai", // ai.model.provider is "openai.responses"
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `system: ${SYSTEM}\nuser: ${QUESTION}`,
            OutputText: ANSWER,
            FinishReason: "stop",
            InputTokens: 30,
            OutputTokens: 10,
          },
        },
      ],
    };
  },

  "HTTP 401": async () => {
    fake.script({
      status: 401,
      message: "Incorrect API key provided",
      type: "invalid_request_error",
      code: "invalid_api_key",
    });
    const { traceId } = await inTrace(() =>
      generateText({
        model: openai.chat(MODEL),
        prompt: QUESTION,
        maxRetries: 0,
        experimental_telemetry: telemetryOf("ask"),
      }).catch(() => undefined),
    );
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "ai.generateText",
          fields: {
            Kind: "agent",
            AgentName: "ask",
            InputText: `user: ${QUESTION}`,
            OutputText: "",
            StatusCode: "Error",
            ErrorType: "AI_APICallError",
          },
        },
        {
          span: "ai.generateText.doGenerate",
          fields: {
            Kind: "llm",
            AgentName: "ask",
            Provider: "openai",
            RequestModel: MODEL, // a failed call keeps the model it asked for
            Model: MODEL,
            InputText: `user: ${QUESTION}`,
            OutputText: "",
            StatusCode: "Error",
            ErrorType: "AI_APICallError",
          },
        },
      ],
    };
  },
};

beforeAll(async () => {
  service = await startPlumbline();
  fake = await startFakeOpenAI();
  telemetry = startTelemetry(service, "ai-sdk-6-app");
  openai = createOpenAI({ apiKey: "sk-test", baseURL: fake.baseURL });

  const scenarios = new Map<string, ScenarioResult>();
  for (const [name, run] of Object.entries(SCENARIOS)) scenarios.set(name, await run());
  await telemetry.flush();
  for (const [name, result] of await settledComparisons(service, scenarios)) {
    results.set(name, result);
  }
  longRunTraceId =
    scenarios.get("agent run whose tool outlasts the batch delay")?.traceIds[0] ?? "";
});

afterAll(async () => {
  await telemetry?.shutdown();
  await fake?.close();
  await service?.close();
});

describe(LIBRARY, () => {
  it("exports every span, and Plumbline acknowledges them", () => {
    expect(fake.pending()).toBe(0);
    expect(telemetry.spans.batches.filter((b) => !b.ok)).toEqual([]);
  });

  it("sends the run's first model call before the run span, in another request", () => {
    const run = telemetry.spans.spanIdOf("ai.generateText", longRunTraceId);
    expect(telemetry.spans.childExportedBefore(run)).toBe(true);
  });

  it.each(Object.keys(SCENARIOS))("stores the rows of: %s", (name) => {
    const result = results.get(name)!;
    report(LIBRARY, name, result);
    expect(result.mismatches).toEqual([]);
  });
});
