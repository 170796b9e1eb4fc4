import type { StatTestName } from "./registry.ts";
import type { ColumnKind } from "./types.ts";

/** Samples a side needs (more than this) before `auto` trusts a distance over a test. */
export const AUTO_LARGE_REFERENCE = 1000;

/**
 * evidently's choice, made on both windows: when both hold more than 1,000 samples, where any
 * test finds a "significant" but harmless difference, a distance with a fixed cut-off —
 * normed Wasserstein for numbers, Jensen–Shannon for categories; otherwise a significance
 * test — KS for numbers, the z-test for two categories, chi-square for more.
 *
 * evidently decides on the reference alone because it compares two batches of similar size.
 * A window rule compares a small current window (40 outputs an hour, say) with a week: the
 * distance of 40 samples from their own distribution is already about a tenth of a standard
 * deviation, so a fixed 0.1 cut-off on it is noise. A test knows its sample size.
 */
export function selectAutoTest(
  kind: ColumnKind,
  referenceSize: number,
  categories = Infinity,
  currentSize = referenceSize,
): StatTestName {
  if (Math.min(referenceSize, currentSize) <= AUTO_LARGE_REFERENCE) {
    if (kind === "numeric") return "ks";
    return categories <= 2 ? "z" : "chi2";
  }
  return kind === "numeric" ? "wasserstein" : "jensen_shannon";
}
