/**
 * Alerts end to end: bad agent outputs exported by the real OTel exporter become one signed
 * notification per group at a real HTTP receiver, with evidence; floods stay one message;
 * silences hold; the alert resolves; a receiver that is down, then answers 503 with
 * Retry-After, then recovers, gets every notification exactly once per id.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type ReceivedRequest, type TestReceiver } from "./helpers/test-receiver.ts";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { until } from "./helpers/until.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";

const SECRET_BYTES = Buffer.from("plumbline-test-secret-0123456789");
const SECRET = `whsec_${SECRET_BYTES.toString("base64")}`;

let service: TestService;
let hook: TestReceiver;
let flaky: TestReceiver;
let flakyAnswers: number[] = [];

function rule(id: string, serviceName: string) {
  return {
    id,
    description: `Replies of ${serviceName} are short`,
    severity: "critical",
    runbook: "https://wiki.example/runbooks/replies",
    match: { service: serviceName, operation: "chat" },
    check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 40] }] },
    alert: { mode: "each", resolveAfter: "2s" },
  };
}

beforeAll(async () => {
  hook = await startReceiver();
  flaky = await startReceiver((_request, response) => {
    const status = flakyAnswers.shift() ?? 200;
    if (status === 0) {
      response.socket?.destroy(); // down: the connection drops
      return;
    }
    response.writeHead(status, status === 503 ? { "retry-after": "1" } : {}).end();
  });
  const rulesDir = tempDir("plumbline-alert-rules-");
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, "a.json"), JSON.stringify(rule("replies-short", "replies-svc")));
  writeFileSync(join(rulesDir, "b.json"), JSON.stringify(rule("flaky-replies", "flaky-svc")));
  writeFileSync(
    join(rulesDir, "c.json"),
    JSON.stringify({
      ...rule("rate-replies", "rate-svc"),
      alert: { mode: "rate", threshold: 0.5, window: "1m", minSamples: 4, for: "0s" },
    }),
  );
  service = await startTestService({
    rulesDir,
    evaluate: { builtinRules: false, resultsFlushMs: 50, traceQuietMs: 300, traceIntervalMs: 100 },
    alerts: {
      channels: {
        hook: { type: "webhook", url: `${hook.url}/hooks/plumbline`, secret: SECRET },
        flaky: { type: "webhook", url: `${flaky.url}/hooks/flaky` },
      },
      routes: [{ match: { labels: { service: "flaky-svc" } }, channels: ["flaky"] }],
      defaultChannels: ["hook"],
      tickMs: 100,
    },
  });
});
afterAll(async () => {
  await service?.close();
  await hook?.close();
  await flaky?.close();
});

async function sendReplies(serviceName: string, answers: string[]): Promise<string[]> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, serviceName);
  const tracer = provider.getTracer("agent");
  const ids = answers.map((answer, i) =>
    emitAgentRun(tracer, { agent: "replier", userText: `q${i}`, answer }),
  );
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  return ids;
}

const bodies = (receiver: TestReceiver) => receiver.requests.map((r) => JSON.parse(r.body) as Json);

/** An independent Standard Webhooks verification: HMAC-SHA256 over "id.timestamp.body". */
function verifySignature(request: ReceivedRequest): boolean {
  const id = String(request.headers["webhook-id"]);
  const timestamp = String(request.headers["webhook-timestamp"]);
  const expected = createHmac("sha256", SECRET_BYTES)
    .update(`${id}.${timestamp}.${request.body}`)
    .digest();
  const signatures = String(request.headers["webhook-signature"]).split(" ");
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return (
    fresh &&
    signatures.some(
      (s) => s.startsWith("v1,") && timingSafeEqual(Buffer.from(s.slice(3), "base64"), expected),
    )
  );
}

