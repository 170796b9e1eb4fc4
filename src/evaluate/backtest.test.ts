import type { CompiledRule } from "./compile-rule.ts";
import { parseTestRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import { makeRow } from "../../test/helpers/make-row.ts";
import { windowRow } from "../../test/helpers/window-rows.ts";
import { backtest, type BacktestSource } from "./backtest.ts";

import type { Rule } from "../rules/rule.ts";

const HOUR = 3_600_000;
const SINCE = Date.UTC(2026, 10, 1);

function rule(json: Record<string, unknown>): CompiledRule {
  const loaded = parseTestRule(json, `${String(json["id"])}.json`);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.rule;
}

const drift = rule({
  id: "totals",
  match: { service: "billing" },
  check: { type: "drift", field: "duration_ms", every: "30m" },
});
const perOutput = rule({
  id: "non-empty",
  check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
});

/** A source that records what was read and holds nothing. */
function emptySource(reads: string[]): BacktestSource {
  return {
    outputsInWindow: async (from) => (reads.push(`outputs ${from}`), []),
    tracesStartingInWindow: async (from) => (reads.push(`traces ${from}`), []),
    outputsOfTraces: async () => [],
  };
}

const evaluateOne = (r: Rule, at: number) =>
  windowRow(r, at, { status: at === SINCE + 2 * HOUR ? "drift" : "ok" });

const batches: number[][] = [];
const evaluateWindows = async (r: Rule, _spec: unknown, ats: readonly number[]) => {
  batches.push([...ats]);
  return ats.map((at) => evaluateOne(r, at));
};

describe("backtest progress", () => {
  it("reports every window evaluation, and reads no outputs when only window rules run", async () => {
    const reads: string[] = [];
    const progress: [number, number][] = [];
    const [summary] = await backtest({
      rules: [drift],
      source: emptySource(reads),
      sinceMs: SINCE,
      untilMs: SINCE + 3 * HOUR,
      evaluateWindows,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(reads).toEqual([]);
    // every 30m in (since, since + 3h]: 6 evaluations, each one a progress line.
    expect(progress).toEqual([1, 2, 3, 4, 5, 6].map((done) => [done, 6]));
    expect(summary?.windows).toHaveLength(6);
    // The first window alone, then the rest in one batch (100 + 100 rows a window).
    expect(batches.at(-2)).toEqual([SINCE + HOUR / 2]);
    expect(batches.at(-1)).toHaveLength(5);
    expect(summary).toMatchObject({ evaluated: 6, failed: 1, firstAt: "2026-11-01T02:00:00.000Z" });
  });

  it("counts hours of outputs and window evaluations in one total", async () => {
    const reads: string[] = [];
    const progress: [number, number][] = [];
    await backtest({
      rules: [drift, perOutput],
      source: emptySource(reads),
      sinceMs: SINCE,
      untilMs: SINCE + 3 * HOUR,
      evaluateWindows,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(reads.filter((r) => r.startsWith("outputs"))).toHaveLength(3);
    expect(progress.map(([done]) => done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(progress.map(([, total]) => total))).toEqual(new Set([9]));
  });
});

describe("backtest timeline", () => {
  const budget = rule({
    id: "llm-budget",
    match: { kind: "llm" },
    check: { type: "trace", kind: "count", max: 1 },
  });
  const ms = (at: number) => `${Math.floor(at / 1000)}.${String(at % 1000).padStart(3, "0")}000000`;
  /** An output of trace `trace` starting `startMs`, lasting `durationMs`. */
  const row = (trace: string, span: string, startMs: number, durationMs: number, text = "x") =>
    makeRow({
      TraceId: trace.padStart(32, "0"),
      SpanId: span.padStart(16, "0"),
      Timestamp: ms(startMs),
      DurationNs: String(durationMs * 1_000_000),
      OutputText: text,
    });
  const rows = [
    row("a", "1", SINCE + 10_000, 2_000, ""),
    row("a", "2", SINCE + 11_000, 500),
    // Starts in the first hour, ends in the second.
    row("b", "3", SINCE + HOUR - 1_000, 5_000, ""),
    row("c", "4", SINCE + HOUR + 60_000, 1_000, ""),
    // Ends after the backtest's end: not handed on.
    row("d", "5", SINCE + 2 * HOUR - 2_000, 10_000, ""),
  ];
  const source: BacktestSource = {
    outputsInWindow: async (from, to) =>
      rows.filter((r) => {
        const at = Number(r.Timestamp.split(".")[0]) * 1000;
        return at >= from && at < to;
      }),
    // Each trace's first output is listed first.
    tracesStartingInWindow: async (from, to) => [
      ...new Set(
        (await source.outputsInWindow(from, to))
          .filter((r) => rows.find((first) => first.TraceId === r.TraceId) === r)
          .map((r) => r.TraceId),
      ),
    ],
    outputsOfTraces: async (ids) => rows.filter((r) => ids.includes(r.TraceId)),
  };

  it("hands every result on at the time the live service would have had it, oldest first", async () => {
    const calls: [string, number, string[]][] = [];
    await backtest({
      rules: [perOutput, budget, drift],
      source,
      sinceMs: SINCE,
      untilMs: SINCE + 2 * HOUR,
      evaluateWindows,
      timing: { traceQuietMs: 30_000, windowSettleMs: 15_000 },
      timeline: {
        evaluated: async (at, findings, evaluations) =>
          void calls.push([
            "evaluated",
            at,
            [
              ...findings.map(
                (f) => `finding ${f.ruleId} ${f.traceId.slice(-1)}/${f.spanId.slice(-1)}`,
              ),
              ...evaluations.map((e) => `evaluation ${e.ruleId} ${e.outputKey.replace(/0+/g, "")}`),
            ],
          ]),
        windowEvaluated: async (at, evaluation) =>
          void calls.push(["window", at, [`${evaluation.ruleId} ${evaluation.status}`]]),
      },
    });
    expect(calls.map(([, at]) => at)).toEqual([...calls.map(([, at]) => at)].sort((x, y) => x - y));
    const at = (kind: string, what: string) =>
      calls.find(([k, , items]) => k === kind && items.some((i) => i.includes(what)))?.[1];
    // Output rules: when the span ended.
    expect(at("evaluated", "finding non-empty a/1")).toBe(SINCE + 12_000);
    expect(at("evaluated", "evaluation non-empty a/2")).toBe(SINCE + 11_500);
    expect(at("evaluated", "finding non-empty b/3")).toBe(SINCE + HOUR + 4_000);
    // Trace rules: quiet for traceQuietMs after the trace's last span ended.
    expect(at("evaluated", "finding llm-budget a/")).toBe(SINCE + 12_000 + 30_000);
    expect(at("evaluated", "evaluation llm-budget c")).toBe(SINCE + HOUR + 61_000 + 30_000);
    // Window rules: windowSettleMs after their window ended.
    expect(calls.filter(([k]) => k === "window").map(([, t]) => t - SINCE)).toEqual(
      [0.5, 1, 1.5].map((h) => h * HOUR + 15_000),
    );
    // Nothing that would only have come after the end.
    expect(
      calls.some(([, , items]) => items.some((i) => i.includes(" d/") || i.endsWith(" d"))),
    ).toBe(false);
    expect(calls.every(([, t]) => t <= SINCE + 2 * HOUR)).toBe(true);
  });
});

describe("a backtest with a judge rule", () => {
  const judgeRule = rule({
    id: "judged",
    match: { kind: "llm" },
    check: { type: "judge", prompt: "Reply: {{output.text}}", criteria: "says shipped" },
  });
  const rows = [0, 1, 2].map((i) =>
    makeRow({
      TraceId: String(i).padStart(32, "0"),
      Timestamp: String(SINCE / 1000 + 60 * i),
      OutputText: i === 1 ? "lost" : "shipped",
    }),
  );
  const source: BacktestSource = {
    outputsInWindow: async (from) => (from === SINCE ? rows : []),
    tracesStartingInWindow: async () => [],
    outputsOfTraces: async () => [],
  };
  const run = async (confirm: boolean, events: string[]) =>
    backtest({
      rules: [judgeRule, perOutput],
      source,
      sinceMs: SINCE,
      untilMs: SINCE + 2 * HOUR,
      judge: {
        sample: 2,
        confirm,
        price: { promptPerMillion: 1, replyPerMillion: 1 },
        store: {
          context: async () => new Map(),
          cached: async () => new Map(),
          saveVerdicts: async () => undefined,
          tokensSince: async () => new Map(),
        },
        call: async (request) => {
          events.push("call");
          const failed = request.user.includes("lost");
          return {
            type: "verdict",
            verdict: { verdict: failed ? "fail" : "pass", score: failed ? 0 : 1, explanation: "x" },
            model: "m",
            usage: { inputTokens: 10, outputTokens: 5 },
          };
        },
        model: "m",
        settings: { concurrency: 1, maxTokens: 50, backoffMs: 1, maxBackoffMs: 1 },
        onPlan: (plan) => void events.push(`plan ${plan.map((p) => p.summary.calls).join()}`),
      },
    });

  it("hands on the plan and judges nothing unless confirmed", async () => {
    const events: string[] = [];
    const summaries = await run(false, events);
    expect(events).toEqual(["plan 2"]);
    const judged = summaries.find((s) => s.ruleId === "judged");
    expect(judged).toMatchObject({ evaluated: 0, findings: 0, judge: { matched: 3, sampled: 2 } });
    expect(summaries.find((s) => s.ruleId === "non-empty")?.evaluated).toBe(3);
  });

  it("replays the sample's verdicts on the timeline, in time order with the other results", async () => {
    const handed: { at: number; codes: string[]; evaluated: string[] }[] = [];
    await backtest({
      rules: [judgeRule],
      source,
      sinceMs: SINCE,
      untilMs: SINCE + 2 * HOUR,
      timeline: {
        evaluated: async (at, findings, evaluations) =>
          void handed.push({
            at,
            codes: findings.map((f) => f.code),
            evaluated: evaluations.map((e) => e.ruleId),
          }),
        windowEvaluated: async () => undefined,
      },
      judge: {
        sample: 3,
        confirm: true,
        price: { promptPerMillion: 1, replyPerMillion: 1 },
        store: {
          context: async () => new Map(),
          cached: async () => new Map(),
          saveVerdicts: async () => undefined,
          tokensSince: async () => new Map(),
        },
        call: async (request) => ({
          type: "verdict",
          verdict: request.user.includes("lost")
            ? { verdict: "fail", score: 0, explanation: "lost it" }
            : { verdict: "pass", score: 1, explanation: "ok" },
          model: "m",
          usage: { inputTokens: 1, outputTokens: 1 },
        }),
        model: "m",
        settings: { concurrency: 1, maxTokens: 50, backoffMs: 1, maxBackoffMs: 1 },
      },
    });
    expect(handed.map((h) => h.evaluated)).toEqual([["judged"], ["judged"], ["judged"]]);
    expect(handed.map((h) => h.codes)).toEqual([[], ["judge_failed"], []]);
    const ats = handed.map((h) => h.at);
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    // At the end of each output's span: after it started, a minute apart.
    expect(ats[0]).toBeGreaterThanOrEqual(SINCE);
    expect((ats[1] ?? 0) - (ats[0] ?? 0)).toBe(60_000);
  });

  it("plans first, then judges the sample into the rule's summary", async () => {
    const events: string[] = [];
    const summaries = await run(true, events);
    expect(events).toEqual(["plan 2", "call", "call"]);
    const judged = summaries.find((s) => s.ruleId === "judged");
    expect(judged?.evaluated).toBe(2);
    expect(judged?.judge).toMatchObject({ judged: true, run: { verdicts: 2, called: 2 } });
    expect(judged?.failed).toBe(judged?.findings);
    expect(judged?.examples.every((e) => e.code === "judge_failed")).toBe(true);
  });
});
