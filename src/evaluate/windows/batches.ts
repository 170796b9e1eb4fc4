/**
 * Consecutive window evaluations of one rule in batches that share one query
 * (evaluateWindowRules): used by the backtest and by the scheduler's catch-up after downtime.
 * A batch pairs each row with every window it falls in, so its size follows the largest window
 * seen so far: the first window runs alone, then up to MAX_BATCH windows, as long as they make
 * at most BATCH_ROW_PAIRS row-window pairs.
 */

import type { WindowEvaluation } from "../../rules/findings.ts";

/** Window evaluations that share one query, at most. */
export const MAX_BATCH = 48;
/** Row-window pairs a batch may make (each row counts once per window it is in). */
export const BATCH_ROW_PAIRS = 2_000_000;

/**
 * Evaluates the windows ending at `times`, in order, batch by batch, and hands each result to
 * `each` (in order, before the next batch starts).
 */
export async function evaluateInBatches(
  times: readonly number[],
  evaluate: (atsMs: readonly number[]) => Promise<WindowEvaluation[]>,
  each: (row: WindowEvaluation, atMs: number) => Promise<void> | void,
): Promise<void> {
  let largest = 0;
  for (let next = 0; next < times.length;) {
    const size =
      next === 0
        ? 1
        : Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_ROW_PAIRS / Math.max(1, largest))));
    const batch = times.slice(next, next + size);
    next += batch.length;
    const rows = await evaluate(batch);
    for (const [i, row] of rows.entries()) {
      largest = Math.max(largest, row.currentSize + row.referenceSize);
      await each(row, batch[i] ?? row.windowEnd);
    }
  }
}
