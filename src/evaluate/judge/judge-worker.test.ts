/**
 * The judge worker against a fake OpenAI-compatible server, with an in-memory queue, cache and
 * score table that behave as the ClickHouse tables do (ReplacingMergeTree on the same keys, the
 * highest Seq kept). The clock is the test's: waits and budgets are exact.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startFakeJudge,
  sameEntityJudge,
  type FakeJudge,
} from "../../../test/helpers/fake-judge.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { loadedRule } from "../../../test/helpers/rules.ts";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { CachedVerdict } from "../../store/tables/judge-cache.ts";
import type { JudgeQueueItem } from "../../store/tables/judge-queue.ts";
import type { EvaluationScore } from "../../store/tables/evaluation-scores.ts";
import type { CompiledRule } from "../compile-rule.ts";
import { createJudgeClient } from "./judge-client.ts";
import {
  createJudgeWorker,
  type JudgeResults,
  type JudgeSettings,
  type JudgeWorkerStore,
} from "./judge-worker.ts";

let judge: FakeJudge;
beforeAll(async () => {
  judge = await startFakeJudge();
});
afterAll(() => judge.close());

const SETTINGS: JudgeSettings = {
  concurrency: 2,
  maxTokens: 100,
  batch: 100,
  backoffMs: 1_000,
  maxBackoffMs: 8_000,
  giveUpAfterMs: 3_600_000,
  contextDelayMs: 0,
};

function judgeRule(check: Record<string, unknown> = {}, id = "same-entity"): CompiledRule {
  return loadedRule({
    id,
    match: { kind: "llm" },
    check: {
      type: "judge",
      prompt: "Input:\n{{input.text}}\nReply:\n{{output.text}}",
      criteria: "The reply names only the order, ticket or customer the input asks about.",
      ...check,
    },
  });
}

/** The tables, in memory, as the store keeps them. */
function memoryStore(outputs: AgentOutputRow[]) {
  const queue = new Map<string, JudgeQueueItem>();
  const cache = new Map<string, CachedVerdict>();
  const scores = new Map<string, EvaluationScore>();
  const store: JudgeWorkerStore = {
    async writeQueue(items) {
      for (const item of items) {
        const key = `${item.ruleId}/${item.traceId}/${item.spanId}`;
        const held = queue.get(key);
        if (held === undefined || item.seq >= held.seq) queue.set(key, item);
      }
    },
    async due(nowMs, limit) {
      return [...queue.values()]
        .filter((item) => item.state === "queued" && item.nextAttemptAt <= nowMs)
        .sort((a, b) => a.enqueuedAt - b.enqueuedAt)
        .slice(0, limit);
    },
    async outputs(items) {
      return outputs.filter((row) =>
        items.some((i) => i.traceId === row.TraceId && i.spanId === row.SpanId),
      );
    },
    async context() {
      return new Map();
    },
    async cached(ruleId, version, hashes) {
      const found = new Map<string, CachedVerdict>();
      for (const hash of hashes) {
        const hit = cache.get(`${ruleId}/${version}/${hash}`);
        if (hit !== undefined) found.set(hash, hit);
      }
      return found;
    },
    async saveVerdict(verdict) {
      cache.set(`${verdict.ruleId}/${verdict.ruleVersion}/${verdict.inputHash}`, verdict);
    },
    async saveScores(rows) {
      for (const row of rows) scores.set(`${row.name}/${row.traceId}/${row.spanId}`, row);
    },
    async tokensSince() {
      const tokens = new Map<string, number>();
      for (const v of cache.values()) {
        tokens.set(v.ruleId, (tokens.get(v.ruleId) ?? 0) + v.inputTokens + v.outputTokens);
      }
      return tokens;
    },
  };
  return { store, queue, cache, scores, outputs };
}

function output(n: number, input: string, reply: string): AgentOutputRow {
  return makeRow({
    TraceId: `trace-${n}`.padEnd(32, "0"),
    SpanId: `span-${n}`.padEnd(16, "0"),
    InputText: input,
    OutputText: reply,
  });
}

function setup(
  rules: CompiledRule[],
  outputs: AgentOutputRow[],
  options: {
    settings?: Partial<JudgeSettings>;
    tables?: ReturnType<typeof memoryStore>;
    timeoutMs?: number;
  } = {},
) {
  let t = Date.parse("2026-12-03T10:00:00Z");
  const tables = options.tables ?? memoryStore(outputs);
  const emitted: JudgeResults = { findings: [], evaluations: [], problems: [] };
  const worker = createJudgeWorker({
    rules: () => rules,
    store: tables.store,
    call: createJudgeClient({
      baseUrl: judge.baseUrl,
      apiKey: undefined,
      timeoutMs: options.timeoutMs ?? 2_000,
      now: () => t,
    }),
    model: "judge-small",
    settings: { ...SETTINGS, ...options.settings },
    emit: async (results) => {
      emitted.findings.push(...results.findings);
      emitted.evaluations.push(...results.evaluations);
      emitted.problems.push(...results.problems);
    },
    now: () => t,
  });
  return {
    worker,
    tables,
    emitted,
    advance: (ms: number) => void (t += ms),
    async enqueue(rows = outputs) {
      await tables.store.writeQueue(worker.itemsFor(rows));
    },
  };
}

