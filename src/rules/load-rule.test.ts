import { loadTestRuleFile, parseTestRule } from "../../test/helpers/rules.ts";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LoadRuleResult } from "./load-rule.ts";
import type { RuleFileError } from "./rule.ts";

const minimal = {
  id: "reply-not-empty",
  check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
};

function errorsOf(result: LoadRuleResult): RuleFileError[] {
  if (result.ok) throw new Error(`expected errors, the rule loaded: ${result.rule.id}`);
  return result.errors;
}

function parse(json: unknown): LoadRuleResult {
  return parseTestRule(json, "test.json");
}

describe("parseRule", () => {
  it("applies defaults and stamps a version", () => {
    const result = parse({ $schema: "../rule.schema.json", ...minimal });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.rule).toMatchObject({
      id: "reply-not-empty",
      description: "",
      severity: "warning",
      enabled: true,
      labels: {},
      match: {},
      file: "test.json",
      check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
    });
    expect(result.rule.version).toMatch(/^[0-9a-f]{12}$/);
    expect(result.rule).not.toHaveProperty("$schema");
  });

  it("gives the same version for the same content, whatever the key order or spelt defaults", () => {
    const a = parse(minimal);
    const b = parse({
      check: { assertions: [{ not_empty: true, field: "output.text" }], type: "assert" },
      severity: "warning",
      enabled: true,
      id: "reply-not-empty",
    });
    const c = parse({ ...minimal, severity: "critical" });
    if (!a.ok || !b.ok || !c.ok) throw new Error("expected all three to load");
    expect(a.rule.version).toBe(b.rule.version);
    expect(c.rule.version).not.toBe(a.rule.version);
  });

  it("reports a misspelt property at its pointer, with a suggestion", () => {
    expect(errorsOf(parse({ ...minimal, sevrity: "critical" }))).toEqual([
      {
        file: "test.json",
        pointer: "/sevrity",
        message: 'unknown property "sevrity" (did you mean "severity"?)',
      },
    ]);
  });

  it("says which values an enum allows", () => {
    expect(errorsOf(parse({ ...minimal, severity: "high" }))).toEqual([
      {
        file: "test.json",
        pointer: "/severity",
        message: "must be one of info, warning, critical",
      },
    ]);
  });

  it("rejects a bad id, a missing check and a runbook that is not a URL", () => {
    const errors = errorsOf(parse({ id: "Bad Id", runbook: "wiki page" }));
    expect(errors.map((e) => e.pointer).sort()).toEqual(["", "/id", "/runbook"]);
    expect(errors.find((e) => e.pointer === "")?.message).toBe('missing required property "check"');
    expect(errors.find((e) => e.pointer === "/id")?.message).toMatch(/lowercase letters/);
  });

  it("names the check types when the type is unknown", () => {
    expect(errorsOf(parse({ id: "x", check: { type: "ratio" } }))).toEqual([
      {
        file: "test.json",
        pointer: "/check/type",
        message:
          "must be one of json_schema, assert, judge, trace, conversation, rate, drift, absent",
      },
    ]);
  });

  it("loads conversation checks and reports every problem of one", () => {
    const ok = parse({
      id: "x",
      check: { type: "conversation", kind: "consistent", field: "tool.arguments.customer_id" },
    });
    expect(ok.ok).toBe(true);
    const errors = errorsOf(
      parse({
        id: "x",
        check: {
          type: "conversation",
          kind: "repeated",
          asks: [{ question: "(unclosed", given: "x" }],
          min_length: 0,
        },
      }),
    );
    expect(errors.map((e) => e.pointer)).toEqual(["/check/min_length"]);
    const compiledErrors = errorsOf(
      parse({
        id: "x",
        check: {
          type: "conversation",
          kind: "repeated",
          asks: [{ question: "(unclosed", given: "x" }],
        },
      }),
    );
    expect(compiledErrors.map((e) => e.pointer)).toEqual(["/check/asks/0/question"]);
    expect(
      errorsOf(
        parse({ id: "x", check: { type: "conversation", kind: "unique", key: ["tool.nam"] } }),
      ),
    ).toMatchObject([{ pointer: "/check/key/0" }]);
    expect(
      errorsOf(parse({ id: "x", check: { type: "conversation", kind: "never" } })),
    ).toMatchObject([
      {
        pointer: "/check/kind",
        message: "must be one of unique, consistent, context_reset, repeated, count, sequence",
      },
    ]);
  });

  it("reports only the errors of the selected check type", () => {
    const errors = errorsOf(
      parse({ id: "x", check: { type: "trace", kind: "count", max: 8, field: "output.text" } }),
    );
    expect(errors).toEqual([
      { file: "test.json", pointer: "/check/field", message: 'unknown property "field"' },
    ]);
    expect(errorsOf(parse({ id: "x", check: { type: "trace", kind: "count" } }))).toEqual([
      { file: "test.json", pointer: "/check", message: "must have at least one of min, max" },
    ]);
    expect(errorsOf(parse({ id: "x", check: { type: "trace", kind: "uniq" } }))).toEqual([
      {
        file: "test.json",
        pointer: "/check/kind",
        message: "must be one of unique, error_propagation, count, sequence",
      },
    ]);
  });

  it("wants exactly one operator per condition", () => {
    const errors = errorsOf(
      parse({
        id: "x",
        check: {
          type: "assert",
          assertions: [
            { field: "output.text" },
            { field: "output.text", equals: "a", matches: "b" },
          ],
        },
      }),
    );
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ pointer: "/check/assertions/0" });
    expect(errors[0]?.message).toMatch(/^must have exactly one of equals, not_equals, in, /);
    expect(errors[1]).toMatchObject({
      pointer: "/check/assertions/1",
      message: expect.stringMatching(/; found equals, matches$/) as unknown,
    });
  });

  it("says a value of the wrong type is the wrong type, and nothing more", () => {
    expect(errorsOf(parse({ ...minimal, match: { service: 3, where: ["output.text"] } }))).toEqual([
      { file: "test.json", pointer: "/match/service", message: "must be a string or an array" },
      { file: "test.json", pointer: "/match/where/0", message: "must be an object" },
    ]);
  });

  it("rejects a field outside the grammar at its pointer", () => {
    const errors = errorsOf(
      parse({ ...minimal, match: { where: [{ field: "output.txt", not_empty: true }] } }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: "test.json", pointer: "/match/where/0/field" });
    expect(errors[0]?.message).toContain('unknown field "output.txt"');
  });

  it("checks fields in any-groups, assertions, schema checks, unique keys and sequences", () => {
    const pointers = (json: unknown) => errorsOf(parse(json)).map((error) => error.pointer);
    expect(
      pointers({
        ...minimal,
        match: {
          where: [
            {
              any: [
                { field: "kind", equals: "llm" },
                { field: "nope", exists: true },
              ],
            },
          ],
        },
      }),
    ).toEqual(["/match/where/0/any/1/field"]);
    expect(
      pointers({
        id: "x",
        check: { type: "assert", assertions: [{ field: "output.text.x", min: 1 }] },
      }),
    ).toEqual(["/check/assertions/0/field"]);
    expect(
      pointers({ id: "x", check: { type: "json_schema", field: "json", schema: {} } }),
    ).toEqual(["/check/field"]);
    expect(
      pointers({
        id: "x",
        check: { type: "trace", kind: "unique", key: ["tool.name", "tool.args"] },
      }),
    ).toEqual(["/check/key/1"]);
    expect(
      pointers({
        id: "x",
        check: {
          type: "trace",
          kind: "sequence",
          before: { tool: "lookup_order" },
          after: { where: [{ field: "tool", equals: "create_refund" }] },
        },
      }),
    ).toEqual(["/check/after/where/0/field"]);
  });

  it("wants ranges low to high", () => {
    expect(
      errorsOf(
        parse({ ...minimal, match: { where: [{ field: "duration_ms", between: [500, 10] }] } }),
      ),
    ).toEqual([
      {
        file: "test.json",
        pointer: "/match/where/0/between",
        message: "must be [low, high]: 500 is greater than 10",
      },
    ]);
    expect(
      errorsOf(parse({ id: "x", check: { type: "trace", kind: "count", min: 9, max: 8 } })),
    ).toEqual([
      { file: "test.json", pointer: "/check/min", message: "min (9) is greater than max (8)" },
    ]);
  });

  it("validates an inline JSON Schema against the 2020-12 meta-schema", () => {
    const errors = errorsOf(
      parse({
        id: "x",
        check: {
          type: "json_schema",
          field: "output.json",
          schema: { type: "object", properties: { total: { type: "numbr" } } },
        },
      }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.pointer).toBe("/check/schema/properties/total/type");
    expect(errors[0]?.message).toMatch(/^must be one of array, boolean, integer, null, number/);
  });

  it("wants a schema or a $ref in a json_schema check", () => {
    expect(
      errorsOf(parse({ id: "x", check: { type: "json_schema", field: "output.json" } })),
    ).toEqual([
      { file: "test.json", pointer: "/check", message: "must have exactly one of schema, $ref" },
    ]);
  });

  it("reports a regex RE2 rejects, and a JSONata syntax error, under /check", () => {
    const regex = errorsOf(
      parse({
        id: "x",
        check: { type: "assert", assertions: [{ field: "output.text", matches: "(?<=a)b" }] },
      }),
    );
    expect(regex).toHaveLength(1);
    expect(regex[0]?.pointer).toMatch(/^\/check\/assertions\/0/);
    expect(regex[0]?.message).toMatch(/regular expression/);
    const expr = errorsOf(
      parse({
        id: "x",
        check: { type: "assert", expr: [{ expression: "$sum(output.json.items" }] },
      }),
    );
    expect(expr).toHaveLength(1);
    expect(expr[0]?.pointer).toMatch(/^\/check\/expr\/0/);
    expect(expr[0]?.message).toMatch(/JSONata/);
  });

  it("rejects a $ref when there is no directory to resolve it in", () => {
    expect(
      errorsOf(
        parse({
          id: "x",
          check: { type: "json_schema", field: "output.json", $ref: "a.schema.json" },
        }),
      ),
    ).toEqual([
      {
        file: "test.json",
        pointer: "/check/$ref",
        message: "$ref is only resolved for rule files; put the schema inline",
      },
    ]);
  });
});

