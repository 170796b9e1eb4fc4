/**
 * The path every OTLP metrics request takes once decoded, whatever its transport: data points
 * get storable times, become rows of the exporter's metrics tables (one per point type), and
 * are committed through the group committer before the request is answered.
 */

import type { DecodedDataPoint } from "../decode/metric-point.ts";
import { toMetricRow, TABLE_OF_KIND } from "../decode/metric-rows.ts";
import { describeRejected, type RejectedRecord } from "../decode/signal-decoding.ts";
import { settleMetricTimes } from "../decode/signal-times.ts";
import { timeBoundsAt } from "../decode/span-times.ts";
import type { GroupCommitter } from "../store/group-commit.ts";
import { emptyMetricRows } from "../store/tables/otel-metrics.ts";
import {
  type SignalIngestOptions,
  type SignalIngestResult,
  withoutRefused,
} from "./ingest-logs.ts";

/** Called with the points of every committed metrics request, as stored. */
export type CommittedMetricsListener = (points: DecodedDataPoint[]) => void;

export interface MetricsIngest {
  (points: DecodedDataPoint[], rejected: RejectedRecord[]): Promise<SignalIngestResult>;
}

export function createMetricsIngest(
  committer: Pick<GroupCommitter, "submit">,
  options: SignalIngestOptions<CommittedMetricsListener>,
): MetricsIngest {
  const listeners = options.listeners ?? [];
  const now = options.now ?? Date.now;
  return async (decoded, decodeRejected) => {
    const settled = settleMetricTimes(decoded, timeBoundsAt(now(), options.retentionDays));
    const metrics = emptyMetricRows();
    const rows = settled.kept.map((point) => {
      const row = toMetricRow(point);
      (metrics[TABLE_OF_KIND[point.kind]] as object[]).push(row);
      return row;
    });
    const result = await committer.submit({ traces: [], outputs: [], metrics });
    // A request that was not stored is not counted: its client will send it again.
    if (!result.ok) return result;
    const rejected = [...decodeRejected, ...settled.rejected];
    const stored = withoutRefused(settled.kept, rows, result, rejected);
    for (const listener of listeners) listener(stored);
    return {
      ok: true,
      rejected: rejected.length,
      errorMessage: describeRejected(rejected, "data point"),
    };
  };
}
