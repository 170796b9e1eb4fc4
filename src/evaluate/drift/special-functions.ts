// Distribution functions for the drift tests. The incomplete gamma function (and so the
// chi-square distribution), its quantile and erfc come from @stdlib, which is maintained,
// accurate to double precision and split into one small package per function. The limiting
// Kolmogorov distribution has no small maintained package: it is written here after the two
// classical theta-series (Marsaglia, Tsang & Wang 2003; scipy's `kolmogorov`), switching at
// x = 1.

import gammainc from "@stdlib/math-base-special-gammainc";
import erfcImpl from "@stdlib/math-base-special-erfc";
import chisquareQuantile from "@stdlib/stats-base-dists-chisquare-quantile";

const EPSILON = 1e-16;

/** Chi-square survival function 1 − CDF, from the upper incomplete gamma (no cancellation). */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (x <= 0) return 1;
  return gammainc(x / 2, degreesOfFreedom / 2, true, true);
}

/** Chi-square quantile (inverse CDF). */
export function chiSquareQuantile(probability: number, degreesOfFreedom: number): number {
  if (!(probability > 0 && probability < 1)) {
    throw new RangeError(`chiSquareQuantile: probability must be in (0, 1), got ${probability}`);
  }
  return chisquareQuantile(probability, degreesOfFreedom);
}

/** Complementary error function. */
export function erfc(x: number): number {
  return erfcImpl(x);
}

/** Standard normal survival function P(Z > z). */
export function normalSurvival(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Survival function of the limiting Kolmogorov distribution, P(K > x) (scipy's kstwobign.sf). */
export function kolmogorovSurvival(x: number): number {
  if (!(x > 0)) return 1;
  if (x < 1) {
    // CDF = √(2π)/x · Σ_{k≥1} exp(−(2k−1)²π²/(8x²)); converges fast for small x.
    const factor = -(Math.PI * Math.PI) / (8 * x * x);
    let sum = 0;
    for (let k = 1; k < 100; k++) {
      const term = Math.exp(factor * (2 * k - 1) * (2 * k - 1));
      sum += term;
      if (term < sum * EPSILON) break;
    }
    return 1 - (Math.sqrt(2 * Math.PI) / x) * sum;
  }
  // SF = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²x²); alternating, converges fast for x ≥ 1.
  let sum = 0;
  for (let k = 1; k < 100; k++) {
    const term = Math.exp(-2 * k * k * x * x);
    sum += k % 2 === 1 ? term : -term;
    if (term < Math.abs(sum) * EPSILON || term === 0) break;
  }
  return Math.max(0, Math.min(1, 2 * sum));
}
