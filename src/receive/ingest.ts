/**
 * The path every OTLP request takes once decoded, whatever its transport: spans become
 * `otel_traces` rows, recognised spans also become `agent_outputs` rows, both encoded as insert
 * text at once, and all of it is committed together before the request is answered.
 */

import type { RejectedSpan } from "../decode/decode-result.ts";
import { inheritAgentNames } from "../decode/inherit-agent.ts";
import { normaliseSpans } from "../decode/normalise.ts";
import { markPending } from "../decode/pending-outputs.ts";
import type { DecodedSpan } from "../decode/span.ts";
import { encodeOtelTracesRows } from "../decode/span-row.ts";
import { rejectedAfterDecode, settleSpanTimes, timeBoundsAt } from "../decode/span-times.ts";
import type { PlumblineError } from "../errors.ts";
import type { GroupCommitter } from "../store/group-commit.ts";
import { encodeAgentOutputRows, type AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { StatsRecorder } from "../store/stats-recorder.ts";
import type { IngestStatRow } from "../store/tables/ingest-stats.ts";
import type { WriteBatch } from "../store/write-batch.ts";

export type IngestResult =
  { ok: true; rejectedSpans: number; errorMessage: string } | { ok: false; error: PlumblineError };

/** Called with the outputs of every committed request (rule evaluation hooks in here). */
export type CommittedListener = (outputs: AgentOutputRow[]) => void;

export interface Ingest {
  (spans: DecodedSpan[], rejected: RejectedSpan[]): Promise<IngestResult>;
}

export interface IngestOptions {
  /** Called with the outputs of every committed request. */
  listeners?: CommittedListener[];
  /** Days a span is kept (0: forever); an older span is rejected rather than stored and lost. */
  retentionDays: number;
  /** Span attributes naming a conversation id, before the well-known ones (config). */
  conversationAttributes?: readonly string[];
  now?: () => number;
}

export function createIngest(
  committer: GroupCommitter,
  stats: Pick<StatsRecorder, "add">,
  options: IngestOptions,
): Ingest {
  const listeners = options.listeners ?? [];
  const now = options.now ?? Date.now;
  return async (decoded, decodeRejected) => {
    const nowMs = now();
    const settled = settleSpanTimes(decoded, timeBoundsAt(nowMs, options.retentionDays));
    const spans = settled.spans;
    const rejected = [...decodeRejected, ...settled.rejected];
    const { rows: outputs, unrecognised } = normaliseSpans(spans);
    markPending(outputs, inheritAgentNames(outputs, spans, options.conversationAttributes));
    // Encoded now, a request at a time, rather than at the group commit: the rows become bytes
    // outside the V8 heap while this request is being handled, and no group commit stalls the
    // event loop encoding thousands of rows at once.
    const batch: WriteBatch = {
      traces: [],
      outputs: [],
      encoded: { traces: encodeOtelTracesRows(spans), outputs: encodeAgentOutputRows(outputs) },
    };
    const result = await committer.submit(batch);
    // A request that was not stored is not counted: its client will send it again.
    if (!result.ok) return result;
    // Spans the store refused one by one (the rest of the request is committed).
    const refused = new Set(result.refused.map((r) => `${r.traceId}/${r.spanId}`));
    for (const r of result.refused) {
      const span = spans.find((s) => s.traceId === r.traceId && s.spanId === r.spanId);
      if (span !== undefined) rejected.push(rejectedAfterDecode(span, r.reason));
    }
    const stored =
      refused.size === 0 ? spans : spans.filter((s) => !refused.has(`${s.traceId}/${s.spanId}`));
    const storedOutputs =
      refused.size === 0
        ? outputs
        : outputs.filter((o) => !refused.has(`${o.TraceId}/${o.SpanId}`));
    stats.add(ingestStats(now(), stored, rejected, storedOutputs, unrecognised));
    for (const listener of listeners) listener(storedOutputs);
    return { ok: true, rejectedSpans: rejected.length, errorMessage: describeRejected(rejected) };
  };
}

function ingestStats(
  nowMs: number,
  spans: DecodedSpan[],
  rejected: RejectedSpan[],
  outputs: AgentOutputRow[],
  unrecognised: DecodedSpan[],
): IngestStatRow[] {
  const minute = Math.floor(nowMs / 60_000) * 60;
  const byKey = new Map<string, IngestStatRow>();
  const row = (service: string, spanName: string) => {
    const key = `${service}\u0000${spanName}`;
    let stat = byKey.get(key);
    if (stat === undefined) {
      stat = {
        Minute: minute,
        ServiceName: service,
        SpanName: spanName,
        Received: 0,
        Rejected: 0,
        Outputs: 0,
        Unrecognised: 0,
      };
      byKey.set(key, stat);
    }
    return stat;
  };
  for (const span of spans) row(span.resource.serviceName, span.name).Received++;
  for (const output of outputs) row(output.ServiceName, output.SpanName).Outputs++;
  for (const span of unrecognised) row(span.resource.serviceName, span.name).Unrecognised++;
  for (const r of rejected) {
    const stat = row(r.serviceName, "");
    stat.Received++;
    stat.Rejected++;
  }
  return [...byKey.values()];
}

// OTLP partialSuccess.error_message: a human-readable summary; the first few reasons in full.
function describeRejected(rejected: RejectedSpan[]): string {
  if (rejected.length === 0) return "";
  const shown = rejected.slice(0, 5).map((r) => `${r.path}: ${r.reason}`);
  const more = rejected.length > shown.length ? `; and ${rejected.length - shown.length} more` : "";
  return `${rejected.length} span(s) rejected: ${shown.join("; ")}${more}`;
}
