/**
 * matchSql and fieldSql against Node on a real embedded store: for every spec, the rows the SQL
 * selects are exactly the rows compileMatch accepts, and every field reads the same value.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore } from "../../../test/helpers/store.ts";
import { withSpanAttributes, type AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { Store } from "../../store/store.ts";
import { compiled } from "../../../test/helpers/rules.ts";
import { parseTestRule } from "../../../test/helpers/rules.ts";
import { readField } from "../fields.ts";
import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import { makeRow, spanRowsFor } from "../../../test/helpers/make-row.ts";
import { compileMatch } from "../match.ts";
import { MAX_MATCH_CHARS } from "../operators.ts";
import type { MatchSpec, WhereClause } from "../../rules/rule.ts";
import { toNumber } from "../values.ts";
import { fieldSql } from "./sql-fields.ts";
import { SqlParams } from "./sql-params.ts";
import { matchSql } from "./sql-match.ts";
import { outputsWithScores } from "./window-queries.ts";

const TRICKY = `He said "hi" \\ path C:\\temp {p0:String} it's`;

const INVOICE = {
  total: 130.5,
  currency: "EUR",
  items: [
    { sku: "A-1", amount: 100 },
    { sku: "B-7", amount: "30.5" },
  ],
  tags: ["URGENT", "billing"],
  ok: true,
  note: null,
  empty: {},
  list: [],
  url: "https://example.com/a",
};

const OVERRIDES: [string, Partial<AgentOutputRow>][] = [
  ["r01", {}],
  ["r02", { OutputText: JSON.stringify(INVOICE), OutputType: "json" }],
  ["r03", { OutputText: '{"total":"12.5","ok":"true","tags":[],"note":"","currency":"usd"}' }],
  ["r04", { OutputText: '{"total":true,"tags":"urgent","ok":false,"note":"  \\u3000"}' }],
  ["r05", { OutputText: '[1, "two", {"three": 3}]', ServiceName: "billing-agent" }],
  ["r06", { OutputText: '```json\n{"total": 7}\n```', OutputJson: '{"total": 7}' }],
  ["r07", { OutputText: "", InputTokens: null, OutputTokens: null, FinishReason: "" }],
  ["r08", { OutputText: "   \n\t", DurationNs: "0" }],
  ["r09", { OutputText: "Grüße 😀 naïve ΣΑΣ İstanbul", AgentName: "refund-bot" }],
  ["r10", { OutputText: "line one\nline two", AgentName: "Refund-Bot" }],
  ["r11", { OutputText: '{"a b": {"c": [10, 20, 30]}, "total": 0.25}' }],
  ["r12", { OutputText: '{"total": 1.5e-7, "items": {"0": "zero", "a": 1}}' }],
  [
    "r13",
    { OutputText: '{"items": [[1, 2], [3]], "total": "  42 "}', ServiceName: "svc.with.dots" },
  ],
  ["r14", { OutputText: "42", ServiceName: "a+b(c)" }],
  ["r15", { OutputText: "{broken json", ServiceName: "svcXwithYdots" }],
  ["r16", { OutputText: "An ERROR occurred", StatusCode: "Error", ErrorType: "timeout" }],
  ["r17", { OutputText: TRICKY, InputTokens: 0, OutputTokens: 0 }],
  ["r18", { OutputText: '{"url":"https://x.io/a/b","msg":"Line\\nTwo \\\\ /","path":"C:\\\\/x"}' }],
  ["r19", { ErrorType: "rate_limit", StatusCode: "Error", FinishReason: "length" }],
  ["r20", { Model: "", Provider: "", DurationNs: "30000000000" }],
  ["r21", { Model: "claude-3-5-sonnet", Provider: "anthropic", AgentName: "" }],
  ["r22", { ServiceName: "support-agent-canary", Operation: "invoke_agent" }],
  ["r23", { OutputType: "text", InputText: "" }],
  // Node looks at the first MAX_MATCH_CHARS characters only.
  ["r24", { OutputText: `${"x".repeat(MAX_MATCH_CHARS - 2)}TAIL` }],
  // Strings ClickHouse would infer as dates, an object with a dotted key (not read as Dynamic).
  [
    "r25",
    {
      OutputText:
        '{"total":"2026-01-01","when":"10:00:00","ok":null,"note":{"a.b":1,"a":{"b":2}},"tags":"2026-01-01 10:00:00"}',
    },
  ],
  ...(
    [
      { ToolName: "search_orders", ToolArguments: '{"query":"order 4411","limit":5}' },
      { ToolName: "search_orders", ToolArguments: "query=4411", ToolResult: "not json" },
      { ToolName: "lookup.v2", ToolArguments: "  ", ToolResult: "42" },
      { ToolName: "lookupXv2", ToolArguments: '{"limit":"5"}', ToolResult: '"done"' },
      { ToolName: "noop", ToolArguments: '{"limit":-0.0}', ToolResult: '[{"id":1},{"id":2}]' },
      { ToolName: "noop", ToolArguments: '{"limit":1e21}', ToolResult: "{}" },
      // Integers beyond 2^53 and 2^63: read as the nearest Float64, as JSON.parse reads them.
      { ToolName: "noop", ToolArguments: '{"limit":9007199254740993}' },
      { ToolName: "noop", ToolArguments: '{"limit":18446744073709551615}' },
    ] as Partial<AgentOutputRow>[]
  ).map((tool, i): [string, Partial<AgentOutputRow>] => [
    `t0${i}`,
    { Kind: "tool", Operation: "execute_tool", OutputText: "", Model: "", ...tool },
  ]),
  ...(
    [
      { retry: "5", flag: "true", blank: "", json: '{"k":1}', spaced: " 7 " },
      { retry: "five", flag: "false", score: "1e3", json: "not json" },
      { retry: "\u00a012\u2003", flag: "TRUE", score: "1e400" },
      { retry: "5.0", blank: " ", score: ".5" },
      { retry: "-0", score: "+5.", json: "[]" },
      { retry: "", score: "1e", json: "" },
    ] as Record<string, string>[]
  ).map((attributes, i): [string, Partial<AgentOutputRow>] => [
    `a0${i}`,
    {
      SpanAttributes: attributes,
      ResourceAttributes: i % 2 === 0 ? { "deployment.environment": "staging" } : {},
      DurationNs: String(999_999 + i * 7_000_000),
    },
  ]),
];

// Evaluation results, as the decoder stores gen_ai.evaluation.result events.
const EVALUATIONS: Record<string, string>[] = [
  { "plumbline.evaluation.Relevance.score": "4", "plumbline.evaluation.Relevance.label": "pass" },
  {
    "plumbline.evaluation.Relevance.score": " 1.5e0 ",
    "plumbline.evaluation.Relevance.label": "fail",
    "plumbline.evaluation.Relevance.explanation": "Off topic",
  },
  { "plumbline.evaluation.Relevance.score": "0x1F", "plumbline.evaluation.Relevance.label": "" },
  { "plumbline.evaluation.Relevance.score": "" },
];
OVERRIDES.push(
  ...EVALUATIONS.map((attributes, i): [string, Partial<AgentOutputRow>] => [
    `e0${i}`,
    { SpanAttributes: attributes },
  ]),
);

const ROWS = OVERRIDES.map(([id, overrides]) => makeRow({ SpanId: id, ...overrides }));

const CASES: [string, MatchSpec][] = [
  ["exact service", { service: "support-agent" }],
  ["service list", { service: ["billing-agent", "svc.with.dots"] }],
  ["glob *", { service: "support-*" }],
  ["glob ? matches one character", { service: "svc?with?dots" }],
  ["glob escapes regex characters", { service: "a+b(*" }],
  ["exact and glob mixed, case-sensitive", { agent: ["Refund-Bot", "support-*"] }],
  ["non-empty tool names", { tool: "?*" }],
  ["tool glob with a dot", { tool: "lookup.v?" }],
  [
    "two patterns and a clause",
    { model: "gpt-4o*", operation: "chat", where: [w("kind", { equals: "llm" })] },
  ],
  ["exists", { where: [w("output.json.total", { exists: true })] }],
  ["exists false", { where: [w("output.json.total", { exists: false })] }],
  ["an attribute set to '' exists", { where: [w("attributes.blank", { exists: true })] }],
  ["missing tokens", { where: [w("usage.input_tokens", { exists: false })] }],
  ["empty model is absent", { where: [w("model", { exists: true })] }],
  ["not_empty text", { where: [w("output.text", { not_empty: true })] }],
  [
    "not_empty false on JSON",
    { where: [w("output.json.note", { exists: true, not_empty: false })] },
  ],
  ["not_empty on arrays and strings", { where: [w("output.json.tags", { not_empty: true })] }],
  [
    "not_empty on {} and attributes",
    {
      where: [
        any(
          w("output.json.empty", { exists: true, not_empty: false }),
          w("attributes.blank", { exists: true, not_empty: false }),
        ),
      ],
    },
  ],
  ["is_json output.text", { where: [w("output.text", { is_json: true })] }],
  ["is_json false output.text", { where: [w("output.text", { is_json: false })] }],
  [
    "is_json tool fields",
    { where: [any(w("tool.arguments", { is_json: true }), w("tool.result", { is_json: false }))] },
  ],
  ["is_json attributes", { where: [w("attributes.json", { is_json: true })] }],
  ["is_json inside JSON", { where: [w("output.json.total", { is_json: false })] }],
  ["is_json numbers", { where: [w("usage.input_tokens", { is_json: true })] }],
  ["equals string", { where: [w("output.json.currency", { equals: "EUR" })] }],
  ["equals number reads numeric strings", { where: [w("output.json.total", { equals: 12.5 })] }],
  ["equals number on attributes", { where: [w("attributes.retry", { equals: 5 })] }],
  ["equals -0 and 0", { where: [w("tool.arguments.limit", { equals: 0 })] }],
  [
    "equals true",
    { where: [any(w("output.json.ok", { equals: true }), w("attributes.flag", { equals: true }))] },
  ],
  [
    "equals false",
    {
      where: [any(w("output.json.ok", { equals: false }), w("attributes.flag", { equals: false }))],
    },
  ],
  ["equals null", { where: [w("output.json.note", { equals: null })] }],
  ["date-like strings stay strings", { where: [w("output.json.when", { equals: "10:00:00" })] }],
  ["date-like strings are not numbers", { where: [w("output.json.total", { max: 1e6 })] }],
  [
    "numbers never equal strings",
    {
      where: [
        any(w("usage.input_tokens", { equals: "412" }), w("service", { equals: "billing-agent" })),
      ],
    },
  ],
  ["equals on tokens", { where: [w("usage.input_tokens", { equals: 412 })] }],
  ["not_equals holds when absent", { where: [w("output.json.currency", { not_equals: "EUR" })] }],
  ["in", { where: [w("model", { in: ["gpt-4o-mini-2024-07-18", "claude-3-5-sonnet"] })] }],
  [
    "in with mixed operands",
    { where: [w("output.json.total", { in: [12.5, "EUR", true, null, 42] })] },
  ],
  ["not_in", { where: [w("attributes.retry", { not_in: [5, "five"] })] }],
  ["contains text", { where: [w("output.text", { contains: "order" })] }],
  ["contains ignore_case", { where: [w("output.text", { contains: "eRRor", ignore_case: true })] }],
  [
    "contains on arrays: element equality",
    { where: [w("output.json.tags", { contains: "urgent", ignore_case: true })] },
  ],
  ["contains in JSON text", { where: [w("output.json.items[1]", { contains: '"sku":"B-7"' })] }],
  [
    "contains on arrays is not a substring",
    { where: [w("output.json.tags", { contains: "urg", ignore_case: true })] },
  ],
  ["contains '/' in JSON text", { where: [w("output.json", { contains: "example.com/a" })] }],
  ["contains '\\/' in JSON text", { where: [w("output.json", { contains: "C:\\\\/x" })] }],
  ["contains in a number", { where: [w("usage.input_tokens", { contains: "41" })] }],
  [
    "contains reads the first MiB",
    { where: [any(w("output.text", { contains: "TAIL" }), w("output.text", { matches: "^An" }))] },
  ],
  ["not_contains", { where: [w("output.text", { not_contains: "order" })] }],
  ["quotes, backslashes and braces", { where: [w("output.text", { contains: TRICKY })] }],
  ["matches", { where: [w("output.text", { matches: "^Your" })] }],
  [
    "matches: . does not match a newline",
    {
      where: [any(w("output.text", { matches: "one.line" }), w("output.text", { matches: "^An" }))],
    },
  ],
  [
    "matches ignore_case and unicode",
    { where: [w("output.text", { matches: "GRÜSSE|grüße|error", ignore_case: true })] },
  ],
  [
    "matches JSON numbers as text",
    { where: [w("tool.arguments.limit", { matches: "^(5|1e\\+21|0)$" })] },
  ],
  ["not_matches", { where: [w("model", { not_matches: "^gpt" })] }],
  ["min", { where: [w("duration_ms", { min: 1000 })] }],
  ["max on tokens", { where: [w("usage.output_tokens", { max: 30 })] }],
  ["between reads numeric strings", { where: [w("output.json.total", { between: [10, 200] })] }],
  ["between on attributes", { where: [w("attributes.retry", { between: [-1, 20] })] }],
  ["attribute numbers as JS reads them", { where: [w("attributes.score", { min: 0 })] }],
  [
    "booleans are not numbers",
    { where: [any(w("output.json.ok", { min: 0 }), w("kind", { equals: "tool" }))] },
  ],
  ["length_between in UTF-16 units", { where: [w("output.text", { length_between: [1, 26] })] }],
  [
    "length_between on arrays and strings",
    { where: [w("output.json.tags", { length_between: [1, 6] })] },
  ],
  ["output.length", { where: [w("output.length", { between: [10, 26] })] }],
  ["index path", { where: [w("output.json.items[1].amount", { min: 30 })] }],
  ["an index into an object is absent", { where: [w("output.json.items[0]", { exists: true })] }],
  ["quoted key and index", { where: [w('output.json["a b"].c[2]', { equals: 30 })] }],
  [
    "root array",
    { where: [any(w("output.json[0]", { equals: 1 }), w("output.json[2].three", { equals: 3 }))] },
  ],
  ["nested arrays", { where: [w("output.json.items[0][1]", { equals: 2 })] }],
  [
    "tool paths",
    {
      where: [any(w("tool.arguments.limit", { equals: 5 }), w("tool.result[1].id", { equals: 2 }))],
    },
  ],
  ["bare tool field", { where: [w("tool.arguments", { contains: "4411" })] }],
  ["resource attribute", { where: [w("resource.deployment.environment", { equals: "prod" })] }],
  [
    "several operators",
    { where: [w("output.json.total", { min: 10, max: 200, not_equals: 130.5 })] },
  ],
  [
    "any group",
    { where: [any(w("status", { equals: "Error" }), w("finish_reason", { exists: false }))] },
  ],
  [
    "two clauses",
    { where: [w("error.type", { not_empty: true }), w("finish_reason", { in: ["length"] })] },
  ],
  ["evaluation score", { where: [w("evaluation.Relevance.score", { min: 2 })] }],
  ["evaluation score exists", { where: [w("evaluation.Relevance.score", { exists: true })] }],
  ["failing evaluation label", { where: [w("evaluation.Relevance.label", { in: ["fail"] })] }],
  [
    "evaluation label not failing",
    { where: [w("evaluation.Relevance.label", { not_equals: "fail" })] },
  ],
  [
    "provider and output.type",
    { where: [w("provider", { not_in: ["openai"] }), w("output.type", { not_equals: "text" })] },
  ],
];

function w(field: string, operators: Record<string, unknown>): WhereClause {
  return { field, ...operators };
}

function any(...conditions: WhereClause[]): WhereClause {
  return { any: conditions as Extract<WhereClause, { field: string }>[] };
}

let store: Store;
let rows: AgentOutputRow[];

beforeAll(async () => {
  store = await openTestStore();
  await store.write({ traces: spanRowsFor(ROWS), outputs: ROWS });
  // Node reads the rows as the engine does: back from the store, with their span's attributes.
  const result = await store.client.query({
    query: `${withSpanAttributes(store, `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs}`)} ORDER BY SpanId`,
    format: "JSONEachRow",
  });
  rows = await result.json<AgentOutputRow>();
});
afterAll(async () => {
  await store?.close();
});

async function select<T>(columns: string, where: string, params: SqlParams): Promise<T[]> {
  const result = await store.client.query({
    // As window rules read rows: with the judge's scores joined when a read names them.
    query: `SELECT ${columns} FROM ${outputsWithScores(store, `${columns} ${where}`, "1", params, false)} WHERE ${where} ORDER BY SpanId`,
    query_params: params.values,
    format: "JSONEachRow",
    // inf and nan as text, not as null: a non-finite number must not pass for an absent one.
    clickhouse_settings: { output_format_json_quote_denormals: 1 },
  });
  return result.json<T>();
}

function field(text: string): FieldRef {
  const parsed = parseField(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.field;
}

describe("matchSql", () => {
  it.each(CASES)("selects what compileMatch accepts: %s", async (_name, spec) => {
    const accepts = compiled((issues) => compileMatch(spec, issues));
    const expected = rows.filter((row) => accepts(row)).map((row) => row.SpanId);
    // A case selecting all rows or none would not tell SQL and Node apart.
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(rows.length);
    const params = new SqlParams();
    const sql = matchSql(spec, params);
    const selected = await select<{ SpanId: string }>("SpanId", sql, params);
    expect(selected.map((row) => row.SpanId)).toEqual(expected);
  });

  it("is 1 for an empty spec", () => {
    expect(matchSql({}, new SqlParams())).toBe("1");
    expect(matchSql({ where: [] }, new SqlParams())).toBe("1");
  });

  it("binds user strings as parameters, never as SQL text", () => {
    const params = new SqlParams();
    const sql = matchSql(
      { service: TRICKY, where: [w(`attributes.${TRICKY}`, { contains: TRICKY, matches: "x'y" })] },
      params,
    );
    expect(sql).not.toContain("it's");
    expect(sql).not.toContain("x'y");
    expect(Object.values(params.values)).toContain(TRICKY);
  });
});

/** -0 as 0: the same number, which toEqual tells apart. */
function plusZero(n: number | null): number | null {
  return n === null ? null : n + 0;
}

