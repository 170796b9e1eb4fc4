import { describe, expect, it } from "vitest";
import { notificationConfigSchema } from "./channel-config.ts";
import { makeAlert } from "./make-notification.ts";
import { compileRoutes, routeChannels } from "./route-channels.ts";

const webhook = { type: "webhook", url: "https://hooks.example.com/x" } as const;

const config = notificationConfigSchema.parse({
  channels: { pager: webhook, billing: webhook, slack: webhook, audit: webhook, ops: webhook },
  routes: [
    // Everything goes to audit, and routing goes on.
    { channels: ["audit"], continue: true },
    {
      match: { severity: "critical", labels: { team: "billing" } },
      channels: ["pager", "billing"],
    },
    { match: { severity: ["warning", "critical"] }, channels: ["slack"] },
    {
      match: { labels: { service: ["checkout-*", "payments"], env: "prod*" } },
      channels: ["billing"],
    },
  ],
  defaultChannels: ["ops"],
});

function route(
  severity: "info" | "warning" | "critical",
  labels: Record<string, string>,
): string[] {
  return routeChannels(config.routes, config.defaultChannels, makeAlert({ severity, labels }));
}

describe("routeChannels", () => {
  it.each([
    [
      "critical billing: the first full match wins",
      "critical",
      { team: "billing" },
      ["audit", "pager", "billing"],
    ],
    [
      "critical elsewhere: falls through to severity",
      "critical",
      { team: "search" },
      ["audit", "slack"],
    ],
    ["warning", "warning", { team: "billing" }, ["audit", "slack"]],
    [
      "info on a prod checkout service: globs",
      "info",
      { service: "checkout-api", env: "prod-eu" },
      ["audit", "billing"],
    ],
    [
      "info on payments (exact entry of a list)",
      "info",
      { service: "payments", env: "prod" },
      ["audit", "billing"],
    ],
    [
      "info on staging: env does not match",
      "info",
      { service: "payments", env: "staging" },
      ["audit"],
    ],
    ["info without env: a matcher needs its label", "info", { service: "payments" }, ["audit"]],
  ] as const)("%s", (_name, severity, labels, expected) => {
    expect(route(severity, labels)).toEqual(expected);
  });

  it("uses the default channels only when no route matched", () => {
    const routes = notificationConfigSchema.parse({
      channels: { pager: webhook, ops: webhook },
      routes: [{ match: { severity: "critical" }, channels: ["pager"], continue: true }],
      defaultChannels: ["ops"],
    }).routes;
    // A matching route with continue: true still counts as matched.
    expect(routeChannels(routes, ["ops"], makeAlert({ severity: "critical" }))).toEqual(["pager"]);
    expect(routeChannels(routes, ["ops"], makeAlert({ severity: "info" }))).toEqual(["ops"]);
    expect(routeChannels(routes, [], makeAlert({ severity: "info" }))).toEqual([]);
  });

  it("lists each channel once, in route order", () => {
    const routes = notificationConfigSchema.parse({
      channels: { a: webhook, b: webhook },
      routes: [{ channels: ["b", "a"], continue: true }, { channels: ["a", "b"] }],
      defaultChannels: [],
    }).routes;
    expect(routeChannels(routes, [], makeAlert())).toEqual(["b", "a"]);
  });

  it("matches exactly unless the value holds * or ?, case-sensitively", () => {
    const routes = notificationConfigSchema.parse({
      channels: { a: webhook },
      routes: [{ match: { labels: { agent: "invoice-?x*" } }, channels: ["a"] }],
      defaultChannels: [],
    }).routes;
    const agent = (name: string) =>
      routeChannels(routes, [], makeAlert({ labels: { agent: name } }));
    expect([
      agent("invoice-1x"),
      agent("invoice-1xyz"),
      agent("invoice-x"),
      agent("Invoice-1x"),
    ]).toEqual([["a"], ["a"], [], []]);
  });

  it("compiles once with compileRoutes and answers like routeChannels", () => {
    const router = compileRoutes(config.routes, config.defaultChannels);
    for (const severity of ["info", "warning", "critical"] as const) {
      const alert = makeAlert({ severity });
      expect(router(alert)).toEqual(routeChannels(config.routes, config.defaultChannels, alert));
    }
  });

  it("sends everything to the defaults when there are no routes", () => {
    expect(routeChannels([], ["ops", "slack"], makeAlert())).toEqual(["ops", "slack"]);
  });
});
