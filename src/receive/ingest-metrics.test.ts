import { describe, expect, it } from "vitest";
import type { DecodedDataPoint, DecodedMetric } from "../decode/metric-point.ts";
import type { CommitResult } from "../store/group-commit.ts";
import type { WriteBatch } from "../store/write-batch.ts";
import { createMetricsIngest } from "./ingest-metrics.ts";

const NOW_MS = 1_800_000_000_000;
const NOW = BigInt(NOW_MS) * 1_000_000n;
const metric = (name: string): DecodedMetric => ({
  name,
  description: "",
  unit: "",
  resource: { attributes: {}, serviceName: "svc", schemaUrl: "" },
  scope: { name: "", version: "", attributes: {}, droppedAttributesCount: 0, schemaUrl: "" },
});
const base = (name: string, n: number, timeUnixNano = NOW) => ({
  metric: metric(name),
  attributes: {},
  startTimeUnixNano: 0n,
  timeUnixNano,
  flags: 0,
  path: `resourceMetrics[0].scopeMetrics[0].metrics[${n}]`,
});

const POINTS: DecodedDataPoint[] = [
  {
    ...base("g", 0),
    kind: "gauge",
    value: 1,
    exemplars: [],
    aggregationTemporality: 0,
    isMonotonic: false,
  },
  {
    ...base("s", 1),
    kind: "sum",
    value: 2,
    exemplars: [],
    aggregationTemporality: 2,
    isMonotonic: true,
  },
  {
    ...base("h", 2),
    kind: "histogram",
    count: 1n,
    sum: 1,
    bucketCounts: [1n],
    explicitBounds: [],
    exemplars: [],
    min: 1,
    max: 1,
    aggregationTemporality: 2,
  },
  {
    ...base("e", 3),
    kind: "exponentialHistogram",
    count: 0n,
    sum: 0,
    scale: 0,
    zeroCount: 0n,
    positive: { offset: 0, bucketCounts: [] },
    negative: { offset: 0, bucketCounts: [] },
    exemplars: [],
    min: 0,
    max: 0,
    aggregationTemporality: 1,
  },
  { ...base("q", 4), kind: "summary", count: 0n, sum: 0, quantileValues: [] },
];

function fakeCommitter(
  answer: (batch: WriteBatch) => CommitResult = () => ({ ok: true, refused: [] }),
) {
  const batches: WriteBatch[] = [];
  return {
    batches,
    submit: async (batch: WriteBatch) => {
      batches.push(batch);
      return answer(batch);
    },
  };
}

describe("createMetricsIngest", () => {
  it("puts each point in its kind's table, in one commit", async () => {
    const committer = fakeCommitter();
    const ingest = createMetricsIngest(committer, { retentionDays: 0, now: () => NOW_MS });
    expect(await ingest(POINTS, [])).toEqual({ ok: true, rejected: 0, errorMessage: "" });
    expect(committer.batches).toHaveLength(1);
    const { metrics } = committer.batches[0]!;
    expect(
      Object.fromEntries(
        Object.entries(metrics!).map(([t, rows]: [string, { MetricName: string }[]]) => [
          t,
          rows.map((r) => r.MetricName),
        ]),
      ),
    ).toEqual({
      metricsGauge: ["g"],
      metricsSum: ["s"],
      metricsHistogram: ["h"],
      metricsExponentialHistogram: ["e"],
      metricsSummary: ["q"],
    });
  });

  it("counts points rejected by their time and by the store, and passes on only what was stored", async () => {
    const committer = fakeCommitter((batch) => ({
      ok: true,
      refused: [],
      refusedRows: [{ row: batch.metrics!.metricsSum[0]!, reason: "the store refused it: x" }],
    }));
    const stored: DecodedDataPoint[][] = [];
    const ingest = createMetricsIngest(committer, {
      retentionDays: 7,
      now: () => NOW_MS,
      listeners: [(points) => stored.push(points)],
    });
    const old = { ...POINTS[0]!, timeUnixNano: NOW - 8n * 86_400_000_000_000n } as DecodedDataPoint;
    const result = await ingest([old, POINTS[1]!, POINTS[4]!], []);
    expect(result).toMatchObject({ ok: true, rejected: 2 });
    expect(result.ok && result.errorMessage).toMatch(
      /^2 data point\(s\) rejected: resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]: time .* is older than the retention of 7 days .*; resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[1\]: the store refused it: x$/,
    );
    expect(stored[0]?.map((p) => p.metric.name)).toEqual(["q"]);
  });
});
