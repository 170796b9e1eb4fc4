/**
 * The real OTel exporters (OTLP/HTTP JSON, OTLP/HTTP protobuf, OTLP/gRPC) send GenAI agent runs
 * to the running service; every span lands in otel_traces and every LLM call, agent run and
 * tool call in agent_outputs, with the normalised fields.
 */

import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

let service: TestService;

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>;
const usage = (input: number, output: number): GenerateResult["usage"] => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.close();
});

const exporters: [string, () => SpanExporter][] = [
  ["http-json", () => new JsonExporter({ url: `${service.url}/v1/traces` })],
  ["http-protobuf", () => new ProtoExporter({ url: `${service.url}/v1/traces` })],
  [
    "grpc",
    () =>
      new GrpcExporter({
        url: `http://127.0.0.1:${service.grpcPort}`,
        compression: "gzip" as never,
      }),
  ],
];

describe.each(exporters)("the %s exporter", (name, makeExporter) => {
  it("stores every span and one output per LLM call, agent run and tool call", async () => {
    const exporter = new RecordingExporter(makeExporter());
    const serviceName = `billing-${name}`;
    const provider = makeProvider(exporter, serviceName, { "service.version": "1.4.2" });
    const tracer = provider.getTracer("agent-app", "0.9.0");

    const traceId = emitAgentRun(tracer, {
      agent: "invoice-extractor",
      userText: "Extract the invoice from this e-mail",
      answer: '{"invoice_id":"INV-7","total":120.5,"currency":"EUR"}',
      tool: { name: "lookup_customer", args: { email: "a@b.example" }, result: { id: 42 } },
    });
    // A span of no LLM convention: stored, counted as unrecognised, no output.
    tracer.startSpan("GET /health").end();
    await provider.forceFlush();
    await provider.shutdown();
    expect(exporter.failures).toEqual([]);
    expect(exporter.acknowledged).toHaveLength(5);

    const spans = await service.rows<{
      SpanName: string;
      SpanKind: string;
      ScopeName: string;
      ResourceAttributes: Record<string, string>;
    }>(
      `SELECT SpanName, SpanKind, ScopeName, ResourceAttributes FROM plumbline.otel_traces WHERE ServiceName = {s:String} ORDER BY SpanName`,
      { s: serviceName },
    );
    expect(spans.map((s) => s.SpanName)).toEqual([
      "GET /health",
      "chat gpt-4o",
      "chat gpt-4o",
      "execute_tool lookup_customer",
      "invoke_agent invoice-extractor",
    ]);
    expect(spans[1]).toMatchObject({ SpanKind: "Client", ScopeName: "agent-app" });
    expect(spans[0]?.ResourceAttributes["service.version"]).toBe("1.4.2");

    const outputs = await service.rows<Record<string, unknown>>(
      `SELECT * FROM plumbline.agent_outputs WHERE TraceId = {t:String} ORDER BY Timestamp, Kind`,
      { t: traceId },
    );
    expect(outputs).toHaveLength(4);
    const byKind = (kind: string) => outputs.filter((o) => o["Kind"] === kind);
    expect(byKind("agent")).toHaveLength(1);
    expect(byKind("agent")[0]).toMatchObject({
      ServiceName: serviceName,
      ServiceVersion: "1.4.2",
      Operation: "invoke_agent",
      AgentName: "invoice-extractor",
      Convention: "genai",
      StatusCode: "Ok",
    });
    expect(byKind("tool")[0]).toMatchObject({
      Operation: "execute_tool",
      ToolName: "lookup_customer",
      ToolCallId: "call_1",
      ToolArguments: '{"email":"a@b.example"}',
      ToolResult: '{"id":42}',
    });
    const answer = byKind("llm").find((o) => o["FinishReason"] === "stop");
    expect(answer).toMatchObject({
      Operation: "chat",
      AgentName: "invoice-extractor",
      Provider: "openai",
      RequestModel: "gpt-4o",
      ResponseModel: "gpt-4o-2024-08-06",
      Model: "gpt-4o-2024-08-06",
      OutputText: '{"invoice_id":"INV-7","total":120.5,"currency":"EUR"}',
      OutputIsJson: true,
      InputTokens: "120",
      OutputTokens: "42",
    });
    expect(JSON.parse(String(answer?.["OutputJson"]))).toEqual({
      invoice_id: "INV-7",
      total: 120.5,
      currency: "EUR",
    });
    expect(String(answer?.["InputText"])).toContain("Extract the invoice from this e-mail");

    const unrecognised = await fetchJson(`${service.url}/api/stats/unrecognised`);
    const entry = unrecognised.services.find((s: { service: string }) => s.service === serviceName);
    expect(entry).toMatchObject({
      received: 5,
      unrecognised: 1,
      spanNames: [{ name: "GET /health", count: 1 }],
    });
  });
});

