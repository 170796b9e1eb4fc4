/**
 * Group commit: rows from concurrent requests are written together, a group at most every
 * `flushIntervalMs` (sooner once `flushMaxSpans` are waiting), and each request is answered only
 * once its rows are committed. A request that finds the store idle is written at once; under
 * load, requests gather while the previous inserts run. ClickHouse likes few large inserts;
 * clients like quick answers.
 *
 * Up to `maxInFlight` groups are written at a time (pipelined). While a group is in flight the
 * next one waits for it until it is worth an insert of its own, `flushMaxSpans / maxInFlight`
 * rows (5,000 by default), and then goes out beside it: a store that falls behind gets its
 * backlog in parallel inserts instead of one after the other, while at ordinary rates groups
 * stay large. Measured on two cores (embedded), a second group every `flushIntervalMs` instead
 * cost 15–25 % of the maximum rate: each insert pays a fixed cost for its new part, and the
 * second core already parses the first group. Groups are answered in the order they were
 * taken: a later group that commits first waits for the earlier ones, so an acknowledgement
 * (and the commit listeners after it) never overtakes an earlier request's. A request's rows
 * are always in one group.
 */

import { queueFull, storeUnavailable, type PlumblineError } from "../errors.ts";
import { isRetryableStoreError } from "./is-retryable-error.ts";
import type { OtelLogsRow } from "./tables/otel-logs.ts";
import {
  emptyMetricRows,
  METRIC_TABLES,
  type MetricRows,
  type MetricTable,
} from "./tables/otel-metrics.ts";
import {
  concatRows,
  eachRow,
  NO_ROWS,
  recycleRows,
  spanKeyOf,
  type EncodedRows,
} from "./json-each-row.ts";
import type { EncodedSpans, WriteBatch } from "./write-batch.ts";

/** A span the store refused as data (the rest of its request was committed). */
export interface RefusedSpan {
  traceId: string;
  spanId: string;
  reason: string;
}

/**
 * A log record or data point row the store refused as data: the row object of the submitted
 * batch itself, so the submitter finds its record by identity.
 */
export interface RefusedRow {
  row: OtelLogsRow | MetricRows[MetricTable][number];
  reason: string;
}

/**
 * Committed, but for the spans (`refused`) and the log or metric rows (`refusedRows`, present
 * only when there are any) that the store refused one by one.
 */
export type CommitResult =
  | { ok: true; refused: RefusedSpan[]; refusedRows?: RefusedRow[] }
  | { ok: false; error: PlumblineError };

export type StoreHealth =
  { ok: true } | { ok: false; reason: string; sinceMs: number; retryAfterMs: number };

export interface GroupCommitOptions {
  flushIntervalMs: number;
  flushMaxSpans: number;
  maxQueuedSpans: number;
  /**
   * Groups written at once (default 2); the second only once `flushMaxSpans / maxInFlight`
   * rows wait behind the first. 1 writes one group at a time.
   */
  maxInFlight?: number;
  /** Attempts per flush for retryable store errors, before the requests are failed. */
  attempts?: number;
  /** First backoff between attempts; doubles each time. */
  backoffMs?: number;
  /** How often a failing store is probed for recovery. */
  probeIntervalMs?: number;
  now?: () => number;
}

export interface GroupCommitter {
  /**
   * Queues the rows; resolves when they are committed, or with the reason they are not. The
   * batch's encoded rows are the committer's from then on: their bytes are reused once it is
   * answered.
   */
  submit(batch: WriteBatch): Promise<CommitResult>;
  health(): StoreHealth;
  queuedSpans(): number;
  /** Turns requests away with 503 until the store's ping answers (e.g. schema not yet ready). */
  markFailing(reason: string): void;
  /** Refuses new work, writes everything already accepted, and stops. */
  close(): Promise<void>;
}

