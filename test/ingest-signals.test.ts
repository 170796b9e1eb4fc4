/**
 * Logs and metrics end to end: the real OTel SDKs (sdk-logs, sdk-metrics) with each of their
 * OTLP exporters (HTTP protobuf, HTTP JSON, gRPC) send to a started service, every export is
 * acknowledged, and the records and points are in otel_logs and otel_metrics_* with the values
 * that were sent: GenAI events, the GenAI client histograms (gen_ai.client.token.usage,
 * gen_ai.client.operation.duration), a counter, a gauge and an exponential histogram. An ingest
 * key is required for both signals when one is set, and a process of role evaluate refuses them.
 */

import { Metadata } from "@grpc/grpc-js";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPLogExporter as GrpcLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";

const KEY = "signals-key";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
// Record times a minute ago, well inside the retention whatever the clock says.
const T0 = Math.floor(Date.now() / 1000) - 60;
const dateTimeText = (seconds: number) =>
  new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);

let ingest: TestService;
let evaluate: TestService;

beforeAll(async () => {
  // Two processes over one store, as an ingest and an evaluate process share a server.
  const dataDir = tempDir();
  ingest = await startTestService({ dataDir, role: "ingest", ingestKeys: [KEY] });
  evaluate = await startTestService({
    dataDir,
    role: "evaluate",
    evaluate: { builtinRules: false },
  });
});
afterAll(async () => {
  await ingest?.close();
  await evaluate?.close();
});

const bearer = { authorization: `Bearer ${KEY}` };
const grpcMetadata = () => {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${KEY}`);
  return metadata;
};

/** Every export result an exporter reported, around the real exporter. */
class RecordingLogExporter implements LogRecordExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(records, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

class RecordingMetricExporter implements PushMetricExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: PushMetricExporter) {}
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  selectAggregationTemporality = (
    type: Parameters<NonNullable<PushMetricExporter["selectAggregationTemporality"]>>[0],
  ) => this.inner.selectAggregationTemporality!(type);
}

const codes = (results: ExportResult[]) =>
  results.map((r) => (r.code === ExportResultCode.SUCCESS ? "SUCCESS" : String(r.error)));

const LOG_EXPORTERS: [string, (keyed: boolean) => LogRecordExporter][] = [
  [
    "http-protobuf",
    (keyed) =>
      new ProtoLogExporter({
        url: `${ingest.url}/v1/logs`,
        headers: keyed ? bearer : {},
        compression: CompressionAlgorithm.GZIP,
      }),
  ],
  [
    "http-json",
    (keyed) => new JsonLogExporter({ url: `${ingest.url}/v1/logs`, headers: keyed ? bearer : {} }),
  ],
  [
    "grpc",
    (keyed) =>
      new GrpcLogExporter({
        url: `http://127.0.0.1:${ingest.grpcPort}`,
        compression: CompressionAlgorithm.GZIP,
        ...(keyed && { metadata: grpcMetadata() }),
      }),
  ],
];

const METRIC_EXPORTERS: [string, "cumulative" | "delta", (keyed: boolean) => PushMetricExporter][] =
  [
    [
      "http-protobuf",
      "cumulative",
      (keyed) =>
        new ProtoMetricExporter({
          url: `${ingest.url}/v1/metrics`,
          headers: keyed ? bearer : {},
          compression: CompressionAlgorithm.GZIP,
        }),
    ],
    [
      "http-json",
      "delta",
      (keyed) =>
        new JsonMetricExporter({
          url: `${ingest.url}/v1/metrics`,
          headers: keyed ? bearer : {},
          temporalityPreference: AggregationTemporalityPreference.DELTA,
        }),
    ],
    [
      "grpc",
      "cumulative",
      (keyed) =>
        new GrpcMetricExporter({
          url: `http://127.0.0.1:${ingest.grpcPort}`,
          ...(keyed && { metadata: grpcMetadata() }),
        }),
    ],
  ];

async function emitLogs(exporter: LogRecordExporter, serviceName: string): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("agent-events", "1.0.0");
  const inSpan = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE,
    spanId: SPAN,
    traceFlags: 1,
  });
  logger.emit({
    eventName: "gen_ai.choice",
    timestamp: [T0, 250_000_000],
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    body: { index: 0, finish_reason: "stop", message: { role: "assistant", content: "Done." } },
    attributes: { "gen_ai.system": "openai" },
    context: inSpan,
  });
  logger.emit({
    timestamp: [T0 + 1, 0],
    severityNumber: SeverityNumber.ERROR,
    body: "tool lookup_customer failed",
    attributes: { "event.name": "agent.tool.error", attempt: 2 },
  });
  await provider.forceFlush();
  await provider.shutdown();
}

