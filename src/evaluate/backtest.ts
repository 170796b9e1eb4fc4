/**
 * Replays rules over stored outputs, window by window, as the engine would have evaluated
 * them, and summarises what each rule would have found. Window rules (rate, drift) are
 * evaluated at each of their scheduled times in the range, over the windows as they were
 * then. Nothing is written: no results, no alerts. The source is injected so the same code
 * runs over any store.
 *
 * Given a timeline, everything found is also handed to it in the simulated time of the stored
 * data, oldest first, at the moment the live service would have had it: an output's findings
 * and evaluations when its span ended (it is evaluated as it arrives), a trace's once it has
 * been quiet for `traceQuietMs` after its last span ended, a window evaluation `windowSettleMs`
 * after its window ended (when the scheduler runs it). The alert stage replays its alerts on
 * that (alert/alert-replay.ts); nothing after `untilMs` is handed on.
 *
 * Judge rules cost money: given `judge`, the backtest first reads the period once to sample
 * each judge rule's outputs, hands the plan (calls, tokens, cost) to `judge.onPlan`, and judges
 * the sample only when `judge.confirm` (judge/judge-backtest.ts) — all before any other rule is
 * replayed. The sample's verdicts are then reported and replayed like any rule's results, at
 * the end of their output's span (plus `judge.contextDelayMs` when the prompt reads the trace
 * or the conversation, as the live judge waits): a rule's alerts are those of its sample.
 * Without `judge`, judge rules find nothing.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CompiledRule } from "./compile-rule.ts";
import { orderedTimeline, type OrderedTimeline } from "./backtest-timeline.ts";
import { createEngine, type EvaluationResult } from "./engine.ts";
import { groupByTrace } from "./group-by-trace.ts";
import type { Rule } from "../rules/rule.ts";
import type { CheckEvaluation, Finding, WindowEvaluation } from "../rules/findings.ts";
import { evaluateInBatches } from "./windows/batches.ts";
import { SCHEDULER_DEFAULTS, windowRules } from "./windows/scheduler.ts";
import type { WindowSpec } from "../rules/window-spec.ts";
import {
  createJudgeBacktest,
  judgeRulesOf,
  type JudgeBacktestDeps,
  type JudgeBacktestOptions,
  type JudgeBacktestSummary,
  type JudgeRuleResult,
} from "./judge/judge-backtest.ts";

export interface BacktestSource {
  outputsInWindow(fromMs: number, toMs: number): Promise<AgentOutputRow[]>;
  tracesStartingInWindow(fromMs: number, toMs: number): Promise<string[]>;
  outputsOfTraces(traceIds: string[]): Promise<AgentOutputRow[]>;
}

export interface RuleSummary {
  ruleId: string;
  ruleVersion: string;
  /** Outputs (trace rules: traces) the rule matched and evaluated. */
  evaluated: number;
  /** Of those, how many had at least one finding. */
  failed: number;
  findings: number;
  firstAt: string | undefined;
  lastAt: string | undefined;
  examples: { traceId: string; spanId: string; code: string; field: string; message: string }[];
  /** Window rules: every evaluation in the range, oldest first. */
  windows?: BacktestWindow[];
  /** Judge rules: the plan, and what the sample gave when it was judged. */
  judge?: JudgeBacktestSummary;
}

/** One evaluation of a window rule in a backtest. */
export interface BacktestWindow {
  /** ISO 8601 end of the evaluated window (the time it would have run). */
  at: string;
  status: WindowEvaluation["status"];
  method: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  currentSize: number;
  referenceSize: number;
  message: string;
}

/**
 * Where a backtest hands what it found, in simulated time: the calls come oldest first (equal
 * times in the order found), each awaited before the next.
 */
