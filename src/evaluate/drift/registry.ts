import { chiSquare } from "./chi2.ts";
import { jensenShannonDistance } from "./jensen-shannon.ts";
import { kolmogorovSmirnov } from "./ks.ts";
import { populationStabilityIndex, psiSampleSizeThreshold } from "./psi.ts";
import type {
  ColumnKind,
  CountPair,
  DriftAggregates,
  TestStatistic,
  WeightedPoints,
} from "./types.ts";
import { normedWasserstein } from "./wasserstein.ts";
import { twoProportionZTest } from "./z.ts";

/** The concrete tests; `auto` (see auto.ts) resolves to one of these. */
export type StatTestName = "ks" | "chi2" | "psi" | "jensen_shannon" | "wasserstein" | "z";

/**
 * Which side of the threshold means drift — the trap evidently's registry warns about:
 * "above": a score (distance, index) at or above the threshold is drift;
 * "below": a p-value strictly below the threshold (the significance level) is drift.
 */
export type DriftDirection = "above" | "below";

/** A default threshold: a number, or PSI's chi-square quantile over the sample sizes. */
export type DefaultThreshold = number | "psi-sample-size";

/** Which aggregate a test reads from a numeric field. */
export type NumericInput = "bins" | "points";

/** A statistical test as data plus a pure function (STYLE.md "Values, not surprises"). */
export interface StatTest {
  readonly name: StatTestName;
  readonly kinds: readonly ColumnKind[];
  readonly defaultThreshold: DefaultThreshold;
  readonly direction: DriftDirection;
  readonly returnsPValue: boolean;
  /** For numeric fields: which aggregate the caller must compute. */
  readonly numericInput?: NumericInput;
  readonly compute: (aggregates: DriftAggregates) => TestStatistic;
}

// A missing aggregate means the caller ignored `numericInput`: a bug, so it throws.
function countsOf(aggregates: DriftAggregates, test: StatTestName): CountPair {
  if (aggregates.kind === "categorical") return aggregates.counts;
  if (aggregates.bins === undefined) throw new TypeError(`${test}: numeric input needs bins`);
  return aggregates.bins;
}

function pointsOf(aggregates: DriftAggregates, test: StatTestName): WeightedPoints {
  if (aggregates.kind !== "numeric" || aggregates.points === undefined) {
    throw new TypeError(`${test}: needs numeric points`);
  }
  return aggregates.points;
}

/** Every test, with its declarations next to its function. */
export const STAT_TESTS: { readonly [Name in StatTestName]: StatTest } = {
  ks: {
    name: "ks",
    kinds: ["numeric"],
    defaultThreshold: 0.05,
    direction: "below",
    returnsPValue: true,
    numericInput: "points",
    compute: (aggregates) => kolmogorovSmirnov(pointsOf(aggregates, "ks")),
  },
  chi2: {
    name: "chi2",
    kinds: ["numeric", "categorical"],
    defaultThreshold: 0.05,
    direction: "below",
    returnsPValue: true,
    numericInput: "bins",
    compute: (aggregates) => chiSquare(countsOf(aggregates, "chi2")),
  },
  psi: {
    name: "psi",
    kinds: ["numeric", "categorical"],
    defaultThreshold: "psi-sample-size",
    direction: "above",
    returnsPValue: false,
    numericInput: "bins",
    compute: (aggregates) => populationStabilityIndex(countsOf(aggregates, "psi")),
  },
  jensen_shannon: {
    name: "jensen_shannon",
    kinds: ["numeric", "categorical"],
    defaultThreshold: 0.1,
    direction: "above",
    returnsPValue: false,
    numericInput: "bins",
    compute: (aggregates) => jensenShannonDistance(countsOf(aggregates, "jensen_shannon")),
  },
  wasserstein: {
    name: "wasserstein",
    kinds: ["numeric"],
    defaultThreshold: 0.1,
    direction: "above",
    returnsPValue: false,
    numericInput: "points",
    compute: (aggregates) => {
      const points = pointsOf(aggregates, "wasserstein");
      if (aggregates.kind !== "numeric" || aggregates.referenceStd === undefined) {
        throw new TypeError("wasserstein: needs referenceStd");
      }
      return normedWasserstein(points, aggregates.referenceStd);
    },
  },
  z: {
    // Categorical with exactly two categories; the first one is the "success" whose share
    // is compared (for rate rules call twoProportionZTest directly).
    name: "z",
    kinds: ["categorical"],
    defaultThreshold: 0.05,
    direction: "below",
    returnsPValue: true,
    compute: (aggregates) => {
      const counts = countsOf(aggregates, "z");
      const [refSuccesses, refOthers] = counts.reference;
      const [curSuccesses, curOthers] = counts.current;
      if (
        counts.reference.length !== 2 ||
        refSuccesses === undefined ||
        refOthers === undefined ||
        curSuccesses === undefined ||
        curOthers === undefined
      ) {
        throw new TypeError("z: needs a categorical field with exactly two categories");
      }
      return twoProportionZTest({
        currentSuccesses: curSuccesses,
        currentTotal: curSuccesses + curOthers,
        referenceSuccesses: refSuccesses,
        referenceTotal: refSuccesses + refOthers,
      });
    },
  },
};

/** Whether a value on the given side of the threshold means drift. */
export function isDrift(direction: DriftDirection, value: number, threshold: number): boolean {
  return direction === "above" ? value >= threshold : value < threshold;
}

/** Sample sizes and bin count, needed to resolve a sample-size-aware default threshold. */
export interface ThresholdContext {
  readonly bins: number;
  readonly referenceSize: number;
  readonly currentSize: number;
}

/** The threshold a test uses when the rule does not set one. */
export function resolveDefaultThreshold(test: StatTest, context: ThresholdContext): number {
  if (test.defaultThreshold === "psi-sample-size") {
    return psiSampleSizeThreshold(context.bins, context.referenceSize, context.currentSize);
  }
  return test.defaultThreshold;
}
