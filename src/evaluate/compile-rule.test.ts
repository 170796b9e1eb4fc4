import { describe, expect, it, vi } from "vitest";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { compiled, issuesOf } from "../../test/helpers/rules.ts";
import { compileRule as compileWithIssues } from "./compile-rule.ts";
import { excerpt } from "./finding.ts";
import { makeRow, TEST_RULE_DEFAULTS } from "../../test/helpers/make-row.ts";
import type { Check, MatchSpec, Rule } from "../rules/rule.ts";

function rule(id: string, check: Check, match: MatchSpec = {}): Rule {
  return { ...TEST_RULE_DEFAULTS, id, match, check };
}

const compileRule = (spec: Rule) => compiled((issues) => compileWithIssues(spec, issues));

const invoiceRule = rule(
  "invoice-extraction-complete",
  {
    type: "json_schema",
    field: "output.json",
    schema: { type: "object", required: ["invoice_id", "total"] },
  },
  { service: "billing-agent", agent: "invoice-*" },
);

const extraction = makeRow({
  ServiceName: "billing-agent",
  AgentName: "invoice-extractor",
  OutputText: '{"invoice_id":"INV-9"}',
});

describe("compileRule", () => {
  it("compiles an output rule: match, then findings stamped with rule and span", async () => {
    const compiled = compileRule(invoiceRule);
    expect(compiled.scope).toBe("output");
    expect(compiled).toMatchObject(invoiceRule);
    expect(compiled.matches(extraction)).toBe(true);
    expect(compiled.matches(makeRow())).toBe(false);
    expect(await compiled.evaluateOutput(extraction)).toEqual([
      {
        ruleId: "invoice-extraction-complete",
        ruleVersion: "0123456789ab",
        severity: "warning",
        code: "schema_violation",
        path: "output.json/total",
        message: 'output.json is missing the required property "total"',
        observed: "(absent)",
        expected: "required total",
        traceId: extraction.TraceId,
        spanId: extraction.SpanId,
        scope: "output",
        time: extraction.Timestamp,
        labels: {
          service: extraction.ServiceName,
          agent: extraction.AgentName,
          operation: extraction.Operation,
          model: extraction.Model,
          tool: extraction.ToolName,
        },
      },
    ]);
    expect(compiled.evaluateTrace([extraction])).toEqual([]);
  });

  it("compiles assert and trace rules", async () => {
    const refusal = compileRule(
      rule("no-refusal", {
        type: "assert",
        assertions: [
          { field: "output.text", not_matches: "\\bI can(?:no|')t help\\b", ignore_case: true },
        ],
      }),
    );
    const row = makeRow({ OutputText: "I can't help with that request." });
    expect((await refusal.evaluateOutput(row)).map((f) => [f.code, f.observed])).toEqual([
      ["assertion_failed", "I can't help with that request."],
    ]);
    const count = compileRule(
      rule("llm-budget", { type: "trace", kind: "count", max: 1 }, { kind: "llm" }),
    );
    expect(count.scope).toBe("trace");
    expect(await count.evaluateOutput(row)).toEqual([]);
    expect(count.evaluateTrace([row, { ...row, SpanId: "b7ad6b7169203331" }])).toMatchObject([
      { ruleId: "llm-budget", code: "count_out_of_range", observed: "2" },
    ]);
  });

  it("turns an exception during evaluation into one rule_error finding", async () => {
    const compiled = compileRule(
      rule("attr-check", {
        type: "assert",
        assertions: [{ field: "attributes.tenant", exists: true }],
      }),
    );
    const broken = { ...makeRow(), SpanAttributes: null } as unknown as AgentOutputRow;
    const findings = await compiled.evaluateOutput(broken);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      ruleId: "attr-check",
      code: "rule_error",
      spanId: broken.SpanId,
      message: expect.stringContaining("rule attr-check failed while evaluating:") as unknown,
    });
    const trace = compileRule(
      rule("dup", { type: "trace", kind: "unique", key: ["attributes.tenant"] }),
    );
    expect(trace.evaluateTrace([broken])).toMatchObject([
      { code: "rule_error", spanId: broken.SpanId },
    ]);
  });

  it("passes the engine's retry on to the checks, whose expressions then get the longer budget", async () => {
    const compiled = compileRule(
      rule("tokens", {
        type: "assert",
        assertions: [],
        expr: [{ expression: "usage.input_tokens > 1" }],
      }),
    );
    // Each look at the clock 30 ms later: an evaluation held up by GC or load.
    let clock = 1_767_225_600_000;
    const stalled = vi.spyOn(Date, "now").mockImplementation(() => (clock += 30));
    try {
      expect(await compiled.evaluateOutput(makeRow())).toMatchObject([{ code: "expr_timeout" }]);
      expect(await compiled.evaluateOutput(makeRow(), "retry")).toEqual([]);
    } finally {
      stalled.mockRestore();
    }
  });

  it("points compile errors into the rule file", () => {
    const pointerOf = (bad: Rule) =>
      issuesOf((issues) => compileWithIssues(bad, issues))
        .map((i) => i.split(": ")[0])
        .join();
    expect(
      pointerOf(
        rule("a", { type: "assert", assertions: [{ field: "output.text", matches: "[" }] }),
      ),
    ).toBe("/check/assertions/0/matches");
    expect(pointerOf(rule("b", invoiceRule.check, { service: [] }))).toBe("/match/service");
    expect(
      pointerOf(
        rule("c", { type: "json_schema", field: "output.json", schema: { minimum: "zero" } }),
      ),
    ).toBe("/check/schema");
    expect(pointerOf(rule("d", { type: "trace", kind: "unique", key: ["tool.nam"] }))).toBe(
      "/check/key/0",
    );
    expect(
      pointerOf(
        rule("e", {
          type: "trace",
          kind: "sequence",
          before: { where: [{ field: "output.text" }] },
          after: {},
        }),
      ),
    ).toBe("/check/before/where/0");
  });

  it("keeps observed excerpts to 200 characters", async () => {
    const compiled = compileRule(
      rule("short", {
        type: "assert",
        assertions: [{ field: "output.text", length_between: [0, 10] }],
      }),
    );
    const [finding] = await compiled.evaluateOutput(makeRow({ OutputText: "x".repeat(5000) }));
    expect(finding?.observed).toHaveLength(200);
    expect(finding?.observed.endsWith("…")).toBe(true);
    expect(excerpt({ a: 1 })).toBe('{"a":1}');
  });
});
