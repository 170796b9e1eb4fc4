/**
 * Test builders shared by the logs and metrics decoder tests: log records and metric points
 * recorded by the real OTel SDKs (sdk-logs, sdk-metrics) with what both decoders must produce
 * for them, and hand-made OTLP requests for what the SDKs never send (exemplars, summaries,
 * int values, bad ids).
 */

import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { DecodedLogRecord } from "../../src/decode/log-record.ts";
import type { DecodedDataPoint } from "../../src/decode/metric-point.ts";
import { TRACE, PARENT } from "./decode-fixtures.ts";

export { TRACE, PARENT };

/** Log records from the real SDK, and what both decoders must produce for them. */
export async function sdkLogRecords(): Promise<{
  records: ReadableLogRecord[];
  expected: DecodedLogRecord[];
}> {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "support-bot", "deployment.id": 7 }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("genai-events", "1.4.0", {
    schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
    attributes: { "scope.kind": "events" },
  });
  const inSpan = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE,
    spanId: PARENT,
    traceFlags: 1,
  });
  // A GenAI event as the semantic conventions now send it: event_name, a structured body.
  logger.emit({
    eventName: "gen_ai.choice",
    timestamp: [1700000000, 123456789],
    observedTimestamp: [1700000001, 0],
    severityNumber: SeverityNumber.INFO,
    severityText: "INFO",
    body: { index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hi!" } },
    attributes: { "gen_ai.system": "openai", tokens: 12, cached: false, ratio: 0.5 },
    context: inSpan,
  });
  // The older spelling: the event name as the `event.name` attribute, no event_name.
  logger.emit({
    timestamp: [1700000002, 0],
    observedTimestamp: [1700000002, 500],
    severityNumber: SeverityNumber.WARN2,
    body: "a plain line",
    attributes: { "event.name": "gen_ai.user.message", tags: ["a", "b"] },
  });
  await provider.forceFlush();
  const records = exporter.getFinishedLogRecords();
  await provider.shutdown();

  const resource = {
    attributes: { "service.name": "support-bot", "deployment.id": 7 },
    serviceName: "support-bot",
    schemaUrl: "",
  };
  const scope = {
    name: "genai-events",
    version: "1.4.0",
    attributes: { "scope.kind": "events" },
    droppedAttributesCount: 0,
    schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
  };
  const expected: DecodedLogRecord[] = [
    {
      resource,
      scope,
      timeUnixNano: 1_700_000_000_123_456_789n,
      observedTimeUnixNano: 1_700_000_001_000_000_000n,
      severityNumber: 9,
      severityText: "INFO",
      body: { index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hi!" } },
      attributes: { "gen_ai.system": "openai", tokens: 12, cached: false, ratio: 0.5 },
      traceId: TRACE,
      spanId: PARENT,
      flags: 1,
      eventName: "gen_ai.choice",
      path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
    },
    {
      resource,
      scope,
      timeUnixNano: 1_700_000_002_000_000_000n,
      observedTimeUnixNano: 1_700_000_002_000_000_500n,
      severityNumber: 14,
      severityText: "",
      body: "a plain line",
      attributes: { "event.name": "gen_ai.user.message", tags: ["a", "b"] },
      traceId: "",
      spanId: "",
      flags: 0,
      eventName: "",
      path: "resourceLogs[0].scopeLogs[0].logRecords[1]",
    },
  ];
  return { records, expected };
}

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * One collection of the real metrics SDK: the GenAI client histograms, a counter, an up-down
 * counter, a gauge and an exponential histogram (through an aggregation view), with the
 * points both decoders must produce, times read from what the SDK collected.
 */
export async function sdkMetrics(
  temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE,
): Promise<{ resourceMetrics: ResourceMetrics; byName: Map<string, Partial<DecodedDataPoint>> }> {
  const reader = new CollectingReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": "support-bot" }),
    readers: [reader],
    views: [
      {
        instrumentName: "gen_ai.server.time_per_output_token",
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } },
      },
    ],
  });
  const meter = provider.getMeter("genai-metrics", "2.0.0");
  const tokens = meter.createHistogram("gen_ai.client.token.usage", {
    unit: "{token}",
    description: "Measures number of input and output tokens used",
    advice: { explicitBucketBoundaries: [1, 4, 16, 64, 256, 1024] },
  });
  tokens.record(100, { "gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o" });
  tokens.record(20, { "gen_ai.token.type": "output", "gen_ai.request.model": "gpt-4o" });
  meter
    .createHistogram("gen_ai.client.operation.duration", { unit: "s" })
    .record(1.25, { "gen_ai.operation.name": "chat" });
  meter.createCounter("agent.tool_calls").add(3, { tool: "search" });
  meter.createUpDownCounter("agent.sessions.active").add(-2);
  meter.createGauge("agent.queue.depth").record(7.5);
  const exp = meter.createHistogram("gen_ai.server.time_per_output_token", { unit: "s" });
  for (const v of [0.02, 0.04, 0.04]) exp.record(v);
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new Error(String(errors[0]));
  await provider.shutdown();

  const t = Number(temporality === AggregationTemporality.DELTA ? 1 : 2);
  const byName = new Map<string, Partial<DecodedDataPoint>>([
    [
      "gen_ai.client.token.usage",
      {
        kind: "histogram",
        attributes: { "gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o" },
        count: 1n,
        sum: 100,
        min: 100,
        max: 100,
        explicitBounds: [1, 4, 16, 64, 256, 1024],
        bucketCounts: [0n, 0n, 0n, 0n, 1n, 0n, 0n],
        aggregationTemporality: t,
        exemplars: [],
      },
    ],
    [
      "gen_ai.client.operation.duration",
      { kind: "histogram", count: 1n, sum: 1.25, aggregationTemporality: t },
    ],
    [
      "agent.tool_calls",
      { kind: "sum", value: 3, isMonotonic: true, aggregationTemporality: t, exemplars: [] },
    ],
    ["agent.sessions.active", { kind: "sum", value: -2, isMonotonic: false }],
    ["agent.queue.depth", { kind: "gauge", value: 7.5, aggregationTemporality: 0 }],
    [
      "gen_ai.server.time_per_output_token",
      {
        kind: "exponentialHistogram",
        count: 3n,
        sum: 0.1,
        min: 0.02,
        max: 0.04,
        zeroCount: 0n,
        negative: { offset: 0, bucketCounts: [] },
        aggregationTemporality: t,
      },
    ],
  ]);
  return { resourceMetrics, byName };
}

/** Hex id bytes for a hand-made protobuf request. */
export const idBytes = (hex: string): Buffer => Buffer.from(hex, "hex");

/** BigInts as decimal strings, to compare decoder outputs across encodings. */
export const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint"
        ? `${v}n`
        : v instanceof Uint8Array
          ? `bytes:${Buffer.from(v).toString("hex")}`
          : v,
    ),
  );
