import { normalSurvival } from "./special-functions.ts";
import type { TestStatistic } from "./types.ts";

/** Successes out of totals in both windows, e.g. outputs with finish_reason=length. */
export interface ProportionCounts {
  readonly currentSuccesses: number;
  readonly currentTotal: number;
  readonly referenceSuccesses: number;
  readonly referenceTotal: number;
}

/**
 * Two-sided two-proportion z-test with the pooled proportion (statsmodels'
 * `proportions_ztest` default). The statistic is positive when the current share is higher.
 * When the pooled share is 0 or 1 both windows agree exactly: statistic 0, p-value 1.
 */
export function twoProportionZTest(counts: ProportionCounts): Required<TestStatistic> {
  const { currentSuccesses, currentTotal, referenceSuccesses, referenceTotal } = counts;
  if (!(currentTotal > 0 && referenceTotal > 0)) {
    throw new RangeError("z: both windows need at least one observation");
  }
  if (
    !(currentSuccesses >= 0 && currentSuccesses <= currentTotal) ||
    !(referenceSuccesses >= 0 && referenceSuccesses <= referenceTotal)
  ) {
    throw new RangeError("z: successes must be between 0 and the window's total");
  }
  const pooled = (currentSuccesses + referenceSuccesses) / (currentTotal + referenceTotal);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / currentTotal + 1 / referenceTotal));
  if (standardError === 0) return { statistic: 0, pValue: 1 };
  const statistic =
    (currentSuccesses / currentTotal - referenceSuccesses / referenceTotal) / standardError;
  return { statistic, pValue: 2 * normalSurvival(Math.abs(statistic)) };
}
