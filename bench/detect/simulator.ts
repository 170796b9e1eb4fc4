/**
 * The detection benchmark's simulated agent application (issue 7): an orders agent and a
 * research agent, each its own service, emitting days of back-dated traffic in seconds through
 * the real OpenTelemetry JS SDK — a BasicTracerProvider per service with a BatchSpanProcessor
 * and, by default, the OTLP/HTTP protobuf exporter. A stable period comes first; from
 * `injectedAtMs` on, the scenario's failure (scenarios.ts) is injected.
 *
 * Deterministic: every draw derives from `seed` (arrival times per service, then per run and
 * per step), so the same options give the same spans (except trace and span ids, which the SDK
 * draws), and every scenario's stable period is exactly the control run's.
 */

import type { Tracer } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { createRandom } from "../../src/evaluate/drift/seeded-random.ts";
import { emitRun, type LegitimateEvent, type RunPlan } from "./genai-spans.ts";
import { ordersRun, type RunInput } from "./orders-agent.ts";
import { exponential, hashText, mixSeed } from "./random.ts";
import { researchRun } from "./research-agent.ts";
import { effectsFor, type ScenarioId, type ServiceKey } from "./scenarios.ts";

export type { ScenarioId } from "./scenarios.ts";

const HOUR_MS = 3_600_000;
/** The BatchSpanProcessor's batch size, and so the most spans one OTLP request carries. */
const MAX_BATCH = 512;
/** Export requests in flight per service before the simulator waits for the oldest. */
const MAX_IN_FLIGHT = 4;

export interface SimulationOptions {
  scenario: ScenarioId;
  /** Simulated start, epoch ms (e.g. now − 80 h). */
  startMs: number;
  /** Hours of stable traffic before the failure (the benchmark uses ≥ 48). */
  stableHours: number;
  /** Hours of traffic with the failure injected (the benchmark uses ≥ 24). */
  failureHours: number;
  /** Agent runs per hour and service (Poisson arrivals); default 40. */
  runsPerHour?: number;
  seed: number;
  /** Appended to the service names, so that several scenarios can share one store. */
  serviceSuffix?: string;
}

export interface Simulation {
  scenario: ScenarioId;
  /** startMs + stableHours: the first run from here on may carry the failure. */
  injectedAtMs: number;
  /** startMs + stableHours + failureHours: no run starts at or after it (spans of the last runs end up to ~a minute later). */
  endMs: number;
  runs: number;
  spans: number;
  /** The service.name of each service, suffix included. */
  services: Record<ServiceKey, string>;
  /** Runs the failure touched: every run of the failing service for a shift, only the chosen ones for a fraction. */
  affected: { runs: number; firstAtMs: number | null; traceIds: string[] };
  /** Runs that did not happen (silence scenarios): counted in `runs` and `affected`, no spans. */
  skippedRuns: number;
  /** Legitimate noise emitted (all periods): what a good detector must not alarm on. */
  legitimate: Record<LegitimateEvent, number>;
}

/** Makes the exporter of one service. */
export type ExporterFactory = (serviceName: string) => SpanExporter;

/** OTLP/HTTP protobuf exporters to `tracesUrl` (e.g. `http://localhost:4318/v1/traces`). */
export function otlpExporters(tracesUrl: string): ExporterFactory {
  return () => new OTLPTraceExporter({ url: tracesUrl, timeoutMillis: 30_000 });
}

interface ServiceDefinition {
  key: ServiceKey;
  baseName: string;
  version: string;
  seedPart: number;
  run: (input: RunInput) => RunPlan;
}

const SERVICES: readonly ServiceDefinition[] = [
  { key: "orders", baseName: "orders-agent", version: "2.4.1", seedPart: 1, run: ordersRun },
  { key: "research", baseName: "research-agent", version: "1.9.0", seedPart: 2, run: researchRun },
];

/**
 * Emits the whole simulation, back-dated, through one tracer provider per service whose
 * exporter `exporters` makes (an OTLP traces URL gives OTLP/HTTP protobuf exporters); flushes
 * and shuts the providers down before it resolves. Throws when an export failed.
 */
