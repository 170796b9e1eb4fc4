import { describe, expect, it } from "vitest";
import { makeEvent, makeSpan, START_NANOS } from "../../test/helpers/make-span.ts";
import {
  LATEST_EVENT_NANOS,
  LATEST_START_NANOS,
  settleSpanTimes,
  UNKNOWN_TIMES_ATTRIBUTE,
  timeBoundsAt,
  type TimeBounds,
} from "./span-times.ts";

const RECEIVED = 1_800_000_000_000_000_000n;
const keepAll: TimeBounds = timeBoundsAt(Number(RECEIVED / 1_000_000n), 0);

describe("settleSpanTimes", () => {
  it("leaves a span with known times untouched (the same object)", () => {
    const span = makeSpan({ events: [makeEvent("e", {})] });
    expect(settleSpanTimes([span], keepAll).spans[0]).toBe(span);
  });

  it("an unknown start takes the end, an unknown end the start, and the span says so", () => {
    const end = START_NANOS + 5n;
    const { spans } = settleSpanTimes(
      [
        makeSpan({ startTimeUnixNano: 0n, endTimeUnixNano: end }),
        makeSpan({ startTimeUnixNano: START_NANOS, endTimeUnixNano: 0n }),
      ],
      keepAll,
    );
    expect(spans.map((s) => [s.startTimeUnixNano, s.endTimeUnixNano])).toEqual([
      [end, end],
      [START_NANOS, START_NANOS],
    ]);
    expect(spans.map((s) => s.attributes[UNKNOWN_TIMES_ATTRIBUTE])).toEqual([
      "start_time_unix_nano",
      "end_time_unix_nano",
    ]);
  });

  it("a span with no known time takes the receive time; an event without one the span's start", () => {
    const span = makeSpan({
      startTimeUnixNano: 0n,
      endTimeUnixNano: 0n,
      attributes: { keep: "me" },
      events: [makeEvent("a", {}), { ...makeEvent("b", {}), timeUnixNano: 0n }],
    });
    const [settled] = settleSpanTimes([span], keepAll).spans;
    expect(settled?.startTimeUnixNano).toBe(RECEIVED);
    expect(settled?.endTimeUnixNano).toBe(RECEIVED);
    expect(settled?.events.map((e) => e.timeUnixNano)).toEqual([
      START_NANOS + 1_000_000n,
      RECEIVED,
    ]);
    expect(settled?.attributes).toEqual({
      keep: "me",
      [UNKNOWN_TIMES_ATTRIBUTE]: "start_time_unix_nano,end_time_unix_nano,events[1].time_unix_nano",
    });
    // The decoded span is shared with other rows: it is not changed in place.
    expect(span.startTimeUnixNano).toBe(0n);
  });

  it("rejects just the spans whose times the store cannot keep, saying why", () => {
    const good = makeSpan({ spanId: "1111111111111111" });
    const year2107 = makeSpan({
      spanId: "2222222222222222",
      startTimeUnixNano: LATEST_START_NANOS + 1n,
    });
    const year2286 = makeSpan({
      spanId: "3333333333333333",
      startTimeUnixNano: 9_999_999_999n * 10n ** 9n,
    });
    const lateEvent = makeSpan({
      spanId: "4444444444444444",
      events: [{ ...makeEvent("e", {}), timeUnixNano: LATEST_EVENT_NANOS + 1n }],
    });
    const lastStart = makeSpan({
      spanId: "5555555555555555",
      startTimeUnixNano: LATEST_START_NANOS,
    });
    const { spans, rejected } = settleSpanTimes(
      [good, year2107, year2286, lateEvent, lastStart],
      keepAll,
    );
    expect(spans).toEqual([good, lastStart]);
    expect(rejected).toEqual([
      {
        path: `trace ${good.traceId} span 2222222222222222`,
        serviceName: "support-bot",
        spanId: "2222222222222222",
        reason:
          "start time 2106-02-07T06:28:16.000Z is after 2106-02-07T06:28:15Z, the latest the store can keep",
      },
      expect.objectContaining({
        spanId: "3333333333333333",
        reason: expect.stringMatching(/^start time 2286-11-20T17:46:39.000Z is after 2106/),
      }),
      expect.objectContaining({
        spanId: "4444444444444444",
        reason: expect.stringMatching(/^events\[0\] time is after 2262-04-11/),
      }),
    ]);
  });

  it("rejects a span older than the retention, naming it; with no retention it is kept", () => {
    const oldest = START_NANOS;
    const bounds: TimeBounds = {
      ...timeBoundsAt(Number(RECEIVED / 1_000_000n), 30),
      oldestStartNanos: oldest,
    };
    const old = makeSpan({ startTimeUnixNano: oldest - 1n });
    const inside = makeSpan({ startTimeUnixNano: oldest });
    const result = settleSpanTimes([old, inside], bounds);
    expect(result.spans).toEqual([inside]);
    expect(result.rejected.map((r) => r.reason)).toEqual([
      "start time 2023-11-14T22:13:20.123Z is older than the retention of 30 days (PLUMBLINE_RETENTION_DAYS): it would be deleted at once",
    ]);
    expect(settleSpanTimes([old], keepAll).spans).toEqual([old]);
  });

  it("with a retention, the latest start is one retention before 2106-02-07 (the TTL's end must fit)", () => {
    const bounds = timeBoundsAt(Number(RECEIVED / 1_000_000n), 30);
    const last = LATEST_START_NANOS - 30n * 86_400n * 10n ** 9n;
    const { spans, rejected } = settleSpanTimes(
      [makeSpan({ startTimeUnixNano: last }), makeSpan({ startTimeUnixNano: last + 1n })],
      bounds,
    );
    expect(spans).toHaveLength(1);
    expect(rejected.map((r) => r.reason)).toEqual([
      "start time 2106-01-08T06:28:16.000Z is after 2106-01-08T06:28:15Z, the latest the store can keep (its 30-day retention must end by 2106-02-07)",
    ]);
  });

  it("a span at 1 ns is outside a retention, and kept without one", () => {
    const tiny = makeSpan({ startTimeUnixNano: 1n, endTimeUnixNano: 2n });
    expect(
      settleSpanTimes([tiny], { ...keepAll, oldestStartNanos: START_NANOS, retentionDays: 30 })
        .rejected,
    ).toHaveLength(1);
    expect(settleSpanTimes([tiny], keepAll).spans).toEqual([tiny]);
  });
});
