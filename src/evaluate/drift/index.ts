// Drift statistics over aggregates: ClickHouse computes histograms, quantile bins and
// category counts where the rows are; these pure functions finish the arithmetic.
export { AUTO_LARGE_REFERENCE, selectAutoTest } from "./auto.ts";
export type { ChiSquareResult } from "./chi2.ts";
export { chiSquare } from "./chi2.ts";
export type { DriftMethod, DriftOutcome, EvaluateDriftOptions } from "./evaluate-drift.ts";
export { evaluateDrift } from "./evaluate-drift.ts";
export { jensenShannonDistance } from "./jensen-shannon.ts";
export { kolmogorovSmirnov } from "./ks.ts";
export {
  PSI_EMPTY_BIN_SHARE,
  PSI_FIXED_THRESHOLDS,
  populationStabilityIndex,
  psiSampleSizeThreshold,
} from "./psi.ts";
export type {
  DefaultThreshold,
  DriftDirection,
  NumericInput,
  StatTest,
  StatTestName,
  ThresholdContext,
} from "./registry.ts";
export { STAT_TESTS, isDrift, resolveDefaultThreshold } from "./registry.ts";
export type {
  CategoricalAggregates,
  ColumnKind,
  CountPair,
  DriftAggregates,
  NumericAggregates,
  TestStatistic,
  WeightedPoints,
} from "./types.ts";
export { WASSERSTEIN_MIN_NORM, normedWasserstein } from "./wasserstein.ts";
export type { ProportionCounts } from "./z.ts";
export { twoProportionZTest } from "./z.ts";
