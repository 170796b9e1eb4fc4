/**
 * The conversation detectors and the loop detector (rules/builtin/duplicate-side-effect-in-
 * conversation.json, loop.json, loop-in-conversation.json, context-reset.json,
 * memory-search-empty.json) on realistic telemetry: each turn of a conversation is one trace
 * of GenAI spans, named by gen_ai.conversation.id on its agent span only, as the
 * instrumentations record it. Each detector must catch its failure and stay quiet on the
 * look-alikes of a healthy conversation.
 */

import { describe, expect, it } from "vitest";
import type { DecodedSpan } from "../../src/decode/span.ts";
import {
  checkConversation,
  checkTrace,
  detector,
  genAiAgent,
  genAiChat,
  genAiStep,
  genAiTool,
  say,
} from "../helpers/builtin-rules.ts";

const AGENT = "9f8e7d6c5b4a3921";

/** One turn: the agent run, and the tool calls it made, in order. */
function turn(user: string, tools: [name: string, args: Record<string, unknown>][]): DecodedSpan[] {
  const spans = [genAiAgent(user, "Done.", { spanId: AGENT, endMs: 9000 })];
  tools.forEach(([name, args], i) => {
    spans.push(
      genAiTool(name, args, '{"status":"ok"}', {
        spanId: `${i + 1}000000000000b01`,
        parentSpanId: AGENT,
        startMs: 100 + i * 1000,
        endMs: 400 + i * 1000,
        callId: `call_${i + 1}`,
      }),
    );
  });
  return spans;
}

const WELCOME = { to: "ada@example.com", template: "welcome" };

describe("builtin.duplicate-side-effect-in-conversation", () => {
  const rule = detector("duplicate-side-effect-in-conversation");

  it("flags the welcome e-mail re-sent by a resumed run in a new trace, naming both sends", () => {
    const findings = checkConversation(rule, [
      turn("Sign me up", [
        ["lookup_customer", { email: "ada@example.com" }],
        ["send_email", WELCOME],
      ]),
      turn("Sign me up", [["send_email", { template: "welcome", to: "ada@example.com" }]]),
    ]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      code: "duplicate",
      scope: "conversation",
      conversationId: "conv_5j66UpCpwteGg4YSxUnt7lPY",
      spanId: "1000000000000b01",
    });
    expect(findings[0]?.traceId.startsWith("02")).toBe(true);
    expect(findings[0]?.message).toMatch(/span 2000000000000b01 of trace 01/);
  });

  it("alerts per conversation: each conversation with a duplicate is its own alert", () => {
    expect(rule.alertSpec.groupBy).toEqual(["service", "agent", "conversation"]);
  });

  it("leaves a repeat within one trace to the trace detector, and ignores reads and new args", () => {
    expect(
      checkConversation(rule, [
        turn("a", [
          ["send_email", WELCOME],
          ["send_email", WELCOME],
        ]),
        turn("b", [["send_email", { ...WELCOME, template: "plan-confirmed" }]]),
        turn("c", [["get_customer", { id: 1 }]]),
        turn("d", [["get_customer", { id: 1 }]]),
      ]),
    ).toEqual([]);
  });
});

describe("builtin.loop", () => {
  const rule = detector("loop");

  it("flags the third identical search in one trace, once", () => {
    const search: [string, Record<string, unknown>] = ["search_docs", { q: "pricing tiers" }];
    const findings = checkTrace(rule, turn("plans?", [search, search, search, search]));
    expect(findings.map((f) => [f.code, f.spanId])).toEqual([["loop", "3000000000000b01"]]);
  });

  it("does not flag two identical calls, or three with different arguments", () => {
    expect(
      checkTrace(
        rule,
        turn("x", [
          ["search_docs", { q: "a" }],
          ["search_docs", { q: "a" }],
          ["search_docs", { q: "b" }],
        ]),
      ),
    ).toEqual([]);
  });
});

