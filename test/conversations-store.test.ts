/**
 * Conversation rules on a real embedded store: each quiet trace is checked as a turn against
 * its conversation read back from the store (not from memory), outputs of a trace that name
 * no conversation belong to the one their trace names, and a quiet conversation is checked
 * once more as a whole.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backtest } from "../src/evaluate/backtest.ts";
import { backtestSource } from "../src/evaluate/backtest-queries.ts";
import { createConversationEvaluator } from "../src/evaluate/conversations.ts";
import { conversationStore } from "../src/evaluate/conversation-queries.ts";
import { createEngine } from "../src/evaluate/engine.ts";
import { createQuietTraceEvaluator } from "../src/evaluate/quiet-traces.ts";
import { quietTraceStore } from "../src/evaluate/quiet-trace-queries.ts";
import type { Finding } from "../src/rules/findings.ts";
import type { Store } from "../src/store/store.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import { makeRow } from "./helpers/make-row.ts";
import { parseTestRule } from "./helpers/rules.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

function rule(json: unknown) {
  const result = parseTestRule(json, "test.json");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.rule;
}

const duplicate = rule({
  id: "conv-duplicate",
  match: { kind: "tool", tool: "send_*" },
  check: { type: "conversation", kind: "unique", key: ["tool.name", "tool.arguments"] },
});
const needsAccount = rule({
  id: "conv-creates-account",
  match: { kind: "tool", tool: "create_account" },
  check: { type: "conversation", kind: "count", min: 1 },
});

const QUIET_MS = 1_000;
const CONVERSATION_QUIET_MS = 5_000;

function evaluators() {
  const findings: Finding[] = [];
  const clock = { ahead: 0 };
  const now = () => Date.now() + clock.ahead;
  const sink = { add: (found: Finding[]) => void findings.push(...found) };
  const engine = createEngine({ rules: () => [duplicate, needsAccount], sink });
  const conversations = createConversationEvaluator({
    store: conversationStore(store),
    engine,
    sink,
    quietMs: CONVERSATION_QUIET_MS,
    intervalMs: 100,
    now,
  });
  const traces = createQuietTraceEvaluator({
    store: quietTraceStore(store),
    engine,
    conversations,
    sink,
    quietMs: QUIET_MS,
    intervalMs: 100,
    now,
  });
  return { findings, clock, traces, conversations };
}

/** One turn: an agent run naming the conversation, and a tool call under it naming none. */
function turnOf(traceId: string, second: number, tool: string, args: unknown): AgentOutputRow[] {
  const at = `${second}.000000000`;
  const agent = makeRow({
    TraceId: traceId,
    SpanId: `${traceId.slice(0, 15)}1`,
    Timestamp: at,
    Kind: "agent",
    Operation: "invoke_agent",
    ConversationId: "onboarding-42",
  });
  const call = makeRow({
    TraceId: traceId,
    SpanId: `${traceId.slice(0, 15)}2`,
    ParentSpanId: agent.SpanId,
    Timestamp: `${second}.500000000`,
    Kind: "tool",
    Operation: "execute_tool",
    ToolName: tool,
    ToolArguments: JSON.stringify(args),
    OutputText: '{"ok":true}',
    // Exported in another request than its agent: no conversation id of its own.
    ConversationId: "",
  });
  return [agent, call];
}

describe("conversation rules on the store", () => {
  it("finds an e-mail re-sent in a later trace, once, and a missing step when it is quiet", async () => {
    const { findings, clock, traces, conversations } = evaluators();
    const second = Math.floor(Date.now() / 1000) - 60;
    const first = "c0000000000000000000000000000001";
    const resumed = "c0000000000000000000000000000002";
    const welcome = { to: "ada@example.com", template: "welcome" };

    await store.write({ traces: [], outputs: turnOf(first, second, "send_email", welcome) });
    clock.ahead = QUIET_MS + 1_000;
    await traces.tick();
    expect(findings).toEqual([]);

    // The run broke and started over: a new trace of the same conversation sends it again.
    const again = turnOf(resumed, second + 30, "send_email", {
      template: welcome.template,
      to: welcome.to,
    });
    await store.write({ traces: [], outputs: again });
    clock.ahead += 2_000;
    await traces.tick();
    expect(findings.map((f) => [f.ruleId, f.code, f.traceId, f.spanId])).toEqual([
      ["conv-duplicate", "duplicate", resumed, again[1]?.SpanId],
    ]);
    expect(findings[0]).toMatchObject({ scope: "conversation", conversationId: "onboarding-42" });
    expect(findings[0]?.message).toContain(first);

    // The same trace seen again (the overlap) reports nothing new; nor does the quiet pass
    // before the conversation is quiet.
    await traces.tick();
    expect(await conversations.tick()).toBe(0);
    expect(findings).toHaveLength(1);

    clock.ahead += CONVERSATION_QUIET_MS + 1_000;
    expect(await conversations.tick()).toBe(1);
    expect(findings.slice(1).map((f) => [f.ruleId, f.code, f.observed])).toEqual([
      ["conv-creates-account", "count_out_of_range", "0"],
    ]);
    await conversations.tick();
    expect(findings).toHaveLength(2);
  });
});

describe("conversation rules in a backtest", () => {
  it("replays each turn against the conversation so far, and the quiet conversation whole", async () => {
    const start = (Math.floor(Date.now() / 3_600_000) - 30) * 3_600; // 30 h ago, on the hour
    const first = "d0000000000000000000000000000001";
    const later = "d0000000000000000000000000000002";
    const mail = { to: "bo@example.com", template: "welcome" };
    const rows = [
      ...turnOf(first, start + 60, "send_email", mail),
      // Two hours later, in another hour of the backtest, the same e-mail again.
      ...turnOf(later, start + 7_260, "send_email", mail),
    ].map((row) => ({ ...row, ConversationId: row.ConversationId && "backtest-7" }));
    await store.write({ traces: [], outputs: rows });
    const handed: { at: number; rules: string[] }[] = [];
    const summaries = await backtest({
      rules: [duplicate, needsAccount],
      source: backtestSource(store, undefined),
      sinceMs: start * 1000,
      untilMs: (start + 4 * 3_600) * 1000,
      timeline: {
        evaluated: async (at, found) => void handed.push({ at, rules: found.map((f) => f.ruleId) }),
        windowEvaluated: async () => undefined,
      },
      timing: { traceQuietMs: 30_000, windowSettleMs: 15_000, conversationQuietMs: 1_800_000 },
    });
    expect(summaries.find((s) => s.ruleId === "conv-duplicate")).toMatchObject({
      findings: 1,
      examples: [expect.objectContaining({ traceId: later, code: "duplicate" })],
    });
    expect(summaries.find((s) => s.ruleId === "conv-creates-account")).toMatchObject({
      findings: 1,
    });
    const lastEnd = (start + 7_260.5) * 1000 + 1_250; // makeRow lasts 1.25 s
    expect(handed.filter((h) => h.rules.length > 0)).toEqual([
      { at: expect.any(Number), rules: ["conv-duplicate"] },
      { at: Math.round(lastEnd) + 1_800_000, rules: ["conv-creates-account"] },
    ]);
  });
});