describe("loadRuleFile", () => {
  let root: string;
  let rulesDir: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "plumbline-load-rule-"));
    rulesDir = path.join(root, "rules");
    mkdirSync(path.join(rulesDir, "billing"), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const write = (file: string, json: unknown) =>
    writeFileSync(file, typeof json === "string" ? json : JSON.stringify(json, null, 2));

  const refRule = (ref: string) => ({
    id: "invoice-complete",
    check: { type: "json_schema", field: "output.json", $ref: ref },
  });

  const invoiceSchema = { type: "object", required: ["total"] };

  it("names the file relative to the rules directory", () => {
    const file = path.join(rulesDir, "billing", "reply.json");
    write(file, minimal);
    const result = loadTestRuleFile(file, rulesDir);
    expect(result.ok && result.rule.file).toBe("billing/reply.json");
  });

  it("says where a file stops being JSON", () => {
    const file = path.join(rulesDir, "broken.json");
    write(file, '{\n  "id": "x",\n  "check": {,\n}');
    const errors = errorsOf(loadTestRuleFile(file, rulesDir));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: "broken.json", pointer: "" });
    expect(errors[0]?.message).toMatch(/^not valid JSON \(line 3, column \d+\)/);
  });

  it("puts the content of a $ref'd schema file beside the rule into check.schema", () => {
    write(path.join(rulesDir, "billing", "invoice.schema.json"), invoiceSchema);
    const file = path.join(rulesDir, "billing", "invoice.json");
    write(file, refRule("invoice.schema.json"));
    const result = loadTestRuleFile(file, rulesDir);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.rule.check).toEqual({
      type: "json_schema",
      field: "output.json",
      schema: invoiceSchema,
    });
    expect(result.dependencies).toEqual([path.join(rulesDir, "billing", "invoice.schema.json")]);

    // The version covers the schema's content.
    write(path.join(rulesDir, "billing", "invoice.schema.json"), {
      ...invoiceSchema,
      required: ["id"],
    });
    const changed = loadTestRuleFile(file, rulesDir);
    expect(changed.ok && changed.rule.version).not.toBe(result.rule.version);
  });

  it("allows a $ref elsewhere below the rules directory", () => {
    mkdirSync(path.join(rulesDir, "schemas"));
    write(path.join(rulesDir, "schemas", "invoice.schema.json"), invoiceSchema);
    const file = path.join(rulesDir, "billing", "invoice.json");
    write(file, refRule("../schemas/invoice.schema.json"));
    expect(loadTestRuleFile(file, rulesDir).ok).toBe(true);
  });

  it("rejects a $ref that escapes the rules directory", () => {
    write(path.join(root, "secret.schema.json"), invoiceSchema);
    const file = path.join(rulesDir, "invoice.json");

    write(file, refRule("../secret.schema.json"));
    expect(errorsOf(loadTestRuleFile(file, rulesDir))).toEqual([
      {
        file: "invoice.json",
        pointer: "/check/$ref",
        message: '$ref "../secret.schema.json" points outside the rules directory',
      },
    ]);

    write(file, refRule(path.join(root, "secret.schema.json")));
    expect(errorsOf(loadTestRuleFile(file, rulesDir))[0]?.message).toMatch(
      /^\$ref must be a path relative to the rule file/,
    );

    symlinkSync(path.join(root, "secret.schema.json"), path.join(rulesDir, "link.schema.json"));
    write(file, refRule("link.schema.json"));
    expect(errorsOf(loadTestRuleFile(file, rulesDir))[0]?.message).toBe(
      '$ref "link.schema.json" leads outside the rules directory (symlink)',
    );
  });

  it("reports a missing, broken or invalid schema file", () => {
    const file = path.join(rulesDir, "invoice.json");
    write(file, refRule("missing.schema.json"));
    expect(errorsOf(loadTestRuleFile(file, rulesDir))).toEqual([
      {
        file: "invoice.json",
        pointer: "/check/$ref",
        message: 'schema file "missing.schema.json" not found',
      },
    ]);

    write(path.join(rulesDir, "broken.schema.json"), "{ nope");
    write(file, refRule("broken.schema.json"));
    const broken = errorsOf(loadTestRuleFile(file, rulesDir));
    expect(broken[0]).toMatchObject({ file: "invoice.json", pointer: "/check/$ref" });
    expect(broken[0]?.message).toMatch(/^"broken.schema.json": not valid JSON/);

    write(path.join(rulesDir, "bad.schema.json"), { properties: { total: { minimum: "0" } } });
    write(file, refRule("bad.schema.json"));
    expect(errorsOf(loadTestRuleFile(file, rulesDir))).toEqual([
      {
        file: "bad.schema.json",
        pointer: "/properties/total/minimum",
        message: "must be a number",
      },
    ]);
  });
});
