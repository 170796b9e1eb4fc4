/**
 * The table source mode (`PLUMBLINE_SOURCE=table`): an OpenTelemetry Collector's clickhouse
 * exporter writes `otel_traces`, and Plumbline reads new spans from it instead of receiving
 * them, normalises them into `agent_outputs` and hands them to the same listeners as ingest
 * (output rules, quiet traces).
 *
 * What is new is found by counting: each pass counts the spans per minute of start time over
 * the last `horizonMs` (one cheap aggregation over the Timestamp column) and compares with the
 * counts it has processed. A minute whose count grew — new spans, or late ones arriving for an
 * old minute — is read again, but only its spans that have no `agent_outputs` row yet, with the
 * other spans of their traces so agent names can be inherited. So a late span is not skipped
 * (within the horizon), and no output is written or evaluated twice. After a restart every
 * minute of the horizon is looked at once more; the outputs already stored keep their spans
 * from being processed again, so the durable position is `agent_outputs` itself.
 */

import { inheritAgentNames } from "../decode/inherit-agent.ts";
import { normaliseSpans } from "../decode/normalise.ts";
import { spanFromRow, type ResourceCache } from "../decode/span-from-row.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { SourceSpanRow } from "./table-source-queries.ts";
import type { IngestStatRow } from "../store/tables/ingest-stats.ts";
import { createPollLoop, type PollLoop } from "../poll-loop.ts";

export interface TableSourceStore {
  spanCountsPerMinute(fromMs: number, toMs: number): Promise<Map<number, number>>;
  newSpansOfMinutes(minutes: readonly number[]): Promise<SourceSpanRow[]>;
  writeOutputs(outputs: AgentOutputRow[]): Promise<void>;
}

export interface TableSourceOptions {
  store: TableSourceStore;
  /** Called with the outputs of every batch once they are stored (rule evaluation). */
  listeners: ((outputs: AgentOutputRow[]) => void)[];
  /** Ingest counters (received, outputs, unrecognised) of the new spans. */
  stats?: (rows: IngestStatRow[]) => void;
  /** Span attributes naming a conversation id, before the well-known ones (config). */
  conversationAttributes?: readonly string[];
  /** How far back a late span is still picked up. */
  horizonMs: number;
  /** A minute is read once it is this old, so a batch being written is read whole. */
  settleMs: number;
  intervalMs: number;
  /** Most minutes read per pass; the rest wait for the next one. */
  maxMinutesPerPass?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** tick(): one pass, resolving with the number of new outputs; readNow(): a pass that starts
 * after the one in progress, so it sees everything written before the call. */
export type TableSource = PollLoop<number>;

export const TABLE_SOURCE_DEFAULTS = {
  horizonMs: 6 * 3_600_000,
  settleMs: 5_000,
  intervalMs: 2_000,
  maxMinutesPerPass: 30,
} as const;

export function createTableSource(options: TableSourceOptions): TableSource {
  const now = options.now ?? Date.now;
  const maxMinutes = options.maxMinutesPerPass ?? TABLE_SOURCE_DEFAULTS.maxMinutesPerPass;
  /** Minute (unix s) → spans counted when it was last processed. */
  const processed = new Map<number, number>();

  async function pass(): Promise<number> {
    const to = now() - options.settleMs;
    const from = to - options.horizonMs;
    const counts = await options.store.spanCountsPerMinute(from, to);
    const changed = [...counts.entries()]
      .filter(([minute, spans]) => spans !== processed.get(minute))
      .map(([minute]) => minute)
      .sort((a, b) => a - b)
      .slice(0, maxMinutes);
    let written = 0;
    if (changed.length > 0) {
      const rows = await options.store.newSpansOfMinutes(changed);
      const resources: ResourceCache = new Map();
      const spans = rows.map((row) => spanFromRow(row, resources));
      const fresh = new Set(
        rows.filter((r) => r.IsNew === 1).map((r) => `${r.TraceId}/${r.SpanId}`),
      );
      const { rows: outputs } = normaliseSpans(spans);
      inheritAgentNames(outputs, spans, options.conversationAttributes);
      const newOutputs = outputs.filter((o) => fresh.has(`${o.TraceId}/${o.SpanId}`));
      if (newOutputs.length > 0) await options.store.writeOutputs(newOutputs);
      for (const listener of options.listeners) listener(newOutputs);
      options.stats?.(statsOf(now(), rows, newOutputs));
      written = newOutputs.length;
    }
    for (const minute of changed) processed.set(minute, counts.get(minute) ?? 0);
    for (const minute of processed.keys())
      if (minute * 1000 < from - 60_000) processed.delete(minute);
    return written;
  }

  return createPollLoop(pass, options.intervalMs, options.onError);
}

/** Ingest counters for the spans read as new: received, and which became outputs. */
function statsOf(nowMs: number, rows: SourceSpanRow[], outputs: AgentOutputRow[]): IngestStatRow[] {
  const minute = Math.floor(nowMs / 60_000) * 60;
  const isOutput = new Set(outputs.map((o) => `${o.TraceId}/${o.SpanId}`));
  const byKey = new Map<string, IngestStatRow>();
  for (const row of rows) {
    if (row.IsNew !== 1) continue;
    const key = `${row.ServiceName}\u0000${row.SpanName}`;
    let stat = byKey.get(key);
    if (stat === undefined) {
      stat = {
        Minute: minute,
        ServiceName: row.ServiceName,
        SpanName: row.SpanName,
        Received: 0,
        Rejected: 0,
        Outputs: 0,
        Unrecognised: 0,
      };
      byKey.set(key, stat);
    }
    stat.Received++;
    if (isOutput.has(`${row.TraceId}/${row.SpanId}`)) stat.Outputs++;
    else stat.Unrecognised++;
  }
  return [...byKey.values()];
}
