import { checkCountPair } from "./counts.ts";
import type { CountPair, TestStatistic } from "./types.ts";

/** p·ln(p/q), with 0·ln(0/q) = 0 (scipy's `rel_entr`). */
function relativeEntropyTerm(p: number, q: number): number {
  return p === 0 ? 0 : p * Math.log(p / q);
}

/**
 * Jensen–Shannon *distance* in base 2 (0 = identical, 1 = disjoint) between the two
 * normalised count vectors — scipy's `spatial.distance.jensenshannon(ref, cur, base=2)`.
 * Empty bins need no smoothing: the mixture is positive wherever either share is.
 */
export function jensenShannonDistance(counts: CountPair): TestStatistic {
  const { nRef, nCur } = checkCountPair(counts, "jensen_shannon");
  let divergence = 0;
  for (let i = 0; i < counts.reference.length; i++) {
    const p = (counts.reference[i] ?? 0) / nRef;
    const q = (counts.current[i] ?? 0) / nCur;
    const m = (p + q) / 2;
    divergence += relativeEntropyTerm(p, m) + relativeEntropyTerm(q, m);
  }
  // Rounding can leave a tiny negative divergence for identical inputs.
  return { statistic: Math.sqrt(Math.max(0, divergence / 2 / Math.LN2)) };
}