async function emitMetrics(exporter: PushMetricExporter, serviceName: string): Promise<void> {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
    views: [
      {
        instrumentName: "gen_ai.server.time_to_first_token",
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      },
    ],
  });
  const meter = provider.getMeter("agent-metrics", "1.0.0");
  const tokens = meter.createHistogram("gen_ai.client.token.usage", {
    unit: "{token}",
    advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024, 4096] },
  });
  const model = { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" };
  tokens.record(812, { ...model, "gen_ai.token.type": "input" });
  tokens.record(95, { ...model, "gen_ai.token.type": "output" });
  meter.createHistogram("gen_ai.client.operation.duration", { unit: "s" }).record(1.75, model);
  meter.createCounter("agent.tool_calls").add(3, { tool: "search" });
  meter.createGauge("agent.queue.depth").record(4);
  const ttft = meter.createHistogram("gen_ai.server.time_to_first_token", { unit: "s" });
  for (const v of [0.12, 0.2, 0.2, 0.5]) ttft.record(v);
  // Shutting down exports once; a flush before it would export the cumulative points twice.
  await provider.shutdown();
}

describe.each(LOG_EXPORTERS)("the %s logs exporter", (name, makeExporter) => {
  it("is acknowledged, and its records are in otel_logs as sent", async () => {
    const serviceName = `logs-${name}`;
    const exporter = new RecordingLogExporter(makeExporter(true));
    await emitLogs(exporter, serviceName);
    expect(codes(exporter.results)).toEqual(["SUCCESS", "SUCCESS"]);

    const rows = await ingest.rows(
      `SELECT toString(Timestamp) AS Timestamp, TraceId, SpanId, TraceFlags, SeverityText,
              SeverityNumber, ServiceName, Body, ScopeName, ScopeVersion, LogAttributes, EventName
       FROM plumbline.otel_logs WHERE ServiceName = {s:String} ORDER BY Timestamp`,
      { s: serviceName },
    );
    expect(rows).toEqual([
      {
        Timestamp: `${dateTimeText(T0)}.250000000`,
        TraceId: TRACE,
        SpanId: SPAN,
        TraceFlags: 1,
        SeverityText: "INFO",
        SeverityNumber: 9,
        ServiceName: serviceName,
        Body: '{"finish_reason":"stop","index":0,"message":{"content":"Done.","role":"assistant"}}',
        ScopeName: "agent-events",
        ScopeVersion: "1.0.0",
        LogAttributes: { "gen_ai.system": "openai" },
        EventName: "gen_ai.choice",
      },
      {
        Timestamp: `${dateTimeText(T0 + 1)}.000000000`,
        TraceId: "",
        SpanId: "",
        TraceFlags: 0,
        SeverityText: "",
        SeverityNumber: 17,
        ServiceName: serviceName,
        Body: "tool lookup_customer failed",
        ScopeName: "agent-events",
        ScopeVersion: "1.0.0",
        LogAttributes: { "event.name": "agent.tool.error", attempt: "2" },
        EventName: "",
      },
    ]);
  });

  it("fails without the ingest key, and nothing is stored", async () => {
    const serviceName = `logs-${name}-unkeyed`;
    const exporter = new RecordingLogExporter(makeExporter(false));
    await emitLogs(exporter, serviceName);
    expect(exporter.results).toHaveLength(2);
    for (const result of exporter.results) {
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(String(result.error)).toMatch(/401|Unauthorized|UNAUTHENTICATED|invalid ingest key/i);
    }
    const rows = await ingest.rows(
      "SELECT count() AS n FROM plumbline.otel_logs WHERE ServiceName = {s:String}",
      { s: serviceName },
    );
    expect(rows).toEqual([{ n: "0" }]);
  });
});

