/**
 * An output is right however its trace was split into requests: an LLM call exported before
 * the agent run around it (an SDK flushes every few seconds; the run outlasts that) is stored
 * pending, completed once the trace is quiet with the agent's name, conversation and id, and
 * only then evaluated, so its finding carries the final agent name. A trace that arrives whole
 * is evaluated at once.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { context, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJson, type Json } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const QUIET_MS = 1_500;
let service: TestService;

beforeAll(async () => {
  const rulesDir = mkdtempSync(join(tmpdir(), "plumbline-late-rules-"));
  writeFileSync(
    join(rulesDir, "short.json"),
    JSON.stringify({
      id: "planner-replies-short",
      match: { agent: "planner", operation: "chat" },
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 10] }] },
    }),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: false, traceQuietMs: QUIET_MS, traceIntervalMs: 100 },
  });
});
afterAll(async () => {
  await service?.close();
});

/** An agent run (invoke_agent planner, conversation c-1) with one chat call inside it. */
function agentRun(serviceName: string): { agent: ReadableSpan; chat: ReadableSpan } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("agent");
  const agent = tracer.startSpan("invoke_agent planner", {
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "planner",
      "gen_ai.agent.id": "agent-42",
      "gen_ai.conversation.id": "c-1",
    },
  });
  const chat = tracer.startSpan(
    "chat gpt-4o",
    {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "plan my week" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "text", content: "a plan far longer than ten characters" }],
            finish_reason: "stop",
          },
        ]),
      },
    },
    trace.setSpan(context.active(), agent),
  );
  chat.end();
  agent.end();
  const [chatSpan, agentSpan] = memory.getFinishedSpans();
  return { agent: agentSpan as ReadableSpan, chat: chatSpan as ReadableSpan };
}

async function post(spans: ReadableSpan[]): Promise<void> {
  const res = await fetch(`${service.url}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array,
  });
  expect(res.status).toBe(200);
}

async function outputRows(serviceName: string): Promise<Json[]> {
  return service.rows(
    `SELECT SpanName, AgentName, AgentId, ConversationId, SpanAttributes['plumbline.pending'] AS pending
     FROM plumbline.agent_outputs FINAL WHERE ServiceName = {s:String} ORDER BY SpanName`,
    { s: serviceName },
  );
}

async function findings(serviceName: string): Promise<Json[]> {
  const res: Json = await fetchJson(
    `${service.url}/api/checks?rule=planner-replies-short&service=${serviceName}`,
  );
  return res.checks as Json[];
}

describe("late-arriving spans", () => {
  it("an LLM call sent before its agent is completed with the agent's name, then evaluated", async () => {
    const name = "late-agent";
    const { agent, chat } = agentRun(name);
    await post([chat]);
    // Stored at once, marked pending, not evaluated yet: its agent may still come.
    expect(await outputRows(name)).toEqual([
      { SpanName: "chat gpt-4o", AgentName: "", AgentId: "", ConversationId: "", pending: "agent" },
    ]);
    await post([agent]);
    // Completed rows are written before the pending one is deleted: wait for both steps.
    const rows = await until("the completed row", async () => {
      const found = await outputRows(name);
      return found.length === 2 && found.every((r) => r.pending === "") ? found : undefined;
    });
    expect(rows).toEqual([
      {
        SpanName: "chat gpt-4o",
        AgentName: "planner",
        AgentId: "agent-42",
        ConversationId: "c-1",
        pending: "",
      },
      {
        SpanName: "invoke_agent planner",
        AgentName: "planner",
        AgentId: "agent-42",
        ConversationId: "c-1",
        pending: "",
      },
    ]);
    // The pending version is gone, not kept beside the completed one.
    const [count] = await service.rows<{ n: string }>(
      "SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = {s:String} AND SpanName = 'chat gpt-4o'",
      { s: name },
    );
    expect(count?.n).toBe("1");
    const found = await until("the finding", async () => {
      const list = await findings(name);
      return list.length > 0 ? list : undefined;
    });
    expect(found).toMatchObject([
      { AgentName: "planner", Code: "assertion_failed", Outcome: "failed" },
    ]);
    const outputs: Json = await fetchJson(
      `${service.url}/api/outputs?agent=planner&service=${name}`,
    );
    expect((outputs.outputs as Json[]).map((o) => o.SpanName).sort()).toEqual([
      "chat gpt-4o",
      "invoke_agent planner",
    ]);
  });

  it("a trace that arrives whole is evaluated at once, before its quiet period", async () => {
    const name = "whole-trace";
    const { agent, chat } = agentRun(name);
    const sent = Date.now();
    await post([chat, agent]);
    expect((await outputRows(name)).map((r) => r.pending)).toEqual(["", ""]);
    await until("the finding", async () => ((await findings(name)).length > 0 ? true : undefined));
    expect(Date.now() - sent).toBeLessThan(QUIET_MS);
  });
});
