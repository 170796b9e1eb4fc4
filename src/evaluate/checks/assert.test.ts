import { describe, expect, it, vi } from "vitest";
import { compiled, issuesOf } from "../../../test/helpers/rules.ts";
import { ABSENT } from "../finding.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import {
  compileAssertCheck,
  EXPR_RETRY_TIMEOUT_MS,
  EXPR_TIMEOUT_MS,
  expressionInput,
} from "./assert.ts";
import type { AssertCheck } from "../../rules/rule.ts";

const assertCheck = (check: AssertCheck) => compiled((issues) => compileAssertCheck(check, issues));

const SUM = "$sum(output.json.items.amount) = output.json.total";

function invoice(total: number) {
  return makeRow({
    OutputText: JSON.stringify({
      invoice_id: "INV-7",
      total,
      items: [
        { sku: "A-1", amount: 100 },
        { sku: "B-7", amount: 30.5 },
      ],
    }),
  });
}

describe("assert", () => {
  it("reports every failing assertion", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [
        { field: "output.json.total", min: 0 },
        { field: "output.json.invoice_id", matches: "^INV-\\d{4}$" },
        { field: "finish_reason", in: ["stop", "end_turn"] },
        { field: "output.json.currency", exists: true },
      ],
    });
    expect(await check(invoice(130.5))).toEqual([
      {
        code: "assertion_failed",
        path: "output.json.invoice_id",
        message:
          'output.json.invoice_id is "INV-7", which does not match, expected matches /^INV-\\d{4}$/',
        observed: "INV-7",
        expected: "matches /^INV-\\d{4}$/",
      },
      {
        code: "assertion_failed",
        path: "output.json.currency",
        message: "output.json.currency is absent, expected present",
        observed: ABSENT,
        expected: "present",
      },
    ]);
  });

  it("checks that the total is the sum of the items (JSONata)", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [{ expression: SUM, message: "the total is not the sum of the items" }],
    });
    expect(await check(invoice(130.5))).toEqual([]);
    expect(await check(invoice(140))).toEqual([
      {
        code: "expr_false",
        path: "",
        message: "the total is not the sum of the items",
        observed: false,
        expected: "true",
      },
    ]);
  });

  it("explains a false or non-boolean result without a message", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [{ expression: "output.json.nope" }, { expression: "usage.input_tokens + 1" }],
    });
    expect(await check(invoice(1))).toEqual([
      {
        code: "expr_false",
        path: "",
        message: "expression output.json.nope is undefined (nothing matched), expected true",
        observed: undefined,
        expected: "true",
      },
      {
        code: "expr_false",
        path: "",
        message: "expression usage.input_tokens + 1 is 413, expected true",
        observed: 413,
        expected: "true",
      },
    ]);
  });

  it("stops runaway recursion and long loops", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [
        { expression: "($f := function($x) { $f($x + 1) + 1 }; $f(0))" },
        { expression: "($loop := function($n) { $n > 0 ? $loop($n + 1) : 0 }; $loop(1))" },
        { expression: "$sum([1..1000000].($ * $)) > 0" },
      ],
    });
    const started = performance.now();
    const drafts = await check(invoice(1));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(drafts.map((draft) => draft.code)).toEqual([
      "expr_timeout",
      "expr_timeout",
      "expr_timeout",
    ]);
    expect(drafts[0]?.message).toMatch(
      /was stopped after 50 ms or 500 levels of nesting: D101[12]/,
    );
  });

  it("gives the engine's retry of a timed-out expression the longer budget", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [{ expression: "usage.input_tokens > 1" }],
    });
    // A clock that moves 30 ms between two looks: what an evaluation held up by GC or by
    // another process sees. JSONata's guardrail reads Date.now on every step.
    let clock = 1_767_225_600_000;
    const stalled = vi.spyOn(Date, "now").mockImplementation(() => (clock += 30));
    let first: unknown;
    let retry: unknown;
    try {
      first = await check(invoice(1));
      retry = await check(invoice(1), undefined, "retry");
    } finally {
      stalled.mockRestore();
    }
    expect(first).toMatchObject([
      { code: "expr_timeout", message: expect.stringMatching(/stopped after 50 ms or 500/) },
    ]);
    expect(retry).toEqual([]);
  });

  it("stops a runaway expression on its retry too, after the retry's budget", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [{ expression: "$sum([1..1000000].($ * $)) > 0" }],
    });
    const started = performance.now();
    const drafts = await check(invoice(1), undefined, "retry");
    expect(performance.now() - started).toBeGreaterThanOrEqual(EXPR_RETRY_TIMEOUT_MS - 5);
    expect(drafts).toMatchObject([
      {
        code: "expr_timeout",
        message: expect.stringContaining(
          `stopped after ${EXPR_RETRY_TIMEOUT_MS} ms on its retry (${EXPR_TIMEOUT_MS} ms at first)`,
        ),
      },
    ]);
  });

  it("reports an expression that throws as expr_error", async () => {
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [{ expression: '$number("twelve") > 1' }],
    });
    expect(await check(invoice(1))).toMatchObject([
      { code: "expr_error", message: expect.stringContaining("D3030") as unknown },
    ]);
  });

  it("runs JSONata regexes on RE2", async () => {
    const row = makeRow({ OutputText: `${"a".repeat(50_000)}b` });
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [
        { expression: "$contains(output.text, /(a+)+$/)" },
        { expression: '$match("INV-7 and INV-8", /INV-(\\d)/).groups[0] = ["7", "8"]' },
      ],
    });
    const started = performance.now();
    expect(await check(row)).toMatchObject([{ code: "expr_false", observed: false }]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(
      issuesOf((issues) =>
        compileAssertCheck(
          {
            type: "assert",
            assertions: [],
            expr: [{ expression: "$contains(output.text, /(?=a)/)" }],
          },
          issues,
        ),
      ),
    ).toEqual([expect.stringMatching(/^\/expr\/0\/expression: .*not valid RE2/)]);
  });

  it("rejects a JSONata syntax error and a bad assertion at compile time, with a pointer", () => {
    const pointerOf = (check: AssertCheck) =>
      issuesOf((issues) => compileAssertCheck(check, issues))
        .join("\n")
        .replace(": ", " ");
    expect(pointerOf({ type: "assert", assertions: [], expr: [{ expression: "$sum(" }] })).toMatch(
      /^\/expr\/0\/expression invalid JSONata expression: /,
    );
    expect(
      pointerOf({
        type: "assert",
        assertions: [
          { field: "output.text", equals: "x" },
          { field: "output.text", matches: "(" },
        ],
      }),
    ).toMatch(/^\/assertions\/1\/matches invalid regular expression/);
  });
});

