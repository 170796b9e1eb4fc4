/**
 * Trace rules run once a trace has gone quiet: no new output inserted for `quietMs`. A durable
 * cursor over insert times (plumbline_cursors) says how far this has got, so a restart resumes
 * where it stopped, downtime is caught up, and a trace that receives a late span is evaluated
 * again (findings and counts are idempotent, so nothing is counted twice).
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { Engine, EvaluationSink } from "./engine.ts";
import { groupByTrace } from "./group-by-trace.ts";
import { createPollLoop } from "../poll-loop.ts";

export interface QuietTraceStore {
  readCursor(name: string): Promise<number | undefined>;
  writeCursor(name: string, value: number): Promise<void>;
  /** Traces quiet since uptoMs with an insert after afterMs, and their last insert time. */
  quietTraceIds(
    afterMs: number,
    uptoMs: number,
  ): Promise<{ traceId: string; lastInsertMs: number }[]>;
  /** `lean`: the input text and attribute maps may be left out. */
  outputsOfTraces(traceIds: string[], lean: boolean): Promise<AgentOutputRow[]>;
}

export interface QuietTraceOptions {
  store: QuietTraceStore;
  engine: Pick<Engine, "evaluateTrace" | "traceRulesRead">;
  /**
   * Set in a process with role `evaluate`, where spans are received by other processes: output
   * rules then run here too, on the outputs of each quiet trace.
   */
  outputs?: Pick<Engine, "evaluateOutputs">;
  /**
   * Outputs stored pending (an agent or content still to come): `complete` completes and
   * stores those of the given traces and returns them, and `evaluate` runs the output rules on
   * them (without `outputs`; with it, they are among the outputs read afterwards), so their
   * findings carry the final agent name.
   */
  pending?: {
    complete(traceIds: readonly string[]): Promise<AgentOutputRow[]>;
    evaluate: Pick<Engine, "evaluateOutputs">;
  };
  /**
   * Conversation rules: each batch of quiet traces is handed on, as new turns of their
   * conversations (conversations.ts), before the cursor passes them.
   */
  conversations?: { onQuietTraces(traceIds: readonly string[]): Promise<unknown> };
  sink: EvaluationSink;
  quietMs: number;
  intervalMs: number;
  /** Where a first run starts, before the cursor exists: this long before the quiet horizon. */
  firstRunLookbackMs?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

export const QUIET_TRACE_CURSOR = "quiet-traces";
const OVERLAP_MS = 10_000;
const TRACES_PER_QUERY = 500;

export interface QuietTraceEvaluator {
  /**
   * Traces this process has just ingested. They are evaluated once quiet even when the insert-
   * time scan misses them; the scan still covers restarts and other ingest processes.
   */
  noteIngested(traceIds: readonly string[]): void;
  /** One pass; returns how many traces were evaluated. Never runs two passes at once. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export function createQuietTraceEvaluator(options: QuietTraceOptions): QuietTraceEvaluator {
  const now = options.now ?? Date.now;
  /** Trace id → the last insert time it was evaluated at (within the overlap). */
  const evaluatedAt = new Map<string, number>();
  /** Trace id → when this process last ingested an output of it. */
  const ingested = new Map<string, number>();
  const MAX_TRACES_REMEMBERED = 100_000;
  /**
   * Role evaluate: trace id → the span ids whose outputs went through the output rules. A
   * trace re-opened by a late span gets its trace rules again (they see the whole trace), but
   * only the new outputs go through the output rules: an `each` alert must not fire again for
   * an output it already reported. Kept for the most recent MAX_TRACES_REMEMBERED traces; a restart
   * forgets it (a re-opened trace is then evaluated whole, as before).
   */
  const outputsDone = new Map<string, Set<string>>();

