import { describe, expect, it } from "vitest";
import { compiled, issuesOf } from "../../test/helpers/rules.ts";
import { compileCondition } from "./conditions.ts";
import { ABSENT } from "./finding.ts";
import { makeRow } from "../../test/helpers/make-row.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { Condition } from "../rules/rule.ts";

const invoice = makeRow({
  OutputText: JSON.stringify({
    invoice_id: "INV-2024-0042",
    total: 130.5,
    currency: "EUR",
    tags: ["urgent", "b2b"],
    note: "",
    items: [
      { sku: "A-1", amount: 100 },
      { sku: "B-7", amount: 30.5 },
    ],
  }),
  OutputTokens: "38" as unknown as number,
});
const plain = makeRow({ OutputText: "Your order #4411 shipped yesterday." });

function test(condition: Condition, row = invoice) {
  return compiled((issues) => compileCondition(condition, issues)).test(row);
}

describe("operators on present values", () => {
  it.each<[Condition, boolean, AgentOutputRow?]>([
    [{ field: "output.json.currency", equals: "EUR" }, true],
    [{ field: "output.json.currency", equals: "USD" }, false],
    [{ field: "output.json.tags", equals: ["urgent", "b2b"] }, true],
    [{ field: "attributes.gen_ai.request.temperature", equals: 0.2 }, true],
    [{ field: "output.json.currency", not_equals: "USD" }, true],
    [{ field: "output.json.currency", not_equals: "EUR" }, false],
    [{ field: "output.json.currency", in: ["EUR", "USD"] }, true],
    [{ field: "output.json.currency", in: ["GBP"] }, false],
    [{ field: "output.json.currency", not_in: ["GBP"] }, true],
    [{ field: "output.json.currency", not_in: ["EUR"] }, false],
    [{ field: "output.text", contains: "shipped" }, true, plain],
    [{ field: "output.text", contains: "SHIPPED" }, false, plain],
    [{ field: "output.text", contains: "SHIPPED", ignore_case: true }, true, plain],
    [{ field: "output.json.tags", contains: "urgent" }, true],
    [{ field: "output.json.tags", contains: "urg" }, false],
    [{ field: "output.text", not_contains: "sorry" }, true, plain],
    [{ field: "output.text", not_contains: "order" }, false, plain],
    [{ field: "output.json.invoice_id", matches: "^INV-\\d{4}-\\d{4}$" }, true],
    [{ field: "output.json.invoice_id", matches: "^inv-", ignore_case: true }, true],
    [{ field: "output.json.invoice_id", matches: "^inv-" }, false],
    [{ field: "output.text", not_matches: "(?i)as an ai" }, true, plain],
    [{ field: "output.text", not_matches: "#\\d+" }, false, plain],
    [{ field: "output.json.total", min: 0 }, true],
    [{ field: "output.json.total", min: 200 }, false],
    [{ field: "usage.output_tokens", max: 100 }, true],
    [{ field: "usage.output_tokens", max: 10 }, false],
    [{ field: "output.json.total", between: [100, 200] }, true],
    [{ field: "output.json.total", between: [0, 100] }, false],
    [{ field: "output.json.currency", min: 0 }, false],
    [{ field: "output.json.items", length_between: [1, 5] }, true],
    [{ field: "output.json.invoice_id", length_between: [1, 5] }, false],
    [{ field: "output.json.total", length_between: [1, 5] }, false],
    [{ field: "output.json.total", exists: true }, true],
    [{ field: "output.json.total", exists: false }, false],
    [{ field: "output.json.invoice_id", not_empty: true }, true],
    [{ field: "output.json.note", not_empty: true }, false],
    [{ field: "output.json.note", not_empty: false }, true],
    [{ field: "output.text", is_json: true }, true],
    [{ field: "output.text", is_json: false }, false],
    [{ field: "output.json.invoice_id", error_payload: false }, true],
  ])("%j → %s", (condition, ok, row) => {
    expect(test(condition, row).ok).toBe(ok);
  });

  it("says what was seen and expected", () => {
    expect(test({ field: "output.json.total", max: 100 })).toEqual({
      ok: false,
      path: "output.json.total",
      observed: 130.5,
      expected: "<= 100",
      message: "output.json.total is 130.5, expected <= 100",
    });
    expect(test({ field: "output.json.currency", in: ["USD", "GBP"] })).toMatchObject({
      observed: "EUR",
      expected: 'one of ["USD","GBP"]',
      message: 'output.json.currency is "EUR", expected one of ["USD","GBP"]',
    });
    expect(test({ field: "output.text", not_matches: "#\\d+" }, plain)).toMatchObject({
      expected: "does not match /#\\d+/",
      message: 'output.text matches at "#4411", expected does not match /#\\d+/',
    });
  });

  it("uses the rule's message when it has one", () => {
    expect(
      test({ field: "output.json.total", max: 100, message: "invoices above 100 need review" }),
    ).toMatchObject({ ok: false, message: "invoices above 100 need review" });
  });

  it("checks every operator of one condition", () => {
    expect(test({ field: "output.json.total", min: 0, max: 100 })).toMatchObject({
      ok: false,
      expected: "<= 100",
    });
  });

  it("reads plain text as not JSON, fenced JSON as JSON", () => {
    expect(test({ field: "output.text", is_json: true }, plain)).toMatchObject({
      ok: false,
      observed: "Your order #4411 shipped yesterday.",
      message: "output.text is not JSON, expected JSON",
    });
    const fenced = makeRow({ OutputText: '```json\n{"a":1}\n```', OutputJson: '{"a":1}' });
    expect(test({ field: "output.text", is_json: true }, fenced).ok).toBe(true);
    const tool = makeRow({ ToolArguments: '{"to":"a@b.c"', ToolName: "send_email" });
    expect(test({ field: "tool.arguments", is_json: true }, tool).ok).toBe(false);
    expect(test({ field: "tool.arguments", is_json: false }, tool).ok).toBe(true);
  });

  it("detects error payloads in tool results", () => {
    const failed = makeRow({ Kind: "tool", ToolName: "crm_lookup", ToolResult: '{"ok":false}' });
    expect(test({ field: "tool.result", error_payload: false }, failed)).toEqual({
      ok: false,
      path: "tool.result",
      observed: '{"ok":false}',
      expected: "not an error payload",
      message:
        'tool.result looks like an error payload ("ok" is false), expected not an error payload',
    });
    expect(test({ field: "tool.result", error_payload: true }, failed).ok).toBe(true);
    const fine = makeRow({ Kind: "tool", ToolName: "crm_lookup", ToolResult: '{"ok":true}' });
    expect(test({ field: "tool.result", error_payload: false }, fine).ok).toBe(true);
    const text = makeRow({ Kind: "tool", ToolName: "crm_lookup", ToolResult: "401 Unauthorized" });
    expect(test({ field: "tool.result", error_payload: false }, text)).toMatchObject({
      ok: false,
      message: expect.stringContaining('text says "Unauthorized"') as unknown,
    });
  });
});

