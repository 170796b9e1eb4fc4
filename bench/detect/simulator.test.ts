/**
 * The detection benchmark's simulator, without a network: spans go through the real SDK
 * (BatchSpanProcessor) into in-memory exporters, then through the decoder's GenAI normaliser,
 * one exported batch at a time as ingest sees OTLP requests. Checked: determinism, a stable
 * mix, every scenario changing what it says after injection and nothing before, the rows
 * Plumbline makes of the spans, and what the built-in detectors find in them.
 */

import type { CompiledRule } from "../../src/evaluate/compile-rule.ts";
import { loadTestRuleFile } from "../../test/helpers/rules.ts";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ExportResult } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { beforeAll, describe, expect, it } from "vitest";
import { fromReadableSpan } from "../../test/helpers/make-span.ts";
import { inheritAgentNames } from "../../src/decode/inherit-agent.ts";
import { normaliseSpans } from "../../src/decode/normalise.ts";
import { createEngine } from "../../src/evaluate/engine.ts";
import { groupByTrace } from "../../src/evaluate/group-by-trace.ts";

import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import { SUMMARY_MAX_TOKENS } from "./research-agent.ts";
import {
  INJECTED,
  NEW_MODEL,
  ORDER_TYPE_SHARES,
  ORDER_TYPES,
  SCENARIO_IDS,
  SCENARIOS,
  SILENCE_MS,
  type ScenarioId,
} from "./scenarios.ts";
import { simulate, type Simulation, type SimulationOptions } from "./simulator.ts";
import { rowsOfRunsIn, runStarts, shares, symptomsOf, type Symptoms } from "./symptoms.ts";

const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 5, 0, 0, 0);
/** The benchmark's shape: 48 stable hours, then 24 with the failure, 40 runs an hour per service. */
const FULL: Omit<SimulationOptions, "scenario"> = {
  startMs: START,
  stableHours: 48,
  failureHours: 24,
  runsPerHour: 40,
  seed: 20_260_105,
};
/** Per scenario, a shorter run keeps the test fast: ~500 runs per service with the failure. */
const SHORT: Omit<SimulationOptions, "scenario"> = { ...FULL, stableHours: 2, failureHours: 12 };

/** An in-memory exporter that remembers each batch (one OTLP request) and keeps its spans on shutdown. */
class BatchRecorder extends InMemorySpanExporter {
  readonly batches: ReadableSpan[][] = [];
  override export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push([...spans]);
    super.export(spans, done);
  }
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Emitted {
  simulation: Simulation;
  batches: ReadableSpan[][];
  rows: AgentOutputRow[];
  unrecognised: number;
}

async function emit(options: SimulationOptions): Promise<Emitted> {
  const recorders: BatchRecorder[] = [];
  const simulation = await simulate(() => {
    const recorder = new BatchRecorder();
    recorders.push(recorder);
    return recorder;
  }, options);
  const batches = recorders.flatMap((recorder) => recorder.batches);
  const rows: AgentOutputRow[] = [];
  let unrecognised = 0;
  // As ingest does: normalise one request at a time; agent names are inherited within it.
  for (const batch of batches) {
    const spans = batch.map(fromReadableSpan);
    const normalised = normaliseSpans(spans);
    inheritAgentNames(normalised.rows, spans);
    rows.push(...normalised.rows);
    unrecognised += normalised.unrecognised.length;
  }
  return { simulation, batches, rows, unrecognised };
}

