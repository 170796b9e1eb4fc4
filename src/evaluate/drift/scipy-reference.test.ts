import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { chiSquare } from "./chi2.ts";
import { evaluateDrift } from "./evaluate-drift.ts";
import { jensenShannonDistance } from "./jensen-shannon.ts";
import { kolmogorovSmirnov } from "./ks.ts";
import { populationStabilityIndex, psiSampleSizeThreshold } from "./psi.ts";
import type { CountPair, WeightedPoints } from "./types.ts";
import { normedWasserstein } from "./wasserstein.ts";
import type { ProportionCounts } from "./z.ts";
import { twoProportionZTest } from "./z.ts";

// Reference values from test/fixtures/drift/generate.py (numpy + scipy), on the very
// aggregates the TS functions receive. Tolerances:
// - statistics on identical aggregates: 1e-9 relative (absolute 1e-12 near zero);
// - p-values: 1e-6 relative, absolute 1e-15 (tiny p-values only need to agree in order).

const STATISTIC_RELATIVE = 1e-9;
const STATISTIC_ABSOLUTE = 1e-12;
const P_VALUE_RELATIVE = 1e-6;
const P_VALUE_ABSOLUTE = 1e-15;

function expectStatistic(actual: number, expected: number): void {
  const tolerance = Math.max(STATISTIC_ABSOLUTE, STATISTIC_RELATIVE * Math.abs(expected));
  expect(Math.abs(actual - expected), `${actual} vs scipy ${expected}`).toBeLessThanOrEqual(
    tolerance,
  );
}

function expectPValue(actual: number, expected: number): void {
  const tolerance = Math.max(P_VALUE_ABSOLUTE, P_VALUE_RELATIVE * Math.abs(expected));
  expect(Math.abs(actual - expected), `${actual} vs scipy ${expected}`).toBeLessThanOrEqual(
    tolerance,
  );
}

interface Fixture<Case> {
  readonly cases: readonly Case[];
}

