import { describe, expect, it } from "vitest";
import type { DecodedLogRecord } from "./log-record.ts";
import type { DecodedDataPoint } from "./metric-point.ts";
import { settleLogTimes, settleMetricTimes } from "./signal-times.ts";
import { LATEST_START_NANOS, timeBoundsAt, UNKNOWN_TIMES_ATTRIBUTE } from "./span-times.ts";

const NOW_MS = 1_800_000_000_000;
const NOW = BigInt(NOW_MS) * 1_000_000n;
const DAY = 86_400_000_000_000n;
const resource = { attributes: {}, serviceName: "svc", schemaUrl: "" };
const scope = { name: "", version: "", attributes: {}, droppedAttributesCount: 0, schemaUrl: "" };

const log = (timeUnixNano: bigint, observedTimeUnixNano = 0n): DecodedLogRecord => ({
  resource,
  scope,
  timeUnixNano,
  observedTimeUnixNano,
  severityNumber: 0,
  severityText: "",
  body: "x",
  attributes: { a: "b" },
  traceId: "",
  spanId: "",
  flags: 0,
  eventName: "",
  path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
});

const gauge = (
  timeUnixNano: bigint,
  startTimeUnixNano = 0n,
  exemplarTimes: bigint[] = [],
): DecodedDataPoint => ({
  metric: { name: "g", description: "", unit: "", resource, scope },
  attributes: { series: "1" },
  startTimeUnixNano,
  timeUnixNano,
  flags: 0,
  path: "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0]",
  kind: "gauge",
  value: 1,
  exemplars: exemplarTimes.map((t) => ({
    filteredAttributes: {},
    timeUnixNano: t,
    value: 1,
    traceId: "0".repeat(32),
    spanId: "0".repeat(16),
  })),
  aggregationTemporality: 0,
  isMonotonic: false,
});

describe("settleLogTimes", () => {
  const bounds = timeBoundsAt(NOW_MS, 30);

  it("keeps a record with its own time", () => {
    const record = log(NOW - DAY, NOW);
    expect(settleLogTimes([record], bounds)).toEqual({ kept: [record], rejected: [] });
  });

  it("gives a record without a time its observed time, unmarked, as the exporter does", () => {
    const { kept } = settleLogTimes([log(0n, NOW - 5n)], bounds);
    expect(kept[0]).toMatchObject({ timeUnixNano: NOW - 5n, attributes: { a: "b" } });
  });

  it("gives a record with neither time the time the request arrived, and marks it", () => {
    const { kept } = settleLogTimes([log(0n, 0n)], bounds);
    expect(kept[0]).toMatchObject({
      timeUnixNano: NOW,
      observedTimeUnixNano: NOW,
      attributes: { a: "b", [UNKNOWN_TIMES_ATTRIBUTE]: "time_unix_nano,observed_time_unix_nano" },
    });
  });

  it("rejects a record past the retention, or too late for the store, with the reason", () => {
    const { kept, rejected } = settleLogTimes(
      [log(NOW - 31n * DAY), log(LATEST_START_NANOS), log(NOW)],
      bounds,
    );
    expect(kept.map((r) => r.timeUnixNano)).toEqual([NOW]);
    expect(rejected).toEqual([
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
        serviceName: "svc",
        reason:
          "time 2026-12-15T08:00:00.000Z is older than the retention of 30 days (PLUMBLINE_RETENTION_DAYS): it would be deleted at once",
      },
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
        serviceName: "svc",
        reason:
          "time 2106-02-07T06:28:15.999Z is after 2106-01-08T06:28:15Z, the latest the store can keep (its 30-day retention must end by 2106-02-07)",
      },
    ]);
  });
});

describe("settleMetricTimes", () => {
  const bounds = timeBoundsAt(NOW_MS, 0);

  it("gives a point without a time the time the request arrived, unmarked (its series stays one)", () => {
    const { kept } = settleMetricTimes([gauge(0n)], bounds);
    expect(kept[0]).toMatchObject({ timeUnixNano: NOW, attributes: { series: "1" } });
  });

  it("keeps an unknown start and an unknown exemplar time at 0, as the exporter writes them", () => {
    const point = gauge(NOW, 0n, [0n, NOW - 1n]);
    const { kept } = settleMetricTimes([point], bounds);
    expect(kept[0]).toMatchObject({ startTimeUnixNano: 0n });
    expect(kept[0]?.kind === "gauge" && kept[0].exemplars.map((e) => e.timeUnixNano)).toEqual([
      0n,
      NOW - 1n,
    ]);
  });

  it("rejects a point whose start or exemplar time a DateTime cannot hold", () => {
    const late = LATEST_START_NANOS + 1n;
    const { kept, rejected } = settleMetricTimes(
      [gauge(NOW, late), gauge(NOW, 0n, [NOW, late]), gauge(late)],
      bounds,
    );
    expect(kept).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual([
      "start time 2106-02-07T06:28:16.000Z is after 2106-02-07T06:28:15Z, the latest the store can hold",
      "exemplars[1] time 2106-02-07T06:28:16.000Z is after 2106-02-07T06:28:15Z, the latest the store can hold",
      "time 2106-02-07T06:28:16.000Z is after 2106-02-07T06:28:15Z, the latest the store can keep",
    ]);
  });
});