describe("builtin.loop-in-conversation", () => {
  const rule = detector("loop-in-conversation");
  const search: [string, Record<string, unknown>] = ["search_kb", { q: "reset password" }];

  it("flags the same search repeated turn after turn", () => {
    const findings = checkConversation(rule, [
      turn("a", [search]),
      turn("b", [search]),
      turn("c", [search]),
      turn("d", [search]),
    ]);
    expect(findings.map((f) => f.code)).toEqual(["loop"]);
    expect(findings[0]?.traceId.startsWith("03")).toBe(true);
  });

  it("leaves a loop inside one trace to builtin.loop", () => {
    expect(checkConversation(rule, [turn("a", [search, search, search])])).toEqual([]);
  });
});

describe("builtin.context-reset", () => {
  const rule = detector("context-reset");

  /** The model call of turn n, carrying the transcript so far (or, lost, only the new message). */
  function chatTurn(n: number, lost = false): DecodedSpan[] {
    const history = lost ? [] : Array.from({ length: n - 1 }, (_, i) => i + 1);
    const messages = [
      { role: "system", parts: [say("You onboard new customers.")] },
      ...history.flatMap((i) => [
        { role: "user", parts: [say(`message ${i}`)] },
        { role: "assistant", parts: [say(`answer ${i}`)] },
      ]),
      { role: "user", parts: [say(`message ${n}`)] },
    ];
    return [
      genAiAgent(`message ${n}`, "ok", { spanId: AGENT, endMs: 3000 }),
      genAiChat(`message ${n}`, [say("ok")], "stop", {
        spanId: "1000000000000a01",
        parentSpanId: AGENT,
        attributes: { "gen_ai.input.messages": JSON.stringify(messages) },
      }),
    ];
  }

  it("flags the turn answered without the conversation's history", () => {
    const findings = checkConversation(rule, [
      chatTurn(1),
      chatTurn(2),
      chatTurn(3),
      chatTurn(4, true),
      chatTurn(5, true),
    ]);
    expect(findings.map((f) => [f.code, f.traceId.slice(0, 2)])).toEqual([["context_reset", "04"]]);
  });

  it("stays quiet while history is carried", () => {
    expect(
      checkConversation(
        rule,
        [1, 2, 3, 4, 5].map((n) => chatTurn(n)),
      ),
    ).toEqual([]);
  });
});

describe("builtin.memory-search-empty", () => {
  const rule = detector("memory-search-empty");

  function memory(operation: string, records: unknown[], spanId: string): DecodedSpan {
    return genAiStep(
      operation,
      {
        "gen_ai.memory.store.name": "customer-facts",
        ...(operation === "search_memory" && { "gen_ai.memory.query.text": "plan of ada" }),
        "gen_ai.memory.records": JSON.stringify(records),
      },
      { spanId, parentSpanId: AGENT, startMs: 200, endMs: 300 },
    );
  }
  const withAgent = (...spans: DecodedSpan[]) => [
    genAiAgent("hi", "ok", { spanId: AGENT, endMs: 3000 }),
    ...spans,
  ];

  it("flags a search that comes back empty after memories were written", () => {
    const findings = checkConversation(rule, [
      withAgent(memory("create_memory", [{ content: "plan: pro" }], "1000000000000c01")),
      withAgent(memory("search_memory", [], "1000000000000c02")),
    ]);
    expect(findings.map((f) => [f.code, f.spanId])).toEqual([
      ["after_forbidden", "1000000000000c02"],
    ]);
  });

  it("does not flag an empty search before anything was written, or one that finds records", () => {
    expect(
      checkConversation(rule, [
        withAgent(memory("search_memory", [], "1000000000000c01")),
        withAgent(memory("create_memory", [{ content: "plan: pro" }], "1000000000000c02")),
        withAgent(memory("search_memory", [{ content: "plan: pro" }], "1000000000000c03")),
      ]),
    ).toEqual([]);
  });
});
