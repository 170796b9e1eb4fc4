import { describe, expect, it } from "vitest";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { compiled } from "../../../test/helpers/rules.ts";
import type { ConversationCheck, MatchSpec } from "../../rules/rule.ts";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { compileMatch } from "../match.ts";
import {
  evaluateConversationCheck,
  inputMessageCount,
  normaliseAnswer,
  type ConversationPass,
} from "./conversation.ts";

const CONVERSATION = "onboarding-7";

/** Turn `turn` (its own trace), output `n` of it, `seconds` into the turn. */
function output(turn: number, n: number, overrides: Partial<AgentOutputRow>): AgentOutputRow {
  const seconds = 1_767_225_600 + turn * 600 + n;
  return makeRow({
    TraceId: `${String(turn).padStart(2, "0")}`.padEnd(32, "a"),
    SpanId: `${String(turn).padStart(2, "0")}${String(n).padStart(2, "0")}`.padEnd(16, "b"),
    Timestamp: `${seconds}.000000000`,
    ConversationId: CONVERSATION,
    ...overrides,
  });
}

function tool(turn: number, n: number, name: string, args: unknown): AgentOutputRow {
  return output(turn, n, {
    Kind: "tool",
    Operation: "execute_tool",
    ToolName: name,
    ToolArguments: JSON.stringify(args),
    OutputText: '{"ok":true}',
  });
}

function chat(turn: number, messages: string[], answer: string, tokens?: number): AgentOutputRow {
  return output(turn, 0, {
    Kind: "llm",
    InputText: messages.join("\n"),
    OutputText: answer,
    InputTokens: tokens ?? null,
  });
}

function check(
  spec: ConversationCheck,
  rows: AgentOutputRow[],
  pass: ConversationPass,
  match: MatchSpec = {},
) {
  const matches = compiled((issues) => compileMatch(match, issues));
  const rule = { id: "conv-rule", version: "v1", severity: "warning" as const, check: spec };
  return evaluateConversationCheck(rule, spec, CONVERSATION, rows, matches, pass);
}

const turn = (...traces: AgentOutputRow[]): ConversationPass => ({
  kind: "turn",
  traceIds: new Set(traces.map((row) => row.TraceId)),
});

describe("conversation unique", () => {
  const spec: ConversationCheck = {
    type: "conversation",
    kind: "unique",
    key: ["tool.name", "tool.arguments"],
  };
  it("finds the e-mail sent again in a later trace, naming both sends", () => {
    const first = tool(1, 1, "send_email", { to: "ada@example.com", template: "welcome" });
    const again = tool(3, 1, "send_email", { template: "welcome", to: "ada@example.com" });
    const rows = [first, tool(2, 1, "send_email", { to: "x@example.com" }), again];
    const [finding, ...rest] = check(spec, rows, turn(again));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      code: "duplicate",
      scope: "conversation",
      conversationId: CONVERSATION,
      traceId: again.TraceId,
      spanId: again.SpanId,
    });
    expect(finding?.message).toContain(first.TraceId);
    expect(finding?.message).toContain(first.SpanId);
  });

  it("reports a turn once: a later turn does not report an earlier duplicate again", () => {
    const rows = [
      tool(1, 1, "send_email", { to: "a" }),
      tool(2, 1, "send_email", { to: "a" }),
      tool(3, 1, "lookup", {}),
    ];
    expect(check(spec, rows, turn(rows[2] as AgentOutputRow))).toEqual([]);
    expect(check(spec, rows, turn(rows[1] as AgentOutputRow))).toHaveLength(1);
    expect(check(spec, rows, { kind: "final" })).toEqual([]);
  });
});

describe("conversation consistent", () => {
  const spec: ConversationCheck = {
    type: "conversation",
    kind: "consistent",
    field: "tool.arguments.customer_id",
  };
  it("finds a customer id that differs from the one settled earlier", () => {
    const rows = [
      tool(1, 1, "lookup_customer", { customer_id: "C-1001" }),
      tool(2, 1, "set_plan", { customer_id: "C-1001", plan: "pro" }),
      tool(3, 1, "send_email", { template: "welcome" }),
      tool(4, 1, "set_plan", { customer_id: "C-1010", plan: "pro" }),
    ];
    const last = rows[3] as AgentOutputRow;
    const findings = check(spec, rows, turn(last));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: "inconsistent", spanId: last.SpanId });
    expect(findings[0]?.message).toContain("C-1001");
    expect(findings[0]?.observed).toBe("C-1010");
  });

  it("passes when the value keeps or is absent", () => {
    const rows = [
      tool(1, 1, "a", { customer_id: 7 }),
      tool(2, 1, "b", {}),
      tool(3, 1, "c", { customer_id: 7 }),
    ];
    expect(check(spec, rows, turn(...rows))).toEqual([]);
  });
});