describe.each(METRIC_EXPORTERS)(
  "the %s metrics exporter (%s)",
  (name, temporality, makeExporter) => {
    const t = temporality === "delta" ? 1 : 2;

    it("is acknowledged, and every point is in its otel_metrics_* table as sent", async () => {
      const serviceName = `metrics-${name}`;
      const exporter = new RecordingMetricExporter(makeExporter(true));
      await emitMetrics(exporter, serviceName);
      expect(codes(exporter.results)).toEqual(["SUCCESS"]);
      const s = { s: serviceName };

      const histograms = await ingest.rows(
        `SELECT MetricName, MetricUnit, Attributes['gen_ai.token.type'] AS type, Count, Sum,
              BucketCounts, ExplicitBounds, Min, Max, AggregationTemporality, ScopeName
       FROM plumbline.otel_metrics_histogram WHERE ServiceName = {s:String}
       ORDER BY MetricName, type`,
        s,
      );
      const bounds = [1, 4, 16, 64, 256, 1024, 4096];
      const usage = (n: number, bucket: number) => ({
        MetricName: "gen_ai.client.token.usage",
        MetricUnit: "{token}",
        Count: "1",
        Sum: n,
        BucketCounts: bounds.concat(0).map((_, i) => (i === bucket ? "1" : "0")),
        ExplicitBounds: bounds,
        Min: n,
        Max: n,
        AggregationTemporality: t,
        ScopeName: "agent-metrics",
      });
      expect(histograms).toEqual([
        {
          MetricName: "gen_ai.client.operation.duration",
          MetricUnit: "s",
          type: "",
          Count: "1",
          Sum: 1.75,
          BucketCounts: expect.any(Array) as unknown,
          ExplicitBounds: expect.any(Array) as unknown,
          Min: 1.75,
          Max: 1.75,
          AggregationTemporality: t,
          ScopeName: "agent-metrics",
        },
        { ...usage(812, 5), type: "input" },
        { ...usage(95, 4), type: "output" },
      ]);

      expect(
        await ingest.rows(
          `SELECT MetricName, Attributes, Value, IsMonotonic, AggregationTemporality
         FROM plumbline.otel_metrics_sum WHERE ServiceName = {s:String}`,
          s,
        ),
      ).toEqual([
        {
          MetricName: "agent.tool_calls",
          Attributes: { tool: "search" },
          Value: 3,
          IsMonotonic: true,
          AggregationTemporality: t,
        },
      ]);
      expect(
        await ingest.rows(
          `SELECT MetricName, Value FROM plumbline.otel_metrics_gauge WHERE ServiceName = {s:String}`,
          s,
        ),
      ).toEqual([{ MetricName: "agent.queue.depth", Value: 4 }]);

      const [exp] = await ingest.rows<{
        MetricName: string;
        Count: string;
        Sum: number;
        Min: number;
        Max: number;
        Scale: number;
        ZeroCount: string;
        PositiveBucketCounts: string[];
        NegativeBucketCounts: string[];
      }>(
        `SELECT MetricName, Count, Sum, Min, Max, Scale, ZeroCount, PositiveBucketCounts,
              NegativeBucketCounts
       FROM plumbline.otel_metrics_exponential_histogram WHERE ServiceName = {s:String}`,
        s,
      );
      expect(exp).toMatchObject({
        MetricName: "gen_ai.server.time_to_first_token",
        Count: "4",
        Min: 0.12,
        Max: 0.5,
        ZeroCount: "0",
        NegativeBucketCounts: [],
      });
      expect(exp?.Sum).toBeCloseTo(1.02, 12);
      expect(exp?.PositiveBucketCounts.reduce((a, c) => a + Number(c), 0)).toBe(4);
    });

    it("fails without the ingest key, and nothing is stored", async () => {
      const serviceName = `metrics-${name}-unkeyed`;
      const exporter = new RecordingMetricExporter(makeExporter(false));
      await emitMetrics(exporter, serviceName).catch(() => undefined);
      expect(exporter.results).toHaveLength(1);
      expect(exporter.results[0]?.code).toBe(ExportResultCode.FAILED);
      const rows = await ingest.rows(
        "SELECT count() AS n FROM plumbline.otel_metrics_histogram WHERE ServiceName = {s:String}",
        { s: serviceName },
      );
      expect(rows).toEqual([{ n: "0" }]);
    });
  },
);

describe("a logs request with a bad record", () => {
  it("stores the good records and answers partialSuccess for the bad one", async () => {
    const record = (traceId: string, body: string) => ({
      timeUnixNano: `${T0}000000000`,
      traceId,
      body: { stringValue: body },
    });
    const res = await fetch(`${ingest.url}/v1/logs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "partial" } }] },
            scopeLogs: [{ logRecords: [record(TRACE, "kept"), record("abc", "refused")] }],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: "1",
        errorMessage:
          "1 log record(s) rejected: resourceLogs[0].scopeLogs[0].logRecords[1]: traceId is not a hex string",
      },
    });
    const rows = await ingest.rows(
      "SELECT Body FROM plumbline.otel_logs WHERE ServiceName = 'partial'",
    );
    expect(rows).toEqual([{ Body: "kept" }]);
  });
});

describe("a process of role evaluate", () => {
  it.each(["logs", "metrics"])(
    "answers 404 for /v1/%s, saying where to send it",
    async (signal) => {
      const res = await fetch(`${evaluate.url}/v1/${signal}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(
        /role evaluate and receives no OTLP data; send it to an ingest/,
      );
    },
  );
});
