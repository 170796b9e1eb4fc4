/**
 * The path every OTLP logs request takes once decoded, whatever its transport: records get
 * storable times, become `otel_logs` rows, and are committed through the group committer before
 * the request is answered; the committed records then go to the logs listeners (GenAI log
 * events join their spans' outputs there).
 */

import type { DecodedLogRecord } from "../decode/log-record.ts";
import { toOtelLogsRow } from "../decode/log-row.ts";
import { describeRejected, type RejectedRecord } from "../decode/signal-decoding.ts";
import { rejectedRecord, settleLogTimes } from "../decode/signal-times.ts";
import { timeBoundsAt } from "../decode/span-times.ts";
import type { PlumblineError } from "../errors.ts";
import type { CommitResult, GroupCommitter } from "../store/group-commit.ts";

/** The answer to a logs or metrics request: what was rejected of it, or why none was stored. */
export type SignalIngestResult =
  { ok: true; rejected: number; errorMessage: string } | { ok: false; error: PlumblineError };

/**
 * Called with the records of every committed logs request, as stored (times settled), in
 * request order; records rejected or refused by the store are not among them.
 */
export type CommittedLogsListener = (records: DecodedLogRecord[]) => void;

export interface LogsIngest {
  (records: DecodedLogRecord[], rejected: RejectedRecord[]): Promise<SignalIngestResult>;
}

export interface SignalIngestOptions<Listener> {
  listeners?: Listener[];
  /** Days a record is kept (0: forever); an older one is rejected rather than stored and lost. */
  retentionDays: number;
  now?: () => number;
}

export function createLogsIngest(
  committer: Pick<GroupCommitter, "submit">,
  options: SignalIngestOptions<CommittedLogsListener>,
): LogsIngest {
  const listeners = options.listeners ?? [];
  const now = options.now ?? Date.now;
  return async (decoded, decodeRejected) => {
    const settled = settleLogTimes(decoded, timeBoundsAt(now(), options.retentionDays));
    const rows = settled.kept.map(toOtelLogsRow);
    const result = await committer.submit({ traces: [], outputs: [], logs: rows });
    // A request that was not stored is not counted: its client will send it again.
    if (!result.ok) return result;
    const rejected = [...decodeRejected, ...settled.rejected];
    const stored = withoutRefused(settled.kept, rows, result, rejected);
    for (const listener of listeners) listener(stored);
    return {
      ok: true,
      rejected: rejected.length,
      errorMessage: describeRejected(rejected, "log record"),
    };
  };
}

/**
 * The records whose rows the store took; those it refused one by one (the rest of the request
 * is committed) are added to `rejected`. `rows[i]` is the row of `records[i]`.
 */
export function withoutRefused<T extends Parameters<typeof rejectedRecord>[0]>(
  records: T[],
  rows: readonly object[],
  result: Extract<CommitResult, { ok: true }>,
  rejected: RejectedRecord[],
): T[] {
  if (result.refusedRows === undefined) return records;
  const reasonOf = new Map<object, string>(result.refusedRows.map((r) => [r.row, r.reason]));
  return records.filter((record, i) => {
    const reason = reasonOf.get(rows[i] as object);
    if (reason === undefined) return true;
    rejected.push(rejectedRecord(record, reason));
    return false;
  });
}
