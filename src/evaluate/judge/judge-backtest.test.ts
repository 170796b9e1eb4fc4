/**
 * Judge rules in a backtest, against the fake OpenAI-compatible judge and an in-memory cache:
 * the plan sends nothing, the sample is capped and spread by hash, a confirmed run judges the
 * sample (fail verdicts become findings), cached verdicts are not sent again and cost nothing,
 * and the tokens-per-day budget holds.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  FAKE_USAGE,
  sameEntityJudge,
  startFakeJudge,
  type FakeJudge,
} from "../../../test/helpers/fake-judge.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { loadedRule } from "../../../test/helpers/rules.ts";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { CachedVerdict } from "../../store/tables/judge-cache.ts";
import type { CompiledRule } from "../compile-rule.ts";
import {
  createJudgeBacktest,
  DEFAULT_JUDGE_PRICE,
  REPLY_TOKENS_ESTIMATE,
  type JudgeBacktestDeps,
} from "./judge-backtest.ts";
import { createJudgeClient } from "./judge-client.ts";

let judge: FakeJudge;
beforeAll(async () => {
  judge = await startFakeJudge(sameEntityJudge);
});
afterAll(() => judge.close());
beforeEach(() => {
  judge.calls.length = 0;
  judge.setDecide(sameEntityJudge);
});

function judgeRule(check: Record<string, unknown> = {}, id = "same-entity"): CompiledRule {
  return loadedRule({
    id,
    match: { kind: "llm" },
    check: {
      type: "judge",
      prompt: "Input:\n{{input.text}}\nReply:\n{{output.text}}",
      criteria: "The reply names only the order the input asks about.",
      ...check,
    },
  });
}

/** n outputs; every fifth names another order than the one asked about. */
function outputs(n: number): AgentOutputRow[] {
  return Array.from({ length: n }, (_, i) =>
    makeRow({
      TraceId: i.toString(16).padStart(32, "0"),
      SpanId: i.toString(16).padStart(16, "0"),
      Timestamp: String(1_767_225_600 + i),
      InputText: `user: Where is my order ORD-${1000 + i}?`,
      OutputText: i % 5 === 0 ? `Order ORD-9${i} shipped.` : `Order ORD-${1000 + i} shipped.`,
    }),
  );
}

function deps(cache: Map<string, CachedVerdict>, overrides: Partial<JudgeBacktestDeps> = {}) {
  const settings = {
    concurrency: 3,
    maxTokens: 100,
    backoffMs: 1,
    maxBackoffMs: 4,
    ...overrides.settings,
  };
  return {
    store: {
      context: async () => new Map(),
      cached: async (ruleId: string, version: string, hashes: readonly string[]) =>
        new Map(
          hashes.flatMap((h) => {
            const hit = cache.get(`${ruleId}/${version}/${h}`);
            return hit === undefined ? [] : [[h, hit] as const];
          }),
        ),
      saveVerdicts: async (verdicts: readonly CachedVerdict[]) => {
        for (const v of verdicts) cache.set(`${v.ruleId}/${v.ruleVersion}/${v.inputHash}`, v);
      },
      tokensSince: async () => new Map<string, number>(),
    },
    call: createJudgeClient({ baseUrl: judge.baseUrl, apiKey: "sk", timeoutMs: 5_000 }),
    model: "judge-small",
    ...overrides,
    settings,
  } satisfies JudgeBacktestDeps;
}

const options = (confirm: boolean, sample = 200) => ({
  sample,
  confirm,
  price: DEFAULT_JUDGE_PRICE,
});

