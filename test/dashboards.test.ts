/**
 * The Grafana dashboards, run for real without Grafana: every dashboard JSON parses and uses
 * only the ClickHouse data source variable; then every panel query (and every variable query)
 * is expanded as Grafana and the ClickHouse plugin would expand it (test/helpers/grafana-macros.ts)
 * and run against the embedded store, filled by the real service from agent runs exported by
 * the real OTel exporter. Each must return rows, with the columns its panel type needs.
 */

import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  ALL,
  expandQuery,
  intervalMs,
  type QueryContext,
  type TemplateVariable,
} from "./helpers/grafana-macros.ts";
import type { Json } from "./helpers/http.ts";
import { RecordingExporter } from "./helpers/agent-traffic.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DASHBOARDS = join(ROOT, "dashboards");
const CLICKHOUSE = { type: "grafana-clickhouse-datasource", uid: "${datasource}" };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const dashboards: { file: string; json: Json }[] = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS, file), "utf8")) }));

/** Panels, including those inside collapsed rows. */
function panelsOf(dashboard: Json): Json[] {
  return (dashboard.panels as Json[]).flatMap((p) => [p, ...((p.panels as Json[]) ?? [])]);
}

/** Every `datasource` value anywhere in the JSON. */
function datasourceRefs(value: Json, found: Json[] = []): Json[] {
  if (Array.isArray(value)) value.forEach((v) => datasourceRefs(v, found));
  else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key === "datasource") found.push(v);
      else datasourceRefs(v, found);
    }
  }
  return found;
}

