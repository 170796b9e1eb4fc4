/**
 * `plumbline backtest` through the running service: each rule goes with its file name and is
 * loaded there by the same loader as the rule set's, so a rule means the same on every path
 * (an `expr`-only assert rule included) and every problem names its file.
 */

import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileRule } from "../src/evaluate/compile-rule.ts";
import { loadRuleFile } from "../src/rules/load-rule.ts";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import type { Json } from "./helpers/http.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const BIN = fileURLToPath(new URL("../bin/plumbline.js", import.meta.url));

/** An assert rule whose only assertion is an expression: no `assertions` list at all. */
const noApologyRule = {
  $schema: "../rule.schema.json",
  id: "no-apology",
  match: { service: "apology-agent", kind: "llm" },
  check: {
    type: "assert",
    expr: [
      {
        expression: `$not($contains($lowercase(output.text), "sorry"))`,
        message: "the agent apologised",
      },
    ],
  },
};

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ rulesDir: tempDir("plumbline-rules-") });
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, "apology-agent");
  const tracer = provider.getTracer("agent");
  emitAgentRun(tracer, { agent: "helper", userText: "refund?", answer: "Sorry, I cannot." });
  emitAgentRun(tracer, { agent: "helper", userText: "status?", answer: "It shipped today." });
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  await until("the outputs to be stored", async () => {
    const [row] = await service.rows<{ n: string }>(
      `SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = 'apology-agent' AND Kind = 'llm'`,
    );
    return Number(row?.n) === 2 ? true : undefined;
  });
});
afterAll(async () => {
  await service?.close();
});

function backtest(args: string[], url = service.url) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, "backtest", ...args, "--since", "1h", "--url", url],
      { env: { PATH: process.env["PATH"] ?? "" }, cwd: tempDir() },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function rulesDir(files: Record<string, unknown>): string {
  const dir = tempDir("plumbline-backtest-");
  for (const [name, rule] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), typeof rule === "string" ? rule : JSON.stringify(rule));
  }
  return dir;
}

describe("plumbline backtest through the service", () => {
  it("replays an assert rule whose only assertion is an expression", async () => {
    const dir = rulesDir({ "no-apology.json": noApologyRule });
    const { code, stdout, stderr } = await backtest(["--rules", dir]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout, stdout).toMatch(
      /^no-apology \([0-9a-f]{12}\): 1 of 2 failed \(50\.0%\), 1 finding/m,
    );
    expect(stdout, stdout).toMatch(/: expr_false .*: the agent apologised$/m);
  });

  it("replays each rule as the rule set loads its file: same version, $ref resolved", async () => {
    const dir = rulesDir({
      "no-apology.json": noApologyRule,
      "schemas/reply.schema.json": { type: "object", required: ["answer"] },
      "reply-json.json": {
        id: "reply-json",
        match: { service: "apology-agent", kind: "llm" },
        check: { type: "json_schema", field: "output.json", $ref: "schemas/reply.schema.json" },
      },
    });
    const { code, stdout, stderr } = await backtest(["--rules", dir]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    for (const file of ["no-apology.json", "reply-json.json"]) {
      const local = loadRuleFile(join(dir, file), dir, compileRule);
      if (!local.ok) throw new Error(JSON.stringify(local.errors));
      expect(stdout).toContain(`${local.rule.id} (${local.rule.version}): `);
    }
    expect(stdout).toMatch(/^reply-json \([0-9a-f]{12}\): 2 of 2 failed/m);
  });

  it("takes a single rule file for --rules", async () => {
    const dir = rulesDir({ "no-apology.json": noApologyRule });
    const { code, stdout } = await backtest(["--rules", join(dir, "no-apology.json")]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^no-apology \([0-9a-f]{12}\): 1 of 2 failed/m);
  });

  it("names the file of every problem, without a stack trace, and exits non-zero", async () => {
    const dir = rulesDir({
      "good.json": noApologyRule,
      "team/broken.json": {
        id: "broken",
        severity: "urgent",
        check: { type: "assert", assertions: [{ field: "output.txt", not_empty: true }] },
      },
      "not-json.json": "{ nope",
    });
    const { code, stdout, stderr } = await backtest(["--rules", dir]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const lines = stderr.trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^team\/broken\.json: \/severity: /),
        expect.stringMatching(/^team\/broken\.json: \/check\/assertions\/0\/field: unknown field/),
        expect.stringMatching(/^not-json\.json: \/: not valid JSON/),
      ]),
    );
    expect(stderr).not.toMatch(/rules\[\d+\]/);
    expect(stderr).not.toMatch(/^\s+at /m);
  });
});

