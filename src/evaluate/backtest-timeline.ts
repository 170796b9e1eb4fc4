/**
 * Puts what a backtest finds in the order the live service would have had it (backtest.ts):
 * each result at its simulated time, handed to the timeline oldest first. Outputs are read
 * hour by hour in Timestamp (span start) order, but a result comes later than its output
 * started — when the span ended, when its trace went quiet, when a window settled — so results
 * wait here, in a heap, until nothing read afterwards can come before them.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CheckEvaluation, Finding, WindowEvaluation } from "../rules/findings.ts";
import type { BacktestTimeline, BacktestTiming } from "./backtest.ts";
import { spanTime, startNs } from "./checks/span-time.ts";
import type { EvaluationResult } from "./engine.ts";

export interface OrderedTimeline {
  /**
   * The output rules' results on these outputs: each output's at the end of its span, or
   * `delayMs` later (judge rules whose prompt waits for the rest of the trace).
   */
  outputs(rows: readonly AgentOutputRow[], result: EvaluationResult, delayMs?: number): void;
  /** The trace rules' results on one trace: once it has been quiet after its last span. */
  trace(rows: readonly AgentOutputRow[], result: EvaluationResult): void;
  /** Results the live service would have had at `atMs` (a quiet conversation's). */
  at(atMs: number, result: EvaluationResult): void;
  /** A window evaluation: when the scheduler would have run it. */
  window(evaluation: WindowEvaluation): void;
  /** Hands on, oldest first, everything before `beforeMs` (Infinity: everything). */
  release(beforeMs: number): Promise<void>;
}

interface Pending {
  at: number;
  /** Equal times keep the order they were found in. */
  seq: number;
  hand(): Promise<void>;
}

export function orderedTimeline(
  timeline: BacktestTimeline,
  timing: BacktestTiming,
  untilMs: number,
): OrderedTimeline {
  const heap: Pending[] = [];
  let seq = 0;

  // A result after the end of the backtest would not have reached the service by then.
  function add(at: number, hand: () => Promise<void>): void {
    if (at > untilMs) return;
    push(heap, { at, seq: seq++, hand });
  }

  function addBatches(
    batches: Map<number, { findings: Finding[]; evaluations: CheckEvaluation[] }>,
  ): void {
    for (const [at, batch] of [...batches].sort(([a], [b]) => a - b)) {
      if (batch.findings.length === 0 && batch.evaluations.length === 0) continue;
      add(at, () => timeline.evaluated(at, batch.findings, batch.evaluations));
    }
  }

  return {
    outputs(rows, result, delayMs = 0) {
      const endOf = new Map(
        rows.map((row) => [`${row.TraceId}/${row.SpanId}`, endMs(row) + delayMs]),
      );
      const batches = new Map<number, { findings: Finding[]; evaluations: CheckEvaluation[] }>();
      const batchAt = (key: string, time: string) => {
        const at = endOf.get(key) ?? Number(startNs(time) / 1_000_000n);
        let batch = batches.get(at);
        if (batch === undefined) {
          batch = { findings: [], evaluations: [] };
          batches.set(at, batch);
        }
        return batch;
      };
      for (const finding of result.findings) {
        batchAt(`${finding.traceId}/${finding.spanId}`, finding.time).findings.push(finding);
      }
      for (const evaluation of result.evaluations) {
        batchAt(evaluation.outputKey, evaluation.time).evaluations.push(evaluation);
      }
      addBatches(batches);
    },
    trace(rows, result) {
      if (rows.length === 0) return;
      const quietAt = Math.max(...rows.map(endMs)) + timing.traceQuietMs;
      addBatches(new Map([[quietAt, { ...result }]]));
    },
    at(atMs, result) {
      addBatches(new Map([[atMs, { ...result }]]));
    },
    window(evaluation) {
      const at = evaluation.windowEnd + timing.windowSettleMs;
      add(at, () => timeline.windowEvaluated(at, evaluation));
    },
    async release(beforeMs) {
      for (let next = heap[0]; next !== undefined && next.at < beforeMs; next = heap[0]) {
        pop(heap);
        await next.hand();
      }
    },
  };
}

/** When an output's span ended (unix ms): when the live service would have received it. */
function endMs(row: AgentOutputRow): number {
  return Number(spanTime(row).end / 1_000_000n);
}

const before = (a: Pending, b: Pending) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

function push(heap: Pending[], item: Pending): void {
  heap.push(item);
  for (let i = heap.length - 1; i > 0;) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i] as Pending, heap[parent] as Pending)) break;
    [heap[i], heap[parent]] = [heap[parent] as Pending, heap[i] as Pending];
    i = parent;
  }
}

function pop(heap: Pending[]): void {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return;
  heap[0] = last;
  for (let i = 0; ;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let smallest = i;
    if (left < heap.length && before(heap[left] as Pending, heap[smallest] as Pending)) {
      smallest = left;
    }
    if (right < heap.length && before(heap[right] as Pending, heap[smallest] as Pending)) {
      smallest = right;
    }
    if (smallest === i) return;
    [heap[i], heap[smallest]] = [heap[smallest] as Pending, heap[i] as Pending];
    i = smallest;
  }
}