describe("expressionInput", () => {
  it("exposes the output's fields, JSON parsed, absent ones undefined", () => {
    const row = makeRow({
      Kind: "tool",
      ToolName: "crm_lookup",
      ToolArguments: '{"id":42}',
      ToolResult: "not json",
      OutputText: "",
      InputTokens: "7" as unknown as number,
      OutputTokens: null,
      DurationNs: "1500000",
    });
    const input = expressionInput(row) as Record<string, Record<string, unknown>>;
    expect(input.tool).toEqual({ name: "crm_lookup", arguments: { id: 42 }, result: "not json" });
    expect(input.usage).toEqual({ input_tokens: 7, output_tokens: undefined });
    expect(input.duration_ms).toBe(1.5);
    expect(input.output?.json).toBeUndefined();
    expect(input.attributes).toEqual(row.SpanAttributes);
    expect(expressionInput(row)).toBe(input);
  });

  it("exposes evaluation results by name, as the evaluation fields read them", async () => {
    const row = makeRow({
      SpanAttributes: {
        "plumbline.evaluation.Relevance.score": "2",
        "plumbline.evaluation.Relevance.label": "not_relevant",
        "plumbline.evaluation.answer.quality.score": "0.9",
      },
    });
    expect((expressionInput(row) as Record<string, unknown>).evaluation).toEqual({
      Relevance: { score: 2, label: "not_relevant" },
      "answer.quality": { score: 0.9 },
    });
    const check = assertCheck({
      type: "assert",
      assertions: [],
      expr: [
        {
          expression: "evaluation.Relevance.score >= 3 or evaluation.`answer.quality`.score < 0.5",
        },
      ],
    });
    expect((await check(row)).map((f) => f.code)).toEqual(["expr_false"]);
  });
});