describe("plumbline backtest and a service that refuses the rules", () => {
  it("prints every problem the service names, without a stack trace, and exits 1", async () => {
    const errors = [
      { file: "no-apology.json", pointer: "/check/expr/0/expression", message: "too clever" },
      { file: "no-apology.json", pointer: "", message: "and another" },
    ];
    const fake = createServer((_req, res) => {
      res.writeHead(422, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: false, errors }));
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = fake.address() as AddressInfo;
      const dir = rulesDir({ "no-apology.json": noApologyRule });
      const { code, stdout, stderr } = await backtest(["--rules", dir], `http://127.0.0.1:${port}`);
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr.trim().split("\n")).toEqual([
        "no-apology.json: /check/expr/0/expression: too clever",
        "no-apology.json: /: and another",
        expect.stringMatching(/refused the rules: 2 error\(s\)$/),
      ]);
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });
});

describe("POST /api/backtest", () => {
  const post = (body: unknown) =>
    fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("loads each rule with its file name as the rule set would, and answers every problem", async () => {
    const res = await post({
      since: "1h",
      rules: [
        { file: "ok/no-apology.json", rule: noApologyRule },
        { file: "bad/one.json", rule: { id: "one", check: { type: "assert" } } },
        { file: "bad/two.json", rule: { id: "two", severity: "urgent", check: { type: "nope" } } },
      ],
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as Json;
    expect(body.ok).toBe(false);
    const files = new Set(body.errors.map((e: Json) => e.file));
    expect(files).toEqual(new Set(["bad/one.json", "bad/two.json"]));
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: "bad/two.json", pointer: "/severity" }),
      ]),
    );
  });

  it("runs an expr-only rule sent with its file name", async () => {
    const res = await post({
      since: "1h",
      rules: [{ file: "no-apology.json", rule: noApologyRule }],
    });
    expect(res.status).toBe(200);
    const last = (await res.text()).trim().split("\n").at(-1) ?? "";
    const result = (JSON.parse(last) as Json).result;
    expect(result.rules).toEqual([
      expect.objectContaining({ ruleId: "no-apology", evaluated: 2, failed: 1 }),
    ]);
  });

  it("still takes a bare rule, named by its place in the list", async () => {
    const ok = await post({ since: "1h", rules: [noApologyRule] });
    expect(ok.status).toBe(200);
    const bad = await post({ since: "1h", rules: [{ id: "x", check: { type: "assert" } }] });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as Json;
    expect(body.errors[0]).toMatchObject({ file: "rules[0]" });
  });
});

