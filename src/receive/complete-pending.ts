/**
 * Completes the outputs stored pending (decode/pending-outputs.ts) once their trace is quiet:
 * the trace's stored spans are decoded again, all together and with the GenAI content of its
 * log records (decode/log-events.ts), so an agent span that came in a later request names the
 * calls under it and content sent as logs fills the call it belongs to. The completed rows
 * (without the pending mark) replace the pending ones; the quiet-trace evaluator that calls
 * this then evaluates them, with their final agent name.
 */

import { inheritAgentNames } from "../decode/inherit-agent.ts";
import { attachLogEvents, type SpanLogEvent } from "../decode/log-events.ts";
import { normaliseSpans } from "../decode/normalise.ts";
import { withoutPending } from "../decode/pending-outputs.ts";
import { spanFromRow, type ResourceCache } from "../decode/span-from-row.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { OtelTracesRow } from "../store/tables/otel-traces.ts";

export interface PendingStore {
  pendingOutputsOf(traceIds: readonly string[]): Promise<AgentOutputRow[]>;
  spansOfTraces(traceIds: readonly string[]): Promise<OtelTracesRow[]>;
  /** The GenAI log records of these traces (content sent as logs), when logs are stored. */
  logEventsOfTraces?(traceIds: readonly string[]): Promise<SpanLogEvent[]>;
  writeOutputs(rows: AgentOutputRow[]): Promise<void>;
  deletePending(rows: readonly AgentOutputRow[]): Promise<void>;
  /** Span attributes naming a conversation id, before the well-known ones (config). */
  conversationAttributes?: readonly string[];
}

/** Completes, stores and returns the pending outputs of these traces. */
export type CompletePending = (traceIds: readonly string[]) => Promise<AgentOutputRow[]>;

export function createPendingCompleter(store: PendingStore): CompletePending {
  return async (traceIds) => {
    const pending = await store.pendingOutputsOf(traceIds);
    if (pending.length === 0) return [];
    const resources: ResourceCache = new Map();
    const traces = [...new Set(pending.map((r) => r.TraceId))];
    const stored = (await store.spansOfTraces(traces)).map((row) => spanFromRow(row, resources));
    const spans = attachLogEvents(stored, (await store.logEventsOfTraces?.(traces)) ?? []);
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans, store.conversationAttributes);
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
