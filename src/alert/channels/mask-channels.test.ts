import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { notificationConfigSchema } from "./channel-config.ts";
import { maskChannels, maskUrl } from "./mask-channels.ts";

describe("maskChannels", () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const { channels } = notificationConfigSchema.parse({
    channels: {
      signed: {
        type: "webhook",
        url: "https://hooks.example.com/plumbline?tenant=acme&token=tk-123",
        secret,
        headers: {
          Authorization: "Bearer abc",
          "X-Api-Key": "k-1",
          "X-Auth-Token": "t-1",
          "X-Client-Secret": "s-1",
          "X-Team": "billing",
        },
      },
      slack: {
        type: "webhook",
        format: "slack",
        url: "https://hooks.slack.com/services/T0AB/B0CD/xoxbSECRET",
      },
      mattermost: {
        type: "webhook",
        format: "slack",
        url: "https://chat.example.com/hooks/mmSECRET",
      },
      am: {
        type: "alertmanager",
        url: "https://plumbline:pa55word@alertmanager.example.com:9093/",
      },
    },
  });

  it("masks secrets, credential headers, URL passwords, token parameters and Slack tokens", () => {
    expect(maskChannels(channels)).toEqual({
      signed: {
        type: "webhook",
        url: "https://hooks.example.com/plumbline?tenant=acme&token=***",
        secret: "***",
        headers: {
          Authorization: "***",
          "X-Api-Key": "***",
          "X-Auth-Token": "***",
          "X-Client-Secret": "***",
          "X-Team": "billing",
        },
        timeoutMs: 10_000,
        format: "plumbline",
      },
      slack: {
        type: "webhook",
        format: "slack",
        url: "https://hooks.slack.com/services/T0AB/B0CD/***",
        headers: {},
        timeoutMs: 10_000,
      },
      mattermost: {
        type: "webhook",
        format: "slack",
        url: "https://chat.example.com/hooks/***",
        headers: {},
        timeoutMs: 10_000,
      },
      am: {
        type: "alertmanager",
        url: "https://plumbline:***@alertmanager.example.com:9093/",
        headers: {},
        timeoutMs: 10_000,
        resendMs: 300_000,
      },
    });
  });

  it("leaves the config it was given alone", () => {
    maskChannels(channels);
    expect(channels["signed"]).toMatchObject({ secret, headers: { Authorization: "Bearer abc" } });
  });

  it("never prints a secret anywhere", () => {
    const printed = JSON.stringify(maskChannels(channels));
    for (const value of [
      secret.slice(6),
      "abc",
      "k-1",
      "t-1",
      "s-1",
      "tk-123",
      "SECRET",
      "pa55word",
    ]) {
      expect(printed).not.toContain(value);
    }
  });
});

describe("maskUrl", () => {
  it.each([
    ["https://example.com/hook", "https://example.com/hook"],
    ["https://u:p@example.com/", "https://u:***@example.com/"],
    [
      "https://example.com/h?api_key=1&sig=2&code=3&x=4",
      "https://example.com/h?api_key=***&sig=***&code=***&x=4",
    ],
    [
      "https://hooks.slack.com/workflows/T0/A0/123/abcSECRET",
      "https://hooks.slack.com/workflows/T0/A0/123/***",
    ],
    ["https://hooks.slack.com/", "https://hooks.slack.com/"],
    ["not a url", "***"],
  ])("%s → %s", (url, expected) => {
    expect(maskUrl(url)).toBe(expected);
  });
});
