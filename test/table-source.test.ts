/**
 * The table source mode end to end: spans written straight into otel_traces in the collector's
 * clickhouseexporter layout (as a collector with the clickhouse exporter would) become agent
 * outputs, findings and alerts; a span arriving late for a minute already read is picked up;
 * nothing is processed twice, not even after a restart.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  BasicTracerProvider,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { fromReadableSpan } from "./helpers/make-span.ts";
import { toOtelTracesRow } from "../src/decode/span-row.ts";
import type { DecodedSpan } from "../src/decode/span.ts";
import { emitAgentRun } from "./helpers/agent-traffic.ts";
import { until } from "./helpers/until.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import type { ConfigInput } from "../src/config/index.ts";

let service: TestService;
let hook: TestReceiver;
let config: ConfigInput;

/** Agent runs recorded by the real SDK, moved `agoMs` into the past, as otel_traces rows. */
function runsAsRows(
  runs: Parameters<typeof emitAgentRun>[1][],
  agoMs: number,
): { rows: ReturnType<typeof toOtelTracesRow>[]; traceIds: string[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "tickets", "service.version": "3.0" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("agent");
  const traceIds = runs.map((run) => emitAgentRun(tracer, run));
  const shift = BigInt(agoMs) * 1_000_000n;
  const rows = exporter.getFinishedSpans().map((span) => {
    const decoded: DecodedSpan = fromReadableSpan(span);
    return toOtelTracesRow({
      ...decoded,
      startTimeUnixNano: decoded.startTimeUnixNano - shift,
      endTimeUnixNano: decoded.endTimeUnixNano - shift,
    });
  });
  return { rows, traceIds };
}

async function writeSpans(rows: ReturnType<typeof toOtelTracesRow>[]): Promise<void> {
  await service.store.client.insert({
    table: service.store.tables.traces,
    values: rows,
    format: "JSONEachRow",
  });
}

async function count(query: string): Promise<number> {
  const [row] = await service.rows<{ n: string }>(query);
  return Number(row?.n ?? NaN);
}

beforeAll(async () => {
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-table-rules-");
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(
    join(rulesDir, "short.json"),
    JSON.stringify({
      id: "answers-short",
      match: { service: "tickets", operation: "chat" },
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 60] }] },
    }),
  );
  config = {
    dataDir: tempDir(),
    rulesDir,
    source: "table",
    evaluate: { builtinRules: true, traceQuietMs: 200, traceIntervalMs: 100, resultsFlushMs: 50 },
    alerts: { channels: { hook: { type: "webhook", url: `${hook.url}/hooks` } }, tickMs: 100 },
  };
  service = await startTestService(config);
});

afterAll(async () => {
  await service?.close();
  await hook?.close();
});

describe("table source mode", () => {
  it("turns spans written by others into outputs, findings and alerts, once", async () => {
    const { rows, traceIds } = runsAsRows(
      [
        { agent: "triage", userText: "refund?", answer: "Sure." },
        {
          agent: "triage",
          userText: "where is my order?",
          answer: "It shipped. ".repeat(20),
          tool: {
            name: "lookup_order",
            args: { id: 7 },
            result: { error: { code: 401, message: "token expired" } },
          },
        },
      ],
      120_000,
    );
    await writeSpans(rows);
    // The source also reads on its own every few seconds: count what is stored, not the return.
    await service.readTableSource();
    const outputs = await count(
      `SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = 'tickets'`,
    );
    // Two agent spans, three chat spans and one tool span.
    expect(outputs).toBe(6);
    // Agent names are inherited from the agent span of the same trace.
    expect(
      await count(
        `SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = 'tickets' AND AgentName = 'triage'`,
      ),
    ).toBe(6);

    // The too-long answer fires the rule's alert; the disguised tool error is found.
    const request = await until("the alert", () =>
      hook.requests.find((r) => r.body.includes("answers-short")),
    );
    expect(JSON.parse(request.body)).toMatchObject({
      kind: "firing",
      alert: { ruleId: "answers-short" },
    });
    await until("the tool finding", async () =>
      (await count(
        `SELECT count() AS n FROM plumbline.check_results WHERE RuleId = 'builtin.tool-error-in-disguise' AND TraceId = '${traceIds[1]}'`,
      )) === 1
        ? true
        : undefined,
    );

    // Reading again finds nothing new and writes nothing twice.
    expect(await service.readTableSource()).toBe(0);
    expect(
      await count(`SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = 'tickets'`),
    ).toBe(6);
  });

  it("picks up a span that arrives late for a minute already read", async () => {
    const early = runsAsRows([{ agent: "late", userText: "hi", answer: "Hello." }], 3_600_000);
    const [first, ...rest] = early.rows;
    if (first === undefined) throw new Error("no spans");
    await writeSpans(rest);
    await service.readTableSource();
    const before = await count(
      `SELECT count() AS n FROM plumbline.agent_outputs WHERE AgentName = 'late'`,
    );
    // The first span of that run (its chat answer) arrives an hour late.
    await writeSpans([first]);
    await service.readTableSource();
    expect(
      await count(`SELECT count() AS n FROM plumbline.agent_outputs WHERE AgentName = 'late'`),
    ).toBe(before + 1);
  });

  it("after a restart, writes and evaluates nothing again", async () => {
    await service.flushEvaluations();
    const outputs = await count(`SELECT count() AS n FROM plumbline.agent_outputs`);
    const evaluations = await count(
      `SELECT uniqExactMerge(Evaluated) AS n FROM plumbline.check_counts WHERE RuleId = 'answers-short'`,
    );
    await service.close();
    service = await startTestService(config);
    for (let i = 0; i < 3; i++) expect(await service.readTableSource()).toBe(0);
    await service.flushEvaluations();
    expect(await count(`SELECT count() AS n FROM plumbline.agent_outputs`)).toBe(outputs);
    expect(
      await count(
        `SELECT uniqExactMerge(Evaluated) AS n FROM plumbline.check_counts WHERE RuleId = 'answers-short'`,
      ),
    ).toBe(evaluations);
  });
});
