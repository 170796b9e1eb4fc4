/**
 * The judge over a real embedded store (migration 10): the worker's queue, cache and scores in
 * ClickHouse against a fake OpenAI-compatible judge, a restart that judges nothing twice, the
 * trace's tool results in the prompt, and window rules reading the judge's scores (and the
 * external evaluations' on the span) as evaluation.<name>.score.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJudgeClient } from "../src/evaluate/judge/judge-client.ts";
import { judgeStore } from "../src/evaluate/judge/judge-queries.ts";
import { createJudgeWorker, type JudgeResults } from "../src/evaluate/judge/judge-worker.ts";
import { eventScoresOf } from "../src/evaluate/judge/event-scores.ts";
import { evaluateWindowRule } from "../src/evaluate/windows/evaluate-window.ts";
import type { CompiledRule } from "../src/evaluate/compile-rule.ts";
import { evaluationAttributeKey } from "../src/rules/field-grammar.ts";
import { parseWindowCheck } from "../src/rules/window-spec.ts";
import type { Store } from "../src/store/store.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import {
  evaluationScoresOf,
  writeEvaluationScores,
} from "../src/store/tables/evaluation-scores.ts";
import { judgeItemsOf } from "../src/store/tables/judge-queue.ts";
import { startFakeJudge, sameEntityJudge, type FakeJudge } from "./helpers/fake-judge.ts";
import { makeRow } from "./helpers/make-row.ts";
import { loadedRule } from "./helpers/rules.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;
let judge: FakeJudge;
const T = Date.UTC(2026, 11, 3, 12, 0, 0);
let serial = 0;

beforeAll(async () => {
  store = await openTestStore();
  judge = await startFakeJudge(sameEntityJudge);
});
afterAll(async () => {
  await judge.close();
  await store.close();
});

function at(ms: number, overrides: Partial<AgentOutputRow> = {}): AgentOutputRow {
  serial += 1;
  return makeRow({
    Timestamp: `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, "0")}`,
    TraceId: serial.toString(16).padStart(32, "0"),
    SpanId: serial.toString(16).padStart(16, "0"),
    ...overrides,
  });
}

const entityRule = loadedRule({
  id: "same-entity",
  match: { kind: "llm" },
  check: {
    type: "judge",
    prompt: "Input:\n{{input.text}}\nTools:\n{{trace.tool_results}}\nReply:\n{{output.text}}",
    criteria: "The reply names only the order the input asks about.",
  },
});

function worker(rules: CompiledRule[], clock: { t: number }) {
  const emitted: JudgeResults = { findings: [], evaluations: [], problems: [] };
  const w = createJudgeWorker({
    rules: () => rules,
    store: judgeStore(store),
    call: createJudgeClient({ baseUrl: judge.baseUrl, apiKey: "k", timeoutMs: 2_000 }),
    model: "judge-small",
    settings: {
      concurrency: 2,
      maxTokens: 100,
      batch: 100,
      backoffMs: 100,
      maxBackoffMs: 1_000,
      giveUpAfterMs: 3_600_000,
      contextDelayMs: 0,
    },
    emit: async (results) => {
      emitted.findings.push(...results.findings);
      emitted.evaluations.push(...results.evaluations);
      emitted.problems.push(...results.problems);
    },
    now: () => clock.t,
  });
  return { w, emitted };
}

describe("the judge on ClickHouse", () => {
  it("judges from the queue, with the trace's tool results, and nothing twice after a restart", async () => {
    const reply = at(T - 60_000, { InputText: "Where is ORD-7?", OutputText: "ORD-8 shipped." });
    const tool = {
      ...at(T - 61_000, {
        Kind: "tool",
        Operation: "execute_tool",
        ToolName: "lookup_order",
        ToolArguments: '{"id":"ORD-7"}',
        ToolResult: '{"status":"shipped"}',
      }),
      TraceId: reply.TraceId,
    };
    await store.write({ traces: [], outputs: [reply, tool] });
    const clock = { t: T };
    const first = worker([entityRule], clock);
    const items = first.w.itemsFor([reply, tool]);
    expect(items).toHaveLength(1);
    await judgeStore(store).writeQueue(items);
    const calls = judge.calls.length;
    expect(await first.w.pass()).toBe(1);
    expect(judge.calls.length - calls).toBe(1);
    const user = judge.calls.at(-1)?.body.messages[1]?.content ?? "";
    expect(user).toContain('tool lookup_order({"id":"ORD-7"}) returned: {"status":"shipped"}');
    expect(first.emitted.findings).toMatchObject([
      {
        code: "judge_failed",
        traceId: reply.TraceId,
        message: "names ORD-8, which the input does not",
      },
    ]);
    expect((await judgeItemsOf(store, reply.TraceId)).map((i) => i.state)).toEqual(["done"]);
    expect(await evaluationScoresOf(store, reply.TraceId)).toMatchObject([
      {
        name: "same-entity",
        source: "judge",
        score: 0.1,
        label: "fail",
        model: "judge-small-2026-01-01",
      },
    ]);

    // A restart whose recovery queues the output again: the done item stays done.
    const second = worker([entityRule], clock);
    await judgeStore(store).writeQueue(second.w.itemsFor([reply]));
    expect(await second.w.pass()).toBe(0);
    expect(judge.calls.length - calls).toBe(1);

    // A crash after the verdict was cached but before the item was final: queued again, the
    // verdict comes from the cache.
    await judgeStore(store).writeQueue(
      (await judgeItemsOf(store, reply.TraceId)).map((i) => ({
        ...i,
        state: "queued",
        seq: 2 ** 62 + 1,
      })),
    );
    const third = worker([entityRule], clock);
    expect(await third.w.pass()).toBe(1);
    expect(judge.calls.length - calls).toBe(1);
    expect(third.emitted.findings).toHaveLength(1);
    expect(third.w.activity().get("same-entity")).toMatchObject({ cached: 1 });

    // The day's tokens are counted again from the cache at start.
    expect(third.w.activity().get("same-entity")?.tokensToday).toBe(150);
  });

  it("shows the judge the earlier turns of the output's conversation", async () => {
    const conversationRule = loadedRule({
      id: "answers-question",
      match: { kind: "agent", service: "chat-svc" },
      check: {
        type: "judge",
        prompt: "Earlier:\n{{conversation}}\nQuestion:\n{{input.text}}\nAnswer:\n{{output.text}}",
        criteria: "The answer addresses the question.",
      },
    });
    const turn = (ms: number, input: string, output: string, conversation = "conv-judge") =>
      at(ms, {
        Kind: "agent",
        ServiceName: "chat-svc",
        ConversationId: conversation,
        InputText: input,
        OutputText: output,
      });
    const first = turn(T - 3_000, "Hi, my order ORD-5 is late", "Sorry! Checking ORD-5.");
    const other = turn(T - 2_500, "Unrelated", "Elsewhere", "conv-other");
    const last = turn(T - 1_000, "And when will it come?", "Tomorrow.");
    const later = turn(T, "Thanks", "You're welcome");
    await store.write({ traces: [], outputs: [first, other, last, later] });
    const clock = { t: T };
    const { w } = worker([conversationRule], clock);
    await judgeStore(store).writeQueue(w.itemsFor([last]));
    await w.pass();
    const user = judge.calls.at(-1)?.body.messages[1]?.content ?? "";
    expect(user).toBe(
      "Earlier:\nuser: Hi, my order ORD-5 is late\nassistant: Sorry! Checking ORD-5.\nQuestion:\nAnd when will it come?\nAnswer:\nTomorrow.",
    );
  });

  it("lets a rate rule watch the judge's score, and an external evaluation's on the span first", async () => {
    const rows = Array.from({ length: 10 }, (_, i) =>
      at(T - 50 * 60_000 + i * 60_000, { ServiceName: "scored-svc" }),
    );
    // One output also carries its own evaluator's result: that one is read, not the judge's.
    const withEvent = at(T - 10 * 60_000, {
      ServiceName: "scored-svc",
      SpanAttributes: {
        [evaluationAttributeKey("same-entity", "score")]: "0.9",
        [evaluationAttributeKey("same-entity", "label")]: "ok",
      },
    });
    await store.write({ traces: [], outputs: [...rows, withEvent] });
    await writeEvaluationScores(store, [
      ...rows.map((row) => ({
        time: row.Timestamp,
        traceId: row.TraceId,
        spanId: row.SpanId,
        name: "same-entity",
        source: "judge" as const,
        ruleId: "same-entity",
        ruleVersion: "v",
        service: row.ServiceName,
        agent: row.AgentName,
        model: "m",
        score: 0.2,
        label: "fail",
        explanation: "",
      })),
      { ...eventScoresOf([withEvent])[0]!, score: 0.9 },
    ]);
    const rule = loadedRule({
      id: "entity-score-low",
      match: { service: "scored-svc" },
      check: {
        type: "rate",
        aggregate: "avg",
        field: "evaluation.same-entity.score",
        below: 0.5,
        window: "1h",
        minSamples: 5,
      },
    });
    if (rule.check.type !== "rate") throw new Error("not a rate rule");
    const parsed = parseWindowCheck(rule.check);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const result = await evaluateWindowRule(store, rule, parsed.spec, T);
    expect(result.message).toMatch(/below|≤|</);
    expect(result.status).toBe("drift");
    expect(result.currentSize).toBe(11);
    expect(result.statistic).toBeCloseTo((10 * 0.2 + 0.9) / 11, 9);

    const share = loadedRule({
      id: "entity-fails",
      match: { service: "scored-svc" },
      check: {
        type: "rate",
        share: [{ field: "evaluation.same-entity.label", equals: "fail" }],
        above: 0.5,
        window: "1h",
        minSamples: 5,
      },
    });
    if (share.check.type !== "rate") throw new Error("not a rate rule");
    const shareSpec = parseWindowCheck(share.check);
    if (!shareSpec.ok) throw new Error(JSON.stringify(shareSpec.errors));
    const shared = await evaluateWindowRule(store, share, shareSpec.spec, T);
    expect(shared.statistic).toBeCloseTo(10 / 11, 9);
  });
});
