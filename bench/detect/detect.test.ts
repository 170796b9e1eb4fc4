/**
 * The detection benchmark's smaller version, in npm test: the control run, the three
 * scenarios the built-in detectors catch on their own, two that need window rules (a drift of
 * a number, a shift of a category mix) and one only a reader sees (a confirmation naming the
 * wrong order: the judge-same-entity template against a deterministic fake judge,
 * wrong-entity.ts), each through its own `plumbline serve`
 * child, on 12 stable hours then 4 with the failure at 40 runs an hour, with every rule of the
 * full benchmark (window rules replayed by the backtest). The seed is one whose stable hours
 * hold every kind of the simulation's legitimate noise (out of stock, retried tool errors,
 * empty searches, summaries stopped at max_tokens), so that false alarms on it show. Fails
 * when an expected rule stops catching its failure or catches it later than an hour, and when
 * any rule alerts where nothing failed. The full benchmark is `npm run bench:detect`.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { runBenchmark, type BenchmarkResult } from "./benchmark.ts";
import type { ScenarioId } from "./scenarios.ts";
import { expectedRules, type ScenarioScore } from "./score.ts";

const SCENARIOS: readonly ScenarioId[] = [
  "auth-error-as-data",
  "duplicate-side-effect",
  "empty-output",
  "unit-error",
  "category-shift",
  "wrong-entity",
];

let result: BenchmarkResult;
const scoreOf = (scenario: ScenarioId): ScenarioScore => {
  const found = result.results.find((r) => r.score.scenario === scenario);
  if (found === undefined) throw new Error(`${scenario} did not run`);
  return found.score;
};

beforeAll(async () => {
  result = await runBenchmark({
    scenarios: SCENARIOS,
    stableHours: 12,
    failureHours: 4,
    runsPerHour: 40,
    seed: 20_260_106,
    parallel: 2,
  });
}, 300_000);

describe("detection benchmark, short version", () => {
  it.each(SCENARIOS)("%s: an expected rule alerts on the failure within the hour", (scenario) => {
    const score = scoreOf(scenario);
    expect(score.affectedRuns).toBeGreaterThan(0);
    expect(score.detected, JSON.stringify(score.detections)).toBe(true);
    expect(expectedRules(scenario)).toContain(score.rule);
    expect(score.ttdMinutes).toBeGreaterThanOrEqual(0);
    expect(score.ttdMinutes).toBeLessThanOrEqual(60);
  });

  it("has every kind of legitimate noise in the control run", () => {
    const { legitimate } = result.results[0]?.data.simulation ?? { legitimate: {} };
    expect(Object.keys(legitimate)).toHaveLength(4);
    for (const [event, count] of Object.entries(legitimate)) {
      expect(count, event).toBeGreaterThan(0);
    }
  });

  it("raises no alert in the control run", () => {
    expect(scoreOf("control").falseAlarms).toEqual([]);
  });

  it.each(SCENARIOS)("%s: raises no alert before injection", (scenario) => {
    expect(scoreOf(scenario).falseAlarms).toEqual([]);
  });

  it("replays every run of every scenario on one simulated timeline", () => {
    const [control, ...others] = result.results;
    expect(control?.score.scenario).toBe("control");
    for (const { data } of others) {
      expect(data.simulation.runs).toBe(control?.data.simulation.runs);
      expect(data.simulation.injectedAtMs).toBe(result.injectedAtMs);
    }
  });
});
