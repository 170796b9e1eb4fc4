/**
 * Rule problems end to end (issue 14, item 5): outputs exported by the real OTel exporter meet a
 * rule whose expression never finishes. Its timeouts are retried, then stored and shown as
 * problems of the rule — not failures, no alert of its findings (a rule health alert once it
 * is unhealthy) — while a sound rule on the same outputs fires as usual; five in a row make
 * the rule unhealthy in GET /api/rules.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

let service: TestService;
let hook: TestReceiver;

const match = { service: "slow-svc", operation: "chat" };

beforeAll(async () => {
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-rule-problem-rules-");
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(
    join(rulesDir, "runaway.json"),
    JSON.stringify({
      id: "runaway-sum",
      severity: "critical",
      match,
      // Squares a million numbers: stopped after 50 ms, and after 500 ms on the retry.
      check: { type: "assert", expr: [{ expression: "$sum([1..1000000].($ * $)) > 0" }] },
      alert: { mode: "each" },
    }),
  );
  writeFileSync(
    join(rulesDir, "short.json"),
    JSON.stringify({
      id: "replies-short",
      match,
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 10] }] },
      alert: { mode: "each" },
    }),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: false, resultsFlushMs: 50 },
    alerts: {
      channels: { hook: { type: "webhook", url: `${hook.url}/hooks/plumbline` } },
      defaultChannels: ["hook"],
      tickMs: 100,
    },
  });
});
afterAll(async () => {
  await service?.close();
  await hook?.close();
});

async function sendReplies(answers: string[]): Promise<string[]> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, "slow-svc");
  const tracer = provider.getTracer("agent");
  const ids = answers.map((answer, i) =>
    emitAgentRun(tracer, { agent: "replier", userText: `q${i}`, answer }),
  );
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  return ids;
}

const ruleById = async (id: string): Promise<Json> =>
  ((await fetchJson(`${service.url}/api/rules`)).rules as Json[]).find((r) => r.id === id);

describe("a rule whose expression times out", () => {
  it(
    "is retried, reported as a rule problem, never alerts, and turns unhealthy",
    { timeout: 60_000 },
    async () => {
      const [first] = await sendReplies(["a reply far longer than ten characters"]);

      // The sound rule fires on the same output.
      await until("the replies-short alert", () => hook.requests[0]);
      const problem = await until("the rule problem", async () => {
        const rule = await ruleById("runaway-sum");
        return rule?.ruleErrors.sinceStart === 1 ? rule : undefined;
      });
      expect(problem).toMatchObject({
        last24h: { evaluated: 0, failed: 0 },
        sinceStart: { matched: 1, failed: 0 },
        ruleErrors: {
          sinceStart: 1,
          lastError: { code: "expr_timeout", message: expect.stringContaining("on its retry") },
        },
        health: "ok",
        idle: false,
      });
      const stored = await until("the stored rule problem", async () => {
        const rule = await ruleById("runaway-sum");
        return rule?.ruleErrors.last24h === 1 ? rule : undefined;
      });
      expect(stored.last24h).toEqual({ evaluated: 0, failed: 0 });
      const checks: Json = await fetchJson(`${service.url}/api/checks?rule=runaway-sum`);
      expect(checks.checks).toMatchObject([
        { TraceId: first, Code: "expr_timeout", Outcome: "rule_error" },
      ]);
      const failedOnly: Json = await fetchJson(
        `${service.url}/api/checks?rule=runaway-sum&outcome=failed`,
      );
      expect(failedOnly.checks).toEqual([]);
      const problemsOnly: Json = await fetchJson(
        `${service.url}/api/checks?rule=runaway-sum&outcome=rule_error`,
      );
      expect(problemsOnly.checks).toHaveLength(1);

      // Four more in a row: unhealthy, and still no alert of its own.
      await sendReplies([
        "another long reply",
        "and another one",
        "a fourth long reply",
        "a fifth long reply",
      ]);
      const unhealthy = await until("the unhealthy rule", async () => {
        const rule = await ruleById("runaway-sum");
        return rule?.health === "unhealthy" ? rule : undefined;
      });
      expect(unhealthy.ruleErrors.sinceStart).toBe(5);
      expect(unhealthy.sinceStart).toEqual({ matched: 5, failed: 0 });
      await service.flushEvaluations();
      await new Promise((r) => setTimeout(r, 500)); // a few alert ticks
      const alerts = (await fetchJson(`${service.url}/api/alerts`)).alerts as Json[];
      // No alert of its findings; only its rule health alert (alerts.ruleHealth), which counts
      // no failed output.
      const own = alerts.filter((a) => a.labels.alert !== "rule_health");
      expect(own.map((a) => a.ruleId)).toEqual(["replies-short"]);
      const health = alerts.filter((a) => a.labels.alert === "rule_health");
      expect(health).toMatchObject([
        {
          ruleId: "runaway-sum",
          labels: { rule: "runaway-sum", state: "rule_errors" },
          counts: { failed: 0, evaluated: 0 },
          examples: [],
        },
      ]);
      const notified = hook.requests
        .map((r) => (JSON.parse(r.body) as Json).alert)
        .filter((a: Json) => a.labels.alert !== "rule_health")
        .map((a: Json) => a.ruleId);
      expect(new Set(notified)).toEqual(new Set(["replies-short"]));
      expect((await ruleById("replies-short")).last24h).toEqual({ evaluated: 5, failed: 5 });
    },
  );
});