describe("alerts end to end", () => {
  it("fires once, signed, with evidence, for a flood of failures, then resolves", async () => {
    const started = Date.now();
    const [first] = await sendReplies("replies-svc", [
      "a reply that is far too long for the chat widget to show",
    ]);
    const firing = await until("the firing notification", () => hook.requests[0]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(firing.path).toBe("/hooks/plumbline");
    expect(verifySignature(firing)).toBe(true);
    const body = JSON.parse(firing.body) as Json;
    expect(body).toMatchObject({
      version: "plumbline.alert.v1",
      kind: "firing",
      id: firing.headers["webhook-id"],
      alert: {
        ruleId: "replies-short",
        severity: "critical",
        runbook: "https://wiki.example/runbooks/replies",
        labels: expect.objectContaining({
          service: "replies-svc",
          agent: "replier",
          rule: "replies-short",
        }),
      },
    });
    expect(body.alert.examples[0]).toMatchObject({ traceId: first, field: "output.text" });
    expect(body.alert.links.plumbline).toContain(`/traces/${first}?span=`);

    // A flood of failures in the same group: no new message while the alert fires.
    await sendReplies(
      "replies-svc",
      Array.from(
        { length: 60 },
        (_, i) => `another reply that is much too long to show, number ${i}`,
      ),
    );
    await until("the alert to count the flood", async () => {
      const alerts: Json = await fetchJson(`${service.url}/api/alerts?state=firing`);
      const alert = alerts.alerts.find((a: Json) => a.ruleId === "replies-short");
      return alert?.counts.failed >= 61 ? alert : undefined;
    });
    expect(bodies(hook).filter((b) => b.kind === "firing")).toHaveLength(1);

    // Quiet for resolveAfter: one resolved notification.
    const resolved = await until("the resolved notification", () =>
      bodies(hook).find((b) => b.kind === "resolved"),
    );
    expect(resolved).toMatchObject({
      status: "resolved",
      alert: { ruleId: "replies-short", state: "resolved" },
    });
    const fingerprint = resolved.alert.fingerprint;
    const detail: Json = await fetchJson(`${service.url}/api/alerts/${fingerprint}`);
    expect(detail.history.map((h: Json) => h.ToState)).toEqual(
      expect.arrayContaining(["firing", "resolved"]),
    );
    expect(detail.deliveries.attempts.length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it("sends nothing for a silenced alert, and sends a test notification on request", async () => {
    const silence = await fetch(`${service.url}/api/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        matchers: [{ name: "rule", value: "replies-short" }],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        comment: "known issue, fix deploying",
        createdBy: "test",
      }),
    });
    expect(silence.status).toBe(201);
    const before = hook.requests.length;
    await sendReplies("replies-svc", ["yet another reply that is far too long for the widget"]);
    await until("the silenced alert to fire", async () => {
      const alerts: Json = await fetchJson(`${service.url}/api/alerts?state=firing`);
      return alerts.alerts.find((a: Json) => a.ruleId === "replies-short");
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.requests.length).toBe(before);

    const test = await fetch(`${service.url}/api/channels/hook/test`, { method: "POST" });
    expect(test.status).toBe(202);
    const sent = await until("the test notification", () =>
      bodies(hook).find((b) => b.kind === "test"),
    );
    expect(sent.alert.ruleId).toBe("plumbline.test");
  });

  it("fires a rate alert when the failure ratio over the window crosses its threshold", async () => {
    await sendReplies("rate-svc", ["short", "also short"]);
    await new Promise((r) => setTimeout(r, 400));
    expect(bodies(hook).some((b) => b.alert?.ruleId === "rate-replies")).toBe(false);
    await sendReplies("rate-svc", [
      "a reply that is far too long for the chat widget, one",
      "a reply that is far too long for the chat widget, two",
      "a reply that is far too long for the chat widget, three",
    ]);
    const firing = await until("the rate alert", () =>
      bodies(hook).find((b) => b.alert?.ruleId === "rate-replies" && b.kind === "firing"),
    );
    expect(firing.alert.counts).toEqual({ failed: 3, evaluated: 5 });
  });

  it("retries a receiver that is down, then 503 with Retry-After, and delivers each id once", async () => {
    flakyAnswers = [0, 503];
    await sendReplies("flaky-svc", ["a reply from the flaky service that is much too long"]);
    const accepted = await until("the delivery after retries", () =>
      flaky.requests.length >= 3 ? flaky.requests : undefined,
    );
    const firingId = (JSON.parse(accepted[0]!.body) as Json).id;
    const attempts = () =>
      flaky.requests.filter((r) => (JSON.parse(r.body) as Json).id === firingId);
    expect(attempts()).toHaveLength(3); // dropped, 503, accepted: the same notification, same id
    await new Promise((r) => setTimeout(r, 1_500));
    expect(attempts()).toHaveLength(3); // accepted once, never sent again
    expect(JSON.parse(attempts()[2]!.body)).toMatchObject({
      kind: "firing",
      alert: { ruleId: "flaky-replies" },
    });
  }, 30_000);
});
