/**
 * Group commit: rows from concurrent requests are written together, at most one insert per
 * table every `flushIntervalMs` (sooner once `flushMaxSpans` are waiting), and each request is
 * answered only once its rows are committed. A request that finds the store idle is written at
 * once; under load, requests gather while the previous insert runs. ClickHouse likes few large
 * inserts; clients like quick answers.
 */

import { PlumblineError, queueFull, storeUnavailable } from "../errors.ts";
import { isRetryableStoreError } from "./is-retryable-error.ts";
import type { WriteBatch } from "./write-batch.ts";

export type CommitResult = { ok: true } | { ok: false; error: PlumblineError };

export type StoreHealth =
  { ok: true } | { ok: false; reason: string; sinceMs: number; retryAfterMs: number };

export interface GroupCommitOptions {
  flushIntervalMs: number;
  flushMaxSpans: number;
  maxQueuedSpans: number;
  /** Attempts per flush for retryable store errors, before the requests are failed. */
  attempts?: number;
  /** First backoff between attempts; doubles each time. */
  backoffMs?: number;
  /** How often a failing store is probed for recovery. */
  probeIntervalMs?: number;
  now?: () => number;
}

export interface GroupCommitter {
  /** Queues the rows; resolves when they are committed, or with the reason they are not. */
  submit(batch: WriteBatch): Promise<CommitResult>;
  health(): StoreHealth;
  queuedSpans(): number;
  /** Turns requests away with 503 until the store's ping answers (e.g. schema not yet ready). */
  markFailing(reason: string): void;
  /** Refuses new work, writes everything already accepted, and stops. */
  close(): Promise<void>;
}

interface Pending {
  batch: WriteBatch;
  resolve(result: CommitResult): void;
}

/** The store side the committer needs: a batch writer and a health probe. */
export interface CommitTarget {
  write(batch: WriteBatch): Promise<void>;
  ping(): Promise<boolean>;
}

export function createGroupCommitter(
  target: CommitTarget,
  options: GroupCommitOptions,
): GroupCommitter {
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 100;
  const probeIntervalMs = options.probeIntervalMs ?? 1_000;
  const now = options.now ?? Date.now;

  let pending: Pending[] = [];
  let pendingSpans = 0;
  let inFlightSpans = 0;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let lastFlushStart = Number.NEGATIVE_INFINITY;
  let flushing: Promise<void> | undefined;
  let closed = false;
  let health: StoreHealth = { ok: true };
  let probeTimer: NodeJS.Timeout | undefined;

  const spansOf = (batch: WriteBatch) => Math.max(batch.traces.length, 1);

  function submit(batch: WriteBatch): Promise<CommitResult> {
    if (closed) {
      return Promise.resolve({ ok: false, error: storeUnavailable("shutting down", 1_000) });
    }
    if (!health.ok) {
      return Promise.resolve({
        ok: false,
        error: storeUnavailable(`store unavailable: ${health.reason}`, health.retryAfterMs),
      });
    }
    const size = spansOf(batch);
    if (pendingSpans + inFlightSpans + size > options.maxQueuedSpans) {
      return Promise.resolve({ ok: false, error: queueFull() });
    }
    return new Promise((resolve) => {
      pending.push({ batch, resolve });
      pendingSpans += size;
      if (pendingSpans >= options.flushMaxSpans) triggerFlush();
      else scheduleFlush();
    });
  }

  // At most one insert per table every flushIntervalMs, but no waiting when the last one is
  // older than that: an idle store writes a lone request at once, a busy one batches.
  function scheduleFlush(): void {
    if (timer !== undefined || flushing !== undefined) return;
    const due = lastFlushStart + options.flushIntervalMs - now();
    timer = due > 0 ? setTimeout(triggerFlush, due) : setImmediate(triggerFlush);
  }

  function triggerFlush(): void {
    if (timer !== undefined) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
    timer = undefined;
    if (flushing !== undefined || pending.length === 0) return;
    flushing = flushPending().finally(() => {
      flushing = undefined;
      // What arrived while we were writing goes out now if it is already due.
      if (pending.length > 0) {
        if (pendingSpans >= options.flushMaxSpans || closed) triggerFlush();
        else scheduleFlush();
      }
    });
  }

  async function flushPending(): Promise<void> {
    lastFlushStart = now();
    const taken = pending;
    pending = [];
    inFlightSpans = pendingSpans;
    pendingSpans = 0;
    try {
      await writeGroup(taken);
    } finally {
      inFlightSpans = 0;
    }
  }

  async function writeGroup(group: Pending[]): Promise<void> {
    const outcome = await writeWithRetry(mergeBatches(group.map((p) => p.batch)));
    if (outcome.ok) {
      for (const p of group) p.resolve({ ok: true });
      return;
    }
    if (outcome.retryable) {
      markFailing(outcome.message);
      const error = storeUnavailable(`store unavailable: ${outcome.message}`);
      for (const p of group) p.resolve({ ok: false, error });
      return;
    }
    // The store refused the data itself. Write each request alone so that one bad request
    // does not take the good ones in the same group down with it.
    if (group.length > 1) {
      for (const p of group) await writeGroup([p]);
      return;
    }
    const error = new PlumblineError(
      "store_rejected",
      `the store rejected the rows: ${outcome.message}`,
      500,
    );
    for (const p of group) p.resolve({ ok: false, error });
  }

  async function writeWithRetry(
    batch: WriteBatch,
  ): Promise<{ ok: true } | { ok: false; retryable: boolean; message: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        await target.write(batch);
        return { ok: true };
      } catch (error) {
        const retryable = isRetryableStoreError(error);
        const message = error instanceof Error ? error.message : String(error);
        if (!retryable || attempt >= attempts) return { ok: false, retryable, message };
        await sleep(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }

  function markFailing(reason: string): void {
    if (!health.ok) return;
    health = { ok: false, reason, sinceMs: now(), retryAfterMs: probeIntervalMs * 2 };
    const probe = async () => {
      const ok = await target.ping().catch(() => false);
      if (ok) {
        health = { ok: true };
        probeTimer = undefined;
      } else if (!closed) {
        probeTimer = setTimeout(() => void probe(), probeIntervalMs);
      }
    };
    probeTimer = setTimeout(() => void probe(), probeIntervalMs);
  }

  async function close(): Promise<void> {
    closed = true;
    while (pending.length > 0 || flushing !== undefined) {
      triggerFlush();
      if (flushing !== undefined) await flushing;
    }
    if (probeTimer !== undefined) clearTimeout(probeTimer);
  }

  return {
    submit,
    health: () => health,
    queuedSpans: () => pendingSpans + inFlightSpans,
    markFailing,
    close,
  };
}

function mergeBatches(batches: WriteBatch[]): WriteBatch {
  if (batches.length === 1) return batches[0] as WriteBatch;
  const merged: WriteBatch = { traces: [], outputs: [] };
  for (const b of batches) {
    for (const row of b.traces) merged.traces.push(row);
    for (const row of b.outputs) merged.outputs.push(row);
  }
  return merged;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
