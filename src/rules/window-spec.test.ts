import { parseTestRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";

import { parseWindowCheck, type WindowSpec } from "./window-spec.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function specOf(check: Record<string, unknown>, match: Record<string, unknown> = {}): WindowSpec {
  const loaded = parseTestRule({ id: "w", match, check }, "w.json");
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const rule = loaded.rule.check;
  if (rule.type !== "drift" && rule.type !== "rate") throw new Error("not a window check");
  const parsed = parseWindowCheck(rule);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.spec;
}

function errorsOf(check: Record<string, unknown>, match: Record<string, unknown> = {}) {
  const loaded = parseTestRule({ id: "w", match, check }, "w.json");
  if (loaded.ok) throw new Error("expected errors");
  return loaded.errors.map((e) => [e.pointer, e.message]);
}

describe("drift checks", () => {
  it("defaults: auto, 1h window every 5m against the 7 days before, 100 samples a side", () => {
    expect(specOf({ type: "drift", field: "duration_ms" })).toMatchObject({
      type: "drift",
      kind: "numeric",
      method: "auto",
      threshold: undefined,
      windowMs: 60 * MINUTE,
      everyMs: 5 * MINUTE,
      reference: { type: "trailing", lengthMs: 7 * DAY },
      exclude: [],
      minCurrent: 100,
      minReference: 100,
      bins: 10,
      topK: 20,
    });
    expect(specOf({ type: "drift", field: "tool.name" })).toMatchObject({ kind: "categorical" });
  });

  it("references: pinned, previous_version, exclusions", () => {
    const pinned = specOf({
      type: "drift",
      field: "model",
      reference: { from: "2026-11-01T00:00:00Z", to: "2026-11-08T00:00:00Z" },
      exclude: [{ from: "2026-11-03T10:00:00Z", to: "2026-11-03T12:00:00+00:00", reason: "INC-1" }],
    });
    expect(pinned).toMatchObject({
      reference: { type: "pinned", fromMs: Date.parse("2026-11-01T00:00:00Z") },
      exclude: [
        { fromMs: Date.parse("2026-11-03T10:00:00Z"), toMs: Date.parse("2026-11-03T12:00:00Z") },
      ],
    });
    expect(
      specOf({
        type: "drift",
        field: "output.length",
        reference: { previous_version: "model", window: "2d" },
      }),
    ).toMatchObject({ reference: { type: "previous_version", on: "model", lengthMs: 2 * DAY } });
  });

  it("refuses what cannot work, with a pointer", () => {
    expect(errorsOf({ type: "drift", field: "output.json.total" })).toEqual([
      ["/check/kind", expect.stringMatching(/numeric" or "categorical/)],
    ]);
    expect(errorsOf({ type: "drift", field: "tool.name", method: "ks" })).toEqual([
      ["/check/method", "ks needs a numeric field"],
    ]);
    expect(errorsOf({ type: "drift", field: "duration_ms", method: "z" })[0]?.[0]).toBe(
      "/check/method",
    );
    expect(
      errorsOf({ type: "drift", field: "duration_ms", method: "ks", threshold: 2 })[0]?.[0],
    ).toBe("/check/threshold");
    expect(
      errorsOf({
        type: "drift",
        field: "model",
        reference: { from: "2026-11-08T00:00:00Z", to: "2026-11-01T00:00:00Z" },
      }),
    ).toEqual([["/check/reference/to", expect.stringMatching(/is not after/)]]);
    expect(
      errorsOf({
        type: "drift",
        field: "model",
        reference: { from: "last week", to: "2026-11-01T00:00:00Z" },
      })[0]?.[0],
    ).toBe("/check/reference/from");
    expect(errorsOf({ type: "drift", field: "model", every: "1s" })).toEqual([
      ["/check/every", "1s is shorter than 10s"],
    ]);
    expect(errorsOf({ type: "drift", field: "output.jsn" })[0]?.[0]).toBe("/check/field");
    expect(
      errorsOf({ type: "drift", field: "output.json.items[*].sku", kind: "categorical" })[0]?.[0],
    ).toBe("/check/field");
  });

  it("a match that SQL cannot express is refused at load", () => {
    const errors = errorsOf(
      { type: "drift", field: "output.length" },
      { where: [{ field: "tool.result", error_payload: true }] },
    );
    expect(errors[0]?.[0]).toBe("/match/where/0/error_payload");
  });
});

describe("rate checks", () => {
  it("share against a threshold, aggregates, failures of a rule, baselines", () => {
    expect(
      specOf({ type: "rate", share: [{ field: "finish_reason", equals: "length" }], above: 0.05 }),
    ).toMatchObject({
      measure: { type: "share" },
      comparison: { type: "above", value: 0.05 },
      windowMs: 15 * MINUTE,
      everyMs: 5 * MINUTE,
      minSamples: 20,
    });
    expect(
      specOf({ type: "rate", aggregate: "p95", field: "duration_ms", above: 8000 }),
    ).toMatchObject({
      measure: { type: "aggregate", fn: "quantile", q: 0.95 },
    });
    expect(specOf({ type: "rate", aggregate: "count", below: 10 })).toMatchObject({
      measure: { type: "aggregate", fn: "count", field: undefined },
      comparison: { type: "below", value: 10 },
    });
    expect(
      specOf({ type: "rate", failures: "invoice-schema", baseline: { minDelta: 0.01 } }),
    ).toMatchObject({
      measure: { type: "failures", ruleId: "invoice-schema" },
      comparison: {
        type: "baseline",
        reference: { type: "trailing", lengthMs: 7 * DAY },
        // 0.05 per day over 288 evaluations a day (every 5m)
        alpha: 0.05 / 288,
        direction: "above",
        minDelta: 0.01,
      },
    });
  });

  it("refuses incomplete or contradictory rate checks", () => {
    expect(errorsOf({ type: "rate", failures: "x" })).toEqual([
      ["/check", "say what breaches the rule: above, below or baseline"],
    ]);
    expect(errorsOf({ type: "rate", failures: "x", above: 0.1, below: 0.2 })).toEqual([
      ["/check", "give one of above, below and baseline"],
    ]);
    expect(errorsOf({ type: "rate", aggregate: "p95", above: 1 })).toEqual([
      ["/check/field", "p95 needs a field"],
    ]);
    expect(errorsOf({ type: "rate", aggregate: "avg", field: "model", above: 1 })[0]?.[0]).toBe(
      "/check/field",
    );
    expect(
      errorsOf({ type: "rate", aggregate: "avg", field: "duration_ms", baseline: {} })[0]?.[0],
    ).toBe("/check/baseline");
    expect(
      errorsOf({ type: "rate", share: [{ field: "output.txt", equals: "x" }], above: 0.1 })[0]?.[0],
    ).toBe("/check/share/0/field");
  });

  it("a rate or drift rule's alert block follows its evaluations", () => {
    const loaded = parseTestRule(
      { id: "w", check: { type: "rate", failures: "x", above: 0.1 }, alert: { mode: "rate" } },
      "w.json",
    );
    expect(loaded.ok).toBe(false);
    expect(loaded.ok ? [] : loaded.errors.map((e) => e.pointer)).toEqual(["/alert/mode"]);
  });
});
