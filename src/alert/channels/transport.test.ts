import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { channelSchema, type ChannelConfig } from "./channel-config.ts";
import { makeNotification } from "./make-notification.ts";
import { alertmanagerApiAlerts, alertmanagerWebhookPayload, plumblinePayload } from "./payloads.ts";
import { slackPayload } from "./slack-payload.ts";
import {
  closedPort,
  startReceiver,
  type Respond,
  type TestReceiver,
} from "../../../test/helpers/test-receiver.ts";
import { alertmanagerAlertsUrl, createChannelSender } from "./transport.ts";

const externalUrl = "https://plumbline.example.com";
const secret = `whsec_${randomBytes(32).toString("base64")}`;

const receivers: TestReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(respond?: Respond): Promise<TestReceiver> {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
}

function channel(input: Record<string, unknown>): ChannelConfig {
  return channelSchema.parse(input);
}

/**
 * Standard Webhooks verification written from the spec, independently of sign.ts: HMAC-SHA256
 * of `${id}.${timestamp}.${raw body}` keyed with the base64-decoded secret, compared in constant
 * time against each `v1,` signature, with the timestamp within the tolerance.
 */
function verifyStandardWebhook(
  rawBody: string,
  headers: IncomingHttpHeaders,
  whsec: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): { ok: true } | { ok: false; reason: string } {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") {
    return { ok: false, reason: "missing headers" };
  }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: "bad timestamp" };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds)
    return { ok: false, reason: "timestamp outside tolerance" };
  const key = Buffer.from(whsec.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${rawBody}`).digest();
  for (const versioned of signatures.split(" ")) {
    const [version, signature] = versioned.split(",");
    if (version !== "v1" || signature === undefined) continue;
    const given = Buffer.from(signature, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: "no matching signature" };
}

describe("the formats on the wire", () => {
  it("posts the plumbline body, signed per Standard Webhooks", async () => {
    const hook = await receiver();
    const now = Date.now();
    const sender = createChannelSender(
      "ops",
      channel({
        type: "webhook",
        url: `${hook.url}/hooks/plumbline?tenant=acme`,
        secret,
        headers: { "X-Team": "billing" },
      }),
      { externalUrl, now: () => now },
    );
    const notification = makeNotification();
    const result = await sender.send(notification);

    expect(result).toMatchObject({ outcome: "success", status: 200 });
    expect(hook.requests).toHaveLength(1);
    const [request] = hook.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/hooks/plumbline?tenant=acme");
    expect(request?.body).toBe(
      JSON.stringify(plumblinePayload(notification, { externalUrl, now })),
    );
    expect(request?.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "plumbline",
      "x-team": "billing",
      "webhook-id": notification.id,
      "webhook-timestamp": String(Math.floor(now / 1000)),
    });
    expect(request?.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyStandardWebhook(request?.body ?? "", request?.headers ?? {}, secret)).toEqual({
      ok: true,
    });
  });

  it("signs each retry with its own timestamp and the same id", async () => {
    const hook = await receiver();
    let now = Date.now() - 60_000;
    const sender = createChannelSender("ops", channel({ type: "webhook", url: hook.url, secret }), {
      externalUrl,
      now: () => now,
    });
    const notification = makeNotification();
    await sender.send(notification);
    now += 30_000;
    await sender.send(notification);
    const [first, second] = hook.requests;
    expect(first?.headers["webhook-id"]).toBe(second?.headers["webhook-id"]);
    expect(
      Number(second?.headers["webhook-timestamp"]) - Number(first?.headers["webhook-timestamp"]),
    ).toBe(30);
    for (const request of hook.requests) {
      expect(verifyStandardWebhook(request.body, request.headers, secret)).toEqual({ ok: true });
    }
  });

  it("is refused by the independent verifier when anything is off", async () => {
    const hook = await receiver();
    const stale = Date.now() - 10 * 60_000;
    const sender = createChannelSender("ops", channel({ type: "webhook", url: hook.url, secret }), {
      externalUrl,
      now: () => stale,
    });
    await sender.send(makeNotification());
    const [request] = hook.requests;
    const body = request?.body ?? "";
    const headers = request?.headers ?? {};
    const signedAt = Math.floor(stale / 1000);
    expect(verifyStandardWebhook(body, headers, secret, signedAt)).toEqual({ ok: true });
    expect(verifyStandardWebhook(body, headers, secret)).toEqual({
      ok: false,
      reason: "timestamp outside tolerance",
    });
    expect(verifyStandardWebhook(`${body} `, headers, secret, signedAt)).toMatchObject({
      ok: false,
    });
    expect(
      verifyStandardWebhook(body, { ...headers, "webhook-id": "other" }, secret, signedAt),
    ).toMatchObject({ ok: false });
    const otherSecret = `whsec_${randomBytes(32).toString("base64")}`;
    expect(verifyStandardWebhook(body, headers, otherSecret, signedAt)).toMatchObject({
      ok: false,
    });
  });

  it("posts the Alertmanager webhook body, unsigned without a secret", async () => {
    const hook = await receiver();
    const sender = createChannelSender(
      "billing",
      channel({ type: "webhook", url: hook.url, format: "alertmanager" }),
      {
        externalUrl,
      },
    );
    const notification = makeNotification();
    expect(await sender.send(notification)).toMatchObject({ outcome: "success" });
    const [request] = hook.requests;
    expect(request?.body).toBe(
      JSON.stringify(
        alertmanagerWebhookPayload(notification, { receiver: "billing", externalUrl }),
      ),
    );
    expect(JSON.parse(request?.body ?? "")).toMatchObject({ receiver: "billing", version: "4" });
    expect(request?.headers).toMatchObject({ "content-type": "application/json" });
    expect(
      Object.keys(request?.headers ?? {}).filter((name) => name.startsWith("webhook-")),
    ).toEqual([]);
  });

  it("posts the Slack message", async () => {
    const hook = await receiver();
    const sender = createChannelSender(
      "chat",
      channel({ type: "webhook", url: `${hook.url}/services/T0/B0/xyz`, format: "slack" }),
      {
        externalUrl,
      },
    );
    const notification = makeNotification({
      kind: "resolved",
      alert: { state: "resolved", endsAt: "2026-01-05T10:02:00.000Z" },
    });
    expect(await sender.send(notification)).toMatchObject({ outcome: "success" });
    const [request] = hook.requests;
    expect(request?.path).toBe("/services/T0/B0/xyz");
    expect(request?.body).toBe(JSON.stringify(slackPayload(notification, { externalUrl })));
  });

  it("posts to an Alertmanager's /api/v2/alerts, credentials from the URL as Basic auth", async () => {
    const alertmanager = await receiver();
    const now = Date.parse("2026-01-05T09:31:48.250Z");
    const url = alertmanager.url.replace("http://", "http://plumbline:s%3Acret@");
    const sender = createChannelSender(
      "am",
      channel({ type: "alertmanager", url: `${url}/alertmanager/`, resendMs: 60_000 }),
      {
        externalUrl,
        now: () => now,
      },
    );
    const notification = makeNotification();
    expect(await sender.send(notification)).toMatchObject({ outcome: "success" });
    const [request] = alertmanager.requests;
    expect(request?.path).toBe("/alertmanager/api/v2/alerts");
    expect(request?.headers["authorization"]).toBe(
      `Basic ${Buffer.from("plumbline:s:cret").toString("base64")}`,
    );
    expect(request?.body).toBe(
      JSON.stringify(alertmanagerApiAlerts(notification, { externalUrl, now, resendMs: 60_000 })),
    );
    expect(JSON.parse(request?.body ?? "")).toMatchObject([{ endsAt: "2026-01-05T09:33:48.250Z" }]);
  });

  it("lets a configured Authorization header win over URL credentials", async () => {
    const hook = await receiver();
    const url = hook.url.replace("http://", "http://user:pass@");
    const sender = createChannelSender(
      "am",
      channel({ type: "alertmanager", url, headers: { Authorization: "Bearer t" } }),
      {
        externalUrl,
      },
    );
    await sender.send(makeNotification());
    expect(hook.requests[0]?.headers["authorization"]).toBe("Bearer t");
  });
});

describe("alertmanagerAlertsUrl", () => {
  it.each([
    ["http://am:9093", "http://am:9093/api/v2/alerts"],
    ["http://am:9093/", "http://am:9093/api/v2/alerts"],
    ["https://example.com/alertmanager", "https://example.com/alertmanager/api/v2/alerts"],
    ["http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts"],
    [
      "https://proxy.example.com/am?tenant=acme",
      "https://proxy.example.com/am/api/v2/alerts?tenant=acme",
    ],
  ])("%s → %s", (base, expected) => {
    expect(alertmanagerAlertsUrl(base)).toBe(expected);
  });
});

describe("outcomes as values", () => {
  async function sendTo(respond: Respond, timeoutMs = 5_000) {
    const hook = await receiver(respond);
    const sender = createChannelSender(
      "ops",
      channel({ type: "webhook", url: hook.url, timeoutMs }),
      { externalUrl },
    );
    return { result: await sender.send(makeNotification()), hook };
  }

  it("retries a 503 after its Retry-After seconds", async () => {
    const { result } = await sendTo((_request, response) => {
      response
        .writeHead(503, { "retry-after": "7", "content-type": "text/plain" })
        .end("deploying, back soon");
    });
    expect(result).toEqual({
      outcome: "retry",
      status: 503,
      error: "HTTP 503 Service Unavailable: deploying, back soon",
      latencyMs: expect.any(Number),
      afterMs: 7_000,
    });
  });

  it("retries a 429, after its Retry-After date, or at the worker's pace without one", async () => {
    const inOneMinute = new Date(Date.now() + 60_000).toUTCString();
    const { result } = await sendTo((_request, response) => {
      response.writeHead(429, { "retry-after": inOneMinute }).end();
    });
    expect(result).toMatchObject({
      outcome: "retry",
      status: 429,
      error: "HTTP 429 Too Many Requests",
    });
    const afterMs = result.outcome === "retry" ? result.afterMs : undefined;
    expect(afterMs).toBeGreaterThan(55_000);
    expect(afterMs).toBeLessThanOrEqual(60_000);

    const bare = await sendTo((_request, response) => response.writeHead(429).end());
    expect(bare.result).toMatchObject({ outcome: "retry", status: 429, afterMs: undefined });
  });

  it("retries a 500 and keeps only the start of a long error page", async () => {
    const { result } = await sendTo((_request, response) =>
      response.writeHead(500).end("<html>".repeat(100_000)),
    );
    expect(result).toMatchObject({ outcome: "retry", status: 500 });
    expect(result.outcome === "retry" && result.error.length).toBeLessThan(400);
  });

  it("disables the channel on 410 Gone", async () => {
    const { result } = await sendTo((_request, response) =>
      response.writeHead(410).end("channel_is_archived"),
    );
    expect(result).toEqual({
      outcome: "failure",
      status: 410,
      error: "HTTP 410 Gone: channel_is_archived (the receiver is gone: channel ops is disabled)",
      latencyMs: expect.any(Number),
      disableChannel: true,
    });
  });

  it("fails on 400 without retrying or disabling", async () => {
    const { result } = await sendTo((_request, response) =>
      response.writeHead(400).end("invalid_blocks"),
    );
    expect(result).toEqual({
      outcome: "failure",
      status: 400,
      error: "HTTP 400 Bad Request: invalid_blocks",
      latencyMs: expect.any(Number),
    });
  });

  it("fails on a redirect and does not follow it", async () => {
    const target = await receiver();
    const { result } = await sendTo((_request, response) => {
      response.writeHead(308, { location: `${target.url}/moved` }).end();
    });
    expect(result).toMatchObject({
      outcome: "failure",
      status: 308,
      error: `HTTP 308 Permanent Redirect (redirects are not followed: it points to ${target.url}/moved)`,
    });
    expect(target.requests).toEqual([]);
  });

  it("retries a receiver that never answers, once the timeout has passed", async () => {
    const { result, hook } = await sendTo(() => undefined, 300);
    expect(hook.requests).toHaveLength(1);
    expect(result).toEqual({
      outcome: "retry",
      status: undefined,
      error: "no response within 300 ms",
      latencyMs: expect.any(Number),
      afterMs: undefined,
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(250);
    expect(result.latencyMs).toBeLessThan(3_000);
  });

  it("retries a refused connection", async () => {
    const port = await closedPort();
    const sender = createChannelSender(
      "ops",
      channel({ type: "webhook", url: `http://127.0.0.1:${port}/hook` }),
      {
        externalUrl,
      },
    );
    const result = await sender.send(makeNotification());
    expect(result).toMatchObject({ outcome: "retry", status: undefined, afterMs: undefined });
    expect(result.outcome === "retry" && result.error).toMatch(
      /^connection failed: .*ECONNREFUSED/,
    );
  });

  it("fails, without throwing, when the request cannot even be built", async () => {
    const sender = createChannelSender(
      "ops",
      channel({ type: "webhook", url: "http://127.0.0.1:1/", secret }),
      {
        externalUrl,
      },
    );
    // A "." in the id would make the signed content ambiguous: a bug, reported as a value.
    const result = await sender.send(makeNotification({ id: "ntf.1" }));
    expect(result).toMatchObject({ outcome: "failure", status: undefined });
    expect(result.outcome === "failure" && result.error).toMatch(/^cannot build the request: /);
  });

  it("fails, without throwing, when fetch refuses the request", async () => {
    const sender = createChannelSender(
      "ops",
      channel({ type: "webhook", url: "http://127.0.0.1:1/" }),
      {
        externalUrl,
        fetch: () => Promise.reject(new RangeError("something unexpected")),
      },
    );
    expect(await sender.send(makeNotification())).toMatchObject({
      outcome: "failure",
      error: "request refused before sending: something unexpected",
    });
  });
});
