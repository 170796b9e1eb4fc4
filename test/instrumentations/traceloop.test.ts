/**
 * `@traceloop/node-server-sdk` (OpenLLMetry) with `openai`: the SDK starts its own NodeSDK and
 * BatchSpanProcessor (its batch delay from OTEL_BSP_SCHEDULE_DELAY, as the SDK reads it) and
 * exports to Plumbline through the exporter passed to `initialize`; the prompt registry sync is
 * off and no API key is given, so nothing else leaves the process. Workflow, agent and tool
 * spans come from `withWorkflow` / `withAgent` / `withTool` (`traceloop.*` attributes); the LLM
 * spans from its OpenAI instrumentation, in the GenAI conventions (`gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.provider.name`).
 */

import { createRequire } from "node:module";
import { SpanKind, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import * as traceloop from "@traceloop/node-server-sdk";
import type { OpenAI as OpenAIClient } from "openai" with { "resolution-mode": "require" };
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../helpers/fake-openai.ts";
import type { TestService } from "../helpers/service.ts";
import {
  BATCH_DELAY_MS,
  BatchRecordingExporter,
  contains,
  report,
  settledComparisons,
  sleep,
  startPlumbline,
  TOOL_WAIT_MS,
  type Comparison,
  type ScenarioResult,
} from "./harness.ts";

const LIBRARY = "openai 6.49.0 + @traceloop/node-server-sdk 0.27.0";
const MODEL = "gpt-4o-mini";
const ANSWERED = "gpt-4o-mini-2024-07-18";
const SYSTEM = "You are a weather assistant.";
const QUESTION = "What is the weather in Lisbon?";
const ANSWER = "It is sunny and 21°C in Lisbon.";
const WEATHER = { city: "Lisbon", sky: "sunny", celsius: 21 };
const CHAT = "chat gpt-4o-mini";

let service: TestService;
let fake: FakeOpenAI;
let exporter: BatchRecordingExporter;
let client: OpenAIClient;
const results = new Map<string, Comparison>();

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
};

/** A request-handler span (no LLM marker) around a scenario, so its trace can be found. */
async function inRequest(name: string, run: () => Promise<void>): Promise<string> {
  return trace.getTracer("app").startActiveSpan(name, { kind: SpanKind.SERVER }, async (span) => {
    try {
      await run();
    } catch {
      // The failure is on the model call's span.
    } finally {
      span.end();
    }
    return span.spanContext().traceId;
  });
}

