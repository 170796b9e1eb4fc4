/**
 * Log record and data point times made storable before any row is built, by the rules spans
 * follow (span-times.ts, README "Times"): OTLP's "unknown" (0) replaced by a substitute, and a
 * record whose time the store cannot keep rejected on its own, with a reason, instead of
 * failing the whole request in the store.
 *
 * A log record without a time takes its observed time, as the exporter does; without either it
 * takes the time the request arrived and carries `plumbline.unknown_times`. A data point
 * without a time takes the time the request arrived, unmarked: its Attributes are its series'
 * identity (ORDER BY … cityHash64(Attributes)), and a marker there would split the series. A
 * point's unknown start and an exemplar's unknown time stay 0, which DateTime holds (1970) and
 * the exporter writes too (`Timestamp().AsTime()` of 0): neither sorts nor expires a row.
 *
 * Both tables sort and expire by a DateTime (`toStartOfFiveMinutes(Timestamp)`,
 * `toDateTime(TimeUnix)`), so the latest time is 2106-02-07T06:28:15Z less the retention, as
 * for spans; the metric DateTime columns hold nothing later either.
 */

import type { DecodedLogRecord } from "./log-record.ts";
import type { DecodedDataPoint } from "./metric-point.ts";
import type { RejectedRecord } from "./signal-decoding.ts";
import { LATEST_START_NANOS, UNKNOWN_TIMES_ATTRIBUTE, type TimeBounds } from "./span-times.ts";

export interface Settled<T> {
  kept: T[];
  rejected: RejectedRecord[];
}

/** The log records with their times settled, and those that cannot be stored. */
export function settleLogTimes(
  records: DecodedLogRecord[],
  bounds: TimeBounds,
): Settled<DecodedLogRecord> {
  const out: Settled<DecodedLogRecord> = { kept: [], rejected: [] };
  for (const record of records) {
    const settled = substituteUnknownLogTime(record, bounds.receivedAtNanos);
    const reason = timeProblem("time", settled.timeUnixNano, bounds);
    if (reason === "") out.kept.push(settled);
    else out.rejected.push(rejectedRecord(settled, reason));
  }
  return out;
}

/** The data points with their times settled, and those that cannot be stored. */
export function settleMetricTimes(
  points: DecodedDataPoint[],
  bounds: TimeBounds,
): Settled<DecodedDataPoint> {
  const out: Settled<DecodedDataPoint> = { kept: [], rejected: [] };
  for (const point of points) {
    const settled = substituteUnknownPointTimes(point, bounds.receivedAtNanos);
    const reason =
      timeProblem("time", settled.timeUnixNano, bounds) ||
      dateTimeProblem("start time", settled.startTimeUnixNano) ||
      exemplarsProblem(settled);
    if (reason === "") out.kept.push(settled);
    else out.rejected.push(rejectedRecord(settled, reason));
  }
  return out;
}

/** A RejectedRecord for a record past decoding (a bad time, or refused by the store). */
export function rejectedRecord(
  record: DecodedLogRecord | DecodedDataPoint,
  reason: string,
): RejectedRecord {
  const resource = "metric" in record ? record.metric.resource : record.resource;
  return { path: record.path, serviceName: resource.serviceName, reason };
}

function substituteUnknownLogTime(record: DecodedLogRecord, receivedAt: bigint): DecodedLogRecord {
  if (record.timeUnixNano !== 0n) return record;
  // The exporter's rule: Timestamp is the observed time when the record has no time of its own.
  if (record.observedTimeUnixNano !== 0n) {
    return { ...record, timeUnixNano: record.observedTimeUnixNano };
  }
  return {
    ...record,
    timeUnixNano: receivedAt,
    observedTimeUnixNano: receivedAt,
    attributes: {
      ...record.attributes,
      [UNKNOWN_TIMES_ATTRIBUTE]: "time_unix_nano,observed_time_unix_nano",
    },
  };
}

function substituteUnknownPointTimes(
  point: DecodedDataPoint,
  receivedAt: bigint,
): DecodedDataPoint {
  return point.timeUnixNano === 0n ? { ...point, timeUnixNano: receivedAt } : point;
}

function timeProblem(name: string, nanos: bigint, bounds: TimeBounds): string {
  if (nanos > bounds.latestStartNanos) {
    const latest = isoOf(bounds.latestStartNanos).replace(/\.\d+Z$/, "Z");
    const why =
      bounds.retentionDays > 0
        ? ` (its ${bounds.retentionDays}-day retention must end by 2106-02-07)`
        : "";
    return `${name} ${isoOf(nanos)} is after ${latest}, the latest the store can keep${why}`;
  }
  if (bounds.oldestStartNanos !== undefined && nanos < bounds.oldestStartNanos) {
    return (
      `${name} ${isoOf(nanos)} is older than the retention of ${bounds.retentionDays} days ` +
      `(PLUMBLINE_RETENTION_DAYS): it would be deleted at once`
    );
  }
  return "";
}

/** Why a time does not fit a DateTime column (seconds in a UInt32), or "". */
function dateTimeProblem(name: string, nanos: bigint): string {
  return nanos > LATEST_START_NANOS
    ? `${name} ${isoOf(nanos)} is after 2106-02-07T06:28:15Z, the latest the store can hold`
    : "";
}

function exemplarsProblem(point: DecodedDataPoint): string {
  if (!("exemplars" in point)) return "";
  const late = point.exemplars.findIndex((e) => e.timeUnixNano > LATEST_START_NANOS);
  return late < 0
    ? ""
    : dateTimeProblem(`exemplars[${late}] time`, point.exemplars[late]!.timeUnixNano);
}

/** Unix ns as an ISO time when Date can show it, else the raw number. */
function isoOf(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  return ms <= 8_640_000_000_000_000n ? new Date(Number(ms)).toISOString() : `${nanos} ns`;
}
