/** Small helpers the judge worker and judge backtests share. */

/** A rule's `match` of an output, false when it throws (a rule problem is never a verdict). */
export function safely(test: () => boolean): boolean {
  try {
    return test();
  } catch {
    return false;
  }
}

/** Runs `work` on every item, at most `limit` at once. */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
