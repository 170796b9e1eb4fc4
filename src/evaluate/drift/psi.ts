import { checkCountPair } from "./counts.ts";
import { chiSquareQuantile } from "./special-functions.ts";
import type { CountPair, TestStatistic } from "./types.ts";

/** Share given to an empty bin so that PSI stays finite (evidently uses the same 0.0001). */
export const PSI_EMPTY_BIN_SHARE = 1e-4;

/** The classic fixed PSI cut-offs, available instead of the sample-size-aware default. */
export const PSI_FIXED_THRESHOLDS = { moderate: 0.1, major: 0.25 } as const;

/**
 * Population stability index Σ (r_i − c_i)·ln(r_i / c_i) over bin shares, an empty bin's
 * share replaced by `emptyBinShare` on either side so the index is never infinite.
 */
export function populationStabilityIndex(
  counts: CountPair,
  emptyBinShare: number = PSI_EMPTY_BIN_SHARE,
): TestStatistic {
  const { nRef, nCur } = checkCountPair(counts, "psi");
  let statistic = 0;
  for (let i = 0; i < counts.reference.length; i++) {
    const ref = (counts.reference[i] ?? 0) / nRef || emptyBinShare;
    const cur = (counts.current[i] ?? 0) / nCur || emptyBinShare;
    statistic += (ref - cur) * Math.log(ref / cur);
  }
  return { statistic };
}

/**
 * Sample-size-aware PSI threshold: under no drift, PSI ≈ (1/n_cur + 1/n_ref)·χ²(k − 1), so
 * the `confidence` quantile of that gives a cut-off with a known false-alarm rate
 * (≈ 1 − confidence) instead of a fixed 0.1 that is noise for small windows and blind for
 * large ones (Yurdakul 2018, "Statistical properties of the population stability index").
 */
export function psiSampleSizeThreshold(
  bins: number,
  referenceSize: number,
  currentSize: number,
  confidence = 0.95,
): number {
  if (bins < 2) return Infinity; // one bin cannot shift
  return chiSquareQuantile(confidence, bins - 1) * (1 / currentSize + 1 / referenceSize);
}
