import { checkPoints } from "./ks.ts";
import type { TestStatistic, WeightedPoints } from "./types.ts";

/** Smallest reference spread used to norm the distance (evidently's floor). */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * First Wasserstein (earth mover's) distance between the two weighted point sets,
 * ∫|F_ref − F_cur| — scipy's `wasserstein_distance(values, values, ref, cur)` — divided by
 * the reference standard deviation (population, as `np.std`; at least 0.001) so the
 * threshold reads "in reference standard deviations". Exact on value → count pairs; on
 * quantile bins each bin's mass sits on its upper edge, so the error is bounded by the CDF
 * difference times the bin widths (0.3% relative on the fixtures).
 */
export function normedWasserstein(points: WeightedPoints, referenceStd: number): TestStatistic {
  const { nRef, nCur } = checkPoints(points, "wasserstein");
  if (!(Number.isFinite(referenceStd) && referenceStd >= 0)) {
    throw new RangeError(`wasserstein: referenceStd must be finite and ≥ 0, got ${referenceStd}`);
  }
  let cumulativeRef = 0;
  let cumulativeCur = 0;
  let distance = 0;
  for (let i = 0; i < points.values.length - 1; i++) {
    cumulativeRef += points.reference[i] ?? 0;
    cumulativeCur += points.current[i] ?? 0;
    const width = (points.values[i + 1] ?? 0) - (points.values[i] ?? 0);
    distance += Math.abs(cumulativeRef / nRef - cumulativeCur / nCur) * width;
  }
  return { statistic: distance / Math.max(referenceStd, WASSERSTEIN_MIN_NORM) };
}
