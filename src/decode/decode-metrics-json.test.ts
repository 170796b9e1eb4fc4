import { JsonMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { PARENT, sdkMetrics, TRACE } from "../../test/helpers/signal-fixtures.ts";
import { decodeMetricsJson } from "./decode-metrics-json.ts";

const kv = (key: string, value: object) => ({ key, value });

function request(metrics: object[]) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [kv("service.name", { stringValue: "svc" })] },
        scopeMetrics: [{ scope: { name: "m" }, metrics }],
      },
    ],
  };
}
const times = { startTimeUnixNano: "1700000000000000000", timeUnixNano: "1700000060000000000" };

function decoded(body: object) {
  const result = decodeMetricsJson(JSON.stringify(body));
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe("decodeMetricsJson", () => {
  it("decodes one collection of the real SDK: every point kind it sends", async () => {
    const { resourceMetrics, byName } = await sdkMetrics();
    const result = decodeMetricsJson(
      JsonMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
    );
    if (!result.ok) throw new Error(result.message);
    for (const [name, expected] of byName) {
      const { sum: _sum, ...rest } = expected as { sum?: number };
      expect(
        result.points.find((p) => p.metric.name === name),
        name,
      ).toMatchObject(rest);
    }
  });

  it("reads proto3 JSON spellings: int64 as strings, doubles as names, enums by name, proto names", () => {
    const result = decoded(
      request([
        {
          name: "s",
          sum: {
            aggregation_temporality: "AGGREGATION_TEMPORALITY_DELTA",
            is_monotonic: true,
            data_points: [
              { ...times, as_int: "42" },
              { ...times, asDouble: "NaN" },
              { ...times, asDouble: "-Infinity" },
              { ...times, asDouble: "1e3" },
            ],
          },
        },
      ]),
    );
    expect(
      result.points.map((p) =>
        p.kind === "sum" ? [p.value, p.aggregationTemporality, p.isMonotonic] : [],
      ),
    ).toEqual([
      [42, 1, true],
      [Number.NaN, 1, true],
      [Number.NEGATIVE_INFINITY, 1, true],
      [1000, 1, true],
    ]);
  });

  it("decodes exemplars with hex ids, and no ids as all zero", () => {
    const [p] = decoded(
      request([
        {
          name: "g",
          gauge: {
            dataPoints: [
              {
                ...times,
                asDouble: 1,
                exemplars: [
                  {
                    timeUnixNano: "1700000030000000000",
                    asInt: "3",
                    traceId: TRACE,
                    spanId: PARENT,
                    filteredAttributes: [kv("user", { stringValue: "u" })],
                  },
                  { asDouble: 0.5 },
                ],
              },
            ],
          },
        },
      ]),
    ).points;
    expect(p).toMatchObject({
      kind: "gauge",
      exemplars: [
        {
          filteredAttributes: { user: "u" },
          timeUnixNano: 1_700_000_030_000_000_000n,
          value: 3,
          traceId: TRACE,
          spanId: PARENT,
        },
        {
          filteredAttributes: {},
          timeUnixNano: 0n,
          value: 0.5,
          traceId: "0".repeat(32),
          spanId: "0".repeat(16),
        },
      ],
    });
  });

  it("decodes histograms, exponential histograms and summaries", () => {
    const result = decoded(
      request([
        {
          name: "h",
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                ...times,
                count: "3",
                sum: 6,
                bucketCounts: ["1", 2],
                explicitBounds: [2],
                min: 1,
                max: "Infinity",
              },
            ],
          },
        },
        {
          name: "e",
          exponentialHistogram: {
            aggregationTemporality: "AGGREGATION_TEMPORALITY_CUMULATIVE",
            dataPoints: [
              {
                ...times,
                count: 4,
                scale: -1,
                zeroCount: "1",
                positive: { offset: 2, bucketCounts: [1, "2"] },
                negative: { offset: -1, bucketCounts: [] },
              },
            ],
          },
        },
        {
          name: "q",
          summary: {
            dataPoints: [
              {
                ...times,
                count: 2,
                sum: 3,
                quantileValues: [{ quantile: 0.5, value: 1 }, { quantile: 1 }],
              },
            ],
          },
        },
      ]),
    );
    expect(result.points).toMatchObject([
      {
        kind: "histogram",
        count: 3n,
        sum: 6,
        bucketCounts: [1n, 2n],
        explicitBounds: [2],
        min: 1,
        max: Number.POSITIVE_INFINITY,
        aggregationTemporality: 2,
      },
      {
        kind: "exponentialHistogram",
        count: 4n,
        sum: 0,
        scale: -1,
        zeroCount: 1n,
        positive: { offset: 2, bucketCounts: [1n, 2n] },
        negative: { offset: -1, bucketCounts: [] },
        aggregationTemporality: 2,
      },
      {
        kind: "summary",
        count: 2n,
        sum: 3,
        quantileValues: [
          { quantile: 0.5, value: 1 },
          { quantile: 1, value: 0 },
        ],
      },
    ]);
  });

  it("rejects a point whose exemplar has a malformed id on its own and keeps the others", () => {
    const result = decoded(
      request([
        {
          name: "g",
          gauge: {
            dataPoints: [
              { ...times, asDouble: 1 },
              { ...times, asDouble: 2, exemplars: [{ spanId: "zz" }] },
              { ...times, asDouble: 3, exemplars: [{ traceId: "0af7" }] },
              { ...times, asDouble: 4 },
            ],
          },
        },
      ]),
    );
    expect(result.points.map((p) => (p.kind === "gauge" ? p.value : 0))).toEqual([1, 4]);
    expect(result.rejected).toEqual([
      {
        path: "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1]",
        serviceName: "svc",
        reason: "exemplars[0].spanId is not a hex string",
      },
      {
        path: "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[2]",
        serviceName: "svc",
        reason: "exemplars[0].traceId is 2 bytes, expected 16 or none",
      },
    ]);
  });

  it("fails a body that is not shaped like the request, saying what and where", () => {
    const cases: [object, string][] = [
      [
        { resourceMetrics: [{ scopeMetrics: 1 }] },
        "resourceMetrics[0].scopeMetrics must be an array, got the number 1",
      ],
      [
        request([{ name: "g", gauge: { dataPoints: [{ asDouble: "lots" }] } }]),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble must be a number, got the string "lots"',
      ],
      [
        request([{ name: "s", sum: { aggregationTemporality: "SOMETIMES", dataPoints: [] } }]),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality is not a known value (the string "SOMETIMES")',
      ],
      [
        request([{ name: "h", histogram: { dataPoints: [{ bucketCounts: [-1] }] } }]),
        "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].bucketCounts[0] is out of range for uint64",
      ],
      [
        request([{ name: "e", exponentialHistogram: { dataPoints: [{ scale: 2147483648 }] } }]),
        "resourceMetrics[0].scopeMetrics[0].metrics[0].exponentialHistogram.dataPoints[0].scale is out of range for int32",
      ],
      [
        request([{ name: "s", sum: { isMonotonic: "yes", dataPoints: [{}] } }]),
        'resourceMetrics[0].scopeMetrics[0].metrics[0].sum.isMonotonic must be a boolean, got the string "yes"',
      ],
      [
        request([{ name: "g", gauge: { dataPoints: [{ asInt: "9223372036854775808" }] } }]),
        "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asInt is out of range for int64",
      ],
      [
        request([{ name: 5 }]),
        "resourceMetrics[0].scopeMetrics[0].metrics[0].name must be a string, got the number 5",
      ],
    ];
    for (const [body, where] of cases) {
      expect(decodeMetricsJson(JSON.stringify(body))).toEqual({
        ok: false,
        message: `not an OTLP ExportMetricsServiceRequest: ${where}`,
      });
    }
    expect(decodeMetricsJson("nope")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^not valid JSON/) as unknown,
    });
    expect(decodeMetricsJson('"a string"')).toEqual({
      ok: false,
      message:
        'not an OTLP ExportMetricsServiceRequest: the body is the string "a string", not an object',
    });
  });
});