describe("absent fields", () => {
  const holds: Condition[] = [
    { field: "tool.name", exists: false },
    { field: "tool.name", not_equals: "x" },
    { field: "tool.name", not_in: ["x"] },
    { field: "tool.name", not_contains: "x" },
    { field: "tool.name", not_matches: "x" },
    { field: "tool.name", not_empty: false },
    { field: "tool.result", is_json: false },
    { field: "tool.result", error_payload: false },
  ];
  const fails: Condition[] = [
    { field: "tool.name", exists: true },
    { field: "tool.name", equals: "x" },
    { field: "tool.name", in: ["x"] },
    { field: "tool.name", contains: "x" },
    { field: "tool.name", matches: "x" },
    { field: "usage.input_tokens", min: 0 },
    { field: "usage.input_tokens", max: 0 },
    { field: "usage.input_tokens", between: [0, 1] },
    { field: "tool.name", length_between: [0, 1] },
    { field: "tool.name", not_empty: true },
    { field: "tool.result", is_json: true },
    { field: "tool.result", error_payload: true },
  ];
  const row = makeRow({ InputTokens: null });

  it.each(holds)("%j holds", (condition) => {
    expect(test(condition, row)).toEqual({ ok: true });
  });

  it.each(fails)("%j fails as absent", (condition) => {
    expect(test(condition, row)).toMatchObject({
      ok: false,
      path: condition.field,
      observed: ABSENT,
      message: expect.stringContaining(`${condition.field} is absent`) as unknown,
    });
  });

  it("says when output.json is absent because the output is not JSON", () => {
    expect(test({ field: "output.json.total", min: 0 }, plain)).toMatchObject({
      ok: false,
      observed: ABSENT,
      message: "output.json.total is absent (the output is not JSON), expected >= 0",
    });
  });
});