async function weatherAgent(question: string): Promise<string> {
  const messages: OpenAIClient.Chat.ChatCompletionMessageParam[] = [
    { role: "system", content: SYSTEM },
    { role: "user", content: question },
  ];
  const first = await client.chat.completions.create({
    model: MODEL,
    messages,
    tools: [weatherTool],
  });
  const call = first.choices[0]?.message.tool_calls?.[0];
  if (call?.type !== "function") throw new Error("the fake should have called a tool");
  const weather = await traceloop.withTool(
    { name: "get_weather" },
    async (args: { city: string }) => {
      await sleep(TOOL_WAIT_MS); // the first LLM span goes out in an earlier export request
      return { ...WEATHER, city: args.city };
    },
    JSON.parse(call.function.arguments) as { city: string },
  );
  messages.push(first.choices[0]!.message, {
    role: "tool",
    tool_call_id: call.id,
    content: JSON.stringify(weather),
  });
  const second = await client.chat.completions.create({ model: MODEL, messages });
  return second.choices[0]?.message.content ?? "";
}

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  "workflow → agent run whose tool outlasts the batch delay": async () => {
    fake.script(
      { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }] },
      { text: ANSWER, usage: { input: 64, output: 12 } },
    );
    let traceId = "";
    const answer = await traceloop.withWorkflow(
      { name: "weather-workflow" },
      async (question: string) => {
        traceId = trace.getActiveSpan()?.spanContext().traceId ?? "";
        return traceloop.withAgent({ name: "weather-agent" }, weatherAgent, question);
      },
      QUESTION,
    );
    expect(answer).toBe(ANSWER);
    return {
      traceIds: [traceId],
      expected: [
        {
          span: "weather-workflow.workflow",
          fields: {
            Convention: "openllmetry",
            Kind: "workflow", // the app's pipeline around the agent, not a second agent
            Operation: "invoke_workflow",
            InputText: QUESTION,
            OutputText: ANSWER,
          },
        },
        {
          span: "weather-agent.agent",
          fields: {
            Convention: "openllmetry",
            Kind: "agent",
            Operation: "invoke_agent",
            AgentName: "weather-agent",
            InputText: QUESTION,
            OutputText: ANSWER,
          },
        },
        {
          span: CHAT,
          fields: {
            Convention: "genai",
            Kind: "llm",
            Operation: "chat",
            AgentName: "weather-agent",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `system: ${SYSTEM}\nuser: ${QUESTION}`,
            OutputText: "",
            // the SDK records the GenAI spelling ("tool_call"), not the API's "tool_calls"
            FinishReason: "tool_call",
            ToolName: "get_weather",
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            InputTokens: 21,
            OutputTokens: 9,
          },
        },
        {
          span: "get_weather.tool",
          fields: {
            Convention: "openllmetry",
            Kind: "tool",
            Operation: "execute_tool",
            AgentName: "weather-agent",
            ToolName: "get_weather",
            // recorded as {"args":[],"kwargs":{"city":"Lisbon"}}: the call's one argument
            ToolArguments: '{"city":"Lisbon"}',
            ToolResult: JSON.stringify(WEATHER),
            OutputText: JSON.stringify(WEATHER),
          },
        },
        {
          span: CHAT,
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
    const traceId = await inRequest("POST /ask", async () => {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: QUESTION }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe(ANSWER);
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: CHAT,
          fields: {
            Kind: "llm",
            AgentName: "",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `user: ${QUESTION}`,
            OutputText: ANSWER,
            FinishReason: "stop",
            // The SDK counts a stream's tokens itself (tiktoken, TRACELOOP_ENRICH_TOKENS) and
            // records its counts, not the usage chunk the API sent (15 and 11).
            InputTokens: 7,
            OutputTokens: 10,
          },
        },
      ],
    };
  },

  "answer cut off at max_tokens": async () => {
    fake.script({
      text: "It is sunny and",
      finishReason: "length",
      usage: { input: 15, output: 5 },
    });
    const traceId = await inRequest("POST /ask", async () => {
      await client.chat.completions.create({
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: "user", content: QUESTION }],
      });
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: CHAT,
          fields: {
            Kind: "llm",
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

  "JSON output": async () => {
    const json = '{"city":"Lisbon","celsius":21}';
    fake.script({ text: json });
    const traceId = await inRequest("POST /extract", async () => {
      await client.chat.completions.create({
        model: MODEL,
        response_format: { type: "json_object" },
        messages: [
          { role: "system", content: "Answer in JSON." },
          { role: "user", content: QUESTION },
        ],
      });
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: CHAT,
          fields: {
            Kind: "llm",
            InputText: `system: Answer in JSON.\nuser: ${QUESTION}`,
            OutputText: json,
            OutputIsJson: true,
            FinishReason: "stop",
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
    const traceId = await inRequest("POST /ask", async () => {
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: QUESTION }],
      });
    });
    // 0.27.0 ends an LLM span only when its APIPromise resolves (`_thenUnwrap`): the span of
    // a rejected call stays open and is never exported, so there is no row to store (a limit
    // of the library, not of Plumbline).
    return { traceIds: [traceId], expected: [] };
  },
};

beforeAll(async () => {
  service = await startPlumbline();
  fake = await startFakeOpenAI();
  // Read by the SDK's BatchSpanProcessor; the NodeSDK it starts exports no logs or metrics.
  process.env["OTEL_BSP_SCHEDULE_DELAY"] = String(BATCH_DELAY_MS);
  process.env["OTEL_LOGS_EXPORTER"] = "none";
  process.env["OTEL_METRICS_EXPORTER"] = "none";
  exporter = new BatchRecordingExporter(new OTLPTraceExporter({ url: `${service.url}/v1/traces` }));
  const { OpenAI } = createRequire(import.meta.url)("openai") as { OpenAI: typeof OpenAIClient };
  traceloop.initialize({
    appName: "traceloop-app",
    baseUrl: service.url,
    exporter,
    traceloopSyncEnabled: false,
    silenceInitializationMessage: true,
    instrumentModules: { openAI: OpenAI },
  });
  client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });

  const scenarios = new Map<string, ScenarioResult>();
  for (const [name, run] of Object.entries(SCENARIOS)) scenarios.set(name, await run());
  await traceloop.forceFlush();
  for (const [name, result] of await settledComparisons(service, scenarios)) {
    results.set(name, result);
  }
});

afterAll(async () => {
  await traceloop.forceFlush();
  await fake?.close();
  await service?.close();
});

describe(LIBRARY, () => {
  it("exports every span, and Plumbline acknowledges them", () => {
    expect(fake.pending()).toBe(0);
    expect(exporter.batches.length).toBeGreaterThan(0);
    expect(exporter.batches.filter((b) => !b.ok)).toEqual([]);
  });

  it("sends the agent's first LLM span before the agent span, in another request", () => {
    const agent = exporter.spanIdOf("weather-agent.agent");
    expect(exporter.childExportedBefore(agent)).toBe(true);
  });

  it.each(Object.keys(SCENARIOS))("stores the rows of: %s", (name) => {
    const result = results.get(name)!;
    report(LIBRARY, name, result);
    expect(result.mismatches).toEqual([]);
  });
});