describe("plumbline backtest: the alerts the rules would have raised", () => {
  it("prints each rule's alert timeline, its notifications and the summary", async () => {
    const dir = rulesDir({ "no-apology.json": noApologyRule });
    const { code, stdout, stderr } = await backtest(["--rules", dir]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    // Mode each with its defaults: the apology fires at once, and resolves only after 15 quiet
    // minutes; the outputs were sent moments ago, so it is still firing when the period ends.
    expect(stdout).toMatch(
      /^ {2}alerts \(each\): 1 fired of 1 episode\(s\), firing \d+s; 1 notification\(s\) \(1 firing, 0 repeat, 0 resolved\), sent to no channel$/m,
    );
    expect(stdout).toMatch(
      /^ {4}service=apology-agent agent=helper \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ firing → still firing$/m,
    );
    // Of the outputs evaluated with it (the other reply too, when both spans ended at once).
    expect(stdout).toMatch(/^ {6}firing \d+s, peak 1 of [12] failed \((100|50)\.0%\)$/m);
    expect(stdout).toMatch(
      /^ {6}e\.g\. trace [0-9a-f]{32} span [0-9a-f]{16}: the agent apologised$/m,
    );
    expect(stdout).toMatch(
      /^summary: 1 alert\(s\) fired \(warning 1\), firing \d+s in all; 1 notification/m,
    );
  });

  it("--json prints one document, the same as POST /api/backtest answers", async () => {
    const dir = rulesDir({ "no-apology.json": noApologyRule });
    const { code, stdout, stderr } = await backtest(["--rules", dir, "--json"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(stdout) as Json;
    const [rule] = report.rules;
    expect(rule).toMatchObject({ ruleId: "no-apology", evaluated: 2, failed: 1, findings: 1 });
    expect(rule.alerts).toHaveLength(1);
    const [episode] = rule.alerts;
    expect(episode.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(episode.labels).toEqual({
      service: "apology-agent",
      agent: "helper",
      rule: "no-apology",
      severity: "warning",
    });
    expect(episode.pendingAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(episode).toMatchObject({ firingAt: episode.pendingAt, resolvedAt: null });
    expect(report.summary).toMatchObject({ alerts: 1, fired: 1 });

    const res = await fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        rules: [{ file: "no-apology.json", rule: noApologyRule }],
        since: report.since,
        until: report.until,
      }),
    });
    const last = (await res.text()).trim().split("\n").at(-1) ?? "";
    expect((JSON.parse(last) as Json).result).toEqual(report);
  });

  it("--compare shows two rule sets side by side", async () => {
    const tuned = { ...noApologyRule, alert: { mode: "each", for: "1h" } };
    const base = rulesDir({ "no-apology.json": noApologyRule });
    const other = rulesDir({
      "no-apology.json": tuned,
      "extra.json": { ...noApologyRule, id: "extra" },
    });
    const { code, stdout, stderr } = await backtest(["--rules", base, "--compare", other]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.trim().split("\n");
    const header = lines.find((l) => l.startsWith("rule "));
    expect(header).toContain(base);
    expect(header).toContain(other);
    expect(lines.find((l) => l.startsWith("no-apology "))).toMatch(
      /^no-apology +1 fired, 1 notified, firing (\d+m )?\d+s +0 fired, 0 notified, firing 0s$/,
    );
    expect(lines.find((l) => l.startsWith("extra "))).toMatch(/^extra +— +1 fired/);
    expect(lines.find((l) => l.startsWith("total "))).toMatch(/^total +1 fired, .* +1 fired, /);

    const json = await backtest(["--rules", base, "--compare", other, "--json"]);
    const report = JSON.parse(json.stdout) as Json;
    expect(report.rules.map((r: Json) => r.fired)).toEqual([1]);
    expect(report.compare.rules.map((r: Json) => [r.ruleId, r.fired])).toEqual(
      expect.arrayContaining([
        ["no-apology", 0],
        ["extra", 1],
      ]),
    );
  });

  it("refuses a period that ends before it starts, naming both ends", async () => {
    const dir = rulesDir({ "no-apology.json": noApologyRule });
    const cli = await backtest(["--rules", dir, "--until", "2h"]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^--until \S+Z is not after --since \S+Z$/m);
    const res = await fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [noApologyRule], since: "1h", until: "2h" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.message).toMatch(
      /^field "until": is not after "since"/,
    );
    const timing = await fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [noApologyRule], since: "1h", timing: { tickMs: 5 } }),
    });
    expect(timing.status).toBe(400);
    expect(((await timing.json()) as Json).error.message).toMatch(/^field "timing.tickMs": /);
  });
});