describe("fieldSql", () => {
  const FIELDS = [
    "output.text",
    "output.length",
    "input.text",
    "model",
    "finish_reason",
    "tool.arguments",
    "usage.input_tokens",
    "usage.output_tokens",
    "duration_ms",
    "output.json",
    "output.json.total",
    "output.json.tags",
    "output.json.note",
    "output.json.ok",
    "output.json.items[1].amount",
    "output.json.items[0]",
    "output.json.url",
    "output.json.when",
    'output.json["a b"].c',
    "tool.result[0]",
    "tool.arguments.limit",
    "attributes.retry",
    "attributes.score",
    "attributes.blank",
    "resource.deployment.environment",
    "evaluation.Relevance.score",
    "evaluation.Relevance.label",
    "evaluation.Relevance.explanation",
  ];

  it.each(FIELDS)("reads %s as readField does", async (text) => {
    const ref = field(text);
    const params = new SqlParams();
    const numeric = fieldSql(ref, "numeric", params);
    const categorical = fieldSql(ref, "categorical", params);
    const read = await select<{ SpanId: string; n: number | null; c: string | null }>(
      `SpanId, ${numeric} AS n, ${categorical} AS c, toTypeName(n) AS nt, toTypeName(c) AS ct`,
      "1",
      params,
    );
    expect(read[0]).toMatchObject({ nt: "Nullable(Float64)", ct: "Nullable(String)" });
    const expected = rows.map((row) => {
      const value = readField(row, ref);
      const item = value.present ? value.values[0] : undefined;
      return {
        SpanId: row.SpanId,
        n: plusZero(toNumber(item) ?? null),
        c: item === undefined ? null : typeof item === "string" ? item : JSON.stringify(item),
      };
    });
    expect(read.map(({ SpanId, n, c }) => ({ SpanId, n: plusZero(n), c }))).toEqual(expected);
  });
});

