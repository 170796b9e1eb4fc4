/**
 * A window rule that had data and then stays `insufficient` has not found "no drift": the
 * field it watches (or the outputs it samples) disappeared — a renamed JSON key, a step the
 * agent stopped taking. After `disappearedAfter` such evaluations in a row that follow one
 * with data (ok or drift), each further one is reported as `disappeared`, which fires the
 * rule's alert like a drift; the first evaluation with data again resolves it.
 *
 * Not every insufficient window counts: a window of 40 outputs an hour that needs 30 falls
 * short about one time in twenty by chance, and overlapping windows fall short together, so
 * "three in a row" alone would alarm on a stable agent every day. A window counts when its
 * sample is as sparse as silence (the test of absence rules, poisson.ts): at least 5 samples
 * expected from the reference's rate, at most a tenth of them seen, and a Poisson p-value
 * below the rule's daily significance. A rule without a reference (a rate threshold) counts
 * only windows without any sample.
 *
 * A pure step over the rule's evaluations in order: the scheduler keeps the streak per rule
 * version (seeded from drift_results at start), a backtest from the start of its period.
 */

import type { WindowEvaluation } from "../../rules/findings.ts";
import { format, poissonLowerTail } from "../absence/poisson.ts";

export interface InsufficientStreak {
  /** An evaluation with data (ok or drift) came before the streak. */
  hadData: boolean;
  /** Insufficient evaluations as sparse as silence since the last one with data. */
  run: number;
}

export const NO_STREAK: InsufficientStreak = Object.freeze({ hadData: false, run: 0 });

/** As absence rules' defaults (window-spec.ts): silence is near nothing where 5 were due. */
const MIN_EXPECTED = 5;
const MAX_SHARE = 0.1;

/** The samples the current window was due from the reference's rate, or null without one. */
export function expectedSamples(evaluation: WindowEvaluation): number | null {
  const { referenceStart, referenceEnd } = evaluation;
  if (referenceStart === null || referenceEnd === null || referenceEnd <= referenceStart) {
    return null;
  }
  const share = (evaluation.windowEnd - evaluation.windowStart) / (referenceEnd - referenceStart);
  return evaluation.referenceSize * share;
}

/** Whether an insufficient window is as sparse as silence (see the header). */
export function sparseBeyondChance(evaluation: WindowEvaluation, alpha: number): boolean {
  const expected = expectedSamples(evaluation);
  const observed = evaluation.currentSize;
  if (expected === null) return observed === 0;
  return (
    expected >= MIN_EXPECTED &&
    observed <= MAX_SHARE * expected &&
    poissonLowerTail(observed, expected) < alpha
  );
}

/** The evaluation as reported, and the streak after it. */
export function trackDisappearance(
  streak: InsufficientStreak,
  evaluation: WindowEvaluation,
  disappearedAfter: number,
  alpha: number,
): { streak: InsufficientStreak; evaluation: WindowEvaluation } {
  const status = evaluation.status;
  if (status === "ok" || status === "drift") {
    return { streak: { hadData: true, run: 0 }, evaluation };
  }
  if (status !== "insufficient" && status !== "disappeared") return { streak, evaluation };
  if (!sparseBeyondChance(evaluation, alpha)) {
    return { streak: { hadData: streak.hadData, run: 0 }, evaluation };
  }
  const next = { hadData: streak.hadData, run: streak.run + 1 };
  if (disappearedAfter <= 0 || !next.hadData || next.run < disappearedAfter) {
    return { streak: next, evaluation };
  }
  const what = evaluation.field === "" ? "the matching outputs" : evaluation.field;
  const expected = expectedSamples(evaluation);
  const due = expected === null ? "" : `, ${format(expected)} due`;
  return {
    streak: next,
    evaluation: {
      ...evaluation,
      status: "disappeared",
      message: `${what} disappeared: ${next.run} windows in a row with ${evaluation.currentSize} samples${due}, after one with data (${evaluation.message})`,
    },
  };
}