const right = output(1, "Where is my order ORD-1001?", "Order ORD-1001 shipped on Monday.");
const wrong = output(2, "Where is my order ORD-2002?", "Order ORD-9999 shipped on Monday.");

describe("the judge worker", () => {
  it("judges queued outputs: a fail verdict is a judge_failed finding, every score is stored", async () => {
    judge.setDecide(sameEntityJudge);
    const calls = judge.calls.length;
    const w = setup([judgeRule()], [right, wrong]);
    await w.enqueue();
    expect(await w.worker.pass()).toBe(2);
    expect(judge.calls.length - calls).toBe(2);
    expect(w.emitted.findings).toHaveLength(1);
    expect(w.emitted.findings[0]).toMatchObject({
      ruleId: "same-entity",
      code: "judge_failed",
      path: "evaluation.same-entity.score",
      message: "names ORD-9999, which the input does not",
      observed: "0.1",
      traceId: wrong.TraceId,
    });
    expect(w.emitted.evaluations.map((e) => e.failed).sort()).toEqual([false, true]);
    expect([...w.tables.scores.values()].map((s) => [s.traceId, s.score, s.label]).sort()).toEqual([
      [right.TraceId, 1, "pass"],
      [wrong.TraceId, 0.1, "fail"],
    ]);
    expect([...w.tables.queue.values()].every((item) => item.state === "done")).toBe(true);
    expect(w.worker.activity().get("same-entity")).toMatchObject({
      state: "ok",
      judged: 2,
      failed: 1,
      tokensToday: 300,
    });
  });

  it("judges the same input once, also after a restart, and never an item done", async () => {
    judge.setDecide(sameEntityJudge);
    const rule = judgeRule();
    const first = setup([rule], [right]);
    await first.enqueue();
    await first.worker.pass();
    const calls = judge.calls.length;
    // A restart: a new worker on the same tables; the recovery queues the output again.
    const second = setup([rule], [right], { tables: first.tables });
    await second.enqueue();
    expect(await second.worker.pass()).toBe(0);
    // Another output with exactly the same input: answered from the cache.
    const twin = { ...right, SpanId: "twin".padEnd(16, "0") };
    first.tables.outputs.push(twin);
    await second.enqueue([twin]);
    const third = setup([rule], [right, twin], { tables: first.tables });
    expect(await third.worker.pass()).toBe(1);
    expect(judge.calls.length).toBe(calls);
    expect(third.worker.activity().get("same-entity")).toMatchObject({ judged: 1, cached: 1 });
    // A new rule version is a new cache key: judged again.
    const changed = judgeRule({ rubric: "1 when every id matches" });
    const fourth = setup([changed], [right], { tables: memoryStore([right]) });
    await fourth.enqueue();
    await fourth.worker.pass();
    expect(judge.calls.length).toBe(calls + 1);
  });

  it("asks again once when the reply does not parse, then records a judge_error rule problem", async () => {
    const calls = judge.calls.length;
    judge.setDecide(() => ({ type: "content", content: "I think it is fine" }));
    const w = setup([judgeRule()], [right]);
    await w.enqueue();
    await w.worker.pass();
    expect(judge.calls.length - calls).toBe(2);
    expect(w.emitted.findings).toEqual([]);
    expect(w.emitted.evaluations).toEqual([]);
    expect(w.emitted.problems).toHaveLength(1);
    expect(w.emitted.problems[0]).toMatchObject({ code: "judge_error", ruleId: "same-entity" });
    expect(w.emitted.problems[0]?.message).toMatch(/did not parse, twice/);
    expect([...w.tables.queue.values()][0]?.state).toBe("error");

    // A reply that parses on the second try is a verdict.
    judge.setDecide((_, i) =>
      i % 2 === 0
        ? { type: "content", content: "{" }
        : { type: "verdict", verdict: "pass", score: 0.8, explanation: "fine" },
    );
    const again = setup([judgeRule()], [wrong]);
    await again.enqueue();
    await again.worker.pass();
    expect(again.emitted.problems).toEqual([]);
    expect(again.emitted.evaluations).toHaveLength(1);
  });

  it("waits as long as a 429's Retry-After says, then judges the output", async () => {
    judge.setDecide(() => ({ type: "status", status: 429, headers: { "retry-after": "5" } }));
    const w = setup([judgeRule()], [right]);
    await w.enqueue();
    await w.worker.pass();
    expect(w.worker.activity().get("same-entity")).toMatchObject({
      state: "rate_limited",
      retries: 1,
    });
    expect(w.emitted.problems).toEqual([]);
    judge.setDecide(sameEntityJudge);
    const calls = judge.calls.length;
    w.advance(4_000);
    expect(await w.worker.pass()).toBe(0);
    expect(judge.calls.length).toBe(calls);
    w.advance(1_000);
    expect(await w.worker.pass()).toBe(1);
    expect(w.emitted.evaluations).toHaveLength(1);
    expect(w.worker.activity().get("same-entity")?.state).toBe("ok");
  });

  it("keeps every output of a judge that is down (timeouts, refused) until it is back, judging each once", async () => {
    const outputs = [1, 2, 3, 4, 5].map((n) =>
      output(10 + n, `ORD-${n}?`, `ORD-${n} is on its way`),
    );
    judge.setDecide(() => ({
      type: "delay",
      ms: 600,
      then: { type: "verdict", verdict: "pass", score: 1, explanation: "" },
    }));
    const w = setup([judgeRule()], outputs, { timeoutMs: 200 });
    await w.enqueue();
    await w.worker.pass();
    expect(w.worker.activity().get("same-entity")?.state).toBe("judge_unreachable");
    judge.setDecide(() => ({ type: "drop" }));
    for (let i = 0; i < 4; i++) {
      w.advance(10_000);
      await w.worker.pass();
    }
    expect(w.emitted.evaluations).toEqual([]);
    expect(w.emitted.problems).toEqual([]);
    expect([...w.tables.queue.values()].every((item) => item.state === "queued")).toBe(true);
    // Back: every output judged, each exactly once.
    judge.setDecide(sameEntityJudge);
    const calls = judge.calls.length;
    for (let i = 0; i < 3; i++) {
      w.advance(10_000);
      await w.worker.pass();
    }
    expect(judge.calls.length - calls).toBe(5);
    expect(w.emitted.evaluations.map((e) => e.outputKey).sort()).toEqual(
      outputs.map((o) => `${o.TraceId}/${o.SpanId}`).sort(),
    );
    expect([...w.tables.queue.values()].every((item) => item.state === "done")).toBe(true);
    expect(w.worker.activity().get("same-entity")?.state).toBe("ok");
  });

  it("holds a rule to its calls per minute and skips outputs past its tokens per day", async () => {
    judge.setDecide(sameEntityJudge);
    const outputs = [1, 2, 3].map((n) => output(20 + n, `ORD-${n}?`, `ORD-${n} is late`));
    const w = setup([judgeRule({ limits: { calls_per_minute: 2 } })], outputs);
    await w.enqueue();
    await w.worker.pass();
    expect(w.emitted.evaluations).toHaveLength(2);
    await w.worker.pass();
    expect(w.emitted.evaluations).toHaveLength(2);
    w.advance(60_000);
    await w.worker.pass();
    expect(w.emitted.evaluations).toHaveLength(3);

    // 150 tokens per call (the fake's usage): the second call (its estimate on top of the first call's 150) would pass 400 a day.
    const budget = setup([judgeRule({ limits: { tokens_per_day: 400 } })], outputs);
    await budget.enqueue();
    await budget.worker.pass();
    expect(budget.emitted.evaluations).toHaveLength(1);
    expect(budget.emitted.problems.map((p) => p.code)).toEqual(["judge_budget", "judge_budget"]);
    expect(budget.emitted.problems[0]?.message).toMatch(/the rule's budget of 400 tokens a day/);
    expect(budget.worker.activity().get("same-entity")).toMatchObject({
      state: "budget_exhausted",
      budgetSkipped: 2,
    });
  });

  it("keeps at most `concurrency` calls in flight", async () => {
    const fresh = await startFakeJudge(() => ({
      type: "delay",
      ms: 60,
      then: { type: "verdict", verdict: "pass", score: 1, explanation: "" },
    }));
    try {
      const outputs = [1, 2, 3, 4, 5, 6, 7].map((n) => output(40 + n, `ORD-${n}`, `ORD-${n}`));
      const tables = memoryStore(outputs);
      const emitted: JudgeResults = { findings: [], evaluations: [], problems: [] };
      const rule = judgeRule();
      const worker = createJudgeWorker({
        rules: () => [rule],
        store: tables.store,
        call: createJudgeClient({ baseUrl: fresh.baseUrl, apiKey: undefined, timeoutMs: 2_000 }),
        model: "judge-small",
        settings: { ...SETTINGS, concurrency: 3 },
        emit: async (results) => void emitted.evaluations.push(...results.evaluations),
      });
      await tables.store.writeQueue(worker.itemsFor(outputs));
      await worker.pass();
      expect(emitted.evaluations).toHaveLength(7);
      expect(fresh.maxInFlight()).toBe(3);
    } finally {
      await fresh.close();
    }
  });

  it("queues only what the rule matches and samples, the same outputs every time", () => {
    const rows = Array.from({ length: 400 }, (_, n) => output(100 + n, "ORD-1", "ORD-1"));
    const half = setup([judgeRule({ sample: 0.5 })], rows);
    const items = half.worker.itemsFor(rows);
    expect(items.length).toBeGreaterThan(150);
    expect(items.length).toBeLessThan(250);
    expect(half.worker.itemsFor(rows)).toEqual(items);
    const tool = makeRow({ Kind: "tool" });
    expect(half.worker.itemsFor([tool])).toEqual([]);
    const none = setup([judgeRule({ sample: 0 })], rows);
    expect(none.worker.itemsFor(rows)).toEqual([]);
  });
});
