import type { CategoricalAggregates, CountPair, NumericAggregates } from "./types.ts";

// Builds the aggregates from raw values in Node, the way the ClickHouse queries define them
// (and test/fixtures/drift/generate.py mirrors). Used by tests and as the naive baseline.

/** Quantile with linear interpolation between order statistics (numpy's default). */
function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const low = Math.floor(position);
  const lowValue = sorted[low] ?? NaN;
  const highValue = sorted[Math.min(low + 1, sorted.length - 1)] ?? NaN;
  return lowValue + (highValue - lowValue) * (position - low);
}

/** Distinct cut points at the i/bins quantiles, i = 1 … bins − 1, of sorted values. */
export function quantileCuts(sorted: ArrayLike<number>, bins: number): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < bins; i++) {
    const cut = quantileOfSorted(sorted, i / bins);
    if (cuts.length === 0 || cut > (cuts[cuts.length - 1] ?? -Infinity)) cuts.push(cut);
  }
  return cuts;
}

/** Counts per bin: bin 0 holds x ≤ cuts[0], bin i holds cuts[i−1] < x ≤ cuts[i]. */
export function countInBins(cuts: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (const value of values) {
    let low = 0;
    let high = cuts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((cuts[mid] ?? Infinity) < value) low = mid + 1;
      else high = mid;
    }
    counts[low] = (counts[low] ?? 0) + 1;
  }
  return counts;
}

const byNumber = (a: number, b: number): number => a - b;

/** Options for `aggregateNumeric`. */
export interface AggregateNumericOptions {
  readonly coarseBins?: number;
  readonly fineBins?: number;
}

/** Numeric aggregates of two raw samples: decile bins, fine points, reference std. */
export function aggregateNumeric(
  reference: readonly number[],
  current: readonly number[],
  { coarseBins = 10, fineBins = 1000 }: AggregateNumericOptions = {},
): NumericAggregates {
  const sortedRef = [...reference].sort(byNumber);
  const coarseCuts = quantileCuts(sortedRef, coarseBins);
  const bins: CountPair = {
    reference: countInBins(coarseCuts, reference),
    current: countInBins(coarseCuts, current),
  };
  const both = [...reference, ...current].sort(byNumber);
  const distinct = both.filter((value, i) => i === 0 || value !== both[i - 1]);
  let values: number[];
  let refCounts: number[];
  let curCounts: number[];
  if (distinct.length <= fineBins) {
    values = distinct;
    const index = new Map(distinct.map((value, i) => [value, i]));
    refCounts = new Array<number>(distinct.length).fill(0);
    curCounts = new Array<number>(distinct.length).fill(0);
    for (const v of reference) refCounts[index.get(v) ?? 0]! += 1;
    for (const v of current) curCounts[index.get(v) ?? 0]! += 1;
  } else {
    const cuts = quantileCuts(both, fineBins);
    refCounts = countInBins(cuts, reference);
    curCounts = countInBins(cuts, current);
    const maximum = both[both.length - 1] ?? NaN;
    values = [...cuts, maximum];
    if (maximum <= (cuts[cuts.length - 1] ?? -Infinity)) {
      values.pop();
      refCounts.pop();
      curCounts.pop();
    }
  }
  const mean = reference.reduce((sum, v) => sum + v, 0) / reference.length;
  const variance = reference.reduce((sum, v) => sum + (v - mean) ** 2, 0) / reference.length;
  return {
    kind: "numeric",
    bins,
    points: { values, reference: refCounts, current: curCounts },
    referenceStd: Math.sqrt(variance),
  };
}

/** Categorical aggregates: counts of category indices 0 … categories − 1. */
export function aggregateCategorical(
  reference: readonly number[],
  current: readonly number[],
  categories: number,
): CategoricalAggregates {
  const count = (values: readonly number[]): number[] => {
    const counts = new Array<number>(categories).fill(0);
    for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
    return counts;
  };
  return { kind: "categorical", counts: { reference: count(reference), current: count(current) } };
}
