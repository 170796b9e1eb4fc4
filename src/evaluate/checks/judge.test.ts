import { describe, expect, it } from "vitest";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { loadedRule, parseTestRule } from "../../../test/helpers/rules.ts";

function judgeRule(check: Record<string, unknown>) {
  return {
    id: "faithful",
    check: {
      type: "judge",
      prompt: "Q: {{input.text}}\nA: {{output.text}}\nTools: {{trace.tool_results}}",
      criteria: "The answer agrees with the tool results.",
      ...check,
    },
  };
}

describe("judge checks, loaded", () => {
  it("load as judge-scope rules the engine leaves to the judge worker", async () => {
    const rule = loadedRule(judgeRule({ rubric: "1: agrees fully", pass: { min_score: 0.6 } }));
    expect(rule.scope).toBe("judge");
    expect(rule.judge?.name).toBe("faithful");
    expect(rule.judge?.reads).toEqual({ toolResults: true, conversation: false });
    expect(await rule.evaluateOutput(makeRow())).toEqual([]);
  });

  it("refuse placeholders outside the grammar, and a prompt that names no field", () => {
    const bad = parseTestRule(judgeRule({ prompt: "{{output.txt}} and {{tool.result[*].x}}" }));
    expect(bad.ok).toBe(false);
    const messages = bad.ok ? [] : bad.errors.map((e) => `${e.pointer}: ${e.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^\/check\/prompt: placeholder \{\{output\.txt\}\}: unknown field/),
      expect.stringMatching(
        /^\/check\/prompt: placeholder \{\{tool\.result\[\*\]\.x\}\}: a \[\*\] path/,
      ),
    ]);
    const none = parseTestRule(judgeRule({ prompt: "Is this good?" }));
    expect(none.ok ? [] : none.errors.map((e) => e.message)).toEqual([
      "the prompt names no field: add a placeholder such as {{output.text}}",
    ]);
  });

  it("refuse a sample outside 0..1 and unknown keys", () => {
    const bad = parseTestRule(judgeRule({ sample: 2, temperature: 1 }));
    expect(bad.ok).toBe(false);
    const pointers = bad.ok ? [] : bad.errors.map((e) => e.pointer);
    expect(pointers).toContain("/check/sample");
  });
});

describe("a judge check, compiled", () => {
  it("renders the prompt from the output's fields, cut to max_input_chars", () => {
    const rule = loadedRule(
      judgeRule({
        prompt:
          "Q: {{input.text}}\nA: {{output.text}}\nStatus: {{output.json.status}}\nTools: {{trace.tool_results}}\nEarlier: {{conversation}}",
        max_input_chars: 100,
      }),
    );
    const row = makeRow({
      InputText: "x".repeat(150),
      OutputText: '{"status":"shipped"}',
    });
    const { system, user } = rule.judge?.render(row, {
      toolResults: "lookup → shipped",
      conversation: "",
    }) ?? {
      system: "",
      user: "",
    };
    expect(user).toBe(
      `Q: ${"x".repeat(100)}… (cut at 100 characters)\nA: {"status":"shipped"}\nStatus: shipped\nTools: lookup → shipped\nEarlier: (none)`,
    );
    expect(system).toContain("The answer agrees with the tool results.");
    expect(system).toContain('"verdict"');
    const absent = rule.judge?.render(makeRow({ OutputText: "plain" }), {
      toolResults: "",
      conversation: "",
    });
    expect(absent?.user).toContain("Status: (absent)");
  });

  it("fails on a fail verdict, or a pass below min_score", () => {
    const rule = loadedRule(judgeRule({ name: "faithfulness", pass: { min_score: 0.6 } }));
    const judge = rule.judge;
    expect(judge?.failure({ verdict: "pass", score: 0.9, explanation: "fine" })).toBeUndefined();
    expect(judge?.failure({ verdict: "pass", score: 0.5, explanation: "weak" })).toEqual({
      code: "judge_failed",
      path: "evaluation.faithfulness.score",
      message: "weak",
      observed: "0.5",
      expected: "verdict pass, score ≥ 0.6",
    });
    expect(judge?.failure({ verdict: "fail", score: 0.9, explanation: "" })?.message).toBe(
      "judge faithfulness: fail",
    );
  });

  it("samples by the output's ids: the same outputs every time, about the share asked", () => {
    const judge = loadedRule(judgeRule({ sample: 0.1 })).judge;
    const ids = Array.from({ length: 2_000 }, (_, i) => ({ TraceId: `t${i}`, SpanId: `s${i}` }));
    const picked = ids.filter((row) => judge?.sampled(row));
    expect(picked.length).toBeGreaterThan(140);
    expect(picked.length).toBeLessThan(260);
    expect(ids.filter((row) => judge?.sampled(row))).toEqual(picked);
  });
});
