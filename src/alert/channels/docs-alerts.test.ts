/**
 * docs/alerts.md cannot drift from the code: each block marked `<!-- example: name -->` is
 * compared with what the code builds for the same notification, the config example is parsed
 * by the real schema, and the verification snippet verifies a request the sender really sent.
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { channelSchema, notificationConfigSchema } from "./channel-config.ts";
import { makeNotification } from "./make-notification.ts";
import { startReceiver, type TestReceiver } from "../../../test/helpers/test-receiver.ts";
import { buildChannelRequest, createChannelSender } from "./transport.ts";

const docs = readFileSync(
  fileURLToPath(new URL("../../../docs/alerts.md", import.meta.url)),
  "utf8",
);

/** The fenced block right after `<!-- example: name -->`. */
function example(name: string): string {
  const marker = `<!-- example: ${name} -->`;
  const at = docs.indexOf(marker);
  if (at < 0) throw new Error(`docs/alerts.md has no ${marker}`);
  const block = /```[a-z]*\n([\s\S]*?)\n```/.exec(docs.slice(at + marker.length));
  if (block === null) throw new Error(`no code block after ${marker}`);
  return block[1] ?? "";
}

// The notification every example shows, sent at this moment, through the config example's channels.
const now = Date.parse("2026-01-05T09:31:48.250Z");
const configFile = JSON.parse(example("config")) as { alerts: { externalUrl: string } };
const config = notificationConfigSchema.parse(configFile.alerts);
const externalUrl = configFile.alerts.externalUrl;

function body(channelName: string): unknown {
  const channel = config.channels[channelName];
  if (channel === undefined) throw new Error(`the config example has no channel ${channelName}`);
  const notification = makeNotification({ channel: channelName });
  return JSON.parse(
    buildChannelRequest(channelName, channel, notification, { externalUrl, now }).body,
  );
}

describe("docs/alerts.md", () => {
  it("shows a config the schema accepts", () => {
    expect(Object.keys(config.channels)).toEqual([
      "oncall-alertmanager",
      "billing-slack",
      "incident-bot",
      "oncall-grafana",
    ]);
  });

  it.each([
    ["plumbline", "incident-bot"],
    ["alertmanager-webhook", "oncall-grafana"],
    ["alertmanager-api", "oncall-alertmanager"],
    ["slack", "billing-slack"],
  ])("shows the %s body exactly as the code builds it", (name, channelName) => {
    expect(JSON.parse(example(name))).toEqual(body(channelName));
  });

  it("shows the signature headers the code computes", () => {
    const channel = config.channels["incident-bot"];
    if (channel === undefined) throw new Error("no incident-bot");
    const request = buildChannelRequest(
      "incident-bot",
      channel,
      makeNotification({ channel: "incident-bot" }),
      {
        externalUrl,
        now,
      },
    );
    const shown = Object.fromEntries(
      example("plumbline-request")
        .split("\n")
        .slice(1)
        .map((line) => line.split(": ") as [string, string])
        .map(([name, value]) => [name.toLowerCase(), value]),
    );
    const url = new URL(request.url);
    expect(example("plumbline-request").split("\n")[0]).toBe(`POST ${url.pathname} HTTP/1.1`);
    expect(shown).toEqual({ host: url.host, ...request.headers });
  });

  describe("the verification snippet", () => {
    const source = example("verify")
      .replace(/^import .*$/m, "")
      .replace("export function", "function");
    const verifyWebhook = new Function(
      "createHmac",
      "timingSafeEqual",
      "Buffer",
      `${source}\nreturn verifyWebhook;`,
    )(createHmac, timingSafeEqual, Buffer) as (
      secret: string,
      headers: Record<string, unknown>,
      rawBody: string,
    ) => boolean;
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let receiver: TestReceiver | undefined;
    afterAll(() => receiver?.close());

    it("accepts what a signed channel really sent, and nothing else", async () => {
      receiver = await startReceiver();
      const sender = createChannelSender(
        "hook",
        channelSchema.parse({ type: "webhook", url: receiver.url, secret }),
        {
          externalUrl,
        },
      );
      expect(await sender.send(makeNotification())).toMatchObject({ outcome: "success" });
      const [request] = receiver.requests;
      if (request === undefined) throw new Error("nothing received");
      expect(verifyWebhook(secret, request.headers, request.body)).toBe(true);
      expect(verifyWebhook(secret, request.headers, request.body.replace("12", "13"))).toBe(false);
      expect(
        verifyWebhook(
          `whsec_${Buffer.alloc(24).toString("base64")}`,
          request.headers,
          request.body,
        ),
      ).toBe(false);
      const old = String(Number(request.headers["webhook-timestamp"]) - 600);
      expect(
        verifyWebhook(secret, { ...request.headers, "webhook-timestamp": old }, request.body),
      ).toBe(false);
    });
  });
});