export async function simulate(
  exporters: ExporterFactory | string,
  options: SimulationOptions,
): Promise<Simulation> {
  const runsPerHour = options.runsPerHour ?? 40;
  checkOptions(options, runsPerHour);
  const makeExporter = typeof exporters === "string" ? otlpExporters(exporters) : exporters;
  const injectedAtMs = options.startMs + options.stableHours * HOUR_MS;
  const failureMs = options.failureHours * HOUR_MS;
  const endMs = injectedAtMs + failureMs;
  const suffix = options.serviceSuffix ?? "";

  const emitters = new Map<ServiceKey, Emitter>();
  for (const service of SERVICES) {
    emitters.set(service.key, new Emitter(`${service.baseName}${suffix}`, service, makeExporter));
  }
  const scenarioPart = hashText(options.scenario);
  const arrivals = SERVICES.flatMap((service) =>
    arrivalTimes(mixSeed(options.seed, service.seedPart), options.startMs, endMs, runsPerHour).map(
      (startMs, index) => ({ service, index, startMs }),
    ),
  ).sort((a, b) => a.startMs - b.startMs);

  const affected: Simulation["affected"] = { runs: 0, firstAtMs: null, traceIds: [] };
  const legitimate: Record<LegitimateEvent, number> = {
    "out-of-stock": 0,
    "tool-error-retried": 0,
    "no-search-results": 0,
    "stopped-at-max-tokens": 0,
  };
  let spans = 0;
  let skippedRuns = 0;
  for (const arrival of arrivals) {
    const runSeed = mixSeed(options.seed, arrival.service.seedPart, arrival.index);
    const progress =
      arrival.startMs < injectedAtMs ? null : (arrival.startMs - injectedAtMs) / failureMs;
    // The failure stream also depends on the scenario, so scenarios do not pick the same runs.
    const failureRandom = createRandom(mixSeed(runSeed, scenarioPart));
    const effects = effectsFor(
      options.scenario,
      arrival.service.key,
      progress,
      failureRandom,
      arrival.startMs - injectedAtMs,
    );
    if (effects.skipRun) {
      // Silence: the run does not happen (it still counts as one the failure touched).
      affected.runs++;
      affected.firstAtMs ??= arrival.startMs;
      skippedRuns++;
      continue;
    }
    const plan = arrival.service.run({ runSeed, startMs: arrival.startMs, effects });
    const emitter = emitters.get(arrival.service.key);
    if (emitter === undefined) throw new Error(`no emitter for ${arrival.service.key}`);
    const traceId = await emitter.emit(plan);
    spans += plan.spans.length;
    for (const event of plan.legitimate) legitimate[event]++;
    if (effects.affected) {
      affected.runs++;
      affected.firstAtMs ??= arrival.startMs;
      affected.traceIds.push(traceId);
    }
  }
  await Promise.all([...emitters.values()].map((emitter) => emitter.close()));
  const failures = [...emitters.values()].flatMap((emitter) => emitter.failures);
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} export(s) failed, first: ${failures[0]?.error?.message ?? "unknown"}`,
    );
  }
  const exported = [...emitters.values()].reduce((sum, emitter) => sum + emitter.exported, 0);
  if (exported !== spans) throw new Error(`emitted ${spans} spans but exported ${exported}`);

  return {
    scenario: options.scenario,
    injectedAtMs,
    endMs,
    runs: arrivals.length,
    spans,
    skippedRuns,
    services: {
      orders: emitters.get("orders")?.serviceName ?? "",
      research: emitters.get("research")?.serviceName ?? "",
    },
    affected,
    legitimate,
  };
}

function checkOptions(options: SimulationOptions, runsPerHour: number): void {
  const positive: Record<string, number> = {
    stableHours: options.stableHours,
    failureHours: options.failureHours,
    runsPerHour,
  };
  for (const [key, value] of Object.entries(positive)) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new Error(`simulate: ${key} must be a positive number, got ${value}`);
    }
  }
  if (!Number.isFinite(options.startMs)) {
    throw new Error(`simulate: startMs must be epoch milliseconds, got ${options.startMs}`);
  }
}

/** Poisson arrivals of runs in [startMs, endMs). */
function arrivalTimes(seed: number, startMs: number, endMs: number, perHour: number): number[] {
  const random = createRandom(seed);
  const meanGapMs = HOUR_MS / perHour;
  const times: number[] = [];
  for (let t = startMs + exponential(random, meanGapMs); t < endMs;) {
    times.push(Math.round(t));
    t += exponential(random, meanGapMs);
  }
  return times;
}

/**
 * One service's provider. A run's spans always travel in one OTLP request: Plumbline gives
 * LLM and tool calls the agent name of their run only among the spans of the same request
 * (src/decode/inherit-agent.ts), as an SDK does when a run ends within one batch delay. So a
 * batch is flushed before a run would push it past MAX_BATCH, never in the middle of a run.
 */
class Emitter {
  readonly failures: ExportResult[] = [];
  exported = 0;
  private readonly provider: BasicTracerProvider;
  private readonly processor: BatchSpanProcessor;
  private readonly tracer: Tracer;
  private pending = 0;
  private readonly inFlight: Promise<void>[] = [];

  constructor(
    readonly serviceName: string,
    service: ServiceDefinition,
    makeExporter: ExporterFactory,
  ) {
    const counting = new CountingExporter(makeExporter(serviceName), this);
    this.processor = new BatchSpanProcessor(counting, {
      maxExportBatchSize: MAX_BATCH,
      maxQueueSize: MAX_BATCH * 8,
      scheduledDelayMillis: 20,
      exportTimeoutMillis: 60_000,
    });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": serviceName,
        "service.version": service.version,
        "deployment.environment.name": "benchmark",
      }),
      spanProcessors: [this.processor],
    });
    this.tracer = this.provider.getTracer("plumbline-bench-detect", "1.0.0");
  }

  async emit(plan: RunPlan): Promise<string> {
    if (this.pending + plan.spans.length > MAX_BATCH) await this.flush();
    this.pending += plan.spans.length;
    return emitRun(this.tracer, plan);
  }

  /** Hands the buffered spans to the exporter as one batch (synchronously) and bounds the requests in flight. */
  private async flush(): Promise<void> {
    this.pending = 0;
    // Export failures are counted by CountingExporter; a rejected flush is only waited for.
    this.inFlight.push(this.processor.forceFlush().catch(() => undefined));
    while (this.inFlight.length >= MAX_IN_FLIGHT) await this.inFlight.shift();
  }

  async close(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
    await this.provider.shutdown();
  }
}

/** Counts what the inner exporter acknowledged, and keeps its failures. */
class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly counts: { exported: number; failures: ExportResult[] },
  ) {}
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.counts.exported += spans.length;
      else this.counts.failures.push(result);
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