function loadFixture<Case>(file: string): Fixture<Case> {
  const url = new URL(`../../../test/fixtures/drift/${file}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Fixture<Case>;
}

interface ChiSquareExpected {
  statistic: number;
  pValue: number;
  degreesOfFreedom: number;
}

interface NumericCase {
  name: string;
  referenceSize: number;
  currentSize: number;
  referenceStd: number;
  bins: CountPair & { edges: number[] };
  points: WeightedPoints & { exact: boolean };
  expected: {
    ks: { statistic: number; pValue: number };
    ksScipyRaw: { statistic: number; pValue: number };
    chi2: ChiSquareExpected;
    psi: { statistic: number; threshold: number };
    jensenShannon: number;
    wasserstein: number;
    wassersteinRaw: number;
  };
}

interface CategoricalCase {
  name: string;
  categories: string[];
  reference: number[];
  current: number[];
  expected: {
    chi2: ChiSquareExpected;
    psi: { statistic: number; threshold: number };
    jensenShannon: number;
    z?: { statistic: number; pValue: number };
  };
}

interface ProportionCase {
  name: string;
  input: ProportionCounts;
  expected: { statistic: number; pValue: number };
}

const numeric = loadFixture<NumericCase>("numeric.json").cases;
const categorical = loadFixture<CategoricalCase>("categorical.json").cases;
const proportions = loadFixture<ProportionCase>("proportions.json").cases;

describe.each(numeric)("numeric fixture $name", (fixture) => {
  const { expected } = fixture;

  it("KS statistic and asymptotic p-value match scipy (kstwobign) on the fine points", () => {
    const result = kolmogorovSmirnov(fixture.points);
    expectStatistic(result.statistic, expected.ks.statistic);
    expectPValue(result.pValue, expected.ks.pValue);
  });

  it("KS stays close to scipy's ks_2samp(method='asymp') on the raw rows", () => {
    const result = kolmogorovSmirnov(fixture.points);
    if (fixture.points.exact) {
      // Exact value → count pairs: the statistic is the raw one.
      expectStatistic(result.statistic, expected.ksScipyRaw.statistic);
    } else {
      // 1,000 pooled quantile bins: off by at most about one bin's share of the mass.
      expect(Math.abs(result.statistic - expected.ksScipyRaw.statistic)).toBeLessThan(2e-3);
    }
    // scipy uses the finite-n kstwo(round(n_eff)); the limiting distribution is a bit larger.
    if (fixture.points.exact && expected.ksScipyRaw.pValue > 1e-300) {
      expect(result.pValue).toBeGreaterThanOrEqual(expected.ksScipyRaw.pValue);
      expect(result.pValue / expected.ksScipyRaw.pValue).toBeLessThan(1.25);
    }
  });

  it("chi-square on the decile bins matches chi2_contingency(correction=False)", () => {
    const result = chiSquare(fixture.bins);
    expectStatistic(result.statistic, expected.chi2.statistic);
    expectPValue(result.pValue, expected.chi2.pValue);
    expect(result.degreesOfFreedom).toBe(expected.chi2.degreesOfFreedom);
  });

  it("PSI and its sample-size-aware threshold match", () => {
    expectStatistic(populationStabilityIndex(fixture.bins).statistic, expected.psi.statistic);
    const threshold = psiSampleSizeThreshold(
      fixture.bins.reference.length,
      fixture.referenceSize,
      fixture.currentSize,
    );
    expectStatistic(threshold, expected.psi.threshold);
  });

  it("Jensen–Shannon distance matches scipy jensenshannon(base=2)", () => {
    expectStatistic(jensenShannonDistance(fixture.bins).statistic, expected.jensenShannon);
  });

  it("normed Wasserstein matches scipy wasserstein_distance / np.std(reference)", () => {
    const result = normedWasserstein(fixture.points, fixture.referenceStd);
    expectStatistic(result.statistic, expected.wasserstein);
    // Against the raw rows: exact for value counts; for quantile bins within 1% relative or
    // 0.005 reference standard deviations (the default threshold is 0.1), whichever is larger.
    const error = Math.abs(result.statistic - expected.wassersteinRaw);
    const allowed = fixture.points.exact
      ? 1e-9 * expected.wassersteinRaw
      : Math.max(1e-2 * expected.wassersteinRaw, 5e-3);
    expect(error).toBeLessThanOrEqual(allowed);
  });

  it("evaluateDrift reads the right aggregate for each method", () => {
    const aggregates = {
      kind: "numeric" as const,
      bins: fixture.bins,
      points: fixture.points,
      referenceStd: fixture.referenceStd,
    };
    expectStatistic(evaluateDrift("ks", aggregates).statistic, expected.ks.statistic);
    expectStatistic(evaluateDrift("wasserstein", aggregates).statistic, expected.wasserstein);
    expectStatistic(evaluateDrift("psi", aggregates).threshold, expected.psi.threshold);
  });
});

describe.each(categorical)("categorical fixture $name", (fixture) => {
  const counts = { reference: fixture.reference, current: fixture.current };
  const { expected } = fixture;

  it("chi-square matches chi2_contingency(correction=False)", () => {
    const result = chiSquare(counts);
    expectStatistic(result.statistic, expected.chi2.statistic);
    expectPValue(result.pValue, expected.chi2.pValue);
    expect(result.degreesOfFreedom).toBe(expected.chi2.degreesOfFreedom);
  });

  it("PSI stays finite with empty categories and matches the formula", () => {
    const { statistic } = populationStabilityIndex(counts);
    expect(Number.isFinite(statistic)).toBe(true);
    expectStatistic(statistic, expected.psi.statistic);
  });

  it("Jensen–Shannon distance matches scipy", () => {
    expectStatistic(jensenShannonDistance(counts).statistic, expected.jensenShannon);
  });

  // Only the two-category fixtures have a z-test reference.
  if (expected.z !== undefined)
    it("the z-test on two categories matches the formula", () => {
      const result = evaluateDrift("z", { kind: "categorical", counts });
      expectStatistic(result.statistic, expected.z?.statistic ?? NaN);
      expectPValue(result.pValue ?? NaN, expected.z?.pValue ?? NaN);
    });
});

describe.each(proportions)("two-proportion z-test $name", (fixture) => {
  it("matches the pooled z-test with scipy's norm.sf", () => {
    const result = twoProportionZTest(fixture.input);
    expectStatistic(result.statistic, fixture.expected.statistic);
    expectPValue(result.pValue, fixture.expected.pValue);
  });
});
