/**
 * A LangChain JS agent (`langchain`'s `createAgent`, a LangGraph graph, with `@langchain/openai`'s
 * ChatOpenAI pointed at the fake) traced by `@arizeai/openinference-instrumentation-langchain`,
 * which hooks LangChain's callback manager (manually instrumented, as its README says for
 * ESM). Every run becomes a span: the agent graph, its nodes, the chat model (LLM) and the
 * tool (TOOL); `input.value` / `output.value` hold the runs' inputs and outputs as JSON.
 */

import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { createAgent } from "langchain";
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

const LIBRARY =
  "langchain 1.5.14 (createAgent) + @langchain/openai 1.5.8 + @arizeai/openinference-instrumentation-langchain 4.1.1";
const MODEL = "gpt-4o-mini";
const ANSWERED = "gpt-4o-mini-2024-07-18";
const SYSTEM = "You are a weather assistant.";
const QUESTION = "What is the weather in Lisbon?";
const ANSWER = "It is sunny and 21°C in Lisbon.";
const WEATHER = { city: "Lisbon", sky: "sunny", celsius: 21 };

let service: TestService;
let fake: FakeOpenAI;
let telemetry: Telemetry;
const traceOfRun = new Map<string, string>();
const results = new Map<string, Comparison>();

const model = (maxTokens?: number) =>
  new ChatOpenAI({
    model: MODEL,
    apiKey: "sk-test",
    configuration: { baseURL: fake.baseURL },
    maxRetries: 0,
    ...(maxTokens === undefined ? {} : { maxTokens }),
  });

const getWeather = tool(
  async ({ city }: { city: string }) => {
    await sleep(TOOL_WAIT_MS); // the first LLM span goes out in an earlier export request
    return JSON.stringify({ ...WEATHER, city });
  },
  {
    name: "get_weather",
    description: "Current weather in a city",
    schema: z.object({ city: z.string() }),
  },
);

/** The trace of the last exported span of this name. */
function traceIdOf(spanName: string): string {
  const span = telemetry.spans.batches
    .flatMap((b) => b.spans)
    .filter((s) => s.name === spanName)
    .at(-1);
  return span?.traceId ?? "";
}

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  "agent run whose tool outlasts the batch delay": async () => {
    fake.script(
      { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Lisbon"}' }] },
      { text: ANSWER, usage: { input: 64, output: 12 } },
    );
    const agent = createAgent({
      model: model(),
      tools: [getWeather],
      systemPrompt: SYSTEM,
      name: "weather-agent",
    });
    const state = await agent.invoke({ messages: [{ role: "user", content: QUESTION }] });
    expect(state.messages.at(-1)?.content).toBe(ANSWER);
    await telemetry.flush();
    const traceId = traceIdOf("weather-agent");
    traceOfRun.set("agent", traceId);
    return {
      traceIds: [traceId],
      expected: [
        {
          // A CHAIN span: createAgent's graph, named after the agent, its metadata
          // ls_integration "langchain_create_agent" and lc_agent_name "weather-agent".
          span: "weather-agent",
          fields: {
            Convention: "openinference",
            Kind: "agent",
            Operation: "invoke_agent",
            AgentName: "weather-agent",
            InputText: contains(QUESTION),
            OutputText: ANSWER, // the final answer, not the graph's whole message state
            StatusCode: "Ok",
          },
        },
        {
          span: "ChatOpenAI",
          fields: {
            Convention: "openinference",
            Kind: "llm",
            Operation: "chat",
            AgentName: "weather-agent", // from the agent span, exported in a later request
            Provider: "openai", // metadata.ls_provider; no llm.provider or llm.system
            RequestModel: MODEL, // llm.model_name is the requested model
            // only in output.value: the generation's response_metadata.model_name
            ResponseModel: ANSWERED,
            // the system message's content is a part array, left out of llm.input_messages
            // and kept in input.value
            InputText: `system: ${SYSTEM}\nuser: ${QUESTION}`,
            OutputText: "",
            FinishReason: "tool_calls",
            ToolName: "get_weather",
            ToolCallId: "call_w1",
            ToolArguments: '{"city":"Lisbon"}',
            InputTokens: 21,
            OutputTokens: 9,
            StatusCode: "Ok",
          },
        },
        {
          span: "get_weather",
          fields: {
            Convention: "openinference",
            Kind: "tool",
            Operation: "execute_tool",
            AgentName: "weather-agent",
            ToolName: "get_weather",
            ToolCallId: "call_w1", // in output.value: the ToolMessage's tool_call_id
            // input.value is all the span has of the arguments: the one value, as text
            ToolArguments: "Lisbon",
            // the tool's return value, not the ToolMessage LangChain wrapped it in
            ToolResult: JSON.stringify(WEATHER),
            OutputText: JSON.stringify(WEATHER),
            StatusCode: "Ok",
          },
        },
        {
          span: "ChatOpenAI",
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
    let text = "";
    for await (const chunk of await model().stream(QUESTION)) text += String(chunk.content);
    expect(text).toBe(ANSWER);
    await telemetry.flush();
    return {
      traceIds: [traceIdOf("ChatOpenAI")],
      expected: [
        {
          span: "ChatOpenAI",
          fields: {
            Kind: "llm",
            AgentName: "",
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

  "answer cut off at maxTokens": async () => {
    fake.script({
      text: "It is sunny and",
      finishReason: "length",
      usage: { input: 15, output: 5 },
    });
    await model(5).invoke(QUESTION);
    await telemetry.flush();
    return {
      traceIds: [traceIdOf("ChatOpenAI")],
      expected: [
        {
          span: "ChatOpenAI",
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

  "HTTP 401": async () => {
    fake.script({
      status: 401,
      message: "Incorrect API key provided",
      type: "invalid_request_error",
      code: "invalid_api_key",
    });
    await model()
      .invoke(QUESTION)
      .catch(() => undefined);
    await telemetry.flush();
    return {
      traceIds: [traceIdOf("ChatOpenAI")],
      expected: [
        {
          span: "ChatOpenAI",
          fields: {
            Kind: "llm",
            Provider: "openai",
            RequestModel: MODEL, // a failed call keeps the model it asked for
            Model: MODEL,
            InputText: `user: ${QUESTION}`,
            OutputText: "",
            StatusCode: "Error",
            // the exception event has a message and no exception.type
            ErrorType: "_OTHER",
          },
        },
      ],
    };
  },
};

beforeAll(async () => {
  service = await startPlumbline();
  fake = await startFakeOpenAI();
  telemetry = startTelemetry(service, "langchain-app");
  const instrumentation = new LangChainInstrumentation();
  instrumentation.setTracerProvider(telemetry.tracerProvider);
  instrumentation.manuallyInstrument(CallbackManagerModule);

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
  it("exports every span, and Plumbline acknowledges them", () => {
    expect(fake.pending()).toBe(0);
    expect(telemetry.spans.batches.filter((b) => !b.ok)).toEqual([]);
  });

  it("sends the agent's first LLM span before the agent span, in another request", () => {
    const agent = telemetry.spans.spanIdOf("weather-agent", traceOfRun.get("agent"));
    expect(telemetry.spans.childExportedBefore(agent)).toBe(true);
  });

  it.each(Object.keys(SCENARIOS))("stores the rows of: %s", (name) => {
    const result = results.get(name)!;
    report(LIBRARY, name, result);
    expect(result.mismatches).toEqual([]);
  });
});
