import { JsonMetricsSerializer, ProtobufMetricsSerializer } from "@opentelemetry/otlp-transformer";
import { AggregationTemporality } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { idBytes, PARENT, plain, sdkMetrics, TRACE } from "../../test/helpers/signal-fixtures.ts";
import { decodeMetricsJson } from "./decode-metrics-json.ts";
import { decodeMetricsProtobuf } from "./decode-metrics-protobuf.ts";
import type { DecodedDataPoint } from "./metric-point.ts";
import { otlpMetricsTypes } from "./otlp-schema-metrics.ts";

const T = otlpMetricsTypes.exportMetricsServiceRequest;
const encode = (request: object) => T.encode(T.fromObject(request)).finish();
const kv = (key: string, value: object) => ({ key, value });
const nanos = ([seconds, ns]: [number, number]) => BigInt(seconds) * 1_000_000_000n + BigInt(ns);

function request(metrics: object[]) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [kv("service.name", { stringValue: "svc" })] },
        schemaUrl: "https://r",
        scopeMetrics: [
          {
            scope: { name: "m", version: "1", droppedAttributesCount: 3 },
            schemaUrl: "https://s",
            metrics,
          },
        ],
      },
    ],
  };
}
const times = { startTimeUnixNano: "1700000000000000000", timeUnixNano: "1700000060000000000" };