describe("a trace read back through the API", () => {
  it("returns the spans and outputs of one trace", async () => {
    const exporter = new RecordingExporter(new ProtoExporter({ url: `${service.url}/v1/traces` }));
    const provider = makeProvider(exporter, "support-api");
    const traceId = emitAgentRun(provider.getTracer("t"), {
      agent: "support",
      userText: "Where is my order?",
      answer: "It ships tomorrow.",
    });
    await provider.shutdown();
    const body = await fetchJson(`${service.url}/api/traces/${traceId}`);
    expect(body.spans).toHaveLength(2);
    expect(body.outputs.map((o: { OutputText: string }) => o.OutputText)).toContain(
      "It ships tomorrow.",
    );

    const listed = await fetchJson(
      `${service.url}/api/outputs?service=support-api&operation=chat&since=1h`,
    );
    expect(listed.outputs).toHaveLength(1);
    expect(listed.outputs[0]).toMatchObject({
      AgentName: "support",
      TraceId: traceId,
      OutputText: "It ships tomorrow.",
    });
  });
});

describe("the Vercel AI SDK with telemetry on, exporting to the service", () => {
  it("stores the run, the model calls and the tool call with their fields", async () => {
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const exporter = new RecordingExporter(new ProtoExporter({ url: `${service.url}/v1/traces` }));
    const provider = makeProvider(exporter, "weather-app");
    const calls: GenerateResult[] = [
      {
        content: [
          {
            type: "tool-call",
            toolCallId: "call-7",
            toolName: "weather",
            input: '{"city":"Lisbon"}',
          },
        ],
        finishReason: { unified: "tool-calls", raw: "tool_calls" },
        usage: usage(50, 12),
        warnings: [],
      },
      {
        content: [{ type: "text", text: "It is sunny and 21°C in Lisbon." }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: usage(80, 11),
        warnings: [],
        response: { modelId: "gpt-4o-mini-2024-07-18" },
      },
    ];
    const model = new MockLanguageModelV3({
      provider: "openai.chat",
      modelId: "gpt-4o-mini",
      doGenerate: calls,
    });
    const result = await generateText({
      model,
      prompt: "What is the weather in Lisbon?",
      tools: {
        weather: tool({
          description: "Current weather in a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => ({ city, sky: "sunny", celsius: 21 }),
        }),
      },
      stopWhen: stepCountIs(3),
      experimental_telemetry: {
        isEnabled: true,
        functionId: "weather-agent",
        tracer: provider.getTracer("ai"),
      },
    });
    expect(result.text).toBe("It is sunny and 21°C in Lisbon.");
    await provider.shutdown();
    context.disable();
    expect(exporter.failures).toEqual([]);

    const outputs = await service.rows<Record<string, unknown>>(
      `SELECT Kind, Operation, AgentName, Convention, Model, OutputText, FinishReason, ToolName, ToolArguments, ToolResult, InputTokens, OutputTokens, ParentSpanId
       FROM plumbline.agent_outputs WHERE ServiceName = 'weather-app' ORDER BY Timestamp, Kind`,
    );
    expect(outputs.map((o) => `${o["Kind"]}/${o["Operation"]}`)).toEqual([
      "agent/invoke_agent",
      "llm/chat",
      "tool/execute_tool",
      "llm/chat",
    ]);
    for (const o of outputs)
      expect(o).toMatchObject({ AgentName: "weather-agent", Convention: "vercel-ai" });
    expect(outputs[0]).toMatchObject({
      OutputText: "It is sunny and 21°C in Lisbon.",
      FinishReason: "stop",
      ParentSpanId: "",
    });
    expect(outputs[1]).toMatchObject({
      FinishReason: "tool-calls",
      ToolName: "weather",
      InputTokens: "50",
    });
    expect(outputs[2]).toMatchObject({ ToolName: "weather", ToolArguments: '{"city":"Lisbon"}' });
    expect(JSON.parse(String(outputs[2]?.["ToolResult"]))).toEqual({
      city: "Lisbon",
      sky: "sunny",
      celsius: 21,
    });
    expect(outputs[3]).toMatchObject({
      OutputText: "It is sunny and 21°C in Lisbon.",
      Model: "gpt-4o-mini-2024-07-18",
      OutputTokens: "11",
    });
    expect(outputs[3]?.["ParentSpanId"]).not.toBe("");
  });
});
