import { describe, expect, it } from "vitest";
import { compiled, issuesOf } from "../../../test/helpers/rules.ts";
import type { JsonSchemaCheck } from "../../rules/rule.ts";
import { ABSENT } from "../finding.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { compileJsonSchemaCheck } from "./json-schema.ts";

const schemaCheck = (spec: JsonSchemaCheck) =>
  compiled((issues) => compileJsonSchemaCheck(spec, issues));

const invoiceSchema = {
  type: "object",
  required: ["invoice_id", "total", "currency"],
  properties: {
    invoice_id: { type: "string", pattern: "^INV-" },
    total: { type: "number", minimum: 0 },
    currency: { enum: ["EUR", "USD"] },
    items: { type: "array", items: { type: "object", required: ["amount"] } },
  },
  additionalProperties: false,
};

const check = schemaCheck({
  type: "json_schema",
  field: "output.json",
  schema: invoiceSchema,
});

describe("json_schema", () => {
  it("passes a valid output", () => {
    const row = makeRow({
      OutputText: '{"invoice_id":"INV-1","total":12.5,"currency":"EUR","items":[{"amount":12.5}]}',
    });
    expect(check(row)).toEqual([]);
  });

  it("reports every violation with path, observed and expected", () => {
    const row = makeRow({
      OutputText:
        '{"invoice_id":"X-1","total":-3,"currency":"GBP","items":[{"sku":"A"}],"memo":"hi"}',
    });
    expect(check(row)).toEqual([
      {
        code: "schema_violation",
        path: "output.json/memo",
        message: 'output.json has the property "memo", which the schema does not allow',
        observed: "hi",
        expected: "additionalProperties false",
      },
      {
        code: "schema_violation",
        path: "output.json/invoice_id",
        message: 'output.json/invoice_id must match pattern "^INV-"',
        observed: "X-1",
        expected: "pattern ^INV-",
      },
      {
        code: "schema_violation",
        path: "output.json/total",
        message: "output.json/total must be >= 0",
        observed: -3,
        expected: "minimum 0",
      },
      {
        code: "schema_violation",
        path: "output.json/currency",
        message: 'output.json/currency must be one of ["EUR","USD"]',
        observed: "GBP",
        expected: 'enum ["EUR","USD"]',
      },
      {
        code: "schema_violation",
        path: "output.json/items/0/amount",
        message: 'output.json/items/0 is missing the required property "amount"',
        observed: ABSENT,
        expected: "required amount",
      },
    ]);
  });

  it("reports a missing required property at its path", () => {
    const row = makeRow({ OutputText: '{"invoice_id":"INV-1","total":1}' });
    expect(check(row)).toEqual([
      {
        code: "schema_violation",
        path: "output.json/currency",
        message: 'output.json is missing the required property "currency"',
        observed: ABSENT,
        expected: "required currency",
      },
    ]);
  });

  it("says clearly when the output is not JSON, or missing", () => {
    const prose = makeRow({ OutputText: "I could not find an invoice in this document." });
    expect(check(prose)).toEqual([
      {
        code: "not_json",
        path: "output.json",
        message: "output.json is not JSON (the output is not JSON), so it cannot match the schema",
        observed: "I could not find an invoice in this document.",
        expected: "JSON matching the schema",
      },
    ]);
    expect(check(makeRow({ OutputText: "" }))).toEqual([
      {
        code: "missing",
        path: "output.json",
        message: "output.json is missing (the output is empty)",
        observed: ABSENT,
        expected: "a value matching the schema",
      },
    ]);
  });

  it("parses text fields first", () => {
    const toolCheck = schemaCheck({
      type: "json_schema",
      field: "tool.arguments",
      schema: { type: "object", required: ["to"] },
    });
    const broken = makeRow({ Kind: "tool", ToolName: "send_email", ToolArguments: '{"to": "a@b' });
    expect(toolCheck(broken)).toMatchObject([
      { code: "not_json", path: "tool.arguments", observed: '{"to": "a@b' },
    ]);
    const fine = makeRow({ Kind: "tool", ToolName: "send_email", ToolArguments: '{"to":"a@b.c"}' });
    expect(toolCheck(fine)).toEqual([]);
  });

  it("validates each element of a [*] field", () => {
    const items = schemaCheck({
      type: "json_schema",
      field: "output.json.items[*]",
      schema: { type: "object", properties: { amount: { type: "number" } } },
    });
    const row = makeRow({ OutputText: '{"items":[{"amount":1},{"amount":"2"}]}' });
    expect(items(row)).toEqual([
      {
        code: "schema_violation",
        path: "output.json.items[1]/amount",
        message: "output.json.items[1]/amount must be number",
        observed: "2",
        expected: "type number",
      },
    ]);
  });

  it("rejects an invalid schema at compile time", () => {
    const issues = (schemaCheck: JsonSchemaCheck) =>
      issuesOf((i) => compileJsonSchemaCheck(schemaCheck, i));
    expect(
      issues({ type: "json_schema", field: "output.json", schema: { type: "numbr" } }),
    ).toEqual([expect.stringMatching(/^\/schema: invalid JSON Schema: /)]);
    expect(issues({ type: "json_schema", field: "output.jsn", schema: {} })).toEqual([
      expect.stringMatching(/^\/field: unknown field/),
    ]);
  });
});
