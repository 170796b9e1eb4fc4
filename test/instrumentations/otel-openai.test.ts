/**
 * `openai` instrumented by `@opentelemetry/instrumentation-openai` with content capture on
 * (`captureMessageContent`, or OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true). Its
 * chat spans carry models, tokens and finish reasons; the messages themselves go out as OTLP
 * log records (`gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`,
 * `gen_ai.tool.message`, `gen_ai.choice`) tied to the span by trace and span id, exported to
 * Plumbline's `/v1/logs`. The agent and tool spans around the calls are the app's own, in the
 * GenAI conventions, as the instrumentation makes none.
 */

import { createRequire } from "node:module";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { OpenAIInstrumentation } from "@opentelemetry/instrumentation-openai";
import type OpenAIClient from "openai";
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

const LIBRARY = "openai 6.49.0 + @opentelemetry/instrumentation-openai 0.21.0";
const MODEL = "gpt-4o-mini";
const ANSWERED = "gpt-4o-mini-2024-07-18";
const SYSTEM = "You are a weather assistant.";
const QUESTION = "What is the weather in Lisbon?";
const ANSWER = "It is sunny and 21°C in Lisbon.";
const WEATHER = { city: "Lisbon", sky: "sunny", celsius: 21 };

let service: TestService;
let fake: FakeOpenAI;
let telemetry: Telemetry;
let client: OpenAIClient;
let rootSpanId = "";
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

/** A request-handler span (no GenAI marker) around a scenario, so its trace can be found. */
async function inRequest(name: string, run: () => Promise<void>): Promise<string> {
  const tracer = trace.getTracer("app");
  return tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, async (span) => {
    try {
      await run();
    } catch {
      // The failure is on the model call's span; the handler answers with an error page.
    } finally {
      span.end();
    }
    return span.spanContext().traceId;
  });
}

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  "agent run whose tool outlasts the batch delay": async () => {
    const tracer = trace.getTracer("weather-app");
    fake.script(
      { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }] },
      { text: ANSWER, usage: { input: 64, output: 12 } },
    );
    const root = tracer.startSpan("invoke_agent weather-agent", {
      attributes: {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": "weather-agent",
        "gen_ai.request.model": MODEL,
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: QUESTION }] },
        ]),
      },
    });
    rootSpanId = root.spanContext().spanId;
    await context.with(trace.setSpan(context.active(), root), async () => {
      const messages: OpenAIClient.Chat.ChatCompletionMessageParam[] = [
        { role: "system", content: SYSTEM },
        { role: "user", content: QUESTION },
      ];
      const first = await client.chat.completions.create({
        model: MODEL,
        messages,
        tools: [weatherTool],
      });
      const call = first.choices[0]?.message.tool_calls?.[0];
      if (call?.type !== "function") throw new Error("the fake should have called a tool");
      const toolSpan = tracer.startSpan("execute_tool get_weather", {
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": call.function.name,
          "gen_ai.tool.call.id": call.id,
          "gen_ai.tool.call.arguments": call.function.arguments,
        },
      });
      await sleep(TOOL_WAIT_MS); // the first chat span goes out in an earlier export request
      toolSpan.setAttribute("gen_ai.tool.call.result", JSON.stringify(WEATHER));
      toolSpan.end();
      messages.push(first.choices[0]!.message, {
        role: "tool",
        tool_call_id: call.id,
        content: JSON.stringify(WEATHER),
      });
      const second = await client.chat.completions.create({ model: MODEL, messages });
      root.setAttribute(
        "gen_ai.output.messages",
        JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "text", content: second.choices[0]?.message.content }],
          },
        ]),
      );
    });
    root.setStatus({ code: SpanStatusCode.OK });
    root.end();
    const chatIn = `system: ${SYSTEM}\nuser: ${QUESTION}`;
    return {
      traceIds: [root.spanContext().traceId],
      expected: [
        {
          span: "invoke_agent weather-agent",
          fields: {
            Convention: "genai",
            Kind: "agent",
            Operation: "invoke_agent",
            AgentName: "weather-agent",
            Provider: "openai",
            RequestModel: MODEL,
            InputText: `user: ${QUESTION}`,
            OutputText: ANSWER,
            StatusCode: "Ok",
            ErrorType: "",
          },
        },
        {
          span: `chat ${MODEL}`,
          fields: {
            Convention: "genai",
            Kind: "llm",
            Operation: "chat",
            AgentName: "weather-agent", // from the root, exported in a later request
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: chatIn, // from the gen_ai.system.message / gen_ai.user.message records
            OutputText: "",
            FinishReason: "tool_calls",
            ToolName: "get_weather", // from the gen_ai.choice record's tool_calls
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            InputTokens: 21,
            OutputTokens: 9,
            StatusCode: "Unset",
            ErrorType: "",
          },
        },
        {
          span: "execute_tool get_weather",
          fields: {
            Kind: "tool",
            Operation: "execute_tool",
            AgentName: "weather-agent",
            ToolName: "get_weather",
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            ToolResult: JSON.stringify(WEATHER),
            InputText: '{"city":"Lisbon"}',
            OutputText: JSON.stringify(WEATHER),
          },
        },
        {
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            Operation: "chat",
            AgentName: "weather-agent",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            // system, user, the assistant's tool call and the tool's result, from log records
            InputText: contains(`system: ${SYSTEM}`, `user: ${QUESTION}`, '"celsius":21'),
            OutputText: ANSWER, // from the gen_ai.choice record
            FinishReason: "stop",
            InputTokens: 64,
            OutputTokens: 12,
            StatusCode: "Unset",
          },
        },
      ],
    };
  },

  "streamed plain answer with usage": async () => {
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
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            Operation: "chat",
            AgentName: "",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `user: ${QUESTION}`,
            OutputText: ANSWER, // the streamed pieces, joined by the instrumentation
            FinishReason: "stop",
            InputTokens: 15,
            OutputTokens: 11,
            StatusCode: "Unset",
            ErrorType: "",
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
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            InputText: `user: ${QUESTION}`,
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
          span: `chat ${MODEL}`,
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

  "Responses API answer": async () => {
    // Responses calls follow semconv 1.38: one gen_ai.client.inference.operation.details
    // record for the input and one for the output, messages as structured attributes.
    fake.script({ text: ANSWER, usage: { input: 30, output: 10 } });
    const traceId = await inRequest("POST /ask", async () => {
      const response = await client.responses.create({
        model: MODEL,
        instructions: SYSTEM,
        input: QUESTION,
      });
      expect(response.output_text).toBe(ANSWER);
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            Operation: "chat",
            Provider: "openai",
            RequestModel: MODEL,
            ResponseModel: ANSWERED,
            // instructions are on the span and again, as the system message, in the record
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
    const traceId = await inRequest("POST /ask", async () => {
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: QUESTION }],
      });
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            Operation: "chat",
            Provider: "openai",
            RequestModel: MODEL, // a failed call keeps the model it asked for
            ResponseModel: "",
            Model: MODEL,
            InputText: `user: ${QUESTION}`, // the request's records went out before the call
            OutputText: "",
            FinishReason: "",
            StatusCode: "Error",
            ErrorType: "AuthenticationError",
            InputTokens: null,
            OutputTokens: null,
          },
        },
      ],
    };
  },

  "HTTP 500 on a streamed call": async () => {
    fake.script({
      status: 500,
      message: "The server had an error",
      type: "server_error",
      code: null,
    });
    const traceId = await inRequest("POST /ask", async () => {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: QUESTION }],
        stream: true,
      });
      for await (const _ of stream) void _;
    });
    return {
      traceIds: [traceId],
      expected: [
        {
          span: `chat ${MODEL}`,
          fields: {
            Kind: "llm",
            RequestModel: MODEL,
            Model: MODEL,
            InputText: `user: ${QUESTION}`,
            OutputText: "",
            StatusCode: "Error",
            ErrorType: "InternalServerError",
          },
        },
      ],
    };
  },
};

