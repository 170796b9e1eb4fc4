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
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CompiledRule } from "./compile-rule.ts";
import { orderedTimeline, type OrderedTimeline } from "./backtest-timeline.ts";
import { createEngine, type EvaluationResult } from "./engine.ts";
import { spanTime } from "./checks/span-time.ts";
import { groupByTrace } from "./group-by-trace.ts";
import type { Rule } from "../rules/rule.ts";
import type { CheckEvaluation, Finding, WindowEvaluation } from "../rules/findings.ts";
import { evaluateInBatches } from "./windows/batches.ts";
import { SCHEDULER_DEFAULTS, windowRules } from "./windows/scheduler.ts";
import type { WindowSpec } from "../rules/window-spec.ts";

export interface BacktestSource {
  outputsInWindow(fromMs: number, toMs: number): Promise<AgentOutputRow[]>;
  tracesStartingInWindow(fromMs: number, toMs: number): Promise<string[]>;
  outputsOfTraces(traceIds: string[]): Promise<AgentOutputRow[]>;
  /** Conversation rules: trace id → the conversation it belongs to (traces naming none left out). */
  conversationsOfTraces?(traceIds: readonly string[]): Promise<Map<string, string>>;
  /** Conversation rules: every stored output of these conversations, by conversation. */
  outputsOfConversations?(
    conversationIds: readonly string[],
  ): Promise<Map<string, AgentOutputRow[]>>;
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
  /** evaluate.conversationQuietMs: a conversation is checked whole once quiet this long (30 min). */
  conversationQuietMs?: number;
}

/** evaluate.conversationQuietMs's default. */
const DEFAULT_CONVERSATION_QUIET_MS = 30 * 60_000;

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
  const outputRules = options.rules.some(
    (rule) => rule.check.type !== "rate" && rule.check.type !== "drift",
  );
  const chunks = outputRules ? Math.ceil((options.untilMs - options.sinceMs) / windowMs) : 0;
  const scheduled = windowed.map(({ spec }) => scheduleOf(spec, options));
  const total = Math.max(1, chunks + scheduled.reduce((sum, times) => sum + times.length, 0));
  const progress = { done: 0, total };
  const traceRules = engine.traceRulesRead().any;
  const conversationRules =
    engine.conversationRulesRead().any &&
    options.source.conversationsOfTraces !== undefined &&
    options.source.outputsOfConversations !== undefined;
  const conversationQuietMs = options.timing?.conversationQuietMs ?? DEFAULT_CONVERSATION_QUIET_MS;
  /** Conversations seen, by id: when the live service would have checked each one whole. */
  const finals = new Map<string, { at: number; done: boolean }>();
  const tally = (result: EvaluationResult): void => {
    for (const evaluation of result.evaluations) {
      const summary = summaries.get(evaluation.ruleId);
      if (summary === undefined) continue;
      summary.evaluated++;
      if (evaluation.failed) summary.failed++;
    }
    for (const finding of result.findings) {
      const summary = summaries.get(finding.ruleId);
      if (summary === undefined) continue;
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
  };
  /** Conversations' outputs that the live service had by `untilMs`, by conversation. */
  const conversationRows = async (
    ids: readonly string[],
  ): Promise<Map<string, AgentOutputRow[]>> => {
    const until = BigInt(options.untilMs) * 1_000_000n;
    const found =
      (await options.source.outputsOfConversations?.(ids)) ?? new Map<string, AgentOutputRow[]>();
    const rows = new Map<string, AgentOutputRow[]>();
    for (const [id, list] of found) {
      rows.set(
        id,
        list.filter((row) => spanTime(row).start < until),
      );
    }
    return rows;
  };
  /**
   * The traces that started in this hour, each checked as a turn of its conversation against
   * the turns the service would have had when it went quiet (those that started before its end).
   */
  const backtestTurns = async (traceIds: readonly string[]): Promise<void> => {
    const conversations = await options.source.conversationsOfTraces?.(traceIds);
    const byConversation = new Map<string, string[]>();
    for (const [traceId, id] of conversations ?? []) {
      byConversation.set(id, [...(byConversation.get(id) ?? []), traceId]);
    }
    const rowsOf = await conversationRows([...byConversation.keys()]);
    for (const [id, turnIds] of byConversation) {
      const rows = rowsOf.get(id) ?? [];
      if (rows.length === 0) continue;
      const ends = rows.map((row) => spanTime(row).end);
      const lastEnd = ends.reduce((a, b) => (a > b ? a : b));
      if (!finals.has(id)) {
        finals.set(id, { at: Number(lastEnd / 1_000_000n) + conversationQuietMs, done: false });
      }
      for (const traceId of turnIds) {
        const turn = rows.filter((row) => row.TraceId === traceId);
        if (turn.length === 0) continue;
        const turnEnd = turn.map((row) => spanTime(row).end).reduce((a, b) => (a > b ? a : b));
        const soFar = rows.filter((row) => spanTime(row).start <= turnEnd);
        const result = engine.evaluateConversation(id, soFar, {
          kind: "turn",
          traceIds: new Set([traceId]),
        });
        timeline?.trace(turn, result);
        tally(result);
      }
    }
  };
  /** Each quiet conversation whose time has come before `beforeMs`, checked whole. */
  const runFinals = async (beforeMs: number): Promise<void> => {
    const due = [...finals].filter(
      ([, final]) => !final.done && final.at < beforeMs && final.at <= options.untilMs,
    );
    if (due.length === 0) return;
    const rowsOf = await conversationRows(due.map(([id]) => id));
    for (const [id, final] of due) {
      final.done = true;
      const rows = rowsOf.get(id) ?? [];
      const result = engine.evaluateConversation(id, rows, { kind: "final" });
      timeline?.at(final.at, result);
      tally(result);
    }
  };
  // Window rules first: their evaluations then join the outputs' results in time order.
  await backtestWindows(options, windowed, scheduled, summaries, progress, timeline);
  for (let from = options.sinceMs; outputRules && from < options.untilMs; from += windowMs) {
    const to = Math.min(from + windowMs, options.untilMs);
    const outputs = await options.source.outputsInWindow(from, to);
    const perOutput = await engine.evaluateOutputs(outputs);
    timeline?.outputs(outputs, perOutput);
    // Without trace rules there is nothing to read traces for (two queries an hour saved).
    const traceIds =
      traceRules || conversationRules ? await options.source.tracesStartingInWindow(from, to) : [];
    const traces = traceRules ? groupByTrace(await options.source.outputsOfTraces(traceIds)) : [];
    const perTrace = traces.map((trace) => {
      const result = engine.evaluateTrace(trace);
      timeline?.trace(trace, result);
      return result;
    });
    for (const result of [perOutput, ...perTrace]) tally(result);
    if (conversationRules) await backtestTurns(traceIds);
    await runFinals(to);
    // Later hours hold outputs that started at `to` or after: their results come no earlier.
    await timeline?.release(to);
    options.onProgress?.(++progress.done, total);
  }
  await runFinals(Number.POSITIVE_INFINITY);
  await timeline?.release(Number.POSITIVE_INFINITY);
  if (progress.done === 0) options.onProgress?.(total, total);
  return [...summaries.values()];
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
