import { describe, expect, it } from "vitest";
import { compiled, issuesOf } from "../../test/helpers/rules.ts";
import { makeRow } from "../../test/helpers/make-row.ts";
import { compileMatch } from "./match.ts";
import { compilePattern } from "../rules/pattern.ts";
import { OUTPUT_KINDS } from "../rules/rule.ts";
import type { MatchSpec, Pattern } from "../rules/rule.ts";

const pattern = (p: Pattern) => compiled((issues) => compilePattern(p, issues));
const matcher = (spec: MatchSpec) => compiled((issues) => compileMatch(spec, issues));

describe("compilePattern", () => {
  it("matches exact names, globs and lists", () => {
    const exact = pattern("billing-agent");
    expect([exact("billing-agent"), exact("billing-agent-2")]).toEqual([true, false]);
    const glob = pattern("gpt-4o*");
    expect([glob("gpt-4o"), glob("gpt-4o-mini-2024-07-18"), glob("gpt-4")]).toEqual([
      true,
      true,
      false,
    ]);
    const one = pattern("invoice-?");
    expect([one("invoice-a"), one("invoice-"), one("invoice-ab")]).toEqual([true, false, false]);
    const list = pattern(["send_*", "charge_card", "delete_*"]);
    expect(["send_email", "charge_card", "delete_user", "get_user"].map(list)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it("treats regex characters in globs literally", () => {
    const glob = pattern("a.b(*)");
    expect([glob("a.b(x)"), glob("aXb(x)")]).toEqual([true, false]);
  });
});

describe("compileMatch", () => {
  const llm = makeRow();
  const tool = makeRow({
    Kind: "tool",
    Operation: "execute_tool",
    ToolName: "send_email",
    Model: "",
    SpanAttributes: { "gen_ai.tool.type": "function" },
  });

  it("matches everything when empty", () => {
    expect(matcher({})(llm)).toBe(true);
  });

  it("needs every pattern to match", () => {
    const match = matcher({ service: "support-*", kind: "llm", model: "gpt-4o*" });
    expect([match(llm), match(tool)]).toEqual([true, false]);
    expect(matcher({ tool: ["send_*", "charge_*"] })(tool)).toBe(true);
    expect(matcher({ agent: "billing-*" })(llm)).toBe(false);
  });

  it("needs every where clause; an any group needs one of its conditions", () => {
    const match = matcher({
      where: [
        { field: "attributes.gen_ai.request.temperature", max: 0.5 },
        {
          any: [
            { field: "finish_reason", equals: "length" },
            { field: "kind", equals: "llm" },
          ],
        },
      ],
    });
    expect(match(llm)).toBe(true);
    expect(match(makeRow({ SpanAttributes: { "gen_ai.request.temperature": "0.9" } }))).toBe(false);
    expect(match(makeRow({ Kind: "agent", FinishReason: "stop" }))).toBe(false);
    expect(match(makeRow({ Kind: "agent", FinishReason: "length" }))).toBe(true);
  });

  it("knows every kind of output, and reports an exact kind that is none of them", () => {
    for (const kind of OUTPUT_KINDS) {
      expect(matcher({ kind })(makeRow({ Kind: kind }))).toBe(true);
      expect(issuesOf((i) => compileMatch({ kind }, i))).toEqual([]);
    }
    expect(matcher({ kind: "workflow" })(makeRow({ Kind: "agent" }))).toBe(false);
    expect(issuesOf((i) => compileMatch({ kind: "workfow" }, i))).toEqual([
      expect.stringMatching(
        /^\/kind: unknown kind "workfow"; kinds are llm, agent, tool, workflow/,
      ),
    ]);
    expect(issuesOf((i) => compileMatch({ kind: ["llm", "agnet", "tool*"] }, i))).toEqual([
      expect.stringMatching(/^\/kind\/1: unknown kind "agnet"/),
    ]);
  });

  it("reports where each bad clause is", () => {
    const where = [
      { field: "kind", equals: "llm" },
      { any: [{ field: "nope", exists: true }] },
      { field: "model", matches: "(" },
    ];
    expect(issuesOf((i) => compileMatch({ where }, i))).toEqual([
      expect.stringMatching(/^\/where\/1\/any\/0\/field: unknown field "nope"/),
      expect.stringMatching(/^\/where\/2\/matches: invalid regular expression/),
    ]);
    expect(issuesOf((i) => compileMatch({ where: [{ any: [] }] }, i))).toEqual([
      expect.stringMatching(/^\/where\/0\/any: .*at least one/),
    ]);
  });
});