describe("a judge backtest", () => {
  it("plans from the rendered prompts and sends nothing", async () => {
    const rule = judgeRule();
    const run = createJudgeBacktest([rule], options(false, 30), deps(new Map()));
    run.offer(outputs(50));
    run.offer([makeRow({ Kind: "tool", TraceId: "f".repeat(32) })]);
    const [plan] = await run.plan();
    expect(judge.calls).toHaveLength(0);
    expect(plan?.findings).toEqual([]);
    const rendered = rule.judge?.render(outputs(1)[0] as AgentOutputRow, {
      toolResults: "",
      conversation: "",
    });
    const perCall = Math.ceil(((rendered?.system.length ?? 0) + (rendered?.user.length ?? 0)) / 4);
    expect(plan?.summary).toMatchObject({
      matched: 50,
      inRuleSample: 50,
      sampled: 30,
      cached: 0,
      calls: 30,
      replyTokens: 30 * REPLY_TOKENS_ESTIMATE,
      model: "judge-small",
      judged: false,
    });
    // Prompts differ by a digit or two: ~the first one's length each.
    expect(plan?.summary.promptTokens).toBeGreaterThanOrEqual(30 * (perCall - 2));
    expect(plan?.summary.promptTokens).toBeLessThanOrEqual(30 * (perCall + 2));
    const expected =
      ((plan?.summary.promptTokens ?? 0) * 0.15 + 30 * REPLY_TOKENS_ESTIMATE * 0.6) / 1e6;
    expect(plan?.summary.costUsd).toBeCloseTo(expected, 12);
  });

  it("samples the same outputs on every run, spread over the period, and honours the rule's share", async () => {
    const sampleOf = async (rule: CompiledRule) => {
      const run = createJudgeBacktest([rule], options(true, 10), deps(new Map()));
      run.offer(outputs(100).slice(0, 50));
      run.offer(outputs(100).slice(50));
      await run.plan();
      const [result] = await run.judge();
      return result;
    };
    const first = await sampleOf(judgeRule());
    const firstCalls = judge.calls.map((c) => c.body.messages[1]?.content);
    judge.calls.length = 0;
    await sampleOf(judgeRule());
    expect(judge.calls.map((c) => c.body.messages[1]?.content).sort()).toEqual(firstCalls.sort());
    const times = first?.evaluations.map((e) => Number(e.time)) ?? [];
    expect(times).toHaveLength(10);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(50);

    const shared = await sampleOf(judgeRule({ sample: 0.2 }, "fifth"));
    expect(shared?.summary.matched).toBe(100);
    expect(shared?.summary.inRuleSample).toBeGreaterThan(5);
    expect(shared?.summary.inRuleSample).toBeLessThan(40);
  });

  it("judges the sample: fail verdicts become findings, cached ones are not sent again", async () => {
    const cache = new Map<string, CachedVerdict>();
    const rule = judgeRule();
    const first = createJudgeBacktest([rule], options(true), deps(cache));
    first.offer(outputs(20));
    await first.plan();
    const [result] = await first.judge();
    expect(judge.calls).toHaveLength(20);
    expect(result?.findings).toHaveLength(4);
    expect(result?.findings[0]).toMatchObject({
      ruleId: "same-entity",
      code: "judge_failed",
      message: "names ORD-90, which the input does not",
      observed: "0.1",
    });
    expect(result?.evaluations).toHaveLength(20);
    expect(result?.summary.run).toMatchObject({
      verdicts: 20,
      failed: 4,
      called: 20,
      fromCache: 0,
      errors: 0,
      tokens: 20 * (FAKE_USAGE.prompt_tokens + FAKE_USAGE.completion_tokens),
    });
    expect(cache.size).toBe(20);

    // Again, with five more outputs: the plan counts the cached twenty as free.
    const again = createJudgeBacktest([rule], options(true), deps(cache));
    again.offer(outputs(25));
    const [plan] = await again.plan();
    expect(plan?.summary).toMatchObject({ sampled: 25, cached: 20, calls: 5 });
    expect(plan?.summary.replyTokens).toBe(5 * REPLY_TOKENS_ESTIMATE);
    const [second] = await again.judge();
    expect(judge.calls).toHaveLength(25);
    expect(second?.summary.run).toMatchObject({
      verdicts: 25,
      fromCache: 20,
      called: 5,
      failed: 5,
    });
    expect(second?.findings).toHaveLength(5);
  });

  it("stops at the tokens-per-day budget and retries a 429 after its Retry-After", async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    let calls = 0;
    judge.setDecide((body, index) => {
      calls++;
      return index === 0
        ? { type: "status", status: 429, headers: { "retry-after": "2" } }
        : sameEntityJudge(body, index);
    });
    const rule = judgeRule({ limits: { tokens_per_day: 700 } });
    const run = createJudgeBacktest([rule], options(true, 10), deps(new Map(), { sleep }));
    run.offer(outputs(10));
    await run.plan();
    const [result] = await run.judge();
    // Each call reserves ~prompt/4 + max_tokens (100) and settles at 150 used.
    expect(result?.summary.run?.budgetSkipped).toBeGreaterThan(0);
    expect((result?.summary.run?.verdicts ?? 0) + (result?.summary.run?.budgetSkipped ?? 0)).toBe(
      10,
    );
    expect(waits).toContain(2_000);
    expect(calls).toBe((result?.summary.run?.verdicts ?? 0) + 1);
  });

  it("refuses to judge without a judge, and a sample that is not a whole number", async () => {
    const run = createJudgeBacktest([judgeRule()], options(true), {
      ...deps(new Map()),
      call: undefined,
    });
    run.offer(outputs(3));
    const [plan] = await run.plan();
    expect(plan?.summary.calls).toBe(3);
    await expect(run.judge()).rejects.toThrow(/PLUMBLINE_JUDGE_BASE_URL/);
    expect(() => createJudgeBacktest([judgeRule()], options(true, 0), deps(new Map()))).toThrow(
      /whole number/,
    );
  });
});
