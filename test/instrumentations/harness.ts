/**
 * What every instrumentation test shares: a Plumbline test service that completes pending
 * outputs quickly, a real NodeTracerProvider (and LoggerProvider) exporting OTLP/protobuf to
 * it through the SDK's batch processors, and a field-by-field comparison of the stored
 * `agent_outputs` rows with the rows the traffic should have produced.
 *
 * The comparison collects every wrong field of every row instead of stopping at the first, so a
 * failing test lists all of them; with PLUMBLINE_ROWS_REPORT set to a file, each comparison
 * also appends one JSON line there (library, scenario, rows as expected, rows, mismatches).
 */

import { appendFileSync } from "node:fs";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from "@opentelemetry/sdk-logs";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { startTestService, type TestService } from "../helpers/service.ts";

/**
 * The batch delay of every provider here: short, so a file runs in seconds, and shorter than
 * TOOL_WAIT_MS, so a run with a slow tool goes out in more than one export request.
 */
export const BATCH_DELAY_MS = 200;
/** How long the slow tool of each file's long agent run takes: two batch intervals. */
export const TOOL_WAIT_MS = 400;

/** The service, with pending outputs (agent or content still to come) completed quickly. */
export function startPlumbline(): Promise<TestService> {
  return startTestService({
    // Five batch delays: a log batch that lags its span's (a loaded machine) still joins it.
    evaluate: { traceQuietMs: 1_000, traceIntervalMs: 100, builtinRules: false },
  });
}

/** One export request: its spans, and whether it was acknowledged. */
export interface ExportBatch {
  spans: { name: string; traceId: string; spanId: string; parentSpanId: string }[];
  ok: boolean;
}

