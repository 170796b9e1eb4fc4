/**
 * LLM-as-judge end to end (issue 19): the service on embedded storage with the shipped
 * "names the same entity" template and a deterministic fake OpenAI-compatible judge. Outputs
 * arrive through the real OTel exporter; the wrong-entity reply becomes a judge_failed finding
 * that alerts like any other, /api/rules shows the judge's health, and a judge that goes down
 * neither slows ingest nor loses an output: once it is back, each output is judged once.
 */

import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { sameEntityJudge, startFakeJudge, type FakeJudge } from "./helpers/fake-judge.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

let service: TestService;
let judge: FakeJudge;
let hook: TestReceiver;
const RULE = "judge-same-entity";

beforeAll(async () => {
  judge = await startFakeJudge(sameEntityJudge);
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-judge-rules-");
  copyFileSync(
    new URL("../rules/examples/judge-same-entity.json", import.meta.url),
    join(rulesDir, "judge-same-entity.json"),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: false, resultsFlushMs: 50 },
    judge: {
      baseUrl: judge.baseUrl,
      apiKey: "sk-e2e",
      model: "judge-small",
      pollMs: 50,
      backoffMs: 100,
      maxBackoffMs: 200,
      // Long enough for a loaded CI machine: a timed-out answer would be asked again.
      timeoutMs: 10_000,
      // The template reads the trace's tool results: judged once the trace is in.
      contextDelayMs: 300,
    },
    alerts: {
      channels: { hook: { type: "webhook", url: `${hook.url}/hooks/plumbline` } },
      defaultChannels: ["hook"],
      tickMs: 100,
    },
  });
});
afterAll(async () => {
  await service?.close();
  await judge?.close();
  await hook?.close();
});

async function send(runs: { question: string; answer: string }[]): Promise<string[]> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, "support-agent");
  const tracer = provider.getTracer("agent");
  const ids = runs.map((run) =>
    emitAgentRun(tracer, {
      agent: "support",
      userText: run.question,
      answer: run.answer,
      tool: { name: "lookup_order", args: { id: "ORD-1" }, result: { status: "shipped" } },
    }),
  );
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  return ids;
}

const ruleStatus = async (): Promise<Json> =>
  ((await fetchJson(`${service.url}/api/rules`)).rules as Json[]).find((r) => r.id === RULE);

describe("a judge rule", () => {
  it(
    "turns a wrong-entity reply into a judge_failed finding that alerts, and shows its health",
    { timeout: 60_000 },
    async () => {
      const [right, wrong] = await send([
        { question: "Where is my order ORD-1001?", answer: "Order ORD-1001 shipped on Monday." },
        { question: "Where is my order ORD-2002?", answer: "Order ORD-9999 shipped on Monday." },
      ]);
      const checks = await until("the judge's finding", async () => {
        const body: Json = await fetchJson(`${service.url}/api/checks?rule=${RULE}`);
        return body.checks.length > 0 ? body.checks : undefined;
      });
      expect(checks).toMatchObject([
        {
          TraceId: wrong,
          Code: "judge_failed",
          Outcome: "failed",
          Field: "evaluation.judge-same-entity.score",
          Message: "names ORD-9999, which the input does not",
          Observed: "0.1",
        },
      ]);
      const alert = await until("the alert", () =>
        hook.requests.find((r) => (JSON.parse(r.body) as Json).alert.ruleId === RULE),
      );
      expect(alert).toBeDefined();
      const status = await until("the judge's counts", async () => {
        const rule = await ruleStatus();
        return rule?.judge?.judged === 2 ? rule : undefined;
      });
      expect(status).toMatchObject({
        checkType: "judge",
        health: "ok",
        judge: { state: "ok", judged: 2, failed: 1, queued: 2, tokensToday: 300 },
      });
      // The request carried the key, the model, and the trace's tool results.
      expect(judge.calls).toHaveLength(2);
      expect(judge.calls[0]?.authorization).toBe("Bearer sk-e2e");
      expect(judge.calls[0]?.body.model).toBe("judge-small");
      expect(judge.calls.map((c) => c.body.messages[1]?.content).join("\n")).toContain(
        'tool lookup_order({"id":"ORD-1"}) returned: {"status":"shipped"}',
      );
      // The pass writes the scores, then the items' final states, after counting the verdicts.
      const scores = await until("the stored scores", async () => {
        const rows = await service.rows<{ TraceId: string; Score: number; Label: string }>(
          `SELECT TraceId, Score, Label FROM plumbline.evaluation_scores FINAL WHERE Source = 'judge' ORDER BY Score`,
        );
        return rows.length === 2 ? rows : undefined;
      });
      expect(scores).toEqual([
        { TraceId: wrong, Score: 0.1, Label: "fail" },
        { TraceId: right, Score: 1, Label: "pass" },
      ]);
    },
  );

  it(
    "waits out a judge that is down without slowing ingest, then judges each output once",
    { timeout: 60_000 },
    async () => {
      judge.setDecide(() => ({ type: "drop" }));
      const before = judge.calls.length;
      const started = Date.now();
      const [late] = await send([
        { question: "Where is ORD-3003?", answer: "ORD-3003 is out for delivery." },
      ]);
      // Acknowledged at ingest speed, whatever the judge does.
      expect(Date.now() - started).toBeLessThan(3_000);
      const down = await until("the unreachable judge", async () => {
        const rule = await ruleStatus();
        return rule?.judge?.state === "judge_unreachable" ? rule : undefined;
      });
      expect(down.health).toBe("unhealthy");
      expect(down.judge.retries).toBeGreaterThan(0);
      const queued = await service.rows<{ State: string }>(
        `SELECT State FROM plumbline.judge_queue FINAL WHERE TraceId = {t:String}`,
        { t: late },
      );
      expect(queued).toEqual([{ State: "queued" }]);
      // Rule health alerts: the rule that cannot judge raises one, never a failed output.
      const failedBefore = (await fetchJson(`${service.url}/api/checks?rule=${RULE}`)).checks
        .length;
      const healthAlert = await until("the rule health alert", () =>
        hook.requests
          .map((r) => JSON.parse(r.body) as Json)
          .find((p) => p.alert.labels.alert === "rule_health" && p.kind === "firing"),
      );
      expect(healthAlert.alert).toMatchObject({
        ruleId: RULE,
        severity: "warning",
        counts: { failed: 0, evaluated: 0 },
        labels: { alert: "rule_health", rule: RULE, state: "judge_unreachable" },
      });

      judge.setDecide(sameEntityJudge);
      await until("the judge back", async () => {
        const rule = await ruleStatus();
        return rule?.judge?.judged === 3 && rule.judge.state === "ok" ? rule : undefined;
      });
      await until("the rule health alert resolved", () =>
        hook.requests
          .map((r) => JSON.parse(r.body) as Json)
          .find((p) => p.alert.labels.alert === "rule_health" && p.kind === "resolved"),
      );
      const failedChecks = (await fetchJson(`${service.url}/api/checks?rule=${RULE}`)).checks;
      expect(failedChecks.filter((c: Json) => c.Outcome === "failed")).toHaveLength(failedBefore);
      const answered = judge.calls.slice(before).filter((c) => c.answer === "verdict");
      expect(answered).toHaveLength(1);
      await until("the item done", async () => {
        const rows = await service.rows<{ State: string }>(
          `SELECT State FROM plumbline.judge_queue FINAL WHERE TraceId = {t:String}`,
          { t: late },
        );
        return rows[0]?.State === "done" ? rows : undefined;
      });
      expect(judge.calls.slice(before).filter((c) => c.answer === "verdict")).toHaveLength(1);
    },
  );
});
