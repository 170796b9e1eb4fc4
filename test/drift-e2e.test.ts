/**
 * Window rules end to end: invoice totals exported by the real OTel exporter (back-dated over
 * a week, as an agent's history would be) are compared by drift rules inside the service; a
 * unit error (totals ×100) fires a webhook carrying the measurement, a stable stream stays
 * quiet, too few samples is a visible "insufficient", and every evaluation is stored.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { createRandom, normalSample } from "../src/evaluate/drift/seeded-random.ts";
import { makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { until } from "./helpers/until.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let service: TestService;
let hook: TestReceiver;

function driftRule(id: string, serviceName: string, minCurrent = 30) {
  return {
    id,
    description: `invoice totals of ${serviceName} keep their distribution`,
    severity: "critical",
    match: { service: serviceName, kind: "llm" },
    check: {
      type: "drift",
      field: "output.json.total",
      kind: "numeric",
      method: "ks",
      window: "1h",
      every: "1m",
      minSamples: { current: minCurrent, reference: 100 },
    },
  };
}

/** Chat spans whose output is an invoice with `total`, spread evenly over [from, to). */
async function sendInvoices(serviceName: string, totals: number[], from: number, to: number) {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, serviceName);
  const tracer = provider.getTracer("invoice-agent");
  totals.forEach((total, i) => {
    const start = from + Math.floor((i * (to - from)) / totals.length);
    const span = tracer.startSpan("chat gpt-4o", {
      kind: SpanKind.CLIENT,
      startTime: start,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.output.messages": JSON.stringify([
          { role: "assistant", parts: [{ type: "text", content: JSON.stringify({ total }) }] },
        ]),
      },
    });
    span.end(start + 800);
  });
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
}

beforeAll(async () => {
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-drift-rules-");
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, "a.json"), JSON.stringify(driftRule("totals-unit", "billing-a")));
  writeFileSync(join(rulesDir, "b.json"), JSON.stringify(driftRule("totals-stable", "billing-b")));
  writeFileSync(
    join(rulesDir, "c.json"),
    JSON.stringify(driftRule("totals-sparse", "billing-b", 1000)),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: false, windowTickMs: 600_000, windowSettleMs: 0 },
    alerts: { channels: { hook: { type: "webhook", url: `${hook.url}/hooks` } }, tickMs: 100 },
  });
  const now = Date.now();
  const random = createRandom(11);
  const cents = (values: number[]) => values.map((v) => Math.round(v * 100) / 100);
  const reference = () => cents(normalSample(random, 300, 120, 20));
  const current = () => cents(normalSample(random, 60, 120, 20));
  // Everything lies well inside the windows of an evaluation made now.
  await sendInvoices("billing-a", reference(), now - 6 * DAY, now - 2 * HOUR);
  await sendInvoices("billing-b", reference(), now - 6 * DAY, now - 2 * HOUR);
  await sendInvoices("billing-b", current(), now - 50 * 60_000, now - 5 * 60_000);
  // The unit error: the extractor now reports cents.
  await sendInvoices(
    "billing-a",
    current().map((v) => v * 100),
    now - 50 * 60_000,
    now - 5 * 60_000,
  );
});

afterAll(async () => {
  await service?.close();
  await hook?.close();
});

describe("drift rules end to end", () => {
  it("a unit error fires one alert with the measurement; stable and sparse streams do not", async () => {
    await service.evaluateWindows();
    const request = await until("the drift notification", () => hook.requests[0]);
    const body = JSON.parse(request.body) as Json;
    expect(body).toMatchObject({
      kind: "firing",
      alert: {
        ruleId: "totals-unit",
        state: "firing",
        labels: expect.objectContaining({ rule: "totals-unit", severity: "critical" }),
        measurement: {
          checkType: "drift",
          method: "ks",
          field: "output.json.total",
          direction: "below",
          // every 1m: 0.05 a day over 1,440 evaluations (src/evaluate/windows/significance.ts)
          threshold: 0.05 / 1440,
          currentSize: 60,
          referenceSize: 300,
          message: expect.stringMatching(/^ks p-value .* < threshold 3\.47e-5$/),
        },
      },
    });
    const measurement = (body["alert"] as Json)["measurement"] as Json;
    expect(measurement["statistic"]).toBe(1);
    expect(measurement["pValue"]).toBeLessThan(1e-10);

    const evaluations = async (id: string) =>
      (await fetchJson(`${service.url}/api/rules/${id}/evaluations`))["evaluations"] as Json[];
    expect(await evaluations("totals-unit")).toMatchObject([{ status: "drift", method: "ks" }]);
    const [stable] = await evaluations("totals-stable");
    expect(stable).toMatchObject({ status: "ok", currentSize: 60, referenceSize: 300 });
    expect((stable?.["referenceCounts"] as number[]).reduce((a, b) => a + b, 0)).toBe(300);
    expect(await evaluations("totals-sparse")).toMatchObject([
      { status: "insufficient", statistic: null, currentSize: 60 },
    ]);

    // Evaluating again changes nothing: a window is stored once (a new one only when the
    // minute turned meanwhile), and a firing alert is not notified again.
    await service.evaluateWindows();
    const ends = (await evaluations("totals-unit")).map((e) => e["windowEnd"]);
    expect(new Set(ends).size).toBe(ends.length);
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests).toHaveLength(1);
    const rules = (await fetchJson(`${service.url}/api/rules`))["rules"] as Json[];
    const byId = new Map(rules.map((r) => [r["id"], r]));
    expect(byId.get("totals-unit")).toMatchObject({
      checkType: "drift",
      last24h: { evaluated: ends.length, failed: ends.length },
      idle: false,
    });
    // Only insufficient evaluations: nothing was really compared. Not idle, though: idle means
    // 24 h loaded without a match, for window rules as for the rest.
    expect(byId.get("totals-sparse")).toMatchObject({ last24h: { evaluated: 0 }, idle: false });
    const alerts = (await fetchJson(`${service.url}/api/alerts`))["alerts"] as Json[];
    expect(alerts.map((a) => a["ruleId"])).toEqual(["totals-unit"]);
  });
});