/** Wraps a span exporter and keeps each export request it made. */
export class BatchRecordingExporter implements SpanExporter {
  readonly batches: ExportBatch[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.batches.push({
        spans: spans.map((s) => ({
          name: s.name,
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId ?? "",
        })),
        ok: result.code === ExportResultCode.SUCCESS,
      });
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  /** The id of the first exported span of this name (in this trace, when given); "" if none. */
  spanIdOf(name: string, traceId?: string): string {
    const span = this.batches
      .flatMap((b) => b.spans)
      .find((s) => s.name === name && (traceId === undefined || s.traceId === traceId));
    return span?.spanId ?? "";
  }

  /** Whether some child of this span went out in an earlier export request than the span. */
  childExportedBefore(spanId: string): boolean {
    const own = this.batches.findIndex((b) => b.spans.some((s) => s.spanId === spanId));
    const child = this.batches.findIndex((b) => b.spans.some((s) => s.parentSpanId === spanId));
    return own > 0 && child >= 0 && child < own;
  }
}

/** Wraps a log exporter and keeps the records sent, those acknowledged, and the refusals. */
export class LogRecordingExporter implements LogRecordExporter {
  readonly sent: ReadableLogRecord[] = [];
  readonly acknowledged: ReadableLogRecord[] = [];
  readonly failures: string[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.sent.push(...logs);
    this.inner.export(logs, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.acknowledged.push(...logs);
      else this.failures.push(String(result.error?.message ?? "failed"));
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
}

export interface Telemetry {
  tracerProvider: NodeTracerProvider;
  spans: BatchRecordingExporter;
  loggerProvider: LoggerProvider;
  logs: LogRecordingExporter;
  /** Exports whatever is still buffered, spans and log records. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * A NodeTracerProvider (registered: global provider, AsyncLocalStorage context) and a
 * LoggerProvider, each with the SDK's batch processor, exporting OTLP/protobuf to the service.
 */
export function startTelemetry(service: TestService, serviceName: string): Telemetry {
  const resource = resourceFromAttributes({ "service.name": serviceName });
  const spans = new BatchRecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(spans, { scheduledDelayMillis: BATCH_DELAY_MS })],
  });
  tracerProvider.register();
  const logs = new LogRecordingExporter(new OTLPLogExporter({ url: `${service.url}/v1/logs` }));
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [
      new BatchLogRecordProcessor({ exporter: logs, scheduledDelayMillis: BATCH_DELAY_MS }),
    ],
  });
  return {
    tracerProvider,
    spans,
    loggerProvider,
    logs,
    async flush() {
      await tracerProvider.forceFlush();
      await loggerProvider.forceFlush();
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await loggerProvider.shutdown();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The columns compared; the others (times, ids, attribute maps) are the span's own. */
export const COMPARED = [
  "Convention",
  "Kind",
  "Operation",
  "AgentName",
  "ConversationId",
  "Provider",
  "RequestModel",
  "ResponseModel",
  "Model",
  "InputText",
  "OutputText",
  "OutputIsJson",
  "OutputType",
  "FinishReason",
  "ToolName",
  "ToolCallId",
  "ToolArguments",
  "ToolResult",
  "InputTokens",
  "OutputTokens",
  "StatusCode",
  "ErrorType",
] as const;
export type Column = (typeof COMPARED)[number];

/** A text that must contain each of these pieces (for transcripts whose layout is not ours). */
export interface Contains {
  contains: string[];
}
export const contains = (...pieces: string[]): Contains => ({ contains: pieces });

export type Expected = string | number | boolean | null | Contains;

/** The row one span should have produced. */
export interface ExpectedRow {
  /** The span's name; the n-th expected row of a name is compared with the n-th stored one. */
  span: string;
  fields: Partial<Record<Column, Expected>>;
}

export interface Mismatch {
  row: string;
  field: Column | "row";
  observed: unknown;
  expected: unknown;
}

export type StoredRow = Record<string, unknown> & { SpanName: string };

/** Every output of these traces, oldest first (duplicates collapsed, as the rules read them). */
export async function storedOutputs(
  service: TestService,
  traceIds: readonly string[],
): Promise<StoredRow[]> {
  return service.rows<StoredRow>(
    `SELECT * EXCEPT (SpanAttributes, ResourceAttributes) FROM plumbline.agent_outputs FINAL
     WHERE TraceId IN {t:Array(String)} ORDER BY Timestamp, SpanId`,
    { t: traceIds },
  );
}

/** Every wrong field of every row, every missing row and every row that should not exist. */
export function compareRows(stored: readonly StoredRow[], expected: readonly ExpectedRow[]) {
  const mismatches: Mismatch[] = [];
  const taken = new Map<string, number>();
  const used = new Set<StoredRow>();
  let asExpected = 0;
  for (const want of expected) {
    const nth = taken.get(want.span) ?? 0;
    taken.set(want.span, nth + 1);
    const label = nth === 0 ? want.span : `${want.span} #${nth + 1}`;
    const row = stored.filter((r) => r.SpanName === want.span)[nth];
    if (row === undefined) {
      mismatches.push({ row: label, field: "row", observed: "no row", expected: "a row" });
      continue;
    }
    used.add(row);
    const wrong = Object.entries(want.fields).flatMap(([field, value]) =>
      matches(row[field], value as Expected)
        ? []
        : [{ row: label, field: field as Column, observed: row[field], expected: value }],
    );
    if (wrong.length === 0) asExpected += 1;
    mismatches.push(...wrong);
  }
  for (const row of stored) {
    if (used.has(row)) continue;
    mismatches.push({
      row: row.SpanName,
      field: "row",
      observed: `${String(row["Kind"])}/${String(row["Operation"])} ${String(row["AgentName"])}`,
      expected: "no row",
    });
  }
  return { mismatches, asExpected, total: expected.length };
}

function matches(observed: unknown, expected: Expected): boolean {
  if (expected !== null && typeof expected === "object") {
    return typeof observed === "string" && expected.contains.every((p) => observed.includes(p));
  }
  if (expected === null) return observed === null;
  // UInt64 columns come back as strings in JSONEachRow.
  if (typeof expected === "number") return observed !== null && Number(observed) === expected;
  return observed === expected;
}

export type Comparison = ReturnType<typeof compareRows> & { stored: StoredRow[] };

/**
 * Compares the rows of every scenario, polling until all are as expected or `timeoutMs` passes
 * (pending rows are completed once their trace is quiet), and returns each comparison as it
 * then stands, by scenario name.
 */
export async function settledComparisons(
  service: TestService,
  scenarios: ReadonlyMap<string, ScenarioResult>,
  timeoutMs = 15_000,
): Promise<Map<string, Comparison>> {
  await dumpSpans(service, scenarios);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = new Map<string, Comparison>();
    for (const [name, scenario] of scenarios) {
      const stored = await storedOutputs(service, scenario.traceIds);
      results.set(name, { ...compareRows(stored, scenario.expected), stored });
    }
    const settled = [...results.values()].every((r) => r.mismatches.length === 0);
    if (settled || Date.now() > deadline) return results;
    await sleep(100);
  }
}

/**
 * With PLUMBLINE_DUMP_SPANS set to a file, writes there every stored span of the scenarios
 * (name, attributes, events): what the library sent, to check expectations against.
 */
async function dumpSpans(
  service: TestService,
  scenarios: ReadonlyMap<string, ScenarioResult>,
): Promise<void> {
  const file = process.env["PLUMBLINE_DUMP_SPANS"];
  if (file === undefined || file === "") return;
  for (const [name, scenario] of scenarios) {
    const spans = await service.rows(
      `SELECT SpanName, SpanId, ParentSpanId, StatusCode, SpanAttributes, Events.Name, Events.Attributes
       FROM plumbline.otel_traces WHERE TraceId IN {t:Array(String)} ORDER BY Timestamp`,
      { t: scenario.traceIds },
    );
    appendFileSync(file, `${JSON.stringify({ scenario: name, spans }, null, 1)}\n`);
  }
}

/** Appends one comparison to the PLUMBLINE_ROWS_REPORT file, when that is set. */
export function report(
  library: string,
  scenario: string,
  result: ReturnType<typeof compareRows>,
): void {
  const file = process.env["PLUMBLINE_ROWS_REPORT"];
  if (file === undefined || file === "") return;
  appendFileSync(
    file,
    `${JSON.stringify({
      library,
      scenario,
      asExpected: result.asExpected,
      total: result.total,
      mismatches: result.mismatches,
    })}\n`,
  );
}

/** The shape of one scenario: the traces it made and the rows they should have produced. */
export interface ScenarioResult {
  traceIds: string[];
  expected: ExpectedRow[];
}
