/**
 * Rules end to end: the real OTel exporter sends good and bad agent outputs to the running
 * service; check_results holds exactly the bad ones, with the right findings; the rules API,
 * validation and backtest answer from the same store.
 */

import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { until } from "./helpers/until.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";

const invoiceRule = {
  id: "invoice-total",
  description: "The invoice extractor returns a total that is a non-negative number",
  severity: "critical",
  match: { service: "billing-agent", agent: "invoice-*", operation: "chat" },
  check: {
    type: "json_schema",
    field: "output.json",
    schema: {
      type: "object",
      required: ["invoice_id", "total"],
      properties: { total: { type: "number", minimum: 0 } },
    },
  },
};

const BIN = fileURLToPath(new URL("../bin/plumbline.js", import.meta.url));

let service: TestService;
let rulesDir: string;

beforeAll(async () => {
  rulesDir = tempDir("plumbline-rules-");
  mkdirSync(join(rulesDir, "billing"));
  writeFileSync(join(rulesDir, "billing", "invoice-total.json"), JSON.stringify(invoiceRule));
  service = await startTestService({
    rulesDir,
    evaluate: { traceQuietMs: 300, traceIntervalMs: 100, resultsFlushMs: 50, rulesPollMs: 100 },
  });
});
afterAll(async () => {
  await service?.close();
});

async function send(
  runs: Parameters<typeof emitAgentRun>[1][],
  serviceName: string,
): Promise<string[]> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, serviceName);
  const tracer = provider.getTracer("agent");
  const traceIds = runs.map((run) => emitAgentRun(tracer, run));
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  return traceIds;
}

describe("rules end to end", () => {
  it("records exactly the bad output, with the failing field and value", async () => {
    const [good, bad] = await send(
      [
        {
          agent: "invoice-extractor",
          userText: "invoice 1",
          answer: '{"invoice_id":"INV-1","total":120.5}',
        },
        {
          agent: "invoice-extractor",
          userText: "invoice 2",
          answer: '{"invoice_id":"INV-2","total":"120.50"}',
        },
      ],
      "billing-agent",
    );
    const checks = await until("the invoice finding", async () => {
      const body: Json = await fetchJson(`${service.url}/api/checks?rule=invoice-total`);
      return body.checks.length > 0 ? body.checks : undefined;
    });
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({
      RuleId: "invoice-total",
      Severity: "critical",
      ServiceName: "billing-agent",
      AgentName: "invoice-extractor",
      TraceId: bad,
      Code: "schema_violation",
    });
    expect(checks[0].Field).toContain("total");
    expect(checks[0].Observed).toContain("120.50");
    expect(checks[0].RuleVersion).toMatch(/^[0-9a-f]{12}$/);
    expect(checks.some((c: Json) => c.TraceId === good)).toBe(false);

    const rules: Json = await until("rule counts", async () => {
      const body: Json = await fetchJson(`${service.url}/api/rules`);
      const rule = body.rules.find((r: Json) => r.id === "invoice-total");
      return rule?.last24h.evaluated === 2 ? rule : undefined;
    });
    expect(rules).toMatchObject({
      status: "loaded",
      last24h: { evaluated: 2, failed: 1 },
      idle: false,
    });
  });

  it(
    "catches a tool that answered an auth error as data, and the agent run that carried on",
    { timeout: 60_000 },
    async () => {
      const [traceId] = await send(
        [
          {
            agent: "order-bot",
            userText: "Where is order 7?",
            answer: "Your order ships tomorrow.",
            tool: {
              name: "lookup_order",
              args: { id: 7 },
              result: { error: "401 Unauthorized: token expired" },
            },
          },
        ],
        "orders-agent",
      );
      // The trace rule runs once the trace has been quiet for traceQuietMs; give a loaded
      // machine time. The agent run lasts well under a millisecond and the SDK records span
      // starts in whole milliseconds, so its recorded end may fall before its tool call's start:
      // the finding must not depend on that.
      let seen = "";
      const checks = await until(
        "tool and trace findings",
        async () => {
          const body: Json = await fetchJson(`${service.url}/api/checks?trace=${traceId}`);
          const ids = new Set(body.checks.map((c: Json) => c.RuleId));
          seen = [...ids].join(", ");
          return ids.has("builtin.tool-error-in-disguise") && ids.has("builtin.error-swallowed")
            ? body.checks
            : undefined;
        },
        40_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; findings so far: ${seen}`);
      });
      const disguised = checks.find((c: Json) => c.RuleId === "builtin.tool-error-in-disguise");
      expect(disguised).toMatchObject({ ToolName: "lookup_order", Scope: "output" });
      const swallowed = checks.find((c: Json) => c.RuleId === "builtin.error-swallowed");
      expect(swallowed).toMatchObject({
        Scope: "trace",
        Operation: "invoke_agent",
        AgentName: "order-bot",
        Code: "error_swallowed",
      });

      // A backtest over the stored trace finds the same.
      const rule = JSON.parse(
        readFileSync(
          fileURLToPath(new URL("../rules/builtin/error-swallowed.json", import.meta.url)),
          "utf8",
        ),
      ) as Record<string, unknown>;
      delete rule["$schema"];
      const res = await fetch(`${service.url}/api/backtest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ rules: [rule], since: "1h", service: "orders-agent" }),
      });
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Json);
      const result = lines.at(-1).result.rules[0];
      expect(result).toMatchObject({ ruleId: "builtin.error-swallowed", failed: 1, findings: 1 });
      expect(result.examples[0]).toMatchObject({ traceId, code: "error_swallowed" });
    },
  );

  it("validates a rule before it is written, pointing at what is wrong", async () => {
    const bad = {
      ...invoiceRule,
      severity: "urgent",
      check: { ...invoiceRule.check, field: "output.jsn" },
    };
    const res = await fetch(`${service.url}/api/rules/validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(bad),
    });
    expect(res.status).toBe(422);
    const body: Json = await res.json();
    const pointers = body.errors.map((e: Json) => e.pointer);
    // Every problem at once: the schema's and the field grammar's.
    expect(pointers).toEqual(expect.arrayContaining(["/severity", "/check/field"]));
    const ok = await fetchJson(`${service.url}/api/rules/validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(invoiceRule),
    });
    expect(ok).toMatchObject({ ok: true, id: "invoice-total" });
  });

  it("backtests a new rule over stored history without writing anything", async () => {
    const stricter = {
      ...invoiceRule,
      id: "invoice-total-positive",
      check: {
        ...invoiceRule.check,
        schema: {
          type: "object",
          properties: { total: { type: "number", exclusiveMinimum: 200 } },
        },
      },
    };
    const res = await fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [stricter], since: "1h" }),
    });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    expect(lines.some((l) => l.progress !== undefined)).toBe(true);
    const result = lines.at(-1).result;
    expect(result.rules).toEqual([
      expect.objectContaining({
        ruleId: "invoice-total-positive",
        evaluated: 2,
        failed: 2,
        findings: 2,
      }),
    ]);
    const written: Json = await fetchJson(`${service.url}/api/checks?rule=invoice-total-positive`);
    expect(written.checks).toEqual([]);
  });
});