/** What became of one request's rows of one part (see writeGroup). */
type BatchOutcome =
  { ok: true; refused: RefusedSpan[]; refusedRows: RefusedRow[] } | { ok: false; message: string };

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

  const maxInFlight = Math.max(1, options.maxInFlight ?? 2);
  // Rows that make a group worth writing beside one already in flight.
  const pipelinedSpans = Math.ceil(options.flushMaxSpans / maxInFlight);

  let pending: Pending[] = [];
  let pendingSpans = 0;
  let inFlightSpans = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let lastFlushStart = Number.NEGATIVE_INFINITY;
  // Settles once every group taken so far is answered; each group waits for the one before.
  let answered: Promise<void> = Promise.resolve();
  let closed = false;
  let health: StoreHealth = { ok: true };
  let probeTimer: NodeJS.Timeout | undefined;

  // Spans, log records and data points all count against flushMaxSpans and maxQueuedSpans.
  const spansOf = (batch: WriteBatch) => Math.max(rowsOf(batch), 1);

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
      if (isDue()) triggerFlush();
      else scheduleFlush();
    });
  }

  /** A group goes out now, not on the timer (given a free slot). */
  function isDue(): boolean {
    return (
      closed ||
      pendingSpans >= options.flushMaxSpans ||
      (inFlight > 0 && pendingSpans >= pipelinedSpans)
    );
  }

  // An idle store: a group at most every flushIntervalMs, but no waiting when the last one
  // started longer ago than that, so a lone request is written at once. While a group is in
  // flight, the next waits for it (or for enough rows to go beside it, isDue).
  function scheduleFlush(): void {
    if (timer !== undefined || inFlight > 0) return;
    const due = lastFlushStart + options.flushIntervalMs - now();
    timer = due > 0 ? setTimeout(triggerFlush, due) : setImmediate(triggerFlush);
  }

  function triggerFlush(): void {
    if (timer !== undefined) {
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    }
    timer = undefined;
    if (inFlight >= maxInFlight || pending.length === 0) return;
    lastFlushStart = now();
    const taken = pending;
    const spans = pendingSpans;
    pending = [];
    pendingSpans = 0;
    inFlight++;
    inFlightSpans += spans;
    // writeGroup returns outcomes rather than throwing; should it throw all the same (a bug),
    // its requests are answered 503 instead of never, and the groups after it still are.
    const results = writeGroup(taken).catch((error: unknown) =>
      taken.map((): CommitResult => ({ ok: false, error: unavailable(String(error)) })),
    );
    const earlier = answered;
    answered = (async () => {
      const settled = await results;
      await earlier;
      for (const [i, p] of taken.entries()) {
        p.resolve(settled[i] as CommitResult);
        // Written or given up: its encoded bytes serve the next requests (json-each-row.ts).
        if (p.batch.encoded !== undefined) {
          recycleRows(p.batch.encoded.traces);
          recycleRows(p.batch.encoded.outputs);
        }
      }
    })().finally(() => {
      inFlight--;
      inFlightSpans -= spans;
      // What arrived meanwhile goes out now if it is already due.
      if (pending.length > 0) {
        if (isDue()) triggerFlush();
        else scheduleFlush();
      }
    });
  }

  /**
   * Writes a group one part at a time, the parts at once: spans with their outputs, log records,
   * and each metrics table. The store takes or refuses each table's insert whole, and the others
   * of a batch stay written when one fails (store.ts inserts them side by side), so a part it
   * refuses is written again without the parts it took: a refused data point does not write the
   * spans and log records of the same flush twice. A request is answered once all its parts are.
   */
  async function writeGroup(group: Pending[]): Promise<CommitResult[]> {
    const outcomes = group.map((): BatchOutcome[] => []);
    await Promise.all(
      partsOf(group.map((p) => p.batch)).map(async (members) => {
        const written = await writePart(members.map((m) => m.batch));
        written.forEach((outcome, k) => outcomes[members[k]!.index]!.push(outcome));
      }),
    );
    return outcomes.map((parts): CommitResult => {
      const failed = parts.find((o) => !o.ok);
      if (failed !== undefined) {
        markFailing(failed.message);
        return { ok: false, error: unavailable(failed.message) };
      }
      const refused = parts.flatMap((o) => (o.ok ? o.refused : []));
      const refusedRows = parts.flatMap((o) => (o.ok ? o.refusedRows : []));
      return refusedRows.length > 0 ? { ok: true, refused, refusedRows } : { ok: true, refused };
    });
  }

  /** What became of each of `batches`, all rows of one part, written together. */
  async function writePart(batches: WriteBatch[]): Promise<BatchOutcome[]> {
    const outcome = await writeWithRetry(mergeBatches(batches));
    if (outcome.ok) return batches.map(() => ({ ok: true, refused: [], refusedRows: [] }));
    if (outcome.retryable) return batches.map(() => ({ ok: false, message: outcome.message }));
    // The store refused the data itself. Write each request alone so that one bad request
    // does not take the good ones in the same group down with it.
    if (batches.length > 1) {
      const each: BatchOutcome[] = [];
      for (const batch of batches) each.push(...(await writePart([batch])));
      return each;
    }
    // Within the request, halve it until the spans (log records, data points) the store
    // refuses are found; the rest is committed and the client is told which were refused
    // (OTLP partial success).
    const isolated = await isolateRefused(unitsOf(batches[0] as WriteBatch), outcome.message);
    if (!isolated.ok) return [{ ok: false, message: isolated.message }];
    const refused: RefusedSpan[] = [];
    const refusedRows: RefusedRow[] = [];
    for (const { unit, reason } of isolated.refused) {
      const row = spanRowOf(unit);
      if (row !== undefined) refused.push({ traceId: row.TraceId, spanId: row.SpanId, reason });
      else refusedRows.push({ row: otherRowOf(unit), reason });
    }
    return [{ ok: true, refused, refusedRows }];
  }

  /** The answer to a request whose rows the store could not take for now. */
  function unavailable(message: string): PlumblineError {
    return storeUnavailable(
      `store unavailable: ${message}`,
      health.ok ? undefined : health.retryAfterMs,
    );
  }

  /**
   * Writes what the store accepts of a batch it refused, a half at a time: k bad units (a span
   * with its outputs, a log record, a data point) among n cost about 2k·log2(n) inserts. A
   * transient failure on the way fails the request (its client sends it again; agent_outputs
   * dedupes, the other tables may then hold a row twice).
   */
  async function isolateRefused(
    units: WriteBatch[],
    message: string,
  ): Promise<
    { ok: true; refused: { unit: WriteBatch; reason: string }[] } | { ok: false; message: string }
  > {
    if (units.length <= 1) {
      const unit = units[0];
      const reason = `the store refused it: ${firstLine(message)}`;
      return { ok: true, refused: unit === undefined ? [] : [{ unit, reason }] };
    }
    const refused: { unit: WriteBatch; reason: string }[] = [];
    const middle = Math.ceil(units.length / 2);
    for (const half of [units.slice(0, middle), units.slice(middle)]) {
      const outcome = await writeWithRetry(mergeBatches(half));
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
    while (pending.length > 0 || inFlight > 0) {
      triggerFlush();
      await answered;
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
  const encoded: EncodedSpans[] = [];
  for (const b of batches) {
    for (const row of b.traces) merged.traces.push(row);
    for (const row of b.outputs) merged.outputs.push(row);
    if (b.encoded !== undefined) encoded.push(b.encoded);
    if (b.logs !== undefined && b.logs.length > 0) {
      merged.logs ??= [];
      for (const row of b.logs) merged.logs.push(row);
    }
    if (b.metrics !== undefined) {
      const metrics = (merged.metrics ??= emptyMetricRows());
      for (const table of METRIC_TABLES) {
        // One table at a time keeps each array's row type; a loop, as a spread of a large
        // array overflows the call stack.
        const into = metrics[table] as object[];
        for (const row of b.metrics[table]) into.push(row);
      }
    }
  }
  if (encoded.length > 0) {
    merged.encoded = {
      traces: concatRows(encoded.map((e) => e.traces)),
      outputs: concatRows(encoded.map((e) => e.outputs)),
    };
  }
  return merged;
}

/**
 * The parts of a group's batches (see writeGroup): for each part, the requests with rows in it
 * and those rows. A request with no rows at all is in no part.
 */
function partsOf(batches: WriteBatch[]): { index: number; batch: WriteBatch }[][] {
  const spans: { index: number; batch: WriteBatch }[] = [];
  const logs: { index: number; batch: WriteBatch }[] = [];
  const metrics = METRIC_TABLES.map(() => [] as { index: number; batch: WriteBatch }[]);
  for (const [index, b] of batches.entries()) {
    if (b.traces.length > 0 || b.outputs.length > 0 || encodedRowsOf(b) > 0) {
      const part: WriteBatch = { traces: b.traces, outputs: b.outputs };
      if (b.encoded !== undefined) part.encoded = b.encoded;
      spans.push({ index, batch: part });
    }
    if (b.logs !== undefined && b.logs.length > 0)
      logs.push({ index, batch: { traces: [], outputs: [], logs: b.logs } });
    for (const [t, table] of METRIC_TABLES.entries()) {
      const rows = b.metrics?.[table] ?? [];
      if (rows.length === 0) continue;
      const part = emptyMetricRows();
      part[table] = rows as never;
      metrics[t]!.push({ index, batch: { traces: [], outputs: [], metrics: part } });
    }
  }
  return [spans, logs, ...metrics].filter((members) => members.length > 0);
}

/** Spans, log records and data points in a batch. */
function rowsOf(batch: WriteBatch): number {
  let rows = batch.traces.length + (batch.encoded?.traces.rows ?? 0) + (batch.logs?.length ?? 0);
  for (const table of METRIC_TABLES) rows += batch.metrics?.[table].length ?? 0;
  return rows;
}

/**
 * The batch as the units the store may refuse one by one: each span with its outputs, an
 * output without its span, each log record, each data point.
 */
function unitsOf(batch: WriteBatch): WriteBatch[] {
  const outputsBySpan = new Map<string, WriteBatch["outputs"]>();
  for (const o of batch.outputs) {
    const key = `${o.TraceId}/${o.SpanId}`;
    outputsBySpan.set(key, [...(outputsBySpan.get(key) ?? []), o]);
  }
  const units: WriteBatch[] = batch.traces.map((row) => {
    const key = `${row.TraceId}/${row.SpanId}`;
    const outputs = outputsBySpan.get(key) ?? [];
    outputsBySpan.delete(key);
    return { traces: [row], outputs };
  });
  for (const outputs of outputsBySpan.values())
    for (const o of outputs) units.push({ traces: [], outputs: [o] });
  if (batch.encoded !== undefined) units.push(...encodedUnitsOf(batch.encoded));
  for (const row of batch.logs ?? []) units.push({ traces: [], outputs: [], logs: [row] });
  for (const table of METRIC_TABLES) {
    for (const row of batch.metrics?.[table] ?? []) {
      const metrics = emptyMetricRows();
      (metrics[table] as object[]).push(row);
      units.push({ traces: [], outputs: [], metrics });
    }
  }
  return units;
}

/** Encoded spans as units: each span line with the output lines of the same span. */
function encodedUnitsOf(encoded: EncodedSpans): WriteBatch[] {
  const key = (row: EncodedRows) => {
    const { TraceId, SpanId } = spanKeyOf(row);
    return `${TraceId}/${SpanId}`;
  };
  const outputsBySpan = new Map<string, EncodedRows[]>();
  for (const o of eachRow(encoded.outputs)) {
    const k = key(o);
    outputsBySpan.set(k, [...(outputsBySpan.get(k) ?? []), o]);
  }
  const unit = (traces: EncodedRows, outputs: EncodedRows): WriteBatch => ({
    traces: [],
    outputs: [],
    encoded: { traces, outputs },
  });
  const units = eachRow(encoded.traces).map((t) => {
    const k = key(t);
    const outputs = outputsBySpan.get(k) ?? [];
    outputsBySpan.delete(k);
    return unit(t, concatRows(outputs));
  });
  for (const outputs of outputsBySpan.values())
    for (const o of outputs) units.push(unit(NO_ROWS, o));
  return units;
}

function encodedRowsOf(batch: WriteBatch): number {
  return (batch.encoded?.traces.rows ?? 0) + (batch.encoded?.outputs.rows ?? 0);
}

/** The ids of a unit's span, when it holds one (or an output of one). */
function spanRowOf(unit: WriteBatch): { TraceId: string; SpanId: string } | undefined {
  const row = unit.traces[0] ?? unit.outputs[0];
  if (row !== undefined) return row;
  const encoded = unit.encoded;
  if (encoded === undefined || encodedRowsOf(unit) === 0) return undefined;
  return spanKeyOf(encoded.traces.rows > 0 ? encoded.traces : eachRow(encoded.outputs)[0]!);
}

/** The one log or metric row of a unit that holds no span. */
function otherRowOf(unit: WriteBatch): RefusedRow["row"] {
  const row = unit.logs?.[0] ?? METRIC_TABLES.map((t) => unit.metrics?.[t][0]).find(Boolean);
  if (row === undefined) throw new Error("a refused unit without a row");
  return row;
}

function firstLine(message: string): string {
  return message.split("\n")[0]?.trim() ?? message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
