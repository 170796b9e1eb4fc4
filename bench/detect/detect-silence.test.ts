/**
 * The detection benchmark's silence scenarios (issue 18), in npm test: an agent that goes
 * silent for two hours, a watched JSON field that disappears for two hours, and their control,
 * a lull (half the research agent's runs do not happen for two hours), each through its own
 * `plumbline serve` child with every rule of the full benchmark. The stable period is 25 hours,
 * the least that gives absence rules one earlier day at every hour of the failure period; 3
 * hours with the failure follow, at 40 runs an hour. Fails when a silence is not caught by an
 * expected rule within 30 simulated minutes, and when any rule alerts in the lull, in the
 * control run or before injection. The full benchmark is `npm run bench:detect`.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { runBenchmark, type BenchmarkResult } from "./benchmark.ts";
import type { ScenarioId } from "./scenarios.ts";
import { expectedRules, type ScenarioScore } from "./score.ts";

const SILENCES: readonly ScenarioId[] = ["agent-silent", "field-disappears"];
const CONTROLS: readonly ScenarioId[] = ["control", "traffic-lull"];

let result: BenchmarkResult;
const scoreOf = (scenario: ScenarioId): ScenarioScore => {
  const found = result.results.find((r) => r.score.scenario === scenario);
  if (found === undefined) throw new Error(`${scenario} did not run`);
  return found.score;
};

beforeAll(async () => {
  result = await runBenchmark({
    scenarios: [...SILENCES, "traffic-lull"],
    stableHours: 25,
    failureHours: 3,
    runsPerHour: 40,
    seed: 20_260_106,
    parallel: 2,
  });
}, 600_000);

describe("detection benchmark, silence", () => {
  it.each(SILENCES)("%s: an expected rule alerts within 30 minutes", (scenario) => {
    const score = scoreOf(scenario);
    expect(score.affectedRuns).toBeGreaterThan(0);
    expect(score.detected, JSON.stringify(score.detections)).toBe(true);
    expect(expectedRules(scenario)).toContain(score.rule);
    expect(score.ttdMinutes).toBeGreaterThanOrEqual(0);
    expect(score.ttdMinutes).toBeLessThanOrEqual(30);
  });

  it("catches the silent agent with its own alert, and the missing field by its silence too", () => {
    expect(scoreOf("agent-silent").detections[0]).toMatchObject({
      rule: "builtin.service-silent",
      alert: "service=research-agent",
    });
    const field = scoreOf("field-disappears").detections.map((d) => d.rule);
    expect(field).toContain("orders-total-present");
  });

  it.each(CONTROLS)("%s: raises no alert at all", (scenario) => {
    expect(scoreOf(scenario).falseAlarms).toEqual([]);
  });

  it.each(SILENCES)("%s: raises no alert before injection", (scenario) => {
    expect(scoreOf(scenario).falseAlarms).toEqual([]);
  });
});