/** Hash of every span of the runs started in [fromMs, toMs), without the SDK's random ids. */
function spansHash(batches: ReadableSpan[][], fromMs: number, toMs: number): string {
  const traces = new Map<string, ReadableSpan[]>();
  for (const span of batches.flat()) {
    const id = span.spanContext().traceId;
    traces.set(id, [...(traces.get(id) ?? []), span]);
  }
  const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
  const canonical: { start: number; text: string }[] = [];
  for (const spans of traces.values()) {
    const root = spans.find((span) => span.parentSpanContext === undefined);
    if (root === undefined) throw new Error("a trace without its root");
    const start = ms(root.startTime);
    if (start < fromMs || start >= toMs) continue;
    const order = [...spans].sort((a, b) => ms(a.startTime) - ms(b.startTime));
    const index = new Map(order.map((span, i) => [span.spanContext().spanId, i]));
    const text = order
      .map((span) =>
        JSON.stringify([
          span.resource.attributes["service.name"],
          span.name,
          span.kind,
          span.startTime,
          span.endTime,
          span.parentSpanContext === undefined ? -1 : index.get(span.parentSpanContext.spanId),
          span.status,
          span.attributes,
          span.events.map((event) => [event.name, event.time, event.attributes]),
        ]),
      )
      .join("\n");
    canonical.push({ start, text });
  }
  canonical.sort((a, b) => a.start - b.start || (a.text < b.text ? -1 : 1));
  const hash = createHash("sha256");
  for (const { text } of canonical) hash.update(text).update("\n\n");
  return hash.digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Built-in detectors, as the rule set loads them.

const builtinDir = fileURLToPath(new URL("../../rules/builtin/", import.meta.url));
const BUILTINS: CompiledRule[] = [
  "duplicate-side-effect",
  "empty-output",
  "error-swallowed",
  "invalid-json",
  "refusal",
  "tool-error-in-disguise",
  "truncated-output",
].map((name) => {
  const result = loadTestRuleFile(path.join(builtinDir, `${name}.json`), builtinDir);
  if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.errors)}`);
  return result.rule;
});

/** Findings of each built-in detector on these rows, by rule id, as the engine evaluates them. */
async function builtinFindings(rows: AgentOutputRow[]): Promise<Record<string, number>> {
  const engine = createEngine({ rules: () => BUILTINS, sink: { add() {} } });
  const findings = [...(await engine.evaluateOutputs(rows)).findings];
  for (const trace of groupByTrace(rows)) findings.push(...engine.evaluateTrace(trace).findings);
  const counts: Record<string, number> = Object.fromEntries(BUILTINS.map((rule) => [rule.id, 0]));
  for (const finding of findings) counts[finding.ruleId] = (counts[finding.ruleId] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// One digest per scenario: spans and rows are too big to keep for eleven runs.

interface Digest {
  simulation: Simulation;
  /** spansHash of the stable period (not computed for FULL: nothing compares it). */
  stableHash: string;
  before: Symptoms;
  /** Each whole day of the stable period. */
  stableDays: Symptoms[];
  after: Symptoms;
  afterFirstQuarter: Symptoms;
  afterLastQuarter: Symptoms;
  /** The two hours of a silence scenario from injection, and what comes after them. */
  silence: Symptoms;
  afterSilence: Symptoms;
  findingsBefore: Record<string, number>;
  findingsAfter: Record<string, number>;
}

async function digest(
  scenario: ScenarioId,
  options: Omit<SimulationOptions, "scenario">,
): Promise<Digest> {
  const { simulation, batches, rows } = await emit({ ...options, scenario });
  const { injectedAtMs, endMs } = simulation;
  const starts = runStarts(rows);
  const runsIn = (from: number, to: number) => rowsOfRunsIn(rows, starts, from, to);
  const before = runsIn(START, injectedAtMs);
  const after = runsIn(injectedAtMs, endMs);
  const quarter = (endMs - injectedAtMs) / 4;
  const stableDays: Symptoms[] = [];
  for (let day = START; day + 24 * HOUR <= injectedAtMs; day += 24 * HOUR) {
    stableDays.push(symptomsOf(runsIn(day, day + 24 * HOUR)));
  }
  return {
    simulation,
    stableHash: options === FULL ? "" : spansHash(batches, START, injectedAtMs),
    before: symptomsOf(before),
    stableDays,
    after: symptomsOf(after),
    afterFirstQuarter: symptomsOf(runsIn(injectedAtMs, injectedAtMs + quarter)),
    afterLastQuarter: symptomsOf(runsIn(endMs - quarter, endMs)),
    silence: symptomsOf(runsIn(injectedAtMs, injectedAtMs + SILENCE_MS)),
    afterSilence: symptomsOf(runsIn(injectedAtMs + SILENCE_MS, endMs)),
    findingsBefore: await builtinFindings(before),
    findingsAfter: await builtinFindings(after),
  };
}

/** What fewer research runs move (agent-silent, traffic-lull). */
const RESEARCH_COUNTS: readonly (keyof Symptoms)[] = [
  "researchRuns",
  "summaries",
  "summariesCutAtLength",
  "summariesEmpty",
  "agentAnswersEmpty",
  "summaryMeanLength",
  "planStepKinds",
  "searchCalls",
  "fetchCalls",
  "fetchP95Ms",
  "toolErrorSpans",
];

/** Scenarios whose affected runs do not happen: they have no trace, and fewer of everything. */
const SKIPS_RUNS: ReadonlySet<ScenarioId> = new Set(["agent-silent", "traffic-lull"]);

/**
 * The symptoms each scenario may move after injection (as a consequence of its failure); every
 * other one stays exactly as in the control run. What it must move is checked per scenario.
 */
const MOVES: Record<ScenarioId, readonly (keyof Symptoms)[]> = {
  control: [],
  // An id of the same length: no symptom moves; only a reader (the judge) sees it.
  "wrong-entity": [],
  "broken-json": [
    "parseInvalidJson",
    "parseMissingQuantity",
    "parseQuantityNotInteger",
    "orderTypes",
    "totalMedian",
  ],
  "category-shift": ["orderTypes", "totalMedian", "confirmationMeanLength"],
  "auth-error-as-data": [
    "stockErrorsAsData",
    "authErrorTracesWithOrder",
    "outOfStockReplies",
    "quoteCalls",
    "createOrderCalls",
    "confirmationMeanLength",
  ],
  truncation: ["summariesCutAtLength", "summaryMeanLength"],
  "unit-error": ["totalMedian"],
  "duplicate-side-effect": ["createOrderCalls", "duplicateCreateTraces"],
  "shorter-after-model-change": ["models", "summaryMeanLength", "confirmationMeanLength"],
  "empty-output": ["summariesEmpty", "agentAnswersEmpty", "summaryMeanLength"],
  "tool-latency": ["fetchP95Ms"],
  "stopped-calling-tool": [
    "checkStockCalls",
    "toolErrorSpans",
    "outOfStockReplies",
    "quoteCalls",
    "createOrderCalls",
    "confirmationMeanLength",
  ],
  // Silence (issue 18): runs that do not happen move every count of their service.
  "agent-silent": RESEARCH_COUNTS,
  "field-disappears": ["totalMedian"],
  "traffic-lull": RESEARCH_COUNTS,
};

/** The built-in detectors each scenario should set off after injection. */
const CAUGHT_BY_BUILTIN: Partial<Record<ScenarioId, readonly string[]>> = {
  "broken-json": ["builtin.invalid-json"],
  "auth-error-as-data": ["builtin.tool-error-in-disguise", "builtin.error-swallowed"],
  truncation: ["builtin.truncated-output"],
  "duplicate-side-effect": ["builtin.duplicate-side-effect"],
  "empty-output": ["builtin.empty-output"],
};

/** The control run at the benchmark's full length, and at the scenarios' short one. */
let full: Digest;
let control: Digest;

beforeAll(async () => {
  full = await digest("control", FULL);
  control = await digest("control", SHORT);
}, 60_000);

describe("the simulated application", () => {
  it("runs both services at the asked rate, with their legitimate noise", () => {
    const { simulation, before, after } = full;
    const expected = 72 * 40; // per service
    for (const runs of [
      before.ordersRuns + after.ordersRuns,
      before.researchRuns + after.researchRuns,
    ]) {
      expect(Math.abs(runs - expected)).toBeLessThan(4 * Math.sqrt(expected));
    }
    expect(simulation.runs).toBe(
      before.ordersRuns + after.ordersRuns + before.researchRuns + after.researchRuns,
    );
    expect(simulation.spans / simulation.runs).toBeGreaterThan(5.5);
    expect(simulation).toMatchObject({
      injectedAtMs: START + 48 * HOUR,
      endMs: START + 72 * HOUR,
      services: { orders: "orders-agent", research: "research-agent" },
      affected: { runs: 0, firstAtMs: null, traceIds: [] },
    });
    // Out of stock ~1.5% of orders, retried tool errors, empty searches, ~0.5% summaries at max_tokens.
    const { legitimate } = simulation;
    expect(legitimate["out-of-stock"]).toBeGreaterThan(20);
    expect(legitimate["out-of-stock"]).toBe(before.outOfStockReplies + after.outOfStockReplies);
    expect(legitimate["tool-error-retried"]).toBe(before.toolErrorSpans + after.toolErrorSpans);
    expect(legitimate["tool-error-retried"]).toBeGreaterThan(40);
    expect(legitimate["no-search-results"]).toBeGreaterThan(50);
    expect(legitimate["stopped-at-max-tokens"]).toBe(
      before.summariesCutAtLength + after.summariesCutAtLength,
    );
    expect(legitimate["stopped-at-max-tokens"]).toBeGreaterThan(3);
  });

  it("is deterministic: the same seed gives the same spans, another seed others", async () => {
    const options = { ...FULL, scenario: "control" as const, stableHours: 3, failureHours: 1 };
    const a = await emit(options);
    const b = await emit(options);
    const c = await emit({ ...options, seed: FULL.seed + 1 });
    const all = (e: Emitted) => spansHash(e.batches, START, e.simulation.endMs);
    expect(all(a)).toBe(all(b));
    expect(all(a)).not.toBe(all(c));
    expect(a.simulation.spans).toBe(b.simulation.spans);
  });

  it("keeps a stable mix from one day to the next", () => {
    const [day1, day2] = full.stableDays;
    if (day1 === undefined || day2 === undefined) throw new Error("two stable days expected");
    const [types1, types2] = [shares(day1.orderTypes), shares(day2.orderTypes)];
    ORDER_TYPES.forEach((type, i) => {
      expect(Math.abs((types1[type] ?? 0) - (ORDER_TYPE_SHARES[i] ?? 0))).toBeLessThan(0.05);
      expect(Math.abs((types1[type] ?? 0) - (types2[type] ?? 0))).toBeLessThan(0.06);
    });
    const [steps1, steps2] = [shares(day1.planStepKinds), shares(day2.planStepKinds)];
    expect(Object.keys(steps1).sort()).toEqual(["compare", "fetch", "search", "summarise"]);
    for (const kind of Object.keys(steps1)) {
      expect(Math.abs((steps1[kind] ?? 0) - (steps2[kind] ?? 0))).toBeLessThan(0.03);
    }
    expect(day1.fetchP95Ms).toBeGreaterThan(1600);
    expect(day1.fetchP95Ms).toBeLessThan(2500);
    expect(Math.abs(day1.fetchP95Ms / day2.fetchP95Ms - 1)).toBeLessThan(0.15);
    expect(Math.abs(day1.summaryMeanLength / day2.summaryMeanLength - 1)).toBeLessThan(0.05);
    expect(Math.abs(day1.totalMedian / day2.totalMedian - 1)).toBeLessThan(0.2);
    expect(day1.summaryMeanLength).toBeGreaterThan(900);
    expect(day1.summaryMeanLength).toBeLessThan(1250);
    expect(day1.confirmationMeanLength).toBeGreaterThan(450);
    expect(day1.confirmationMeanLength).toBeLessThan(750);
  });

  it("makes one agent_outputs row per span, named after its agent within each request", async () => {
    const { simulation, batches, rows, unrecognised } = await emit({
      ...FULL,
      scenario: "control",
      stableHours: 8,
      failureHours: 1,
      serviceSuffix: "-t1",
    });
    expect(batches.length).toBeGreaterThan(8);
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(512);
    expect(unrecognised).toBe(0);
    expect(rows).toHaveLength(simulation.spans);
    const agentOf: Record<string, string> = {
      "orders-agent-t1": "order-processor",
      "research-agent-t1": "researcher",
    };
    for (const row of rows) {
      expect(row.AgentName).toBe(agentOf[row.ServiceName]);
      expect(row.Convention).toBe("genai");
      expect(row.ServiceVersion).toMatch(/^\d+\.\d+\.\d+$/);
    }

    const agents = rows.filter((row) => row.Kind === "agent");
    expect(agents).toHaveLength(simulation.runs);
    for (const row of agents) {
      expect(row).toMatchObject({ Operation: "invoke_agent", StatusCode: "Ok", Model: "gpt-4o" });
      expect(row.InputText).toMatch(/^user: /);
      expect(row.OutputText.length).toBeGreaterThan(200);
    }

    const chats = rows.filter((row) => row.Kind === "llm");
    for (const row of chats) {
      expect(row).toMatchObject({
        Operation: "chat",
        Provider: "openai",
        RequestModel: "gpt-4o",
        Model: "gpt-4o-2024-08-06",
        StatusCode: "Unset",
        ErrorType: "",
      });
      expect(["stop", "length"]).toContain(row.FinishReason);
      expect(row.InputTokens).toBeGreaterThan(20);
      expect(row.OutputTokens).toBeGreaterThan(0);
      expect(row.InputText).toMatch(/^system: .*\nuser: /s);
      expect(row.OutputIsJson).toBe(row.OutputType === "json");
    }
    const json = chats
      .filter((row) => row.OutputType === "json")
      .map((row) => JSON.parse(row.OutputJson) as object);
    const parses = json.filter((value) => "order_type" in value);
    expect(parses.length).toBe(agents.filter((row) => row.AgentName === "order-processor").length);
    for (const parsed of parses) {
      expect(Object.keys(parsed)).toEqual([
        "order_type",
        "sku",
        "quantity",
        "customer_email",
        "total",
      ]);
      expect(parsed).toMatchObject({ quantity: expect.any(Number), total: expect.any(Number) });
    }
    expect(json.filter((value) => "price" in value).length).toBeGreaterThan(0);
    expect(json.filter((value) => "steps" in value).length).toBe(
      agents.filter((row) => row.AgentName === "researcher").length,
    );

    const tools = rows.filter((row) => row.Kind === "tool");
    expect(new Set(tools.map((row) => row.ToolName))).toEqual(
      new Set(["check_stock", "create_order", "web_search", "fetch_page"]),
    );
    for (const row of tools) {
      expect(row.Operation).toBe("execute_tool");
      expect(row.ToolCallId).toMatch(/^call_[A-Za-z0-9]{24}$/);
      expect(row.InputText).toBe(row.ToolArguments);
      expect(JSON.parse(row.ToolArguments)).toBeTypeOf("object");
      if (row.StatusCode === "Ok") {
        expect(row.OutputText).toBe(row.ToolResult);
        expect(row.OutputIsJson).toBe(true);
      } else {
        expect(row).toMatchObject({ StatusCode: "Error", ToolResult: "" });
        expect(["TimeoutError", "ConnectionResetError"]).toContain(row.ErrorType);
      }
    }
  }, 30_000);

  it("lists every scenario once, with what it injects", () => {
    expect(SCENARIOS.map((s) => s.id)).toEqual([...SCENARIO_IDS]);
    expect(SCENARIOS.map((s) => s.issueNumber)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 18, 18,
    ]);
  });
});

describe("built-in detectors on the control run", () => {
  it("find nothing but the legitimate cut-offs of summaries at max_tokens", () => {
    for (const findings of [full.findingsBefore, full.findingsAfter]) {
      expect(findings).toEqual({
        "builtin.duplicate-side-effect": 0,
        "builtin.empty-output": 0,
        "builtin.error-swallowed": 0,
        "builtin.invalid-json": 0,
        "builtin.refusal": 0,
        "builtin.tool-error-in-disguise": 0,
        "builtin.truncated-output": expect.any(Number),
      });
    }
    expect(full.findingsBefore["builtin.truncated-output"]).toBe(full.before.summariesCutAtLength);
    expect(full.findingsAfter["builtin.truncated-output"]).toBe(full.after.summariesCutAtLength);
  });
});

describe.each(SCENARIO_IDS.filter((id) => id !== "control"))("scenario %s", (scenario) => {
  let d: Digest;
  beforeAll(async () => {
    d = await digest(scenario, SHORT);
  }, 60_000);

  it("leaves the stable period exactly as the control run has it", () => {
    expect(d.stableHash).toBe(control.stableHash);
    expect(d.before).toEqual(control.before);
    expect(d.findingsBefore).toEqual(control.findingsBefore);
    expect(d.simulation.runs).toBe(control.simulation.runs);
    expect(d.simulation.affected.runs).toBeGreaterThan(0);
    expect(d.simulation.affected.firstAtMs).toBeGreaterThanOrEqual(d.simulation.injectedAtMs);
    if (!SKIPS_RUNS.has(scenario)) {
      expect(d.simulation.affected.traceIds).toHaveLength(d.simulation.affected.runs);
    }
  });

  it("after injection, moves only what it says", () => {
    const moves = MOVES[scenario];
    for (const key of Object.keys(control.after) as (keyof Symptoms)[]) {
      if (!moves.includes(key)) expect(d.after[key], key).toEqual(control.after[key]);
    }
  });

  it("sets off the built-in detectors expected to catch it, and no others", () => {
    const expected = CAUGHT_BY_BUILTIN[scenario] ?? [];
    for (const [id, count] of Object.entries(d.findingsAfter)) {
      if (expected.includes(id)) expect(count, id).toBeGreaterThan(control.findingsAfter[id] ?? 0);
      else if (SKIPS_RUNS.has(scenario)) {
        expect(count, id).toBeLessThanOrEqual(control.findingsAfter[id] ?? 0);
      } else expect(count, id).toBe(control.findingsAfter[id]);
    }
  });

  it("injects the stated amount", () => {
    const { after, afterFirstQuarter, afterLastQuarter, findingsAfter } = d;
    const near = (value: number, target: number, tolerance: number) =>
      expect(Math.abs(value - target), `${value} vs ${target}`).toBeLessThan(tolerance);
    switch (scenario) {
      case "broken-json": {
        const broken =
          after.parseInvalidJson + after.parseMissingQuantity + after.parseQuantityNotInteger;
        near(broken / after.parseCalls, INJECTED.brokenJson, 0.02);
        for (const kind of [
          after.parseInvalidJson,
          after.parseMissingQuantity,
          after.parseQuantityNotInteger,
        ]) {
          expect(kind).toBeGreaterThan(0);
        }
        expect(findingsAfter["builtin.invalid-json"]).toBe(after.parseInvalidJson);
        break;
      }
      case "category-shift":
        near(shares(after.orderTypes)["subscription"] ?? 0, 0.35, 0.04);
        near(shares(control.after.orderTypes)["subscription"] ?? 0, 0.1, 0.03);
        break;
      case "auth-error-as-data":
        near(after.stockErrorsAsData / after.checkStockCalls, INJECTED.authErrorAsData, 0.04);
        // The agent carries on: every such run still created its order, and reported success.
        expect(after.authErrorTracesWithOrder).toBe(after.stockErrorsAsData);
        expect(findingsAfter["builtin.tool-error-in-disguise"]).toBe(after.stockErrorsAsData);
        expect(findingsAfter["builtin.error-swallowed"]).toBe(after.authErrorTracesWithOrder);
        break;
      case "truncation":
        near(
          after.summariesCutAtLength / after.summaries,
          INJECTED.truncatedSummary + 0.005,
          0.025,
        );
        expect(findingsAfter["builtin.truncated-output"]).toBe(after.summariesCutAtLength);
        break;
      case "unit-error":
        near(after.totalMedian / control.after.totalMedian, 100, 1);
        break;
      case "duplicate-side-effect": {
        const runsWithOrder = control.after.createOrderCalls;
        near(after.duplicateCreateTraces / runsWithOrder, INJECTED.duplicateCreateOrder, 0.03);
        expect(after.createOrderCalls).toBe(runsWithOrder + after.duplicateCreateTraces);
        expect(findingsAfter["builtin.duplicate-side-effect"]).toBe(after.duplicateCreateTraces);
        break;
      }
      case "shorter-after-model-change":
        expect(after.models).toBe(NEW_MODEL.responseModel);
        expect(control.after.models).toBe("gpt-4o-2024-08-06");
        near(after.summaryMeanLength / control.after.summaryMeanLength, 0.5, 0.08);
        near(after.confirmationMeanLength / control.after.confirmationMeanLength, 0.55, 0.08);
        break;
      case "empty-output":
        near(after.summariesEmpty / after.summaries, INJECTED.emptySummary, 0.02);
        expect(after.agentAnswersEmpty).toBe(after.summariesEmpty);
        expect(findingsAfter["builtin.empty-output"]).toBe(2 * after.summariesEmpty);
        break;
      case "tool-latency":
        // p95 2 s when injected, 20 s at the end: the first quarter's mix ~4.5 s, the last's ~18 s.
        near(control.after.fetchP95Ms / 1000, 2, 0.3);
        near(afterFirstQuarter.fetchP95Ms / 1000, 4.5, 1.2);
        near(afterLastQuarter.fetchP95Ms / 1000, 18, 2.5);
        break;
      case "stopped-calling-tool":
        expect(after.checkStockCalls).toBe(0);
        expect(control.after.checkStockCalls).toBeGreaterThanOrEqual(control.after.ordersRuns);
        break;
      // Silence: two hours from injection, then as before.
      case "agent-silent":
        expect(d.silence.researchRuns).toBe(0);
        expect(d.silence.ordersRuns).toBe(control.silence.ordersRuns);
        expect(d.afterSilence).toEqual(control.afterSilence);
        break;
      case "field-disappears":
        expect(d.silence.parseCalls).toBe(control.silence.parseCalls);
        expect(d.silence.totalMedian).toBeNaN();
        expect(d.afterSilence).toEqual(control.afterSilence);
        break;
      case "traffic-lull":
        expect(d.silence.ordersRuns).toBe(control.silence.ordersRuns);
        near(d.silence.researchRuns / control.silence.researchRuns, 0.5, 0.15);
        expect(d.afterSilence).toEqual(control.afterSilence);
        break;
    }
  });
});

// Cut summaries stop where max_tokens ran out: about SUMMARY_MAX_TOKENS × 4 characters.
it("cuts truncated summaries at max_tokens", async () => {
  const { rows } = await emit({ ...SHORT, scenario: "truncation" });
  const cut = rows.filter((row) => row.Kind === "llm" && row.FinishReason === "length");
  expect(cut.length).toBeGreaterThan(20);
  for (const row of cut) {
    expect(row.OutputTokens).toBe(SUMMARY_MAX_TOKENS);
    expect(row.OutputText.length).toBeGreaterThan(SUMMARY_MAX_TOKENS * 3.7);
    expect(row.OutputText.length).toBeLessThan(SUMMARY_MAX_TOKENS * 4.3);
  }
});
