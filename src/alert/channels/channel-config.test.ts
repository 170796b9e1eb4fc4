import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { channelSchema, notificationConfigSchema, routeChannelIssues } from "./channel-config.ts";

const secret = `whsec_${randomBytes(32).toString("base64")}`;

function issuesOf(input: unknown): string[] {
  const parsed = notificationConfigSchema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("channelSchema", () => {
  it("fills the webhook defaults", () => {
    expect(
      channelSchema.parse({ type: "webhook", url: "https://hooks.example.com/plumbline" }),
    ).toEqual({
      type: "webhook",
      url: "https://hooks.example.com/plumbline",
      headers: {},
      timeoutMs: 10_000,
      format: "plumbline",
    });
  });

  it("takes every webhook option", () => {
    const channel = channelSchema.parse({
      type: "webhook",
      url: "http://127.0.0.1:9000/hook",
      headers: { "X-Team": "billing", Authorization: "Bearer abc" },
      timeoutMs: 2_000,
      format: "alertmanager",
      secret,
    });
    expect(channel).toMatchObject({ format: "alertmanager", secret, timeoutMs: 2_000 });
  });

  it("fills the alertmanager defaults", () => {
    expect(channelSchema.parse({ type: "alertmanager", url: "http://alertmanager:9093" })).toEqual({
      type: "alertmanager",
      url: "http://alertmanager:9093",
      headers: {},
      timeoutMs: 10_000,
      resendMs: 300_000,
    });
  });

  it.each([
    ["an unknown type", { type: "email", url: "https://x" }, /type/],
    [
      "a URL that is not http",
      { type: "webhook", url: "ftp://example.com" },
      /http:\/\/ or https:\/\//,
    ],
    ["no URL", { type: "webhook" }, /url/],
    ["an unknown format", { type: "webhook", url: "https://x.dev", format: "teams" }, /format/],
    ["a typo in a key", { type: "webhook", url: "https://x.dev", timeout: 5 }, /timeout/],
    [
      "format on alertmanager",
      { type: "alertmanager", url: "https://x.dev", format: "slack" },
      /format/,
    ],
    ["a tiny timeout", { type: "webhook", url: "https://x.dev", timeoutMs: 5 }, /timeoutMs/],
    [
      "a header Plumbline sets",
      { type: "webhook", url: "https://x.dev", headers: { "Webhook-Signature": "x" } },
      /Webhook-Signature is set by Plumbline/,
    ],
    [
      "a header value on two lines",
      { type: "webhook", url: "https://x.dev", headers: { "X-A": "a\r\nX-B: b" } },
      /one line/,
    ],
    [
      "a bad header name",
      { type: "webhook", url: "https://x.dev", headers: { "X A": "a" } },
      /not a header name/,
    ],
  ])("refuses %s", (_name, input, expected) => {
    const parsed = channelSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    const text = parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n");
    expect(text).toMatch(expected);
  });

  it("refuses a malformed secret without repeating it", () => {
    const bad = "whsec_not base64 but a hunter2 password";
    const parsed = channelSchema.safeParse({ type: "webhook", url: "https://x.dev", secret: bad });
    expect(parsed.success).toBe(false);
    const [issue] = parsed.error?.issues ?? [];
    expect(issue?.path).toEqual(["secret"]);
    expect(issue?.message).toMatch(/standard base64/);
    expect(JSON.stringify(parsed.error?.issues)).not.toContain("hunter2");
    const noPrefix = channelSchema.safeParse({
      type: "webhook",
      url: "https://x.dev",
      secret: "hunter2",
    });
    expect(noPrefix.error?.issues[0]?.message).toMatch(/starts with "whsec_"/);
  });
});

describe("notificationConfigSchema", () => {
  const channels = {
    ops: { type: "webhook", url: "https://hooks.example.com/ops" },
    slack: { type: "webhook", url: "https://hooks.slack.com/services/T0/B0/abc", format: "slack" },
    am: { type: "alertmanager", url: "http://alertmanager:9093" },
  };

  it("is empty when nothing is configured", () => {
    expect(notificationConfigSchema.parse({})).toEqual({
      channels: {},
      routes: [],
      defaultChannels: [],
    });
  });

  it("sends everything to every channel when there are no routes and no defaults", () => {
    expect(notificationConfigSchema.parse({ channels }).defaultChannels).toEqual([
      "ops",
      "slack",
      "am",
    ]);
  });

  it("parses routes with their defaults", () => {
    const config = notificationConfigSchema.parse({
      channels,
      routes: [
        {
          match: { severity: "critical", labels: { team: ["billing", "pay*"] } },
          channels: ["am"],
        },
        { channels: ["slack"], continue: true },
      ],
      defaultChannels: ["ops"],
    });
    expect(config.routes).toEqual([
      {
        match: { severity: "critical", labels: { team: ["billing", "pay*"] } },
        channels: ["am"],
        continue: false,
      },
      { channels: ["slack"], continue: true },
    ]);
    expect(config.defaultChannels).toEqual(["ops"]);
  });

  it("names the route index and the channel when a route names an unknown channel", () => {
    expect(
      issuesOf({
        channels,
        routes: [
          { channels: ["ops"] },
          { match: { severity: "info" }, channels: ["slack", "pagerduty"] },
        ],
        defaultChannels: ["opz"],
      }),
    ).toEqual([
      'routes.1.channels.1: routes[1] sends to channel "pagerduty", which is not in channels (defined: ops, slack, am)',
      'defaultChannels.0: defaultChannels names channel "opz", which is not in channels (defined: ops, slack, am)',
    ]);
  });

  it("asks where unmatched alerts go once there are routes", () => {
    expect(issuesOf({ channels, routes: [{ channels: ["am"] }] })).toEqual([
      "defaultChannels: routes are set, so say where alerts that match none of them go: defaultChannels is a list of channels, or [] to send them nowhere",
    ]);
    expect(issuesOf({ channels, routes: [{ channels: ["am"] }], defaultChannels: [] })).toEqual([]);
  });

  it("refuses bad route shapes", () => {
    expect(issuesOf({ channels, routes: [{ channels: [] }], defaultChannels: [] })).toEqual([
      expect.stringMatching(/^routes\.0\.channels: /),
    ]);
    expect(
      issuesOf({
        channels,
        routes: [{ match: { severity: "fatal" }, channels: ["ops"] }],
        defaultChannels: [],
      }),
    ).toEqual([expect.stringMatching(/^routes\.0\.match\.severity: /)]);
    expect(
      issuesOf({
        channels,
        routes: [{ match: { labels: { team: [] } }, channels: ["ops"] }],
        defaultChannels: [],
      }),
    ).toEqual([expect.stringMatching(/^routes\.0\.match\.labels\.team: /)]);
    expect(
      issuesOf({
        channels,
        routes: [{ match: { service: "x" }, channels: ["ops"] }],
        defaultChannels: [],
      }),
    ).toEqual([expect.stringMatching(/^routes\.0\.match: .*service/)]);
  });

  it("refuses channel names that cannot be used in a URL path", () => {
    expect(issuesOf({ channels: { "on call": channels.ops } })).toEqual([
      expect.stringMatching(/^channels\.on call: .*channel name/),
    ]);
  });

  it("reports every problem at once with routeChannelIssues", () => {
    const issues = routeChannelIssues({
      channels: {},
      routes: [{ channels: ["a", "b"] }],
      defaultChannels: ["c"],
    });
    expect(issues.map((issue) => [issue.path.join("."), issue.channel])).toEqual([
      ["routes.0.channels.0", "a"],
      ["routes.0.channels.1", "b"],
      ["defaultChannels.0", "c"],
    ]);
    expect(issues[0]?.message).toContain("no channels are defined");
  });
});
