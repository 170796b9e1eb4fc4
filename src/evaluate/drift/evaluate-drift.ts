import { selectAutoTest } from "./auto.ts";
import { checkCountPair } from "./counts.ts";
import { checkPoints } from "./ks.ts";
import type { DriftDirection, StatTestName } from "./registry.ts";
import { STAT_TESTS, isDrift, resolveDefaultThreshold } from "./registry.ts";
import type { DriftAggregates } from "./types.ts";

/** A method as a rule names it. */
export type DriftMethod = StatTestName | "auto";

/** What one drift evaluation found; `pValue` is null for score methods. */
export interface DriftOutcome {
  readonly method: StatTestName;
  readonly statistic: number;
  readonly pValue: number | null;
  /** The value compared with the threshold: the p-value or the statistic. */
  readonly value: number;
  readonly threshold: number;
  readonly direction: DriftDirection;
  readonly drifted: boolean;
  readonly referenceSize: number;
  readonly currentSize: number;
}

/**
 * Options of one evaluation; an explicit threshold overrides the test's default.
 * `significance` replaces the default threshold of the tests that return a p-value (window
 * rules pass the level corrected for how often they run, see windows/significance.ts).
 */
export interface EvaluateDriftOptions {
  readonly threshold?: number;
  readonly significance?: number;
}

function sizesOf(aggregates: DriftAggregates): { nRef: number; nCur: number; bins: number } {
  if (aggregates.kind === "categorical") {
    return {
      ...checkCountPair(aggregates.counts, "drift"),
      bins: aggregates.counts.reference.length,
    };
  }
  if (aggregates.bins !== undefined) {
    return { ...checkCountPair(aggregates.bins, "drift"), bins: aggregates.bins.reference.length };
  }
  if (aggregates.points !== undefined) {
    return { ...checkPoints(aggregates.points, "drift"), bins: aggregates.points.values.length };
  }
  throw new TypeError("drift: numeric aggregates need bins or points");
}

/**
 * Runs one drift test on aggregates and decides drift on the test's declared side of the
 * threshold. `minSamples` is checked by the caller before: too few samples is its own result.
 */
export function evaluateDrift(
  method: DriftMethod,
  aggregates: DriftAggregates,
  options: EvaluateDriftOptions = {},
): DriftOutcome {
  const { nRef, nCur, bins } = sizesOf(aggregates);
  const name =
    method === "auto"
      ? selectAutoTest(
          aggregates.kind,
          nRef,
          aggregates.kind === "categorical" ? aggregates.counts.reference.length : Infinity,
          nCur,
        )
      : method;
  const test = STAT_TESTS[name];
  if (!test.kinds.includes(aggregates.kind)) {
    throw new TypeError(`${name}: does not accept ${aggregates.kind} fields`);
  }
  const { statistic, pValue } = test.compute(aggregates);
  const threshold =
    options.threshold ??
    (test.returnsPValue ? options.significance : undefined) ??
    resolveDefaultThreshold(test, { bins, referenceSize: nRef, currentSize: nCur });
  const value = test.returnsPValue ? (pValue ?? NaN) : statistic;
  return {
    method: name,
    statistic,
    pValue: pValue ?? null,
    value,
    threshold,
    direction: test.direction,
    drifted: isDrift(test.direction, value, threshold),
    referenceSize: nRef,
    currentSize: nCur,
  };
}
