/**
 * Group commit: rows from concurrent requests are written together, at most one insert per
 * table every `flushIntervalMs` (sooner once `flushMaxSpans` are waiting), and each request is
 * answered only once its rows are committed. A request that finds the store idle is written at
 * once; under load, requests gather while the previous insert runs. ClickHouse likes few large
 * inserts; clients like quick answers.
 */

import { queueFull, storeUnavailable, type PlumblineError } from "../errors.ts";
import { isRetryableStoreError } from "./is-retryable-error.ts";
import type { WriteBatch } from "./write-batch.ts";

/** A span the store refused as data (the rest of its request was committed). */
export interface RefusedSpan {
  traceId: string;
  spanId: string;
  reason: string;
}

export type CommitResult =
  { ok: true; refused: RefusedSpan[] } | { ok: false; error: PlumblineError };

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

/** The store side the committer needs: a batch writer and health probes. */
export interface CommitTarget {
  write(batch: WriteBatch): Promise<void>;
  ping(): Promise<boolean>;
  /**
   * Writes something tiny and harmless; true when the store takes it. A store can answer pings
   * while refusing every insert (a full disk, a memory limit), so recovery is a write that works.
   */
  probeWrite?(): Promise<boolean>;
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
      for (const p of group) p.resolve({ ok: true, refused: [] });
      return;
    }
    if (outcome.retryable) {
      failAll(group, outcome.message);
      return;
    }
    // The store refused the data itself. Write each request alone so that one bad request
    // does not take the good ones in the same group down with it.
    if (group.length > 1) {
      for (const p of group) await writeGroup([p]);
      return;
    }
    // Within the request, halve it until the spans the store refuses are found; the rest is
    // committed and the client is told which spans were refused (OTLP partial success).
    const only = group[0] as Pending;
    const isolated = await isolateRefused(only.batch, outcome.message);
    if (isolated.ok) only.resolve({ ok: true, refused: isolated.refused });
    else failAll(group, isolated.message);
  }

  function failAll(group: Pending[], message: string): void {
    markFailing(message);
    const error = storeUnavailable(
      `store unavailable: ${message}`,
      health.ok ? undefined : health.retryAfterMs,
    );
    for (const p of group) p.resolve({ ok: false, error });
  }

  /**
   * Writes what the store accepts of a batch it refused, a half at a time: k bad spans among n
   * cost about 2k·log2(n) inserts. A transient failure on the way fails the request (its client
   * sends it again; agent_outputs dedupes, otel_traces may then hold a span twice).
   */
  async function isolateRefused(
    batch: WriteBatch,
    message: string,
  ): Promise<{ ok: true; refused: RefusedSpan[] } | { ok: false; message: string }> {
    if (batch.traces.length <= 1) {
      const row = batch.traces[0] ?? batch.outputs[0];
      const refused =
        row === undefined
          ? []
          : [
              {
                traceId: row.TraceId,
                spanId: row.SpanId,
                reason: `the store refused it: ${firstLine(message)}`,
              },
            ];
      return { ok: true, refused };
    }
    const refused: RefusedSpan[] = [];
    for (const half of halves(batch)) {
      const outcome = await writeWithRetry(half);
      if (outcome.ok) continue;
      if (outcome.retryable) return { ok: false, message: outcome.message };
      const inner = await isolateRefused(half, outcome.message);
      if (!inner.ok) return inner;
      refused.push(...inner.refused);
    }
    return { ok: true, refused };
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
      const ok =
        (await target.ping().catch(() => false)) &&
        (target.probeWrite === undefined || (await target.probeWrite().catch(() => false)));
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

/** The batch split in two by span, each span's outputs with its trace row. */
function halves(batch: WriteBatch): [WriteBatch, WriteBatch] {
  const middle = Math.ceil(batch.traces.length / 2);
  const first = batch.traces.slice(0, middle);
  const inFirst = new Set(first.map((row) => `${row.TraceId}/${row.SpanId}`));
  const isFirst = (o: { TraceId: string; SpanId: string }) =>
    inFirst.has(`${o.TraceId}/${o.SpanId}`);
  return [
    { traces: first, outputs: batch.outputs.filter(isFirst) },
    { traces: batch.traces.slice(middle), outputs: batch.outputs.filter((o) => !isFirst(o)) },
  ];
}

function firstLine(message: string): string {
  return message.split("\n")[0]?.trim() ?? message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
