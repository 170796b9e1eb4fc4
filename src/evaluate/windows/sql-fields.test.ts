/** SqlParams, naturalKind and fieldSql's refusals; the values fieldSql reads are checked
 * against readField on a real store in sql-match.test.ts. */

import { describe, expect, it } from "vitest";
import { parseTestRule } from "../../../test/helpers/rules.ts";
import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import { fieldSql } from "./sql-fields.ts";
import { SqlParams } from "./sql-params.ts";
import { naturalKind } from "../../rules/field-grammar.ts";

function field(text: string): FieldRef {
  const parsed = parseField(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.field;
}

describe("SqlParams", () => {
  it("names placeholders in order and reuses one for the same value and type", () => {
    const params = new SqlParams();
    expect(params.add("a", "String")).toBe("{p0:String}");
    expect(params.add(["a", "b"], "Array(String)")).toBe("{p1:Array(String)}");
    expect(params.add("a", "String")).toBe("{p0:String}");
    expect(params.add("a", "LowCardinality(String)")).toBe("{p2:LowCardinality(String)}");
    expect(params.values).toEqual({ p0: "a", p1: ["a", "b"], p2: "a" });
  });

  it("passes numbers as text, which chDB binds beyond 2^53 too", () => {
    const params = new SqlParams("w");
    expect(params.add(1e21, "Float64")).toBe("{w0:Float64}");
    params.add([0.1, -2, 1e21], "Array(Float64)");
    params.add([], "Array(String)");
    expect(params.values).toEqual({ w0: "1e+21", w1: "[0.1,-2,1e+21]", w2: [] });
  });
});

describe("naturalKind", () => {
  it.each([
    ["usage.input_tokens", "numeric"],
    ["duration_ms", "numeric"],
    ["output.length", "numeric"],
    ["output.text", "categorical"],
    ["model", "categorical"],
    ["tool.arguments", "categorical"],
    ["tool.result.status", undefined],
    ["output.json", undefined],
    ["output.json.total", undefined],
    ["attributes.gen_ai.request.model", undefined],
    ["resource.service.version", undefined],
    ["evaluation.Relevance.score", "numeric"],
    ["evaluation.Relevance.label", "categorical"],
  ])("%s is %s", (text, kind) => {
    expect(naturalKind(field(text))).toBe(kind);
  });
});

describe("fieldSql", () => {
  it("is never asked for a [*] path: a window rule reading one is refused at load", () => {
    const loaded = parseTestRule({
      id: "w",
      check: { type: "drift", field: "output.json.items[*].amount", kind: "numeric" },
    });
    expect(loaded.ok ? [] : loaded.errors.map((e) => [e.pointer, e.message])).toEqual([
      ["/check/field", expect.stringMatching(/\[\*\].*per-output rule/)],
    ]);
    expect(() =>
      fieldSql(field("output.json.items[*].amount"), "numeric", new SqlParams()),
    ).toThrow(/\[\*\]/);
  });

  it("binds keys and indexes as parameters", () => {
    const params = new SqlParams();
    const sql = fieldSql(field(`output.json["it's {p9:String}"][3]`), "categorical", params);
    expect(sql).not.toContain("it's");
    expect(params.values).toMatchObject({ p0: "it's {p9:String}", p1: "4" });
    const attribute = fieldSql(field("attributes.a'b"), "numeric", params);
    expect(attribute).not.toContain("a'b");
    expect(Object.values(params.values)).toContain("a'b");
  });
});