export interface BacktestTimeline {
  /** What the live engine would have handed the alert manager at `atMs` (unix ms). */
  evaluated(atMs: number, findings: Finding[], evaluations: CheckEvaluation[]): Promise<void>;
  /** One evaluation of a window rule, at the time the scheduler would have run it. */
  windowEvaluated(atMs: number, evaluation: WindowEvaluation): Promise<void>;
}

/** When the live service would have evaluated what it received (its config's values). */
export interface BacktestTiming {
  /** evaluate.traceQuietMs: trace rules run once a trace has been quiet this long. */
  traceQuietMs: number;
  /** evaluate.windowSettleMs: a window is evaluated this long after it ends. */
  windowSettleMs: number;
}

export const BACKTEST_TIMING_DEFAULTS: BacktestTiming = {
  traceQuietMs: 30_000,
  windowSettleMs: SCHEDULER_DEFAULTS.settleMs,
};

export interface BacktestOptions {
  rules: readonly CompiledRule[];
  source: BacktestSource;
  sinceMs: number;
  untilMs: number;
  windowMs?: number;
  examplesPerRule?: number;
  /**
   * Evaluates a window rule as the scheduler would at each of `atsMs` (needed when rules has
   * any); given consecutive times, a few dozen at most, so they can share one query.
   */
  evaluateWindows?: (
    rule: Rule,
    spec: WindowSpec,
    atsMs: readonly number[],
  ) => Promise<WindowEvaluation[]>;
  onProgress?: (done: number, total: number) => void;
  /** Also hands every finding, evaluation and window evaluation on, in simulated time. */
  timeline?: BacktestTimeline;
  timing?: BacktestTiming;
  /** Judge rules: sample, plan and (with `confirm`) judge; without it they find nothing. */
  judge?: JudgeBacktestOptions &
    JudgeBacktestDeps & {
      /** The plan, before anything is sent. */
      onPlan?: (plan: readonly JudgeRuleResult[]) => void | Promise<void>;
      /** judge.contextDelayMs: outputs whose prompt reads other spans are judged this late. */
      contextDelayMs?: number;
    };
}

export async function backtest(options: BacktestOptions): Promise<RuleSummary[]> {
  const windowMs = options.windowMs ?? 3_600_000;
  const examples = options.examplesPerRule ?? 3;
  const engine = createEngine({ rules: () => options.rules, sink: { add: () => undefined } });
  const timeline =
    options.timeline &&
    orderedTimeline(options.timeline, options.timing ?? BACKTEST_TIMING_DEFAULTS, options.untilMs);
  const summaries = new Map<string, RuleSummary>();
  for (const rule of options.rules) {
    summaries.set(rule.id, {
      ruleId: rule.id,
      ruleVersion: rule.version,
      evaluated: 0,
      failed: 0,
      findings: 0,
      firstAt: undefined,
      lastAt: undefined,
      examples: [],
    });
  }
  // Progress counts hours of outputs (when there are output or trace rules) and window
  // evaluations, so a long window backtest keeps reporting (and a streaming client knows the
  // service is still at work).
  const windowed = windowRules(options.rules);
  const outputRules = options.rules.some((rule) => rule.window === undefined);
  const chunks = outputRules ? Math.ceil((options.untilMs - options.sinceMs) / windowMs) : 0;
  const scheduled = windowed.map(({ spec }) => scheduleOf(spec, options));
  const total = Math.max(1, chunks + scheduled.reduce((sum, times) => sum + times.length, 0));
  const progress = { done: 0, total };
  const traceRules = engine.traceRulesRead().any;
  // Judge rules first: their plan comes before anything else, and their verdicts join the
  // other results hour by hour below.
  const judged =
    options.judge !== undefined && outputRules
      ? await judgeFirst(options, options.judge, windowMs, summaries, examples)
      : undefined;
  // Window rules first: their evaluations then join the outputs' results in time order.
  await backtestWindows(options, windowed, scheduled, summaries, progress, timeline);
  for (let from = options.sinceMs; outputRules && from < options.untilMs; from += windowMs) {
    const to = Math.min(from + windowMs, options.untilMs);
    const outputs = await options.source.outputsInWindow(from, to);
    const perOutput = await engine.evaluateOutputs(outputs);
    timeline?.outputs(outputs, perOutput);
    judged?.replay(outputs, timeline);
    // Without trace rules there is nothing to read traces for (two queries an hour saved).
    const traceIds = traceRules ? await options.source.tracesStartingInWindow(from, to) : [];
    const traces = groupByTrace(await options.source.outputsOfTraces(traceIds));
    const perTrace = traces.map((trace) => {
      const result = engine.evaluateTrace(trace);
      timeline?.trace(trace, result);
      return result;
    });
    for (const result of [perOutput, ...perTrace]) {
      for (const evaluation of result.evaluations) {
        const summary = summaries.get(evaluation.ruleId);
        if (summary === undefined) continue;
        summary.evaluated++;
        if (evaluation.failed) summary.failed++;
      }
      for (const finding of result.findings) {
        const summary = summaries.get(finding.ruleId);
        if (summary !== undefined) addFindings(summary, [finding], examples);
      }
    }
    // Later hours hold outputs that started at `to` or after: their results come no earlier.
    await timeline?.release(to);
    options.onProgress?.(++progress.done, total);
  }
  await timeline?.release(Number.POSITIVE_INFINITY);
  if (progress.done === 0) options.onProgress?.(total, total);
  return [...summaries.values()];
}