describe("plumbline backtest", () => {
  it("runs through the service that owns the store and prints each rule's counts", async () => {
    const dir = tempDir("plumbline-backtest-");
    writeFileSync(join(dir, "invoice.json"), JSON.stringify(invoiceRule));
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        [BIN, "backtest", "--rules", dir, "--since", "1h", "--url", service.url],
        { env: { PATH: process.env["PATH"] ?? "" } },
        (error, out) => resolve({ stdout: out, code: error === null ? 0 : 1 }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^invoice-total \([0-9a-f]{12}\): 1 of 2 failed \(50\.0%\), 1 finding\(s\)$/m,
    );
  });
});

describe("rule files changing while the service runs", () => {
  it("picks up a new rule, keeps the last good version of a broken one, and takes the fix", async () => {
    const file = join(rulesDir, "reply-length.json");
    const rule = {
      id: "reply-length",
      match: { service: "reload-svc" },
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 10] }] },
    };
    const statusOf = async () => {
      const body: Json = await fetchJson(`${service.url}/api/rules`);
      return body.rules.find((r: Json) => r.file === "reply-length.json");
    };
    writeFileSync(file, JSON.stringify(rule));
    const loaded = await until("the new rule", async () =>
      (await statusOf())?.status === "loaded" ? statusOf() : undefined,
    );
    expect(loaded).toMatchObject({ id: "reply-length", errors: [] });

    writeFileSync(
      file,
      JSON.stringify({
        ...rule,
        check: { ...rule.check, assertions: [{ field: "output.txt", not_empty: true }] },
      }),
    );
    const broken = await until("the error", async () =>
      (await statusOf())?.status === "error" ? statusOf() : undefined,
    );
    expect(broken.version).toBe(loaded.version);
    expect(broken.errors[0]).toMatchObject({
      file: "reply-length.json",
      pointer: "/check/assertions/0/field",
    });

    // The last good version still runs: a long reply is still caught.
    const [traceId] = await send(
      [{ agent: "a", userText: "hi", answer: "a reply far longer than ten characters" }],
      "reload-svc",
    );
    await until("a finding from the last good version", async () => {
      const body: Json = await fetchJson(
        `${service.url}/api/checks?rule=reply-length&trace=${traceId}`,
      );
      return body.checks.length > 0 ? body.checks : undefined;
    });

    writeFileSync(
      file,
      JSON.stringify({
        ...rule,
        check: { ...rule.check, assertions: [{ field: "output.text", length_between: [1, 100] }] },
      }),
    );
    const fixed = await until("the fix", async () => {
      const status = await statusOf();
      return status?.status === "loaded" && status.version !== loaded.version ? status : undefined;
    });
    expect(fixed.errors).toEqual([]);
  });
});
