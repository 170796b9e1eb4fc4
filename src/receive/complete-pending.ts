/**
 * Completes the outputs stored pending (decode/pending-outputs.ts) once their trace is quiet:
 * the trace's stored spans are decoded again, all together, so an agent span that came in a
 * later request names the calls under it, and the completed rows (without the pending mark)
 * replace the pending ones. They are then evaluated, with their final agent name, by the
 * quiet-trace evaluator that calls this.
 */

import { inheritAgentNames } from "../decode/inherit-agent.ts";
import { normaliseSpans } from "../decode/normalise.ts";
import { withoutPending } from "../decode/pending-outputs.ts";
import { spanFromRow, type ResourceCache } from "../decode/span-from-row.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { OtelTracesRow } from "../store/tables/otel-traces.ts";

export interface PendingStore {
  pendingOutputsOf(traceIds: readonly string[]): Promise<AgentOutputRow[]>;
  spansOfTraces(traceIds: readonly string[]): Promise<OtelTracesRow[]>;
  writeOutputs(rows: AgentOutputRow[]): Promise<void>;
  deletePending(rows: readonly AgentOutputRow[]): Promise<void>;
}

/** Completes, stores and returns the pending outputs of these traces. */
export type CompletePending = (traceIds: readonly string[]) => Promise<AgentOutputRow[]>;

export function createPendingCompleter(store: PendingStore): CompletePending {
  return async (traceIds) => {
    const pending = await store.pendingOutputsOf(traceIds);
    if (pending.length === 0) return [];
    const resources: ResourceCache = new Map();
    const traces = [...new Set(pending.map((r) => r.TraceId))];
    const spans = (await store.spansOfTraces(traces)).map((row) => spanFromRow(row, resources));
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    const decoded = new Map(rows.map((r) => [`${r.TraceId}/${r.SpanId}`, r]));
    // A span whose row cannot be rebuilt (its span was never stored) keeps what it had.
    const completed = pending.map((row) =>
      withoutPending(decoded.get(`${row.TraceId}/${row.SpanId}`) ?? row),
    );
    // Completed rows first: a crash in between leaves both, and the next pass does it again.
    await store.writeOutputs(completed);
    await store.deletePending(pending);
    return completed;
  };
}