interface JudgedReplay {
  /** Hands the verdicts on these outputs (one hour of them) to the timeline. */
  replay(outputs: readonly AgentOutputRow[], timeline: OrderedTimeline | undefined): void;
}

/**
 * Judge rules over the period: sampled in one read of it, planned, judged when confirmed, and
 * added to their summaries; `replay` then hands one hour's verdicts to the timeline.
 */
async function judgeFirst(
  options: BacktestOptions,
  judgeOptions: NonNullable<BacktestOptions["judge"]>,
  windowMs: number,
  summaries: Map<string, RuleSummary>,
  examples: number,
): Promise<JudgedReplay | undefined> {
  const rules = judgeRulesOf(options.rules);
  if (rules.length === 0) return undefined;
  const judge = createJudgeBacktest(rules, judgeOptions, judgeOptions);
  for (let from = options.sinceMs; from < options.untilMs; from += windowMs) {
    const to = Math.min(from + windowMs, options.untilMs);
    judge.offer(await options.source.outputsInWindow(from, to));
  }
  const plan = await judge.plan();
  await judgeOptions.onPlan?.(plan);
  const results = judgeOptions.confirm ? await judge.judge() : plan;
  for (const result of results) addJudgeResult(summaries, result, examples);
  // Each output's verdicts, apart for the rules whose judge waits for the rest of the trace.
  const delayed = new Set(
    rules.filter((r) => r.judge.reads.toolResults || r.judge.reads.conversation).map((r) => r.id),
  );
  const byOutput = new Map<string, EvaluationResult>();
  const entryOf = (key: string, ruleId: string) => {
    const id = `${delayed.has(ruleId) ? "d" : "n"}\u0000${key}`;
    let entry = byOutput.get(id);
    if (entry === undefined) {
      entry = { findings: [], evaluations: [] };
      byOutput.set(id, entry);
    }
    return entry;
  };
  for (const result of results) {
    for (const f of result.findings) entryOf(`${f.traceId}/${f.spanId}`, f.ruleId).findings.push(f);
    for (const e of result.evaluations) entryOf(e.outputKey, e.ruleId).evaluations.push(e);
  }
  const lanes = [
    ["n", 0],
    ["d", judgeOptions.contextDelayMs ?? 0],
  ] as const;
  return {
    replay(outputs, timeline) {
      if (timeline === undefined || byOutput.size === 0) return;
      for (const [prefix, delayMs] of lanes) {
        const found: EvaluationResult = { findings: [], evaluations: [] };
        for (const row of outputs) {
          const entry = byOutput.get(`${prefix}\u0000${row.TraceId}/${row.SpanId}`);
          if (entry === undefined) continue;
          found.findings.push(...entry.findings);
          found.evaluations.push(...entry.evaluations);
        }
        if (found.evaluations.length > 0) timeline.outputs(outputs, found, delayMs);
      }
    },
  };
}