describe("conversation context_reset", () => {
  const spec: ConversationCheck = { type: "conversation", kind: "context_reset" };
  const llm: MatchSpec = { kind: "llm" };
  const history = (n: number) =>
    Array.from({ length: n }, (_, i) => (i % 2 === 0 ? `user: turn ${i}` : `assistant: ok ${i}`));

  it("finds the turn whose input is back to the first turn's size", () => {
    const rows = [
      chat(1, ["system: onboard", ...history(1)], "Hi"),
      chat(2, ["system: onboard", ...history(3)], "Sure"),
      chat(3, ["system: onboard", ...history(5)], "Done"),
      chat(4, ["system: onboard", ...history(1)], "Hi, who are you?"),
      chat(5, ["system: onboard", ...history(3)], "Hm"),
    ];
    const lost = rows[3] as AgentOutputRow;
    const findings = check(spec, rows, turn(...rows), llm);
    expect(findings.map((f) => f.spanId)).toEqual([lost.SpanId]);
    expect(findings[0]).toMatchObject({ code: "context_reset", observed: "2" });
    expect(findings[0]?.message).toContain("turn 4");
  });

  it("does not flag an agent that never sends history, nor a growing conversation", () => {
    const stateless = [1, 2, 3, 4].map((t) => chat(t, ["system: s", "user: q"], "a"));
    expect(check(spec, stateless, turn(...stateless), llm)).toEqual([]);
    const growing = [1, 2, 3].map((t) => chat(t, ["system: s", ...history(2 * t - 1)], "a"));
    expect(check(spec, growing, turn(...growing), llm)).toEqual([]);
  });

  it("measures input tokens when asked", () => {
    const tokens: ConversationCheck = { ...spec, measure: "input_tokens" };
    const rows = [chat(1, [], "a", 500), chat(2, [], "b", 900), chat(3, [], "c", 520)];
    expect(check(tokens, rows, turn(rows[2] as AgentOutputRow), llm)).toHaveLength(1);
  });

  it("counts transcript messages", () => {
    expect(inputMessageCount({ InputText: "system: x\nuser: a\nstill a\nassistant: b" })).toBe(3);
  });
});

describe("conversation repeated", () => {
  it("finds an answer repeated in a later turn, whatever its case and punctuation", () => {
    const spec: ConversationCheck = { type: "conversation", kind: "repeated" };
    const rows = [
      chat(1, ["user: hi"], "Welcome! Which plan would you like: Basic or Pro?"),
      chat(2, ["user: pro"], "Great, Pro it is. Your account is ready."),
      chat(3, ["user: and now?"], "welcome — which plan would you like, basic or pro"),
    ];
    const findings = check(spec, rows, turn(rows[2] as AgentOutputRow));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: "repeated_answer" });
    expect(normaliseAnswer("Hello,   World!")).toBe("hello world");
  });

  it("finds a question asked again for a value an earlier input gave", () => {
    const spec: ConversationCheck = {
      type: "conversation",
      kind: "repeated",
      answers: false,
      asks: [
        {
          name: "e-mail address",
          question: "what(?:'s| is) your e-?mail",
          given: "[\\w.+-]+@[\\w-]+\\.\\w+",
          ignore_case: true,
        },
      ],
    };
    const rows = [
      chat(1, ["user: hello"], "What is your email address?"),
      chat(2, ["user: ada@example.com"], "Thanks!"),
      chat(3, ["user: next"], "Sure. What's your e-mail, please?"),
    ];
    const findings = check(spec, rows, turn(...rows));
    expect(findings.map((f) => [f.code, f.spanId])).toEqual([
      ["asked_again", (rows[2] as AgentOutputRow).SpanId],
    ]);
  });
});

describe("conversation count and sequence", () => {
  it("reports max at the turn that passed it, min only once the conversation is quiet", () => {
    const spec: ConversationCheck = { type: "conversation", kind: "count", min: 1, max: 2 };
    const rows = [1, 2, 3].map((t) => tool(t, 1, "search_docs", { q: t }));
    const match: MatchSpec = { tool: "search_*" };
    expect(check(spec, rows, turn(rows[1] as AgentOutputRow), match)).toEqual([]);
    const over = check(spec, rows, turn(rows[2] as AgentOutputRow), match);
    expect(over.map((f) => f.code)).toEqual(["count_out_of_range"]);
    expect(check(spec, rows, { kind: "final" }, match)).toEqual([]);
    const none = check(spec, rows, { kind: "final" }, { tool: "create_account" });
    expect(none.map((f) => f.observed)).toEqual(["0"]);
  });

  it("counts turns with per: turn", () => {
    const spec: ConversationCheck = { type: "conversation", kind: "count", max: 1, per: "turn" };
    const rows = [tool(1, 1, "a", {}), tool(1, 2, "a", { x: 1 })];
    expect(check(spec, rows, turn(...rows))).toEqual([]);
  });

  it("needs before in any earlier turn", () => {
    const spec: ConversationCheck = {
      type: "conversation",
      kind: "sequence",
      before: { tool: "verify_identity" },
      after: { tool: "set_plan" },
    };
    const ok = [tool(1, 1, "verify_identity", {}), tool(2, 1, "set_plan", {})];
    expect(check(spec, ok, turn(...ok))).toEqual([]);
    const bad = [tool(1, 1, "set_plan", {}), tool(2, 1, "verify_identity", {})];
    expect(check(spec, bad, turn(...bad)).map((f) => f.code)).toEqual(["sequence_violated"]);
  });
});
