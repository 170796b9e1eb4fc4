import type { CountPair } from "./types.ts";

/** Sum of non-negative finite counts; a negative or non-finite count is a caller bug. */
export function totalOf(counts: readonly number[], label: string): number {
  let total = 0;
  for (const count of counts) {
    if (!(Number.isFinite(count) && count >= 0)) {
      throw new RangeError(`${label}: counts must be finite and non-negative, got ${count}`);
    }
    total += count;
  }
  return total;
}

/** Checks both sides have the same number of bins and at least one observation each. */
export function checkCountPair(pair: CountPair, label: string): { nRef: number; nCur: number } {
  if (pair.reference.length !== pair.current.length || pair.reference.length === 0) {
    throw new RangeError(
      `${label}: reference and current need the same, non-zero number of bins ` +
        `(got ${pair.reference.length} and ${pair.current.length})`,
    );
  }
  const nRef = totalOf(pair.reference, label);
  const nCur = totalOf(pair.current, label);
  // Empty windows are the caller's `minSamples` result ("too few samples"), never a statistic.
  if (nRef === 0 || nCur === 0) {
    throw new RangeError(`${label}: both windows need at least one observation`);
  }
  return { nRef, nCur };
}