describe("[*] fields", () => {
  it("needs every element to satisfy the operator and names the failing one", () => {
    expect(test({ field: "output.json.items[*].amount", min: 0 }).ok).toBe(true);
    expect(test({ field: "output.json.items[*].amount", min: 50 })).toEqual({
      ok: false,
      path: "output.json.items[1].amount",
      observed: 30.5,
      expected: ">= 50",
      message: "output.json.items[1].amount is 30.5, expected >= 50",
    });
  });

  it("treats an element lacking the path as absent", () => {
    const row = makeRow({ OutputText: '{"items":[{"amount":5},{"sku":"C-3"}]}' });
    expect(test({ field: "output.json.items[*].amount", exists: true }, row)).toMatchObject({
      ok: false,
      path: "output.json.items[1].amount",
      observed: ABSENT,
    });
    expect(test({ field: "output.json.items[*].amount", not_equals: 0 }, row).ok).toBe(true);
  });

  it("holds vacuously on an empty array", () => {
    const row = makeRow({ OutputText: '{"items":[]}' });
    expect(test({ field: "output.json.items[*].amount", min: 1 }, row).ok).toBe(true);
    expect(test({ field: "output.json.items", not_empty: true }, row).ok).toBe(false);
  });
});

describe("compilation", () => {
  it("rejects an invalid regex with the reason, at compile time", () => {
    const issues = (condition: Condition) => issuesOf((i) => compileCondition(condition, i));
    const [unclosed, ...more] = issues({ field: "output.text", matches: "(unclosed" });
    expect(more).toEqual([]);
    expect(unclosed).toMatch(/^\/matches: invalid regular expression "\(unclosed"/);
    expect(issues({ field: "output.text", matches: "(?=x)y" })).toEqual([
      expect.stringMatching(/^\/matches: .*no lookaround/),
    ]);
  });

  it("rejects unknown fields, missing operators and bad operands", () => {
    const issues = (condition: Condition) => issuesOf((i) => compileCondition(condition, i));
    expect(issues({ field: "output.txt", equals: 1 })).toEqual([
      expect.stringMatching(/^\/field: unknown field/),
    ]);
    expect(issues({ field: "output.text" })).toEqual([
      expect.stringMatching(/^: .*has no operator/),
    ]);
    expect(issues({ field: "duration_ms", between: [5, 1] })).toEqual([
      expect.stringMatching(/^\/between: .*low <= high/),
    ]);
  });

  it("reports every bad operand of a condition, not only the first", () => {
    const issues = issuesOf((i) =>
      compileCondition({ field: "output.text", matches: "(", min: "x" as unknown as number }, i),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^\/matches: invalid regular expression/),
      "/min: needs a number",
    ]);
  });

  it("runs a catastrophic-looking regex in linear time", () => {
    const row = makeRow({ OutputText: `${"a".repeat(100_000)}b` });
    // A backtracking engine takes exponential time to give up on this input.
    const compile = (condition: Condition) =>
      compiled((issues) => compileCondition(condition, issues));
    const matches = compile({ field: "output.text", matches: "(a+)+$" });
    const notMatches = compile({ field: "output.text", not_matches: "^(a|aa)+$" });
    const started = performance.now();
    const outcome = matches.test(row);
    expect(notMatches.test(row)).toEqual({ ok: true });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ ok: false, expected: "matches /(a+)+$/" });
    expect(compile({ field: "output.text", matches: "(a+)+b$" }).test(row).ok).toBe(true);
  });
});

describe("text caps", () => {
  it("reads at most the first 1 MiB for regexes and contains", () => {
    const row = makeRow({ OutputText: `${"x".repeat(1 << 20)}NEEDLE` });
    expect(test({ field: "output.text", matches: "NEEDLE" }, row).ok).toBe(false);
    expect(test({ field: "output.text", contains: "NEEDLE" }, row).ok).toBe(false);
    expect(test({ field: "output.text", length_between: [0, 1 << 20] }, row).ok).toBe(false);
  });
});