function decoded(bytes: Uint8Array) {
  const result = decodeMetricsProtobuf(bytes);
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe("decodeMetricsProtobuf", () => {
  it.each([
    ["cumulative", AggregationTemporality.CUMULATIVE],
    ["delta", AggregationTemporality.DELTA],
  ])(
    "decodes one %s collection of the real SDK: GenAI histograms, sums, a gauge, an exponential histogram",
    async (_name, temporality) => {
      const { resourceMetrics, byName } = await sdkMetrics(temporality);
      const result = decoded(
        ProtobufMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
      );
      expect(result.rejected).toEqual([]);
      const first = new Map<string, DecodedDataPoint>();
      for (const p of result.points) if (!first.has(p.metric.name)) first.set(p.metric.name, p);
      expect([...first.keys()].sort()).toEqual([...byName.keys()].sort());
      for (const [name, expected] of byName) {
        const { sum, ...rest } = expected as { sum?: number };
        expect(first.get(name), name).toMatchObject(rest);
        if (sum !== undefined)
          expect((first.get(name) as { sum: number }).sum).toBeCloseTo(sum, 12);
      }
      // Two token usage series (input and output), with the metric's unit and description.
      const usage = result.points.filter((p) => p.metric.name === "gen_ai.client.token.usage");
      expect(usage.map((p) => p.attributes["gen_ai.token.type"])).toEqual(["input", "output"]);
      expect(usage[0]?.metric).toMatchObject({
        unit: "{token}",
        description: "Measures number of input and output tokens used",
        resource: { serviceName: "support-bot" },
        scope: { name: "genai-metrics", version: "2.0.0" },
      });
      // Times as the SDK collected them, to the nanosecond.
      const sdkPoint = resourceMetrics.scopeMetrics[0]!.metrics.find(
        (m) => m.descriptor.name === "agent.tool_calls",
      )!.dataPoints[0]!;
      expect(first.get("agent.tool_calls")).toMatchObject({
        startTimeUnixNano: nanos(sdkPoint.startTime),
        timeUnixNano: nanos(sdkPoint.endTime),
      });
      // The exponential histogram's buckets hold every value that is not in the zero bucket.
      const exp = first.get("gen_ai.server.time_per_output_token");
      if (exp?.kind !== "exponentialHistogram") throw new Error("no exponential histogram");
      expect(exp.positive.bucketCounts.reduce((a, b) => a + b, 0n)).toBe(3n);
      expect(exp.scale).toBeGreaterThan(0);
    },
  );

  it("gives the JSON decoder's points for the same SDK collection", async () => {
    const { resourceMetrics } = await sdkMetrics();
    const pb = decodeMetricsProtobuf(
      ProtobufMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
    );
    const json = decodeMetricsJson(
      JsonMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
    );
    expect(plain(json)).toEqual(plain(pb));
  });

  it("decodes int and double values, and no value as 0, as the exporter's getValue", () => {
    const result = decoded(
      encode(
        request([
          {
            name: "g",
            gauge: {
              dataPoints: [
                { ...times, asInt: "-9007199254740993" },
                { ...times, asDouble: 0.5 },
                { ...times },
              ],
            },
          },
        ]),
      ),
    );
    expect(result.points.map((p) => (p.kind === "gauge" ? p.value : undefined))).toEqual([
      -9007199254740992, 0.5, 0,
    ]);
  });

  it("decodes exemplars: ids as hex, no ids as all zero, int values as doubles, filtered attributes", () => {
    const result = decoded(
      encode(
        request([
          {
            name: "requests",
            sum: {
              aggregationTemporality: 1,
              isMonotonic: true,
              dataPoints: [
                {
                  ...times,
                  asInt: 5,
                  attributes: [kv("route", { stringValue: "/chat" })],
                  flags: 1,
                  exemplars: [
                    {
                      timeUnixNano: "1700000030000000000",
                      asDouble: 1.5,
                      traceId: idBytes(TRACE),
                      spanId: idBytes(PARENT),
                      filteredAttributes: [kv("user", { stringValue: "u-1" })],
                    },
                    { asInt: 2 },
                  ],
                },
              ],
            },
          },
        ]),
      ),
    );
    expect(result.points).toEqual([
      {
        metric: {
          name: "requests",
          description: "",
          unit: "",
          resource: {
            attributes: { "service.name": "svc" },
            serviceName: "svc",
            schemaUrl: "https://r",
          },
          scope: {
            name: "m",
            version: "1",
            attributes: {},
            droppedAttributesCount: 3,
            schemaUrl: "https://s",
          },
        },
        attributes: { route: "/chat" },
        startTimeUnixNano: 1_700_000_000_000_000_000n,
        timeUnixNano: 1_700_000_060_000_000_000n,
        flags: 1,
        path: "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0]",
        kind: "sum",
        value: 5,
        exemplars: [
          {
            filteredAttributes: { user: "u-1" },
            timeUnixNano: 1_700_000_030_000_000_000n,
            value: 1.5,
            traceId: TRACE,
            spanId: PARENT,
          },
          {
            filteredAttributes: {},
            timeUnixNano: 0n,
            value: 2,
            traceId: "0".repeat(32),
            spanId: "0".repeat(16),
          },
        ],
        aggregationTemporality: 1,
        isMonotonic: true,
      },
    ]);
  });

  it("decodes histogram buckets, bounds, min and max (0 when not sent)", () => {
    const [withAll, without] = decoded(
      encode(
        request([
          {
            name: "gen_ai.client.operation.duration",
            histogram: {
              aggregationTemporality: 2,
              dataPoints: [
                {
                  ...times,
                  count: 4,
                  sum: 3.5,
                  bucketCounts: [1, 3, 0],
                  explicitBounds: [0.5, 1],
                  min: 0.25,
                  max: 1,
                },
                { ...times, count: 0 },
              ],
            },
          },
        ]),
      ),
    ).points;
    expect(withAll).toMatchObject({
      kind: "histogram",
      count: 4n,
      sum: 3.5,
      bucketCounts: [1n, 3n, 0n],
      explicitBounds: [0.5, 1],
      min: 0.25,
      max: 1,
      aggregationTemporality: 2,
    });
    expect(without).toMatchObject({ count: 0n, sum: 0, bucketCounts: [], min: 0, max: 0 });
  });

  it("decodes exponential histogram buckets on both sides, the zero count and a negative scale", () => {
    const [p] = decoded(
      encode(
        request([
          {
            name: "e",
            exponentialHistogram: {
              aggregationTemporality: 1,
              dataPoints: [
                {
                  ...times,
                  count: 9,
                  sum: -10,
                  scale: -2,
                  zeroCount: 2,
                  zeroThreshold: 0.001,
                  positive: { offset: -3, bucketCounts: [1, 0, 2] },
                  negative: { offset: 4, bucketCounts: [4] },
                  min: -40,
                  max: 16,
                },
              ],
            },
          },
        ]),
      ),
    ).points;
    expect(p).toMatchObject({
      kind: "exponentialHistogram",
      count: 9n,
      sum: -10,
      scale: -2,
      zeroCount: 2n,
      positive: { offset: -3, bucketCounts: [1n, 0n, 2n] },
      negative: { offset: 4, bucketCounts: [4n] },
      min: -40,
      max: 16,
      aggregationTemporality: 1,
    });
    // Buckets not sent are empty, offset 0.
    const [bare] = decoded(
      encode(request([{ name: "e", exponentialHistogram: { dataPoints: [{ ...times }] } }])),
    ).points;
    expect(bare).toMatchObject({
      positive: { offset: 0, bucketCounts: [] },
      negative: { offset: 0, bucketCounts: [] },
    });
  });

  it("decodes summary quantiles", () => {
    const [p] = decoded(
      encode(
        request([
          {
            name: "rpc.duration",
            summary: {
              dataPoints: [
                {
                  ...times,
                  count: 10,
                  sum: 31.5,
                  quantileValues: [
                    { quantile: 0, value: 0.5 },
                    { quantile: 0.5, value: 2.5 },
                    { quantile: 1, value: 9 },
                  ],
                },
              ],
            },
          },
        ]),
      ),
    ).points;
    expect(p).toMatchObject({
      kind: "summary",
      count: 10n,
      sum: 31.5,
      quantileValues: [
        { quantile: 0, value: 0.5 },
        { quantile: 0.5, value: 2.5 },
        { quantile: 1, value: 9 },
      ],
    });
  });

  it("gives a metric without data no points", () => {
    expect(decoded(encode(request([{ name: "empty", unit: "1" }]))).points).toEqual([]);
  });

  it("rejects a point whose exemplar has a malformed id on its own and keeps the others", () => {
    const result = decoded(
      encode(
        request([
          {
            name: "g",
            gauge: {
              dataPoints: [
                { ...times, asDouble: 1 },
                { ...times, asDouble: 2, exemplars: [{}, { traceId: idBytes("0af7") }] },
                { ...times, asDouble: 3 },
              ],
            },
          },
          {
            name: "h",
            histogram: { dataPoints: [{ ...times, exemplars: [{ spanId: idBytes("00") }] }] },
          },
        ]),
      ),
    );
    expect(result.points.map((p) => (p.kind === "gauge" ? p.value : p.kind))).toEqual([1, 3]);
    expect(result.rejected).toEqual([
      {
        path: "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1]",
        serviceName: "svc",
        reason: "exemplars[1].traceId is 2 bytes, expected 16 or none",
      },
      {
        path: "resourceMetrics[0].scopeMetrics[0].metrics[1].histogram.dataPoints[0]",
        serviceName: "svc",
        reason: "exemplars[0].spanId is 1 bytes, expected 8 or none",
      },
    ]);
  });

  it("fails a body that is not an ExportMetricsServiceRequest with a message saying what and where", () => {
    const result = decodeMetricsProtobuf(Uint8Array.from([0x0a, 0x05, 0x12, 0x03]));
    expect(result).toEqual({
      ok: false,
      message: expect.stringMatching(
        /^not a valid OTLP ExportMetricsServiceRequest protobuf \(4 bytes\): .*index out of range/,
      ) as unknown as string,
    });
  });
});
