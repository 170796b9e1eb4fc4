/**
 * A span's times made storable before any row is built: OTLP's "unknown" (0) replaced by a
 * documented substitute and marked (README, "Times"), and a span whose times the store cannot
 * keep rejected on its own, with a reason, instead of failing the whole request in the store.
 *
 * Substitutes: an unknown start takes the end, an unknown end the start, both unknown the time
 * the request arrived; an event with an unknown time takes the span's start. The span then
 * carries `plumbline.unknown_times`, naming the fields that were 0.
 */

import type { RejectedSpan } from "./decode-result.ts";
import type { DecodedSpan } from "./span.ts";

/** The span attribute that names the times a span arrived without (comma-separated). */
export const UNKNOWN_TIMES_ATTRIBUTE = "plumbline.unknown_times";

/**
 * The latest start a span can have without a retention: 2106-02-07T06:28:15.999999999Z. The
 * tables sort and expire by `toDateTime(Timestamp)`, seconds in a UInt32, which wraps after
 * this (a span from 2107 would sort into 1970 and be deleted by the TTL at once). With a
 * retention, the TTL's end (start + retention) must fit as well.
 */
export const LATEST_START_NANOS = 4_294_967_295_999_999_999n;

const NANOS_PER_DAY = 86_400_000_000_000n;

/** The latest event time DateTime64(9) holds: 2262-04-11T23:47:16.854775807Z (Int64 ns). */
export const LATEST_EVENT_NANOS = 9_223_372_036_854_775_807n;

export interface TimeBounds {
  /** When the request arrived, Unix ns: the substitute when a span has no known time at all. */
  receivedAtNanos: bigint;
  /** Spans that start before this are past the retention; undefined keeps everything. */
  oldestStartNanos: bigint | undefined;
  /** Spans that start after this cannot be kept (LATEST_START_NANOS less the retention). */
  latestStartNanos: bigint;
  /** The retention in days, for the reason given to the client. */
  retentionDays: number;
}

/** The bounds of a request received at `nowMs` by a store keeping spans `retentionDays` (0: forever). */
export function timeBoundsAt(nowMs: number, retentionDays: number): TimeBounds {
  const receivedAtNanos = BigInt(nowMs) * 1_000_000n;
  const retention = BigInt(retentionDays) * NANOS_PER_DAY;
  return {
    receivedAtNanos,
    oldestStartNanos: retentionDays > 0 ? receivedAtNanos - retention : undefined,
    latestStartNanos: LATEST_START_NANOS - retention,
    retentionDays,
  };
}

export interface SettledSpans {
  spans: DecodedSpan[];
  rejected: RejectedSpan[];
}

/** The spans with their times settled, and those that cannot be stored. */
export function settleSpanTimes(spans: DecodedSpan[], bounds: TimeBounds): SettledSpans {
  const out: SettledSpans = { spans: [], rejected: [] };
  for (const span of spans) {
    const settled = substituteUnknown(span, bounds.receivedAtNanos);
    const reason = unstorable(settled, bounds);
    if (reason === "") out.spans.push(settled);
    else out.rejected.push(rejectedAfterDecode(settled, reason));
  }
  return out;
}

/** A RejectedSpan for a span past decoding, where its position in the request is not known. */
export function rejectedAfterDecode(span: DecodedSpan, reason: string): RejectedSpan {
  return {
    path: `trace ${span.traceId} span ${span.spanId}`,
    serviceName: span.resource.serviceName,
    spanId: span.spanId,
    reason,
  };
}

function substituteUnknown(span: DecodedSpan, receivedAtNanos: bigint): DecodedSpan {
  const unknown: string[] = [];
  let start = span.startTimeUnixNano;
  let end = span.endTimeUnixNano;
  if (start === 0n) unknown.push("start_time_unix_nano");
  if (end === 0n) unknown.push("end_time_unix_nano");
  if (start === 0n && end === 0n) start = end = receivedAtNanos;
  else if (start === 0n) start = end;
  else if (end === 0n) end = start;
  let events = span.events;
  if (events.some((e) => e.timeUnixNano === 0n)) {
    events = events.map((e, index) => {
      if (e.timeUnixNano !== 0n) return e;
      unknown.push(`events[${index}].time_unix_nano`);
      return { ...e, timeUnixNano: start };
    });
  }
  if (unknown.length === 0) return span;
  return {
    ...span,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    events,
    attributes: { ...span.attributes, [UNKNOWN_TIMES_ATTRIBUTE]: unknown.join(",") },
  };
}

function unstorable(span: DecodedSpan, bounds: TimeBounds): string {
  const start = span.startTimeUnixNano;
  if (start > bounds.latestStartNanos) {
    const latest = isoOf(bounds.latestStartNanos).replace(/\.\d+Z$/, "Z");
    const why =
      bounds.retentionDays > 0
        ? ` (its ${bounds.retentionDays}-day retention must end by 2106-02-07)`
        : "";
    return `start time ${isoOf(start)} is after ${latest}, the latest the store can keep${why}`;
  }
  if (bounds.oldestStartNanos !== undefined && start < bounds.oldestStartNanos) {
    return (
      `start time ${isoOf(start)} is older than the retention of ${bounds.retentionDays} days ` +
      `(PLUMBLINE_RETENTION_DAYS): it would be deleted at once`
    );
  }
  const late = span.events.findIndex((e) => e.timeUnixNano > LATEST_EVENT_NANOS);
  if (late >= 0) {
    return `events[${late}] time is after 2262-04-11T23:47:16Z, the latest the store can hold`;
  }
  return "";
}

/** Unix ns as an ISO time when Date can show it, else the raw number. */
function isoOf(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  return ms <= 8_640_000_000_000_000n ? new Date(Number(ms)).toISOString() : `${nanos} ns`;
}