  async function pass(): Promise<number> {
    const upto = now() - options.quietMs;
    const after =
      (await options.store.readCursor(QUIET_TRACE_CURSOR)) ??
      upto - (options.firstRunLookbackMs ?? 10 * 60_000);
    if (upto <= after) return 0;
    const reads = options.outputs ? { any: true, bulky: true } : options.engine.traceRulesRead();
    if (!reads.any && options.pending === undefined && options.conversations === undefined) {
      // No trace rules: nothing to read, only move on.
      await options.store.writeCursor(QUIET_TRACE_CURSOR, upto);
      return 0;
    }
    // Each pass looks back OVERLAP_MS before the cursor: an insert that took long to become
    // visible carries an insert time the cursor may already have passed. Traces already
    // evaluated at their current last insert are skipped, so the overlap costs no re-evaluation.
    const found = await options.store.quietTraceIds(after - OVERLAP_MS, upto);
    const lastInsert = new Map(found.map((t) => [t.traceId, t.lastInsertMs]));
    const traceIds = found
      .filter((t) => evaluatedAt.get(t.traceId) !== t.lastInsertMs)
      .map((t) => t.traceId);
    const chosen = new Set(traceIds);
    for (const [traceId, at] of ingested) {
      if (at <= upto && !chosen.has(traceId)) {
        chosen.add(traceId);
        traceIds.push(traceId);
      }
    }
    for (let i = 0; i < traceIds.length; i += TRACES_PER_QUERY) {
      const batch = traceIds.slice(i, i + TRACES_PER_QUERY);
      const readAt = now();
      if (options.pending !== undefined) {
        const completed = await options.pending.complete(batch);
        if (completed.length > 0 && options.outputs === undefined) {
          const perOutput = await options.pending.evaluate.evaluateOutputs(completed);
          options.sink.add(perOutput.findings, perOutput.evaluations);
        }
      }
      const rows = reads.any ? await options.store.outputsOfTraces(batch, !reads.bulky) : [];
      for (const trace of groupByTrace(rows)) {
        const { findings, evaluations } = options.engine.evaluateTrace(trace);
        options.sink.add(findings, evaluations);
        if (options.outputs !== undefined) {
          const traceId = trace[0]?.TraceId ?? "";
          const done = outputsDone.get(traceId) ?? new Set<string>();
          const fresh = trace.filter((row) => !done.has(row.SpanId));
          if (fresh.length > 0) {
            const perOutput = await options.outputs.evaluateOutputs(fresh);
            options.sink.add(perOutput.findings, perOutput.evaluations);
          }
          for (const row of fresh) done.add(row.SpanId);
          remember(outputsDone, traceId, done);
        }
      }
      await options.conversations?.onQuietTraces(batch);
      // Only now are they done: a pass that fails before this point leaves them to the next.
      for (const traceId of batch) {
        const last = lastInsert.get(traceId);
        if (last !== undefined) evaluatedAt.set(traceId, last);
        // The read saw every commit noted before it started; a later note means another look.
        const noted = ingested.get(traceId);
        if (noted !== undefined && noted <= readAt) ingested.delete(traceId);
      }
    }
    // Forget what the overlap can no longer reach.
    for (const [traceId, last] of evaluatedAt) {
      if (last < after - 2 * OVERLAP_MS) evaluatedAt.delete(traceId);
    }
    await options.store.writeCursor(QUIET_TRACE_CURSOR, upto);
    return traceIds.length;
  }

  /** Sets key to value as the newest entry, dropping the oldest beyond MAX_TRACES_REMEMBERED. */
  function remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key); // re-insert: the map stays ordered by last use
    map.set(key, value);
    while (map.size > MAX_TRACES_REMEMBERED) map.delete(map.keys().next().value as string);
  }

  const loop = createPollLoop(pass, options.intervalMs, options.onError);

  return {
    noteIngested(traceIds) {
      const at = now();
      for (const traceId of traceIds) remember(ingested, traceId, at);
    },
    tick: loop.tick,
    start: loop.start,
    stop: loop.stop,
  };
}
