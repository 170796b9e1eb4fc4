import { describe, expect, it } from "vitest";
import { alertSpecSchema, parseAlertSpec, type ParsedAlertSpec } from "./alert-spec.ts";

const MIN = 60_000;

function ok(block: unknown, labels: Record<string, string> = {}): ParsedAlertSpec {
  const result = parseAlertSpec(block, labels);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.spec;
}

function errors(block: unknown, labels: Record<string, string> = {}) {
  const result = parseAlertSpec(block, labels);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.spec)}`);
  return result.errors;
}

describe("parseAlertSpec: defaults", () => {
  it("no block: each, grouped by service and agent, fires at once, resolves after 15m quiet", () => {
    expect(ok(undefined)).toStrictEqual({
      mode: "each",
      groupBy: ["service", "agent"],
      forMs: 0,
      resolveAfterMs: 15 * MIN,
      repeatIntervalMs: 240 * MIN,
    });
    expect(ok({})).toStrictEqual(ok(undefined));
    expect(ok({ mode: "each" })).toStrictEqual(ok(undefined));
  });

  it("rate: for 5m, resolve after 5m, window 15m, 20 samples, recovery half the threshold", () => {
    expect(ok({ mode: "rate", threshold: 0.2 })).toStrictEqual({
      mode: "rate",
      groupBy: ["service", "agent"],
      forMs: 5 * MIN,
      resolveAfterMs: 5 * MIN,
      repeatIntervalMs: 240 * MIN,
      threshold: 0.2,
      windowMs: 15 * MIN,
      minSamples: 20,
      recoveryThreshold: 0.1,
    });
  });

  it("takes every key as given", () => {
    expect(
      ok(
        {
          mode: "rate",
          groupBy: ["service", "team"],
          for: "2m",
          resolveAfter: "10m",
          repeatInterval: "1h",
          threshold: 0.5,
          window: "1h",
          minSamples: 100,
          recoveryThreshold: 0.4,
        },
        { team: "payments" },
      ),
    ).toStrictEqual({
      mode: "rate",
      groupBy: ["service", "team"],
      forMs: 2 * MIN,
      resolveAfterMs: 10 * MIN,
      repeatIntervalMs: 60 * MIN,
      threshold: 0.5,
      windowMs: 60 * MIN,
      minSamples: 100,
      recoveryThreshold: 0.4,
    });
    expect(
      ok({ groupBy: ["model", "tool", "operation"], for: "1m", resolveAfter: "0" }),
    ).toStrictEqual({
      mode: "each",
      groupBy: ["model", "tool", "operation"],
      forMs: MIN,
      resolveAfterMs: 0,
      repeatIntervalMs: 240 * MIN,
    });
    expect(ok({ groupBy: [] })).toMatchObject({ groupBy: [] });
  });
});

describe("parseAlertSpec: errors name the key and the value", () => {
  it.each([
    [
      { mode: "sometimes" },
      "/alert/mode",
      'alert.mode: "sometimes" is not a mode: use each or rate',
    ],
    [
      { for: "5 minutes" },
      "/alert/for",
      'alert.for: "5 minutes" is not a duration: use an integer and a unit (ms, s, m, h, d, w), like 30s, 5m, 1h30m',
    ],
    [{ resolveAfter: 15 }, "/alert/resolveAfter", "alert.resolveAfter: 15 is not a duration text"],
    [
      { repeatInterval: "0" },
      "/alert/repeatInterval",
      'alert.repeatInterval: "0" is shorter than one minute; notifications would repeat on every evaluation',
    ],
    [
      { mode: "rate", threshold: 1.5 },
      "/alert/threshold",
      "alert.threshold: 1.5 is not a failure ratio (greater than 0, at most 1)",
    ],
    [
      { mode: "rate", threshold: 0 },
      "/alert/threshold",
      "alert.threshold: 0 is not a failure ratio (greater than 0, at most 1)",
    ],
    [
      { mode: "rate", threshold: "10%" },
      "/alert/threshold",
      'alert.threshold: "10%" is not a number',
    ],
    [
      { mode: "rate" },
      "/alert/threshold",
      'alert.threshold: is required for mode "rate": the failure ratio (0 < threshold ≤ 1) that fires the alert',
    ],
    [
      { mode: "rate", threshold: 0.1, recoveryThreshold: 0.2 },
      "/alert/recoveryThreshold",
      "alert.recoveryThreshold: 0.2 is above threshold 0.1; it must be at most the threshold",
    ],
    [
      { mode: "rate", threshold: 0.1, minSamples: 2.5 },
      "/alert/minSamples",
      "alert.minSamples: 2.5 is not a whole number of at least 1",
    ],
    [
      { mode: "rate", threshold: 0.1, minSamples: 0 },
      "/alert/minSamples",
      "alert.minSamples: 0 is not a whole number of at least 1",
    ],
    [
      { mode: "rate", threshold: 0.1, window: "30s" },
      "/alert/window",
      'alert.window: "30s" is shorter than one minute, the resolution of the failure counters',
    ],
    [
      { threshold: 0.1 },
      "/alert/threshold",
      'alert.threshold: only applies to mode "rate" (this alert\'s mode is "each")',
    ],
    [
      { mode: "each", window: "5m" },
      "/alert/window",
      'alert.window: only applies to mode "rate" (this alert\'s mode is "each")',
    ],
    [
      { groupBy: "service" },
      "/alert/groupBy",
      'alert.groupBy: "service" is not a list of label names',
    ],
    [
      { groupBy: ["service", "1x"] },
      "/alert/groupBy/1",
      'alert.groupBy.1: "1x" is not a label name (letters, digits and _, not starting with a digit)',
    ],
    [
      { mode: "rate", threshold: 0.1, groupBy: ["service", "model"] },
      "/alert/groupBy/1",
      'alert.groupBy.1: "model" cannot group a "rate" alert: failure counts are kept per service and agent',
    ],
    [
      { mood: "rate" },
      "/alert",
      'alert: unknown key "mood"; known keys: mode, groupBy, for, resolveAfter, repeatInterval, threshold, window, minSamples, recoveryThreshold',
    ],
    ["each", "/alert", 'alert: "each" is not an object'],
    [null, "/alert", "alert: null is not an object"],
  ])("%j", (block, pointer, message) => {
    expect(errors(block)).toContainEqual({ pointer, message });
  });

  it("groupBy names must be output labels or the rule's own labels", () => {
    expect(errors({ groupBy: ["service", "team"] }, { env: "prod" })).toStrictEqual([
      {
        pointer: "/alert/groupBy/1",
        message:
          'alert.groupBy.1: "team" is not a label of this rule\'s findings; use one of service, agent, operation, model, tool, conversation, env',
      },
    ]);
    expect(ok({ groupBy: ["service", "team"] }, { team: "payments" }).groupBy).toEqual([
      "service",
      "team",
    ]);
  });

  it("groupBy may not repeat a name nor use a reserved label", () => {
    expect(errors({ groupBy: ["service", "service", "rule"] }, { rule: "x" })).toStrictEqual([
      { pointer: "/alert/groupBy/1", message: 'alert.groupBy.1: "service" is listed twice' },
      {
        pointer: "/alert/groupBy/2",
        message: 'alert.groupBy.2: "rule" is a label every alert has; it cannot group alerts',
      },
    ]);
  });

  it("collects every problem, not just the first", () => {
    expect(errors({ mode: "rate", threshold: 2, for: "soon", extra: 1 })).toHaveLength(3);
  });
});

describe("alertSpecSchema", () => {
  it("is usable on its own (without the rule's labels)", () => {
    expect(alertSpecSchema.parse({ mode: "rate", threshold: 0.3 })).toMatchObject({
      mode: "rate",
      recoveryThreshold: 0.15,
    });
  });
});

describe("parseAlertSpec: rules with a rate or drift check", () => {
  it("one alert per rule that follows the evaluations: fire at once, resolve at the first ok", () => {
    const result = parseAlertSpec(undefined, {}, true);
    expect(result).toStrictEqual({
      ok: true,
      spec: {
        mode: "window",
        groupBy: [],
        forMs: 0,
        resolveAfterMs: 0,
        repeatIntervalMs: 240 * MIN,
      },
    });
    const timed = parseAlertSpec(
      { for: "10m", resolveAfter: "30m", repeatInterval: "1h" },
      {},
      true,
    );
    expect(timed.ok && timed.spec).toMatchObject({
      forMs: 10 * MIN,
      resolveAfterMs: 30 * MIN,
      repeatIntervalMs: 60 * MIN,
    });
  });

  it("refuses the keys of each and rate alerts, and bad durations, with pointers", () => {
    const result = parseAlertSpec(
      { mode: "rate", threshold: 0.1, groupBy: ["service"], for: "soon" },
      {},
      true,
    );
    expect(result.ok).toBe(false);
    const pointers = result.ok ? [] : result.errors.map((e) => e.pointer).sort();
    expect(pointers).toEqual(["/alert/for", "/alert/groupBy", "/alert/mode", "/alert/threshold"]);
    const message = result.ok
      ? ""
      : (result.errors.find((e) => e.pointer === "/alert/mode")?.message ?? "");
    expect(message).toMatch(/does not apply to a rate or drift check/);
  });
});
