import { describe, expect, it } from "vitest";
import { cacheFor, decimalNumber, evaluationsOf, readField, readFieldAsJson } from "./fields.ts";
import { naturalKind, parseField, type FieldRef } from "../rules/field-grammar.ts";
import { makeRow } from "../../test/helpers/make-row.ts";

function field(text: string): FieldRef {
  const parsed = parseField(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.field;
}

const invoice = {
  invoice_id: "INV-2024-0042",
  total: 130.5,
  currency: "EUR",
  customer: { name: "Acme GmbH", "vat id": "DE811" },
  items: [
    { sku: "A-1", amount: 100 },
    { sku: "B-7", amount: 30.5 },
  ],
};

describe("parseField", () => {
  it("parses scalar, map and JSON fields", () => {
    expect(field("output.text")).toEqual({
      root: "output.text",
      path: [],
      text: "output.text",
      wildcard: false,
    });
    expect(field("attributes.gen_ai.output.type")).toEqual({
      root: "attributes",
      path: [{ type: "key", key: "gen_ai.output.type" }],
      text: "attributes.gen_ai.output.type",
      wildcard: false,
    });
    expect(field("output.json.items[*].amount").path).toEqual([
      { type: "key", key: "items" },
      { type: "each" },
      { type: "key", key: "amount" },
    ]);
    expect(field('output.json.customer["vat id"]').path).toEqual([
      { type: "key", key: "customer" },
      { type: "key", key: "vat id" },
    ]);
    expect(field("tool.arguments.to[0]").path).toEqual([
      { type: "key", key: "to" },
      { type: "index", index: 0 },
    ]);
    expect(field("output.json.items[*].amount").wildcard).toBe(true);
  });

  it("rejects anything outside the grammar with a reason", () => {
    const cases: [string, string][] = [
      ["output.txt", 'unknown field "output.txt"'],
      ["output.text.foo", "output.text has no path (paths go into output.json)"],
      ["attributes.", "needs a key"],
      ["output.json.items[", 'unclosed "["'],
      ["output.json.items[x]", "expected [<index>], [*]"],
      ["output.json.odd-key", 'unexpected "-"'],
      ["output.json.", 'expected a key after "."'],
      ["usage.total_tokens", "unknown field"],
      ["evaluation", "evaluation fields are evaluation.<name>.score, .label, .explanation"],
      ["evaluation.Relevance", "evaluation fields are"],
      ["evaluation.Relevance.value", "evaluation fields are"],
      ["evaluation..score", "evaluation fields are"],
    ];
    for (const [text, message] of cases) {
      const parsed = parseField(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain(message);
    }
  });
});

describe("evaluation fields", () => {
  const row = makeRow({
    SpanAttributes: {
      "plumbline.evaluation.Relevance.score": "4",
      "plumbline.evaluation.Relevance.label": "relevant",
      "plumbline.evaluation.answer.quality.score": " 0.85 ",
      "plumbline.evaluation.answer.quality.explanation": "Cites the policy.",
      "plumbline.evaluation.Tone.score": "high",
      "plumbline.evaluation.Tone.label": "",
    },
  });

  it("parses evaluation.<name>.<part>, the name being everything in between", () => {
    expect(field("evaluation.answer.quality.score")).toEqual({
      root: "evaluation",
      path: [
        { type: "key", key: "answer.quality" },
        { type: "key", key: "score" },
      ],
      text: "evaluation.answer.quality.score",
      wildcard: false,
    });
    expect(naturalKind(field("evaluation.Relevance.score"))).toBe("numeric");
    expect(naturalKind(field("evaluation.Relevance.label"))).toBe("categorical");
    expect(naturalKind(field("evaluation.Relevance.explanation"))).toBe("categorical");
  });

  it("reads the score as a number, the label and explanation as text", () => {
    expect(readField(row, field("evaluation.Relevance.score"))).toEqual({
      present: true,
      values: [4],
      locations: ["evaluation.Relevance.score"],
    });
    expect(readField(row, field("evaluation.Relevance.label"))).toMatchObject({
      values: ["relevant"],
    });
    expect(readField(row, field("evaluation.answer.quality.score"))).toMatchObject({
      values: [0.85],
    });
    expect(readField(row, field("evaluation.answer.quality.explanation"))).toMatchObject({
      values: ["Cites the policy."],
    });
  });

  it("is absent without a result, with an empty one, and for a score that is no number", () => {
    for (const text of [
      "evaluation.Relevance.explanation",
      "evaluation.Coherence.score",
      "evaluation.Tone.score",
      "evaluation.Tone.label",
    ]) {
      expect(readField(row, field(text)), text).toMatchObject({
        present: false,
        reason: "missing",
      });
    }
  });

  it("gives expressions every result by name", () => {
    expect(evaluationsOf(row)).toEqual({
      Relevance: { score: 4, label: "relevant" },
      "answer.quality": { score: 0.85, explanation: "Cites the policy." },
    });
  });

  it.each([
    ["4", 4],
    [" -0.5 ", -0.5],
    ["1e3", 1000],
    [".5", 0.5],
    ["0x1F", undefined],
    ["Infinity", undefined],
    ["1e400", undefined],
    ["", undefined],
    ["4 stars", undefined],
  ])("reads %j as the decimal number %s, as SQL does", (text, number) => {
    expect(decimalNumber(text)).toBe(number);
  });
});

describe("readField", () => {
  const row = makeRow({
    OutputText: JSON.stringify(invoice),
    Kind: "llm",
    InputTokens: "1024" as unknown as number, // UInt64 as ClickHouse quotes it
    OutputTokens: null,
    DurationNs: "2500000",
    StatusCode: "Ok",
  });

  it("reads columns, counts and durations", () => {
    expect(readField(row, field("usage.input_tokens"))).toEqual({
      present: true,
      values: [1024],
      locations: ["usage.input_tokens"],
    });
    expect(readField(row, field("usage.output_tokens")).present).toBe(false);
    expect(readField(row, field("duration_ms"))).toMatchObject({ values: [2.5] });
    expect(readField(row, field("status"))).toMatchObject({ values: ["Ok"] });
    expect(readField(row, field("tool.name"))).toMatchObject({ present: false, reason: "missing" });
    expect(readField(row, field("service"))).toMatchObject({ values: ["support-agent"] });
    expect(readField(row, field("resource.deployment.environment"))).toMatchObject({
      values: ["prod"],
    });
    expect(readField(row, field("attributes.gen_ai.nope")).present).toBe(false);
  });

  it("reads paths into output.json, with [*] fanning out", () => {
    expect(readField(row, field("output.json.total"))).toMatchObject({ values: [130.5] });
    expect(readField(row, field('output.json.customer["vat id"]'))).toMatchObject({
      values: ["DE811"],
    });
    expect(readField(row, field("output.json.items[1].sku"))).toMatchObject({ values: ["B-7"] });
    expect(readField(row, field("output.json.items[*].amount"))).toEqual({
      present: true,
      values: [100, 30.5],
      locations: ["output.json.items[0].amount", "output.json.items[1].amount"],
    });
    expect(readField(row, field("output.json.items[5]")).present).toBe(false);
    expect(readField(row, field("output.json.customer.name.first")).present).toBe(false);
  });

  it("keeps elements lacking the rest of a [*] path as undefined", () => {
    const partial = makeRow({ OutputText: '{"items":[{"amount":1},{"sku":"x"}]}' });
    expect(readField(partial, field("output.json.items[*].amount"))).toEqual({
      present: true,
      values: [1, undefined],
      locations: ["output.json.items[0].amount", "output.json.items[1].amount"],
    });
    const empty = makeRow({ OutputText: '{"items":[]}' });
    expect(readField(empty, field("output.json.items[*].amount"))).toEqual({
      present: true,
      values: [],
      locations: [],
    });
    const notArray = makeRow({ OutputText: '{"items":{"a":1}}' });
    expect(readField(notArray, field("output.json.items[*]"))).toMatchObject({
      present: false,
      message: "output.json.items is not an array",
    });
  });

  it("tells a missing output from one that is not JSON", () => {
    expect(readField(makeRow({ OutputText: "" }), field("output.json"))).toMatchObject({
      present: false,
      reason: "missing",
    });
    expect(
      readField(makeRow({ OutputText: "Sure! Here it is" }), field("output.json.total")),
    ).toMatchObject({ present: false, reason: "not_json", message: "the output is not JSON" });
  });

  it("reads tool fields as text, and paths into them as JSON", () => {
    const tool = makeRow({
      Kind: "tool",
      ToolName: "send_email",
      ToolArguments: '{"to":["ops@example.com"],"subject":"Refund"}',
      ToolResult: "queued",
    });
    expect(readField(tool, field("tool.arguments"))).toMatchObject({
      values: ['{"to":["ops@example.com"],"subject":"Refund"}'],
    });
    expect(readField(tool, field("tool.arguments.to[0]"))).toMatchObject({
      values: ["ops@example.com"],
    });
    expect(readField(tool, field("tool.result.status"))).toMatchObject({ reason: "not_json" });
    expect(readFieldAsJson(tool, field("tool.arguments"))).toMatchObject({
      values: [{ to: ["ops@example.com"], subject: "Refund" }],
    });
  });

  it("parses JSON once per row, whichever fields read it", () => {
    const fresh = makeRow({ OutputText: JSON.stringify(invoice) });
    readField(fresh, field("output.json.total"));
    readField(fresh, field("output.json.items[*].amount"));
    readFieldAsJson(fresh, field("output.text"));
    const cache = cacheFor(fresh);
    expect([...cache.json.keys()]).toEqual(["output.json"]);
  });

  it("uses the decoder's unfenced JSON for output.text read as JSON", () => {
    const fenced = makeRow({
      OutputText: '```json\n{"ok":true}\n```',
      OutputJson: '{"ok":true}',
    });
    expect(readFieldAsJson(fenced, field("output.text"))).toMatchObject({ values: [{ ok: true }] });
    expect(readFieldAsJson(makeRow({ OutputText: "{oops" }), field("output.text"))).toMatchObject({
      present: false,
      reason: "not_json",
    });
  });
});
