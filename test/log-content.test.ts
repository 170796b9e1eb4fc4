/**
 * Content sent as OTLP log records (the official GenAI instrumentations' default) fills the
 * output row of its span whether the records arrive before or after the span: a span without
 * its content is stored pending and completed from otel_logs once its trace is quiet, and only
 * then evaluated, so a rule on the output text sees the text and never the empty row first.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { context, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJson, type Json } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const QUIET_MS = 1_000;
const ANSWER = "Your plan is a longer one.";
let service: TestService;

beforeAll(async () => {
  const rulesDir = mkdtempSync(join(tmpdir(), "plumbline-log-content-rules-"));
  // Fails on the answer's text only: evaluated on the row before its content came, it would pass.
  writeFileSync(
    join(rulesDir, "no-long-plans.json"),
    JSON.stringify({
      id: "no-long-plans",
      match: { agent: "planner", operation: "chat" },
      check: { type: "assert", assertions: [{ field: "output.text", not_matches: "longer" }] },
    }),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: true, traceQuietMs: QUIET_MS, traceIntervalMs: 100 },
  });
});
afterAll(async () => {
  await service?.close();
});

/**
 * An agent run whose chat span carries no content, as @opentelemetry/instrumentation-openai
 * leaves it, and the log records that instrumentation emits in the span's context.
 */
async function runWithLogs(
  serviceName: string,
): Promise<{ spans: ReadableSpan[]; logs: ReadableLogRecord[] }> {
  const resource = resourceFromAttributes({ "service.name": serviceName });
  const spanMemory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor(spanMemory)],
  }).getTracer("agent");
  const logMemory = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new SimpleLogRecordProcessor({ exporter: logMemory })],
  });
  const logger = loggerProvider.getLogger("@opentelemetry/instrumentation-openai");

  const agent = tracer.startSpan("invoke_agent planner", {
    attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner" },
  });
  const agentContext = trace.setSpan(context.active(), agent);
  const chat = tracer.startSpan(
    "chat gpt-4o-mini",
    {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
      },
    },
    agentContext,
  );
  const chatContext = trace.setSpan(agentContext, chat);
  const emit = (eventName: string, body: Record<string, unknown>) =>
    logger.emit({
      eventName,
      body: body as never,
      context: chatContext,
      severityNumber: SeverityNumber.INFO,
      attributes: { "gen_ai.system": "openai" },
    });
  emit("gen_ai.system.message", { content: "You plan weeks." });
  emit("gen_ai.user.message", { content: "Plan my week" });
  emit("gen_ai.choice", {
    index: 0,
    finish_reason: "stop",
    message: { role: "assistant", content: ANSWER },
  });
  chat.end();
  agent.end();
  // The simple processor still exports asynchronously.
  await loggerProvider.forceFlush();
  const logs = logMemory.getFinishedLogRecords();
  expect(logs).toHaveLength(3);
  return { spans: spanMemory.getFinishedSpans(), logs };
}

async function post(path: string, body: Uint8Array | undefined): Promise<void> {
  const res = await fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: body as Uint8Array,
  });
  expect(res.status).toBe(200);
}
const postSpans = (spans: ReadableSpan[]) =>
  post("/v1/traces", ProtobufTraceSerializer.serializeRequest(spans));
const postLogs = (logs: ReadableLogRecord[]) =>
  post("/v1/logs", ProtobufLogsSerializer.serializeRequest(logs));

async function chatRow(serviceName: string): Promise<Json | undefined> {
  const [row] = await service.rows(
    `SELECT AgentName, InputText, OutputText, FinishReason, SpanAttributes['plumbline.pending'] AS pending
     FROM plumbline.agent_outputs FINAL WHERE ServiceName = {s:String} AND Kind = 'llm'`,
    { s: serviceName },
  );
  return row;
}

async function checks(serviceName: string): Promise<Json[]> {
  const res: Json = await fetchJson(`${service.url}/api/checks?service=${serviceName}`);
  return res.checks as Json[];
}

async function expectCompleted(serviceName: string): Promise<void> {
  const row = await until("the completed row", async () => {
    const found = await chatRow(serviceName);
    return found?.pending === "" ? found : undefined;
  });
  expect(row).toEqual({
    AgentName: "planner",
    InputText: "system: You plan weeks.\nuser: Plan my week",
    OutputText: ANSWER,
    FinishReason: "stop",
    pending: "",
  });
  const found = await until("the finding", async () => {
    const list = await checks(serviceName);
    return list.length > 0 ? list : undefined;
  });
  // One finding, on the text: the row was not evaluated while its content was missing.
  expect(found).toMatchObject([{ RuleId: "no-long-plans", AgentName: "planner" }]);
}

describe("GenAI content sent as log records", () => {
  it("fills the output of its span when the records arrive before the span", async () => {
    const name = "logs-first";
    const { spans, logs } = await runWithLogs(name);
    await postLogs(logs);
    await postSpans(spans);
    // Stored at once, waiting for the trace to be quiet.
    expect(await chatRow(name)).toMatchObject({ OutputText: "", pending: "content" });
    await expectCompleted(name);
  });

  it("fills the output of its span when the records arrive after the span", async () => {
    const name = "logs-after";
    const { spans, logs } = await runWithLogs(name);
    await postSpans(spans);
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS / 4));
    await postLogs(logs);
    await expectCompleted(name);
  });

  it("keeps the records in otel_logs with their trace and span", async () => {
    const name = "logs-stored";
    const { spans, logs } = await runWithLogs(name);
    await postLogs(logs);
    const rows = await service.rows(
      `SELECT EventName, TraceId, SpanId FROM plumbline.otel_logs
       WHERE ServiceName = {s:String} ORDER BY Timestamp, EventName`,
      { s: name },
    );
    const chat = spans.find((s) => s.name.startsWith("chat"));
    expect(rows.map((r) => r.EventName).sort()).toEqual([
      "gen_ai.choice",
      "gen_ai.system.message",
      "gen_ai.user.message",
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({
        TraceId: chat?.spanContext().traceId,
        SpanId: chat?.spanContext().spanId,
      });
    }
  });
});
