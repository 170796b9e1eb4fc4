import { checkCountPair } from "./counts.ts";
import { chiSquareSurvival } from "./special-functions.ts";
import type { CountPair, TestStatistic } from "./types.ts";

/** Result of the chi-square homogeneity test. */
export interface ChiSquareResult extends Required<TestStatistic> {
  readonly degreesOfFreedom: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2×k table (reference, current) × bins,
 * without Yates' correction — scipy's `chi2_contingency(table, correction=False)`.
 * A bin empty on both sides carries no information and is dropped (scipy would reject the
 * zero expected frequency); with fewer than two non-empty bins there is nothing to compare.
 */
export function chiSquare(counts: CountPair): ChiSquareResult {
  const { nRef, nCur } = checkCountPair(counts, "chi2");
  const total = nRef + nCur;
  let statistic = 0;
  let columns = 0;
  for (let i = 0; i < counts.reference.length; i++) {
    const ref = counts.reference[i] ?? 0;
    const cur = counts.current[i] ?? 0;
    const column = ref + cur;
    if (column === 0) continue;
    columns++;
    const expectedRef = (column * nRef) / total;
    const expectedCur = (column * nCur) / total;
    statistic += (ref - expectedRef) ** 2 / expectedRef + (cur - expectedCur) ** 2 / expectedCur;
  }
  const degreesOfFreedom = columns - 1;
  if (degreesOfFreedom < 1) return { statistic: 0, pValue: 1, degreesOfFreedom: 0 };
  return { statistic, pValue: chiSquareSurvival(statistic, degreesOfFreedom), degreesOfFreedom };
}