/** A judge rule's sample in its summary: its findings, evaluations and plan. */
function addJudgeResult(
  summaries: Map<string, RuleSummary>,
  result: JudgeRuleResult,
  examples: number,
): void {
  const summary = summaries.get(result.ruleId);
  if (summary === undefined) return;
  summary.judge = result.summary;
  summary.evaluated += result.evaluations.length;
  summary.failed += result.evaluations.filter((e) => e.failed).length;
  addFindings(summary, result.findings, examples);
}

function addFindings(summary: RuleSummary, findings: readonly Finding[], examples: number): void {
  for (const finding of findings) {
    summary.findings++;
    const at = isoOf(finding.time);
    if (summary.firstAt === undefined || at < summary.firstAt) summary.firstAt = at;
    if (summary.lastAt === undefined || at > summary.lastAt) summary.lastAt = at;
    if (summary.examples.length < examples) {
      summary.examples.push({
        traceId: finding.traceId,
        spanId: finding.spanId,
        code: finding.code,
        field: finding.path,
        message: finding.message,
      });
    }
  }
}

/** The times a window rule runs in (since, until]: each multiple of its `every`. */
function scheduleOf(spec: WindowSpec, options: BacktestOptions): number[] {
  const times: number[] = [];
  const first = Math.floor(options.sinceMs / spec.everyMs) * spec.everyMs + spec.everyMs;
  for (let at = first; at <= options.untilMs; at += spec.everyMs) times.push(at);
  return times;
}

/**
 * Window rules at each multiple of their `every` in (since, until]: evaluated counts the
 * evaluations with enough samples, failed those that drifted (or breached).
 */
async function backtestWindows(
  options: BacktestOptions,
  windowed: readonly { rule: Rule; spec: WindowSpec }[],
  scheduled: readonly (readonly number[])[],
  summaries: Map<string, RuleSummary>,
  progress: { done: number; total: number },
  timeline: OrderedTimeline | undefined,
): Promise<void> {
  const evaluate = options.evaluateWindows;
  for (const [i, { rule, spec }] of windowed.entries()) {
    const summary = summaries.get(rule.id);
    if (summary === undefined || evaluate === undefined) continue;
    const windows: BacktestWindow[] = [];
    await evaluateInBatches(
      scheduled[i] ?? [],
      (ats) => evaluate(rule, spec, ats),
      (row, at) => {
        options.onProgress?.(++progress.done, progress.total);
        timeline?.window(row);
        const when = new Date(at).toISOString();
        windows.push({
          at: when,
          status: row.status,
          method: row.method,
          statistic: row.statistic,
          pValue: row.pValue,
          threshold: row.threshold,
          currentSize: row.currentSize,
          referenceSize: row.referenceSize,
          message: row.message,
        });
        if (row.status === "ok" || row.status === "drift") summary.evaluated++;
        if (row.status !== "drift") return;
        summary.failed++;
        summary.findings++;
        summary.firstAt ??= when;
        summary.lastAt = when;
      },
    );
    summary.windows = windows;
  }
}

function isoOf(dateTime64: string): string {
  // "1700000000.123456789" (as we write it) or "2023-11-14 22:13:20.123456789" (as read back).
  if (/^\d+(\.\d+)?$/.test(dateTime64)) return new Date(Number(dateTime64) * 1000).toISOString();
  return new Date(`${dateTime64.replace(" ", "T").slice(0, 23)}Z`).toISOString();
}
