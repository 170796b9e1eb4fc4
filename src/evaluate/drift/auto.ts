import type { StatTestName } from "./registry.ts";
import type { ColumnKind } from "./types.ts";

/** References up to this many samples get a significance test, larger ones a distance. */
export const AUTO_LARGE_REFERENCE = 1000;

/**
 * evidently's default choice: with a small reference (≤ 1,000 samples) a significance test —
 * KS for numbers, the z-test for two categories, chi-square for more; with a large one, where
 * any test finds a "significant" but harmless difference, a distance with a fixed cut-off —
 * normed Wasserstein for numbers, Jensen–Shannon for categories.
 */
export function selectAutoTest(
  kind: ColumnKind,
  referenceSize: number,
  categories = Infinity,
): StatTestName {
  if (referenceSize <= AUTO_LARGE_REFERENCE) {
    if (kind === "numeric") return "ks";
    return categories <= 2 ? "z" : "chi2";
  }
  return kind === "numeric" ? "wasserstein" : "jensen_shannon";
}