describe("dashboard files", () => {
  it("parse, with unique uids and titles, a description, and the datasource variable first", () => {
    expect(dashboards.map((d) => d.file)).toEqual([
      "agents.json",
      "drift.json",
      "overview.json",
      "rule.json",
      "tools.json",
    ]);
    const uids = dashboards.map((d) => d.json.uid);
    const titles = dashboards.map((d) => d.json.title);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(titles).size).toBe(titles.length);
    for (const { file, json } of dashboards) {
      expect(json.uid, file).toMatch(/^plumbline-[a-z]+$/);
      expect(json.description, file).toBeTruthy();
      expect(json.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(json.templating.list[0], file).toMatchObject({
        type: "datasource",
        name: "datasource",
        query: "grafana-clickhouse-datasource",
      });
      const ids = panelsOf(json).map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it("use only the ClickHouse datasource variable, with SQL targets that use the plugin's macros", () => {
    for (const { file, json } of dashboards) {
      for (const ref of datasourceRefs(json)) expect(ref, file).toEqual(CLICKHOUSE);
      for (const panel of panelsOf(json).filter((p) => p.type !== "row")) {
        const where = `${file}: ${panel.title}`;
        expect(panel.description, where).toBeTruthy();
        expect(panel.targets, where).toHaveLength(1);
        for (const target of panel.targets as Json[]) {
          const timeSeries = panel.type === "timeseries";
          expect(target, where).toMatchObject({
            editorType: "sql",
            format: timeSeries ? 0 : 1, // sqlutil.FormatQueryOption: 0 time series, 1 table
            queryType: timeSeries ? "timeseries" : "table",
          });
          // Without pluginVersion ≥ 4.0.0 the plugin migrates the query as a v3 one.
          expect(Number(String(target.pluginVersion).split(".")[0]), where).toBeGreaterThanOrEqual(
            4,
          );
          expect(target.rawSql, where).toMatch(/\$__(timeFilter|conditionalAll)\(/);
        }
      }
    }
  });

  it("are each described in docs/dashboards.md", () => {
    const docs = readFileSync(join(ROOT, "docs/dashboards.md"), "utf8");
    for (const { json } of dashboards) {
      expect(docs).toContain(json.title);
      expect(docs).toContain(json.uid);
    }
  });

  it("are provisioned from /var/lib/grafana/dashboards, with a ClickHouse data source", () => {
    const provisioning = join(DASHBOARDS, "provisioning");
    const sources = parseYaml(
      readFileSync(join(provisioning, "datasources/clickhouse.yaml"), "utf8"),
    );
    expect(sources.apiVersion).toBe(1);
    expect(sources.datasources).toEqual([
      expect.objectContaining({
        type: "grafana-clickhouse-datasource",
        uid: "plumbline-clickhouse",
        jsonData: expect.objectContaining({ defaultDatabase: "plumbline" }),
      }),
    ]);
    // The dashboards' datasource variable defaults to the provisioned data source.
    for (const { json } of dashboards) {
      expect(json.templating.list[0].current.value).toBe(sources.datasources[0].uid);
    }
    const providers = parseYaml(
      readFileSync(join(provisioning, "dashboards/plumbline.yaml"), "utf8"),
    );
    expect(providers.providers).toEqual([
      expect.objectContaining({
        type: "file",
        options: expect.objectContaining({ path: "/var/lib/grafana/dashboards" }),
      }),
    ]);
  });
});

describe("the expansion helper follows the plugin", () => {
  // The plugin's own test vectors (pkg/macros/macros_test.go).
  const context: QueryContext = {
    from: new Date("2014-11-12T11:45:26.371Z"),
    to: new Date("2015-11-12T11:45:26.371Z"),
    intervalMs: 20_000,
    variables: [
      { name: "service", value: ["a", "b'c"] },
      { name: "agent", value: [ALL], options: ["x", "y"] },
    ],
  };

  it("expands macros as pkg/macros/macros.go does", () => {
    expect(
      expandQuery("select * from foo where $__timeFilter(cast(sth as timestamp) )", context),
    ).toBe(
      "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)",
    );
    expect(expandQuery("$__timeFilter_ms(t)", context)).toBe(
      "t >= fromUnixTimestamp64Milli(1415792726371) AND t <= fromUnixTimestamp64Milli(1447328726371)",
    );
    expect(expandQuery("( date >= $__fromTime ) and ( date <= $__toTime )", context)).toBe(
      "( date >= toDateTime(1415792726) ) and ( date <= toDateTime(1447328726) )",
    );
    expect(expandQuery("$__dateFilter(d)", context)).toBe(
      "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')",
    );
    expect(
      expandQuery("select $__timeInterval(col), $__timeInterval_ms(col), ($__interval_s)", context),
    ).toBe(
      "select toStartOfInterval(toDateTime(col), INTERVAL 20 second), toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond), (20)",
    );
    // An argument-less macro followed by "(" would swallow the text up to its ")".
    expect(() => expandQuery("x >= $__fromTime AND f(y)", context)).toThrow(/takes no arguments/);
    // macropro (plugin 4.19+) reads arguments only from a "(" right after the name.
    expect(() => expandQuery("$__timeFilter (t)", context)).toThrow(/must follow the name/);
  });

  it("expands variables and $__conditionalAll as Grafana and CHDatasource do", () => {
    expect(
      expandQuery(
        "$__conditionalAll(s IN (${service:singlequote}), $service) AND $__conditionalAll(a IN ($agent), ${agent})",
        context,
      ),
    ).toBe("s IN ('a','b\\'c') AND 1=1");
    expect(expandQuery("a IN (${agent:singlequote}) OR a IN ($agent)", context)).toBe(
      "a IN ('x','y') OR a IN ('x','y')",
    );
    expect(() => expandQuery("$unknown", context)).toThrow(/neither a variable nor a macro/);
  });
});

// ---- the store, filled through the real ingest path ----------------------------------------

let service: TestService;
const NOW = Date.now();

interface ToolCall {
  name: string;
  args: unknown;
  result: unknown;
  failed?: boolean;
}
interface Run {
  agent: string;
  at: number;
  answer: string;
  model?: string;
  finishReason?: string;
  outputType?: string;
  tools?: ToolCall[];
}

/** One agent run in the current GenAI conventions, back-dated to `at`: run → (chat → tool)* → chat. */
function emitRun(tracer: Tracer, run: Run): void {
  const model = run.model ?? "gpt-4o";
  let t = run.at;
  const root = tracer.startSpan(`invoke_agent ${run.agent}`, {
    kind: SpanKind.INTERNAL,
    startTime: t,
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.provider.name": "openai",
      "gen_ai.agent.name": run.agent,
      "gen_ai.request.model": model,
    },
  });
  const ctx = trace.setSpan(context.active(), root);
  const chat = (parts: unknown[], finish: string, ms: number, extra: Record<string, string>) => {
    const span = tracer.startSpan(
      `chat ${model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: t,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": model,
          "gen_ai.response.model": `${model}-2024-08-06`,
          "gen_ai.response.finish_reasons": [finish],
          "gen_ai.usage.input_tokens": 100 + parts.length * 20,
          "gen_ai.usage.output_tokens": 20 + Math.round(ms / 20),
          "gen_ai.input.messages": JSON.stringify([
            { role: "user", parts: [{ type: "text", content: "Where is my order?" }] },
          ]),
          "gen_ai.output.messages": JSON.stringify([
            { role: "assistant", parts, finish_reason: finish },
          ]),
          ...extra,
        },
      },
      ctx,
    );
    t += ms;
    span.end(t);
  };
  (run.tools ?? []).forEach((tool, i) => {
    const id = `call_${i}`;
    chat([{ type: "tool_call", id, name: tool.name, arguments: tool.args }], "tool_calls", 400, {});
    const span = tracer.startSpan(
      `execute_tool ${tool.name}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: t,
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": tool.name,
          "gen_ai.tool.call.id": id,
          "gen_ai.tool.call.arguments": JSON.stringify(tool.args),
          "gen_ai.tool.call.result": JSON.stringify(tool.result),
        },
      },
      ctx,
    );
    if (tool.failed) span.setStatus({ code: SpanStatusCode.ERROR, message: "upstream timeout" });
    t += 150 + i * 50;
    span.end(t);
  });
  const extra: Record<string, string> =
    run.outputType === undefined ? {} : { "gen_ai.output.type": run.outputType };
  chat([{ type: "text", content: run.answer }], run.finishReason ?? "stop", 900, extra);
  root.setAttribute(
    "gen_ai.output.messages",
    JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: run.answer }] }]),
  );
  root.setStatus({ code: SpanStatusCode.OK });
  root.end(t + 5);
}

