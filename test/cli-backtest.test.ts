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
    expect(result).toEqual([
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
