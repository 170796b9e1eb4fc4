/**
 * Output rules run on committed outputs in memory, and their findings and counts are written
 * in batches a moment later: a crash in between would lose them, and nothing would evaluate
 * those outputs again. So a durable checkpoint over insert times (the cursor
 * `outputs-evaluated` in plumbline_cursors) says up to when every committed output has its
 * results written, and at start the outputs inserted after it are evaluated again.
 *
 * Evaluating an output twice is invisible: findings replace each other on their identity,
 * counts are exact distinct counts of outputs, and an `each` alert that already fired for the
 * output only adds to its episode. So "exactly once, as far as anyone can see".
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";

export const OUTPUTS_EVALUATED_CURSOR = "outputs-evaluated";

/** The key outputs are read in: insert time (Unix ms), then trace and span id. */
export interface InsertKey {
  insertedAtMs: number;
  traceId: string;
  spanId: string;
}

export interface OutputRecoveryStore {
  readCursor(name: string): Promise<number | undefined>;
  writeCursor(name: string, value: number): Promise<void>;
  /** Up to `limit` outputs inserted in (afterMs, uptoMs] past `from`, in InsertKey order. */
  outputsInserted(
    afterMs: number,
    uptoMs: number,
    from: InsertKey | undefined,
    limit: number,
  ): Promise<{ row: AgentOutputRow; key: InsertKey }[]>;
}

export interface OutputRecoveryOptions {
  store: OutputRecoveryStore;
  /** Evaluates the output rules on these outputs and hands the results to the writers. */
  evaluate(outputs: AgentOutputRow[]): Promise<void>;
  /** Waits until everything handed to the engine so far is evaluated and written. */
  flush(): Promise<void>;
  /**
   * How far insert times may run ahead of this clock (a ClickHouse server's clock against
   * ours): the checkpoint stays this far behind, and a restart evaluates that much again.
   */
  clockMarginMs?: number;
  pageSize?: number;
  now?: () => number;
}

export interface OutputRecovery {
  /**
   * At start: evaluates the outputs inserted after the checkpoint (up to now), writes their
   * results, moves the checkpoint. Returns how many were evaluated again.
   */
  recover(): Promise<number>;
  /** Writes what is pending and moves the checkpoint up to the time this was called. */
  checkpoint(): Promise<void>;
}

const CLOCK_MARGIN_MS = 10_000;
const PAGE_SIZE = 2_000;

export function createOutputRecovery(options: OutputRecoveryOptions): OutputRecovery {
  const now = options.now ?? Date.now;
  const margin = options.clockMarginMs ?? CLOCK_MARGIN_MS;
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const { store } = options;

  async function checkpoint(): Promise<void> {
    // Every output committed before `started` was handed to the engine before it (the commit
    // listener runs right after the commit), so once flush() is done its results are stored.
    const started = now();
    await options.flush();
    await store.writeCursor(OUTPUTS_EVALUATED_CURSOR, started - margin);
  }

  async function recover(): Promise<number> {
    const started = now();
    const after = await store.readCursor(OUTPUTS_EVALUATED_CURSOR);
    // A first start has nothing of its own to recover; history is a backtest's job.
    if (after === undefined) {
      await store.writeCursor(OUTPUTS_EVALUATED_CURSOR, started - margin);
      return 0;
    }
    let evaluated = 0;
    let from: InsertKey | undefined;
    for (;;) {
      const page = await store.outputsInserted(after, started, from, pageSize);
      if (page.length === 0) break;
      await options.evaluate(page.map((p) => p.row));
      evaluated += page.length;
      from = page[page.length - 1]?.key;
      if (page.length < pageSize) break;
    }
    await options.flush();
    await store.writeCursor(OUTPUTS_EVALUATED_CURSOR, started - margin);
    return evaluated;
  }

  return { recover, checkpoint };
}
