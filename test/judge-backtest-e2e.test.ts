/**
 * Judge rules in a backtest, end to end (issue 19, item 5): the service on embedded storage
 * with a deterministic fake OpenAI-compatible judge and no judge rule of its own; outputs
 * arrive through the real OTel exporter. A backtest of the shipped "names the same entity"
 * template plans first and sends nothing — over POST /api/backtest without `confirm`, and from
 * `plumbline backtest` without `--yes`; with `--yes` the sample is judged and the wrong-entity
 * reply is a finding with the judge's explanation; run again, every verdict comes from the
 * cache and nothing is sent.
 */

import { execFile } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { sameEntityJudge, startFakeJudge, type FakeJudge } from "./helpers/fake-judge.ts";
import type { Json } from "./helpers/http.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const BIN = fileURLToPath(new URL("../bin/plumbline.js", import.meta.url));
const TEMPLATE = new URL("../rules/examples/judge-same-entity.json", import.meta.url);

let service: TestService;
let judge: FakeJudge;
let rulesDir: string;
let wrongTrace: string;

beforeAll(async () => {
  judge = await startFakeJudge(sameEntityJudge);
  rulesDir = tempDir("plumbline-judge-backtest-rules-");
  copyFileSync(TEMPLATE, join(rulesDir, "judge-same-entity.json"));
  service = await startTestService({
    // The live rule set has no judge rule: only the backtest asks the judge.
    rulesDir: tempDir("plumbline-judge-backtest-live-"),
    evaluate: { builtinRules: false, resultsFlushMs: 50 },
    judge: { baseUrl: judge.baseUrl, model: "judge-small", pollMs: 50, timeoutMs: 10_000 },
  });
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, "support-agent");
  const tracer = provider.getTracer("agent");
  const runs = [
    { question: "Where is my order ORD-1001?", answer: "Order ORD-1001 shipped on Monday." },
    { question: "Where is my order ORD-2002?", answer: "Order ORD-9999 shipped on Monday." },
    { question: "Where is my order ORD-3003?", answer: "ORD-3003 is out for delivery." },
  ];
  const ids = runs.map((run) =>
    emitAgentRun(tracer, {
      agent: "support",
      userText: run.question,
      answer: run.answer,
      tool: { name: "lookup_order", args: { id: "ORD-1" }, result: { status: "shipped" } },
    }),
  );
  wrongTrace = ids[1] ?? "";
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  await until("the outputs to be stored", async () => {
    const [row] = await service.rows<{ n: string }>(
      `SELECT count() AS n FROM plumbline.agent_outputs WHERE ServiceName = 'support-agent' AND Kind = 'llm' AND FinishReason = 'stop'`,
    );
    return Number(row?.n) === 3 ? true : undefined;
  });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await judge?.close();
});

function cli(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, "backtest", "--rules", rulesDir, "--since", "1h", "--url", service.url, ...args],
      { env: { PATH: process.env["PATH"] ?? "" }, cwd: tempDir() },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("a judge rule in a backtest", () => {
  it("over the API without confirm: the plan, in the stream and the report, and no call", async () => {
    const res = await fetch(`${service.url}/api/backtest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        rules: [
          { file: "judge-same-entity.json", rule: JSON.parse(readFileSync(TEMPLATE, "utf8")) },
        ],
        since: "1h",
        judge: { sample: 2 },
      }),
    });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    const plan = lines.find((l) => l.judgePlan !== undefined)?.judgePlan;
    const result = lines.find((l) => l.result !== undefined)?.result;
    expect(lines.findIndex((l) => l.judgePlan !== undefined)).toBeLessThan(
      lines.findIndex((l) => l.result !== undefined),
    );
    expect(plan).toMatchObject([
      { ruleId: "judge-same-entity", summary: { matched: 3, sampled: 2, calls: 2, judged: false } },
    ]);
    expect(plan[0].summary.promptTokens).toBeGreaterThan(2 * 100);
    expect(result.rules[0]).toMatchObject({
      ruleId: "judge-same-entity",
      evaluated: 0,
      findings: 0,
      judge: { judged: false, model: "judge-small" },
    });
    expect(judge.calls).toHaveLength(0);
  });

  it("from the CLI: the plan without --yes, then the sample judged, then all from the cache", async () => {
    const planned = await cli([]);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(
      /^ {2}judge-same-entity: 3 output\(s\) matched, 3 in the rule's sample, 3 to judge; 0 cached \(free\), 3 call\(s\) of judge-small, ~[\d,]+ prompt \+ ~180 reply tokens, ~\$0\.\d{4}/m,
    );
    expect(planned.stdout).toContain("nothing was sent to the judge: pass --yes");
    expect(planned.stdout).not.toContain("of 3 failed");
    expect(judge.calls).toHaveLength(0);

    const judged = await cli(["--yes"]);
    expect(judged.code, judged.stderr).toBe(0);
    expect(judged.stdout.indexOf("judge plan")).toBeLessThan(
      judged.stdout.indexOf("judge-same-entity ("),
    );
    expect(judge.calls).toHaveLength(3);
    expect(judged.stdout).toMatch(/^judge-same-entity \([0-9a-f]{12}\): 1 of 3 failed \(33\.3%\)/m);
    expect(judged.stdout).toContain(`e.g. trace ${wrongTrace} span `);
    expect(judged.stdout).toMatch(
      /judge_failed evaluation\.judge-same-entity\.score: names ORD-9999, which the input does not$/m,
    );
    expect(judged.stdout).toMatch(/3 call\(s\), 0 from the cache \(free\), 0 judge error/);

    const again = await cli(["--yes", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(judge.calls).toHaveLength(3);
    expect(again.stderr).toMatch(/3 cached \(free\), 0 call\(s\)/);
    const report = JSON.parse(again.stdout) as Json;
    expect(report.rules[0]).toMatchObject({
      evaluated: 3,
      failed: 1,
      judge: { judged: true, cached: 3, calls: 0, costUsd: 0, run: { fromCache: 3, called: 0 } },
    });
  });

  it("refuses a bad --sample", async () => {
    const { code, stderr } = await cli(["--sample", "many"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--sample "many"');
  });
});
