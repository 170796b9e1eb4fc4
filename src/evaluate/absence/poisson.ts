/**
 * The statistics of silence (docs/silence.md): how unlikely is it to see at most `observed`
 * outputs where the entity's own history expects `expected`? Counts of independent arrivals
 * are Poisson, so the p-value is the Poisson lower tail P(X ≤ observed), X ~ Poisson(expected)
 * (scipy.stats.poisson.cdf), through the regularised upper incomplete gamma function:
 * P(X ≤ k) = Q(k + 1, λ) (Abramowitz & Stegun 6.5.2 and 26.4.21), which keeps full relative
 * precision in the far tail where a sum of terms would round to 0. Direction: silent when the
 * p-value is below alpha, as for the other p-value tests (drift/registry.ts).
 */

import gammainc from "@stdlib/math-base-special-gammainc";

/** P(X ≤ observed) for X ~ Poisson(expected); 1 when nothing is expected. */
export function poissonLowerTail(observed: number, expected: number): number {
  if (!(expected > 0)) return 1;
  if (observed < 0) return 0;
  return gammainc(expected, Math.floor(observed) + 1, true, true);
}

/** The knobs of one absence test (AbsentSpec's, parsed at load). */
export interface AbsenceThresholds {
  minExpected: number;
  maxShare: number;
  alpha: number;
}

/** One entity's counts: the current window, and the same window on each counted earlier day. */
export interface AbsenceCounts {
  observed: number;
  /** Per counted earlier day, newest first. */
  daily: readonly number[];
}

export type AbsenceVerdict =
  | { status: "insufficient"; expected: number; pValue: number; reason: string }
  | { status: "ok"; expected: number; pValue: number; reason: string }
  | { status: "drift"; expected: number; pValue: number; reason: string };

/**
 * Whether an entity is silent. Four things must hold: it is expected to send at least
 * `minExpected` (else too sparse to tell: insufficient); it sent at most `maxShare` of that
 * (real traffic varies more from day to day than Poisson says, so a dip of 20% on heavy
 * traffic would be "significant": silence is near nothing); the Poisson p-value is below
 * alpha; and on none of the counted days was it as quiet at this time (a weekend, a nightly
 * batch that did not run: silence it has shown before is not unlikely).
 */
export function absenceVerdict(counts: AbsenceCounts, t: AbsenceThresholds): AbsenceVerdict {
  const days = counts.daily.length;
  const expected = days === 0 ? 0 : counts.daily.reduce((sum, n) => sum + n, 0) / days;
  const pValue = poissonLowerTail(counts.observed, expected);
  if (expected < t.minExpected) {
    return {
      status: "insufficient",
      expected,
      pValue,
      reason: `expected ${format(expected)} < minExpected ${format(t.minExpected)}`,
    };
  }
  if (counts.observed > t.maxShare * expected) {
    return { status: "ok", expected, pValue, reason: "above maxShare of expected" };
  }
  if (pValue >= t.alpha) {
    return {
      status: "ok",
      expected,
      pValue,
      reason: `p ${format(pValue)} ≥ alpha ${format(t.alpha)}`,
    };
  }
  const quiet = counts.daily.findIndex((n) => n <= counts.observed);
  if (quiet >= 0) {
    return {
      status: "ok",
      expected,
      pValue,
      reason: `as quiet ${quiet + 1} day${quiet === 0 ? "" : "s"} ago (${counts.daily[quiet]} outputs)`,
    };
  }
  return {
    status: "drift",
    expected,
    pValue,
    reason: `p ${format(pValue)} < alpha ${format(t.alpha)}`,
  };
}

/** A number for messages: 4 significant digits, or 2.1e-9 below 0.001. */
export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e-3 || value === 0
    ? String(Number(value.toPrecision(4)))
    : value.toExponential(2);
}
