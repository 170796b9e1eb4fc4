import { describe, expect, it } from "vitest";
import { aggregateCategorical, aggregateNumeric } from "./aggregate-samples.ts";
import type { DriftMethod } from "./evaluate-drift.ts";
import { evaluateDrift } from "./evaluate-drift.ts";
import { categoricalSample, createRandom, normalSample } from "./seeded-random.ts";

// Planted shifts, n = 1,000 per window, every applicable method at its default threshold.
const N = 1000;

describe("a mean shift of 0.5 reference standard deviations", () => {
  const random = createRandom(42);
  const aggregates = aggregateNumeric(
    normalSample(random, N, 10, 2),
    normalSample(random, N, 11, 2),
  );

  it.each<DriftMethod>(["ks", "chi2", "psi", "jensen_shannon", "wasserstein", "auto"])(
    "%s detects it",
    (method) => {
      const outcome = evaluateDrift(method, aggregates);
      console.info(
        `${outcome.method}: statistic ${outcome.statistic.toPrecision(4)}, p ${outcome.pValue?.toPrecision(3) ?? "-"}, threshold ${outcome.threshold.toPrecision(3)}`,
      );
      expect(outcome.drifted).toBe(true);
    },
  );
});

describe("the 'refund' share moving from 12% to 38%", () => {
  const random = createRandom(7);
  const before = [0.12, 0.4, 0.2, 0.18, 0.1];
  const after = [0.38, 0.28, 0.14, 0.12, 0.08];
  const intents = aggregateCategorical(
    categoricalSample(random, N, before),
    categoricalSample(random, N, after),
    before.length,
  );
  const refundOrNot = aggregateCategorical(
    categoricalSample(random, N, [0.12, 0.88]),
    categoricalSample(random, N, [0.38, 0.62]),
    2,
  );

  it.each<DriftMethod>(["chi2", "psi", "jensen_shannon", "auto"])(
    "%s detects it across five intents",
    (method) => {
      expect(evaluateDrift(method, intents).drifted).toBe(true);
    },
  );

  it.each<DriftMethod>(["z", "chi2", "psi", "jensen_shannon", "auto"])(
    "%s detects it as refund / not refund",
    (method) => {
      expect(evaluateDrift(method, refundOrNot).drifted).toBe(true);
    },
  );
});
