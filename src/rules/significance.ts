/**
 * The default significance level of a window rule's tests. A rule that runs every 5 minutes
 * makes 288 decisions a day; at the textbook 0.05 per decision a stable agent would raise
 * about 14 false drifts a day (fewer distinct alerts, as neighbouring windows overlap, but
 * still several). So the default spends 0.05 per rule per day, split over its evaluations
 * (Bonferroni): `every` 5m gives 0.05 / 288 ≈ 1.7e-4, `every` 1h 0.05 / 24 ≈ 2.1e-3, `every`
 * 1d or more 0.05. Overlapping windows make the correction conservative, never lax.
 * An explicit `threshold` (drift) or `alpha` (rate baseline) is used as written.
 */

const DAY_MS = 86_400_000;

/** The false-alarm rate one rule may spend per day of evaluations on stable data. */
export const DAILY_FALSE_ALARM_RATE = 0.05;

/** The per-evaluation significance level of a rule evaluated every `everyMs`. */
export function defaultSignificance(everyMs: number): number {
  const perDay = Math.max(1, DAY_MS / everyMs);
  return DAILY_FALSE_ALARM_RATE / perDay;
}
