// The aggregates a drift test receives. ClickHouse computes them where the rows are; Node
// only finishes the arithmetic. Each interface below says how its aggregate is built.

/** A column's kind as the drift tests see it. */
export type ColumnKind = "numeric" | "categorical";

/**
 * Counts per bin (numbers) or per category, for both windows, in the same order.
 * Numeric bins come from the reference: cut points c₀ < c₁ < … at its quantiles, bin 0 holds
 * x ≤ c₀, bin i holds c_{i−1} < x ≤ c_i, the last bin x > c_last. Categories: top-K plus
 * "other", chosen by the caller.
 */
export interface CountPair {
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/**
 * A fine-grained numeric distribution for KS and Wasserstein: ascending support points with
 * the count of each window at each point. Either the exact value → count pairs (when the
 * field has few distinct values) or up to ~1,000 quantile bins of both windows pooled, each
 * bin's mass placed on its upper cut point and the last (open) bin's mass on the maximum.
 */
export interface WeightedPoints {
  readonly values: readonly number[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/** Aggregates of a numeric field; each method declares which part it needs (`numericInput`). */
export interface NumericAggregates {
  readonly kind: "numeric";
  /** Coarse reference-quantile bins (e.g. 10): PSI, Jensen–Shannon, chi-square. */
  readonly bins?: CountPair;
  /** Fine support points: KS, Wasserstein. */
  readonly points?: WeightedPoints;
  /** Population standard deviation of the reference (ClickHouse `stddevPop`): Wasserstein. */
  readonly referenceStd?: number;
}

/** Aggregates of a categorical field: counts per category for both windows. */
export interface CategoricalAggregates {
  readonly kind: "categorical";
  readonly counts: CountPair;
}

export type DriftAggregates = NumericAggregates | CategoricalAggregates;

/** What a statistical test computes: a statistic, and a p-value when the test has one. */
export interface TestStatistic {
  readonly statistic: number;
  readonly pValue?: number;
}
