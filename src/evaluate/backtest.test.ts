import type { CompiledRule } from "./compile-rule.ts";
import { parseTestRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import { windowRow } from "../../test/helpers/window-rows.ts";
import { backtest, type BacktestSource } from "./backtest.ts";

import type { Rule } from "../rules/rule.ts";

const HOUR = 3_600_000;
const SINCE = Date.UTC(2026, 10, 1);

function rule(json: Record<string, unknown>): CompiledRule {
  const loaded = parseTestRule(json, `${String(json["id"])}.json`);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.rule;
}

const drift = rule({
  id: "totals",
  match: { service: "billing" },
  check: { type: "drift", field: "duration_ms", every: "30m" },
});
const perOutput = rule({
  id: "non-empty",
  check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
});

/** A source that records what was read and holds nothing. */
function emptySource(reads: string[]): BacktestSource {
  return {
    outputsInWindow: async (from) => (reads.push(`outputs ${from}`), []),
    tracesStartingInWindow: async (from) => (reads.push(`traces ${from}`), []),
    outputsOfTraces: async () => [],
  };
}

const evaluateOne = (r: Rule, at: number) =>
  windowRow(r, at, { status: at === SINCE + 2 * HOUR ? "drift" : "ok" });

const batches: number[][] = [];
const evaluateWindows = async (r: Rule, _spec: unknown, ats: readonly number[]) => {
  batches.push([...ats]);
  return ats.map((at) => evaluateOne(r, at));
};

describe("backtest progress", () => {
  it("reports every window evaluation, and reads no outputs when only window rules run", async () => {
    const reads: string[] = [];
    const progress: [number, number][] = [];
    const [summary] = await backtest({
      rules: [drift],
      source: emptySource(reads),
      sinceMs: SINCE,
      untilMs: SINCE + 3 * HOUR,
      evaluateWindows,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(reads).toEqual([]);
    // every 30m in (since, since + 3h]: 6 evaluations, each one a progress line.
    expect(progress).toEqual([1, 2, 3, 4, 5, 6].map((done) => [done, 6]));
    expect(summary?.windows).toHaveLength(6);
    // The first window alone, then the rest in one batch (100 + 100 rows a window).
    expect(batches.at(-2)).toEqual([SINCE + HOUR / 2]);
    expect(batches.at(-1)).toHaveLength(5);
    expect(summary).toMatchObject({ evaluated: 6, failed: 1, firstAt: "2026-11-01T02:00:00.000Z" });
  });

  it("counts hours of outputs and window evaluations in one total", async () => {
    const reads: string[] = [];
    const progress: [number, number][] = [];
    await backtest({
      rules: [drift, perOutput],
      source: emptySource(reads),
      sinceMs: SINCE,
      untilMs: SINCE + 3 * HOUR,
      evaluateWindows,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(reads.filter((r) => r.startsWith("outputs"))).toHaveLength(3);
    expect(progress.map(([done]) => done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(progress.map(([, total]) => total))).toEqual(new Set([9]));
  });
});