/** Exports spans through the real OTLP/HTTP protobuf exporter, every span in one request. */
async function send(serviceName: string, emit: (tracer: Tracer) => void): Promise<void> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  // One batch, so that LLM and tool calls find their agent run in the same request.
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "service.version": "1.4.2" }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { maxQueueSize: 8192, maxExportBatchSize: 8192 }),
    ],
  });
  emit(provider.getTracer("dashboards-test"));
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
}

const spread = (i: number, n: number, from: number, to: number) =>
  Math.round(from + (i * (to - from)) / n);
const shortAnswer = (i: number) => `Your order ${i} ships on Monday.`.padEnd(30 + (i % 25), ".");
const longAnswer = (i: number) =>
  `Thanks for waiting. ${"I checked the order, the carrier and the warehouse. ".repeat(5 + (i % 4))}`;

async function seed(): Promise<void> {
  await send("support-agent", (tracer) => {
    // The reference weeks of the drift rule: short answers.
    for (let i = 0; i < 40; i++) {
      emitRun(tracer, {
        agent: "support-writer",
        at: spread(i, 40, NOW - 3 * DAY, NOW - 2 * HOUR),
        answer: shortAnswer(i),
        tools: [{ name: "lookup_order", args: { id: i }, result: { status: "shipped" } }],
      });
    }
    // The current hour: longer answers, and the silent failures the dashboards are for.
    for (let i = 0; i < 16; i++) {
      const lookup: ToolCall = {
        name: "lookup_order",
        args: { id: 100 + i },
        result: { ok: true },
      };
      const email: ToolCall = {
        name: "send_email",
        args: { to: "ana@example.com", subject: "Your refund" },
        result: { sent: true },
      };
      const tools: ToolCall[] =
        i === 0
          ? [{ ...lookup, result: { error: "401 Unauthorized: token expired" } }]
          : i === 1
            ? [lookup, email, email]
            : i === 2
              ? [{ ...lookup, failed: true, result: "timeout" }]
              : [lookup];
      emitRun(tracer, {
        agent: "support-writer",
        at: spread(i, 16, NOW - 50 * MINUTE, NOW - 5 * MINUTE),
        answer: i === 4 ? "x".repeat(1300) : longAnswer(i),
        model: i % 3 === 0 ? "gpt-4o-mini" : "gpt-4o",
        finishReason: i === 3 ? "length" : "stop",
        tools,
      });
    }
    const intents = [
      '{"intent":"refund","confidence":0.92}',
      '{"intent":"refund_request","confidence":0.7}',
      "The intent is refund.",
    ];
    intents.forEach((answer, i) =>
      emitRun(tracer, {
        agent: "support-triage",
        at: NOW - (30 - i) * MINUTE,
        answer,
        model: "gpt-4o-mini",
        outputType: "json",
      }),
    );
    // A span no convention reads.
    tracer
      .startSpan("GET /orders/{id}", {
        kind: SpanKind.SERVER,
        attributes: { "http.route": "/orders/{id}" },
      })
      .end();
  });
  await send("billing-agent", (tracer) => {
    for (let i = 0; i < 4; i++) {
      const amount = 20 * (i + 1);
      const invoice = {
        invoice_id: `INV-${i}`,
        ...(i === 3 ? {} : { total: amount }), // the last one lacks its total
        currency: "EUR",
        items: [{ description: "Hosting", amount }],
      };
      emitRun(tracer, {
        agent: "invoice-extractor",
        at: NOW - (20 - i) * MINUTE,
        answer: JSON.stringify(invoice),
        outputType: "json",
      });
    }
  });
  // A span an exporter should never send (the trace id is not hex): rejected on its own.
  const start = BigInt(NOW) * 1_000_000n;
  const rejected = await fetch(`${service.url}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: {
            attributes: [{ key: "service.name", value: { stringValue: "support-agent" } }],
          },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "not-a-trace-id",
                  spanId: "eee19b7ec3c1b174",
                  name: "chat gpt-4o",
                  kind: 3,
                  startTimeUnixNano: String(start),
                  endTimeUnixNano: String(start + 1_000_000n),
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  expect(await rejected.json()).toMatchObject({ partialSuccess: { rejectedSpans: "1" } });

  // Trace rules run once a trace has been quiet; then the window rules; then alerts settle.
  await until(
    "trace findings",
    async () => {
      const rows = await service.rows<{ rules: string }>(
        `SELECT uniqExact(RuleId) AS rules FROM plumbline.check_results
         WHERE RuleId IN ('builtin.duplicate-side-effect', 'builtin.error-swallowed')`,
      );
      return Number(rows[0]?.rules) === 2 ? true : undefined;
    },
    20_000,
  );
  await service.evaluateWindows();
  await until("alerts to fire and be recorded", async () => {
    const rows = await service.rows<{ rule: string }>(
      `SELECT DISTINCT RuleId AS rule FROM plumbline.alert_events WHERE ToState = 'firing'`,
    );
    const firing = new Set(rows.map((r) => r.rule));
    return firing.has("builtin.tool-error-in-disguise") && firing.has("support-writer-length-drift")
      ? true
      : undefined;
  });
  await service.flushStats();
  await service.flushEvaluations();
}

beforeAll(async () => {
  const rulesDir = tempDir("plumbline-dashboard-rules-");
  cpSync(join(ROOT, "rules/examples"), join(rulesDir, "examples"), { recursive: true });
  mkdirSync(join(rulesDir, "test"));
  const rule = (id: string, body: object) =>
    writeFileSync(join(rulesDir, "test", `${id}.json`), JSON.stringify({ id, ...body }));
  rule("support-writer-length-drift", {
    description: "Support answers keep their length",
    match: {
      service: "support-agent",
      agent: "support-writer",
      kind: "llm",
      where: [{ field: "output.text", not_empty: true }],
    },
    check: {
      type: "drift",
      field: "output.length",
      method: "ks",
      window: "1h",
      every: "1m",
      minSamples: { current: 10, reference: 30 },
    },
  });
  rule("tool-error-status-share", {
    description: "At most 5% of tool calls end in error",
    match: { kind: "tool" },
    check: {
      type: "rate",
      share: [{ field: "status", equals: "Error" }],
      above: 0.05,
      window: "1h",
      every: "1m",
      minSamples: 5,
    },
  });
  service = await startTestService({
    rulesDir,
    evaluate: {
      resultsFlushMs: 50,
      traceQuietMs: 300,
      traceIntervalMs: 100,
      windowTickMs: 600_000,
      windowSettleMs: 0,
    },
    alerts: { tickMs: 100 },
  });
  await seed();
}, 60_000);

afterAll(async () => {
  await service?.close();
});

// ---- running every query -------------------------------------------------------------------

interface Result {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
}

async function run(sql: string): Promise<Result> {
  const result = await service.store.client.query({
    query: sql,
    format: "JSON",
    // Times as unix seconds, so that "sorted by time" compares numbers.
    clickhouse_settings: { date_time_output_format: "unix_timestamp" },
  });
  return result.json<Record<string, unknown>>() as Promise<Result>;
}

const NUMERIC = /^(Nullable\()?(U?Int|Float|Decimal)/;
const TIME = /^(Nullable\()?DateTime/;

/** What each panel type needs from its query's columns. */
function checkColumns(type: string, result: Result, where: string): void {
  const numeric = result.meta.filter((c) => NUMERIC.test(c.type));
  switch (type) {
    case "timeseries": {
      // The plugin's docs: a datetime column aliased `time`; the SDK turns long frames (with
      // string columns) into wide ones, which needs rows sorted by time.
      const time = result.meta.find((c) => c.name === "time");
      expect(time?.type, `${where}: a time column`).toMatch(TIME);
      expect(numeric.length, `${where}: a value column`).toBeGreaterThan(0);
      const times = result.data.map((r) => Number(r["time"]));
      expect(times.every(Number.isFinite), `${where}: times`).toBe(true);
      expect(times, `${where}: sorted by time`).toEqual([...times].sort((a, b) => a - b));
      break;
    }
    case "barchart":
      expect(result.meta[0]?.type, `${where}: x axis`).toMatch(/String|DateTime/);
      expect(numeric.length, `${where}: bars`).toBeGreaterThan(0);
      break;
    case "stat":
    case "piechart":
      expect(numeric.length, `${where}: a number`).toBeGreaterThan(0);
      break;
    case "table":
      expect(result.meta.length, where).toBeGreaterThan(0);
      break;
    default:
      throw new Error(`${where}: no column check for panel type ${type}`);
  }
}

type Selection = "All" | "chosen";

/** The values a person would pick: one service, agent and pair of tools that have everything. */
const CHOSEN: Record<string, string[]> = {
  service: ["support-agent"],
  agent: ["support-writer"],
  tool: ["lookup_order", "send_email"],
};
const SINGLE: Record<string, Record<string, string>> = {
  "plumbline-rule": { rule: "builtin.tool-error-in-disguise" },
  "plumbline-drift": { rule: "support-writer-length-drift" },
};
/** Grafana's auto interval for a week on a panel ~1000 pixels wide. */
const AUTO_INTERVAL_MS = 10 * MINUTE;

/** Resolves the dashboard's variables in order, running each query variable's own query. */
async function resolveVariables(
  dashboard: Json,
  selection: Selection,
  range: { from: Date; to: Date },
) {
  const variables: TemplateVariable[] = [];
  for (const v of dashboard.templating.list as Json[]) {
    if (v.type === "datasource") {
      variables.push({ name: v.name, value: v.current.value });
    } else if (v.type === "textbox" || v.type === "constant") {
      variables.push({ name: v.name, value: v.query });
    } else if (v.type === "query") {
      expect(v.datasource).toEqual(CLICKHOUSE);
      const sql = expandQuery(v.query.rawSql, {
        ...range,
        intervalMs: AUTO_INTERVAL_MS,
        variables,
      });
      const result = await run(sql);
      const firstColumn = result.meta[0]?.name ?? "";
      const options = result.data.map((r) => String(r[firstColumn]));
      const where = `${dashboard.uid}: variable ${v.name}`;
      expect(options.length, where).toBeGreaterThan(0);
      if (v.multi) {
        const chosen = CHOSEN[v.name] ?? [];
        for (const value of chosen) expect(options, where).toContain(value);
        variables.push({ name: v.name, value: selection === "All" ? [ALL] : chosen, options });
      } else {
        const value = SINGLE[dashboard.uid]?.[v.name] ?? options[0] ?? "";
        expect(options, where).toContain(value);
        variables.push({ name: v.name, value, options });
      }
    } else {
      throw new Error(`${dashboard.uid}: variable type ${v.type} has no expansion here`);
    }
  }
  return variables;
}

describe.each(dashboards.map((d) => [d.json.title as string, d.json] as const))(
  "%s",
  (_title, dashboard) => {
    it.each(["All", "chosen"] as const)(
      "every panel query returns rows with the columns its panel needs (%s)",
      async (selection) => {
        const range = { from: new Date(NOW - 7 * DAY), to: new Date(Date.now() + MINUTE) };
        const variables = await resolveVariables(dashboard, selection, range);
        for (const panel of panelsOf(dashboard).filter((p) => p.type !== "row")) {
          const minimum = panel.interval === undefined ? 0 : intervalMs(panel.interval);
          for (const target of panel.targets as Json[]) {
            const where = `${dashboard.uid} / ${panel.title} (${selection})`;
            const sql = expandQuery(target.rawSql, {
              ...range,
              intervalMs: Math.max(minimum, AUTO_INTERVAL_MS),
              variables,
            });
            const result = await run(sql).catch((error: unknown) => {
              throw new Error(`${where}: ${String(error)}\n${sql}`);
            });
            expect(result.data.length, `${where} returns rows:\n${sql}`).toBeGreaterThan(0);
            checkColumns(panel.type, result, where);
          }
        }
      },
    );
  },
);