describe("what SQL cannot mirror: refused when a window rule loads", () => {
  /** The errors of a rate rule with this match, as `pointer: message` relative to the match. */
  function errorsOf(match: MatchSpec, share?: WhereClause[]): string[] {
    const check = {
      type: "rate",
      every: "5m",
      window: "1h",
      above: 0.5,
      share: share ?? [w("model", { exists: true })],
    };
    const loaded = parseTestRule({ id: "w", match, check }, "w.json");
    if (loaded.ok) throw new Error("expected the rule to be refused");
    return loaded.errors.map((e) => `${e.pointer.replace(/^\/match/, "")}: ${e.message}`);
  }
  const first = (match: MatchSpec) => errorsOf(match)[0] ?? "";

  it("rejects error_payload, pointing at it", () => {
    expect(first({ where: [w("output.text", { error_payload: true })] })).toMatch(
      /^\/where\/0\/error_payload: window rules cannot use error_payload.*per-output rule/,
    );
    const clauses = [w("model", { exists: true }), any(w("output.json", { error_payload: false }))];
    expect(first({ where: clauses })).toMatch(/^\/where\/1\/any\/0\/error_payload: /);
  });

  it("rejects [*] paths and object or list operands", () => {
    expect(first({ where: [w("output.json.items[*].sku", { exists: true })] })).toMatch(
      /^\/where\/0\/field: .*\[\*\]/,
    );
    expect(first({ where: [w("output.json", { equals: { a: 1 } })] })).toMatch(
      /^\/where\/0\/equals: .*not objects/,
    );
    expect(first({ where: [w("output.json.tags", { not_in: ["a", ["b"]] })] })).toMatch(
      /^\/where\/0\/not_in\/1: .*not lists/,
    );
  });

  it("rejects a NUL character in a regex, which ClickHouse cannot take", () => {
    expect(first({ where: [w("output.text", { not_matches: "a\u0000" })] })).toMatch(
      /^\/where\/0\/not_matches: .*NUL/,
    );
  });

  it("reports every such part at once, in the match and in the share", () => {
    const errors = errorsOf({ where: [w("output.text", { error_payload: true })] }, [
      w("output.json.items[*].sku", { exists: true }),
    ]);
    expect(errors).toEqual([
      expect.stringMatching(/^\/where\/0\/error_payload: /),
      expect.stringMatching(/^\/check\/share\/0\/field: .*\[\*\]/),
    ]);
  });
});
