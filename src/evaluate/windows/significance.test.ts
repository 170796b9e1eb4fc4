import { describe, expect, it } from "vitest";
import { aggregateNumeric, aggregateCategorical } from "../drift/aggregate-samples.ts";
import { evaluateDrift } from "../drift/index.ts";
import { categoricalSample, createRandom, normalSample } from "../drift/seeded-random.ts";
import { DAILY_FALSE_ALARM_RATE, defaultSignificance } from "../../rules/significance.ts";

const MINUTE = 60_000;

describe("defaultSignificance", () => {
  it("spends 0.05 a day over the day's evaluations", () => {
    expect(defaultSignificance(5 * MINUTE)).toBeCloseTo(0.05 / 288, 15);
    expect(defaultSignificance(60 * MINUTE)).toBeCloseTo(0.05 / 24, 15);
    expect(defaultSignificance(24 * 60 * MINUTE)).toBe(DAILY_FALSE_ALARM_RATE);
    expect(defaultSignificance(7 * 24 * 60 * MINUTE)).toBe(DAILY_FALSE_ALARM_RATE);
  });
});

// The case that made the defaults what they are (the detection benchmark, issue 7): a rule
// with every default — auto, every 5m, a 1 h window of ~40 outputs against the week before
// (~6,700). Each evaluation here draws a fresh current window, which is harsher than the
// overlapping windows of a real rule (neighbours share 55 of 60 minutes).
describe("a default drift rule on a stable agent (40 outputs an hour, every 5m)", () => {
  const EVALUATIONS = 600; // about 2 days of evaluations
  const CURRENT = 40;
  const REFERENCE = 7 * 24 * CURRENT;
  const significance = defaultSignificance(5 * MINUTE);
  const logNormal = (random: () => number, n: number) =>
    normalSample(random, n, 4, 0.6).map(Math.exp);

  it("raises no more false drifts than its daily budget allows", () => {
    const random = createRandom(7);
    const reference = logNormal(random, REFERENCE);
    let drifts = 0;
    let distanceWouldHave = 0;
    for (let i = 0; i < EVALUATIONS; i++) {
      const aggregates = aggregateNumeric(reference, logNormal(random, CURRENT));
      const outcome = evaluateDrift("auto", aggregates, { significance });
      expect(outcome.method).toBe("ks");
      if (outcome.drifted) drifts++;
      // What auto used to pick with a reference this large: a distance with a fixed 0.1.
      if (evaluateDrift("wasserstein", aggregates).drifted) distanceWouldHave++;
    }
    // Budget: 0.05 a day × 2 days ≈ 0.1 expected; allow 2.
    expect(drifts).toBeLessThanOrEqual(2);
    // The old choice: a 40-sample window is a tenth of a standard deviation off by chance.
    expect(distanceWouldHave / EVALUATIONS).toBeGreaterThan(0.3);
    console.info(
      `stable, ${EVALUATIONS} evaluations: ${drifts} drifts at the default, wasserstein 0.1 would have raised ${distanceWouldHave}`,
    );
  });

  it("categorical too: chi-square at the corrected level instead of Jensen–Shannon 0.1", () => {
    const shares = [0.42, 0.22, 0.16, 0.1, 0.1];
    const random = createRandom(11);
    const reference = categoricalSample(random, REFERENCE, shares);
    let drifts = 0;
    for (let i = 0; i < EVALUATIONS; i++) {
      const aggregates = aggregateCategorical(
        reference,
        categoricalSample(random, 2 * CURRENT, shares),
        shares.length,
      );
      const outcome = evaluateDrift("auto", aggregates, { significance });
      expect(outcome.method).toBe("chi2");
      if (outcome.drifted) drifts++;
    }
    expect(drifts).toBeLessThanOrEqual(2);
  });

  it("still catches a planted shift: values ×100 in half the window (30 minutes into a unit error), or a 1.5 sd shift", () => {
    const random = createRandom(13);
    const reference = logNormal(random, REFERENCE);
    let unitErrors = 0;
    let shifted = 0;
    const SEEDS = 200;
    for (let i = 0; i < SEEDS; i++) {
      const current = logNormal(random, CURRENT).map((v, j) => (j < CURRENT / 2 ? v * 100 : v));
      if (evaluateDrift("auto", aggregateNumeric(reference, current), { significance }).drifted) {
        unitErrors++;
      }
      const moved = normalSample(random, CURRENT, 4 + 1.5 * 0.6, 0.6).map(Math.exp);
      if (evaluateDrift("auto", aggregateNumeric(reference, moved), { significance }).drifted) {
        shifted++;
      }
    }
    expect(unitErrors / SEEDS).toBeGreaterThanOrEqual(0.95);
    expect(shifted / SEEDS).toBeGreaterThanOrEqual(0.95);
  });
});
