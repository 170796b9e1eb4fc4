/**
 * Roles: an `ingest` process receives and stores spans and evaluates nothing; an `evaluate`
 * process over the same store receives nothing, and runs output rules, trace rules and alerts
 * on what the ingest process stored. (Two services share one embedded store here, as two
 * processes would share a ClickHouse server.)
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { until } from "./helpers/until.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";

let ingest: TestService;
let evaluate: TestService;
let hook: TestReceiver;

beforeAll(async () => {
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-roles-rules-");
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(
    join(rulesDir, "short.json"),
    JSON.stringify({
      id: "answers-short",
      match: { service: "roles-svc", operation: "chat" },
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 30] }] },
    }),
  );
  const dataDir = tempDir();
  const shared = {
    dataDir,
    rulesDir,
    evaluate: { builtinRules: false, traceQuietMs: 200, traceIntervalMs: 100, resultsFlushMs: 50 },
    alerts: {
      channels: { hook: { type: "webhook" as const, url: `${hook.url}/hooks` } },
      tickMs: 100,
    },
  };
  ingest = await startTestService({ ...shared, role: "ingest" });
  evaluate = await startTestService({ ...shared, role: "evaluate" });
});

afterAll(async () => {
  await ingest?.close();
  await evaluate?.close();
  await hook?.close();
});

describe("roles", () => {
  it("ingest stores, evaluate evaluates and alerts", async () => {
    const exporter = new RecordingExporter(
      new OTLPTraceExporter({ url: `${ingest.url}/v1/traces` }),
    );
    const provider = makeProvider(exporter, "roles-svc");
    emitAgentRun(provider.getTracer("agent"), {
      agent: "writer",
      userText: "q",
      answer: "an answer far too long for the thirty character limit",
    });
    await provider.shutdown();
    expect(exporter.failures).toEqual([]);

    // The ingest process has no rules API and evaluates nothing.
    expect((await fetch(`${ingest.url}/api/rules`)).status).toBe(404);
    // The evaluate process refuses spans and finds the failing answer once its trace is quiet.
    const refused = await fetch(`${evaluate.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).toBe(404);
    expect(await refused.text()).toMatch(/role evaluate/);

    const request = await until("the alert from the evaluate process", () => hook.requests[0]);
    expect(JSON.parse(request.body)).toMatchObject({
      kind: "firing",
      alert: { ruleId: "answers-short", labels: { service: "roles-svc", agent: "writer" } },
    });
    const rules = (await (await fetch(`${evaluate.url}/api/rules`)).json()) as {
      rules: { id: string; sinceStart: { matched: number; failed: number } }[];
    };
    expect(rules.rules.find((r) => r.id === "answers-short")?.sinceStart).toEqual({
      matched: 1,
      failed: 1,
    });
  });
});