beforeAll(async () => {
  service = await startPlumbline();
  fake = await startFakeOpenAI();
  telemetry = startTelemetry(service, "otel-openai-app");
  registerInstrumentations({
    instrumentations: [new OpenAIInstrumentation({ captureMessageContent: true })],
    tracerProvider: telemetry.tracerProvider,
    loggerProvider: telemetry.loggerProvider,
  });
  // Loaded after the instrumentation is registered, through require, which it hooks.
  const { OpenAI } = createRequire(import.meta.url)("openai") as { OpenAI: typeof OpenAIClient };
  client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });

  const scenarios = new Map<string, ScenarioResult>();
  for (const [name, run] of Object.entries(SCENARIOS)) scenarios.set(name, await run());
  await telemetry.flush();
  for (const [name, result] of await settledComparisons(service, scenarios)) {
    results.set(name, result);
  }
});

afterAll(async () => {
  await telemetry?.shutdown();
  await fake?.close();
  await service?.close();
});

describe(LIBRARY, () => {
  it("exports every span and log record, and Plumbline acknowledges them", () => {
    expect(fake.pending()).toBe(0);
    expect(telemetry.spans.batches.filter((b) => !b.ok)).toEqual([]);
    expect(telemetry.logs.sent.length).toBeGreaterThan(0);
    expect(telemetry.logs.failures).toEqual([]);
    expect(telemetry.logs.acknowledged).toHaveLength(telemetry.logs.sent.length);
  });

  it("sends the long run's first chat span before its agent span, in another request", () => {
    expect(telemetry.spans.childExportedBefore(rootSpanId)).toBe(true);
  });

  it.each(Object.keys(SCENARIOS))("stores the rows of: %s", (name) => {
    const result = results.get(name)!;
    report(LIBRARY, name, result);
    expect(result.mismatches).toEqual([]);
  });
});
