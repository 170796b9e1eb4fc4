/**
 * Fields of the rules grammar (fields.ts) read in ClickHouse SQL over `agent_outputs`, for
 * window rules that aggregate many rows. Each read mirrors readField: what is absent in Node is
 * absent (NULL) here, and values compare as conditions.ts compares them.
 *
 * Known differences, all at the edges of JSON (ClickHouse parses with simdjson, Node with
 * JSON.parse): ClickHouse rejects a document holding a lone surrogate escape ("\ud800"), a
 * number beyond Float64 (1e400) or an integer beyond 64 bits, which Node accepts; with duplicate
 * keys it reads the first, Node the last. The JSON text of objects and arrays (categorical
 * values, contains, matches) is ClickHouse's: document key order where JSON.stringify puts
 * integer-like keys first, \u001F and \u2028 escaped, numbers inside as ClickHouse writes them
 * (1e21 for 1e+21, -0, integers beyond 2^53 exact). Numeric strings are JS decimal literals only:
 * Number() also reads "0x1F", "0b1" and "0o7", which SQL reads as not a number.
 */

import { evaluationAttributeKey, evaluationOf } from "../../rules/field-grammar.ts";
import type { FieldRef, ScalarRoot, ValueKind } from "../../rules/field-grammar.ts";
import type { SqlParamsLike } from "./sql-params.ts";

/** How SQL reads a field: as numbers or as categories. */
export type SqlValueKind = ValueKind;

/**
 * How SQL sees a field of one row. `present` is a UInt8 expression; the value expression means
 * something only where it holds:
 * - `text`: a JS string (a column, a bare tool field, an attribute);
 * - `number`: a JS number (token counts, duration_ms, output.length);
 * - `json`: a value inside JSON, as ClickHouse's compact JSON text of it (JSONExtractRaw); on a
 *   path of keys alone, also as a Dynamic value (`dynamic`), which reads the number or string
 *   there in one parse of the document, where the JSON text would be parsed again.
 */
export type SqlRead =
  | { type: "text"; present: string; text: string }
  | { type: "number"; present: string; number: string }
  | { type: "json"; present: string; raw: string; dynamic?: string };

const TEXT_COLUMNS: Partial<Record<ScalarRoot, string>> = {
  "output.text": "OutputText",
  "output.type": "OutputType",
  "input.text": "InputText",
  "tool.name": "ToolName",
  finish_reason: "FinishReason",
  status: "StatusCode",
  "error.type": "ErrorType",
  model: "Model",
  agent: "AgentName",
  service: "ServiceName",
  operation: "Operation",
  kind: "Kind",
  provider: "Provider",
};

const NUMBER_READS: Partial<Record<ScalarRoot, SqlRead>> = {
  "usage.input_tokens": {
    type: "number",
    present: "isNotNull(InputTokens)",
    number: "toFloat64(InputTokens)",
  },
  "usage.output_tokens": {
    type: "number",
    present: "isNotNull(OutputTokens)",
    number: "toFloat64(OutputTokens)",
  },
  duration_ms: { type: "number", present: "1", number: "(DurationNs / 1e6)" },
  // Code points, as Node counts them (lengthUTF8 counts code points of valid UTF-8).
  "output.length": { type: "number", present: "1", number: "toFloat64(lengthUTF8(OutputText))" },
};

const JSON_COLUMNS = {
  "output.json": "OutputJson",
  "tool.arguments": "ToolArguments",
  "tool.result": "ToolResult",
} as const;

/**
 * The judge's results of a row, as a map keyed like the evaluation span attributes: present in
 * a query only when a read names it, joined from evaluation_scores.
 */
export const JUDGED_ATTRIBUTES = "JudgedAttributes";

/**
 * The span's own attribute maps of a row, joined from otel_traces when a read names them
 * (window-queries.ts outputsWithScores): agent_outputs keeps only the keys Plumbline derives
 * (tables/agent-outputs.ts storedOutputRow).
 */
export const SPAN_ATTRIBUTES_OF_SPAN = {
  attributes: "SpanAttributesOfSpan",
  resource: "ResourceAttributesOfSpan",
} as const;

/** How SQL reads `field` (never a `[*]` path, which has many values: refused at load). */
export function readSql(field: FieldRef, params: SqlParamsLike): SqlRead {
  const root = field.root;
  if (field.wildcard) {
    throw new Error(`window rules cannot read "${field.text}", a [*] path`);
  }
  if (root === "attributes" || root === "resource") {
    const own = root === "attributes" ? "SpanAttributes" : "ResourceAttributes";
    const ofSpan = SPAN_ATTRIBUTES_OF_SPAN[root];
    const step = field.path[0];
    const key = params.add(step?.type === "key" ? step.key : "", "String");
    // Node: Object.hasOwn(map, key), so a key set to "" is present. The row's own map first
    // (derived keys, and rows stored with whole maps), as withSpanAttributes merges them.
    return {
      type: "text",
      present: `(mapContains(${own}, ${key}) OR mapContains(${ofSpan}, ${key}))`,
      text: `if(mapContains(${own}, ${key}), ${own}[${key}], ${ofSpan}[${key}])`,
    };
  }
  if (root === "evaluation") {
    // Node: readEvaluation. An absent key reads as "" here, which is absent there too. A
    // result on the span (a gen_ai.evaluation.result event) comes first; else the judge's
    // verdict, joined in from evaluation_scores (window-queries.ts outputsWithScores).
    const { name, part } = evaluationOf(field);
    const key = params.add(evaluationAttributeKey(name, part), "String");
    const value = `if(mapContains(SpanAttributes, ${key}), SpanAttributes[${key}], ${JUDGED_ATTRIBUTES}[${key}])`;
    if (part !== "score") return { type: "text", present: `(${value} != '')`, text: value };
    const number = numericText(value, params);
    return { type: "number", present: `isNotNull(${number})`, number };
  }
  if (root === "output.json" || root === "tool.arguments" || root === "tool.result") {
    const column = JSON_COLUMNS[root];
    if (field.path.length === 0 && root !== "output.json") {
      return { type: "text", present: `(${column} != '')`, text: column };
    }
    return jsonRead(column, field, params);
  }
  const column = TEXT_COLUMNS[root];
  if (column !== undefined) return { type: "text", present: `(${column} != '')`, text: column };
  const read = NUMBER_READS[root];
  if (read === undefined) throw new Error(`no SQL read for field ${field.text}`);
  return read;
}

/**
 * A path into a JSON column: JSONExtractRaw step by step. ClickHouse indexes from 1 and would
 * also index into an object (its n-th member), so the path is cut before each index step and
 * the value there must be an array, as in Node.
 *
 * A path of keys alone is also read as Dynamic (JSONExtract(…, 'Dynamic')): a number comes
 * back as Int64, UInt64 or Float64, a string as String, JSON null, an absent key or a document
 * ClickHouse rejects as None, other values as their own types. Numbers and strings, which drift
 * and rate rules read on every row, then cost one parse of the document: JSONExtractRaw and a
 * JSONType, JSONExtractFloat or JSONExtractString of its result are parsed two or three times
 * (measured on 2M documents: 0.47 s against 0.27 s). Other values still read the JSON text, and
 * only on the rows that hold them (multiIf, OR and AND evaluate lazily). Strings stay strings
 * because every query runs with date inference off (client.ts): "2026-01-01" would otherwise
 * come back as a Date.
 */
function jsonRead(column: string, field: FieldRef, params: SqlParamsLike): SqlRead {
  const guards: string[] = [];
  let raw = column;
  let args: string[] = [];
  for (const step of field.path) {
    if (step.type === "index") {
      if (args.length > 0) raw = `JSONExtractRaw(${raw}, ${args.join(", ")})`;
      guards.push(`JSONType(${raw}) = 'Array'`);
      args = [params.add(step.index + 1, "Int64")];
    } else if (step.type === "key") {
      args.push(params.add(step.key, "String"));
    }
  }
  const keysOnly = guards.length === 0 && args.length > 0;
  raw = args.length > 0 ? `JSONExtractRaw(${raw}, ${args.join(", ")})` : `JSONExtractRaw(${raw})`;
  if (keysOnly) {
    const dynamic = `JSONExtract(${column}, ${args.join(", ")}, 'Dynamic')`;
    // None is also JSON null, which is present: only then is the JSON text looked at.
    return {
      type: "json",
      present: `(dynamicType(${dynamic}) != 'None' OR ${raw} != '')`,
      raw,
      dynamic,
    };
  }
  // "" when the column is not JSON or the path is not in it.
  return { type: "json", present: and([`(${raw} != '')`, ...guards]), raw };
}

/** Characters String.prototype.trim and Number() skip (WhiteSpace and LineTerminator). */
export const JS_SPACE =
  "[\\t\\n\\v\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]";

/** A string read as Number() reads it, as toNumber accepts it: finite, not blank; else NULL. */
function numericText(text: string, params: SqlParamsLike): string {
  const literal = params.add(
    `^${JS_SPACE}*([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?)${JS_SPACE}*$`,
    "String",
  );
  // toFloat64OrNull gives NULL for "" (no match) and inf for "1e400", which Number() reads
  // as Infinity and toNumber rejects.
  const number = `toFloat64OrNull(extract(${text}, ${literal}))`;
  return `if(isFinite(${number}), ${number}, NULL)`;
}

/** Whether a json read is of the given JSONType. */
export function jsonType(raw: string, ...types: string[]): string {
  const list = types.map((type) => `'${type}'`).join(", ");
  return types.length === 1 ? `(JSONType(${raw}) = ${list})` : `(JSONType(${raw}) IN (${list}))`;
}

/** SQL: whether a Dynamic read holds a JSON number. */
function dynamicNumber(dynamic: string): string {
  return `(dynamicType(${dynamic}) IN ('Int64', 'UInt64', 'Float64'))`;
}

/** SQL: a Dynamic read holding a JSON number, as Float64. */
function dynamicFloat(dynamic: string): string {
  return `toFloat64(multiIf(dynamicType(${dynamic}) = 'Float64', dynamicElement(${dynamic}, 'Float64'), dynamicType(${dynamic}) = 'Int64', toFloat64(dynamicElement(${dynamic}, 'Int64')), toFloat64(dynamicElement(${dynamic}, 'UInt64'))))`;
}

/** SQL: a Dynamic read's string, NULL when it holds something else. */
function dynamicString(dynamic: string): string {
  return `dynamicElement(${dynamic}, 'String')`;
}

/** The value as toNumber reads it (a number or a numeric string), Nullable(Float64). */
export function numberOf(read: SqlRead, params: SqlParamsLike): string {
  if (read.type === "number") return read.number;
  if (read.type === "text") return numericText(read.text, params);
  const dynamic = read.dynamic;
  if (dynamic !== undefined) {
    return `multiIf(${dynamicNumber(dynamic)}, ${dynamicFloat(dynamic)}, dynamicType(${dynamic}) = 'String', ${numericText(dynamicString(dynamic), params)}, NULL)`;
  }
  return `multiIf(${jsonType(read.raw, "Int64", "UInt64", "Double")}, JSONExtractFloat(${read.raw}), ${jsonType(read.raw, "String")}, ${numericText(`JSONExtractString(${read.raw})`, params)}, NULL)`;
}

/** The value when it is a string, else NULL. */
export function stringOf(read: SqlRead): string {
  if (read.type === "text") return read.text;
  if (read.type === "number") return "CAST(NULL AS Nullable(String))";
  if (read.dynamic !== undefined) return dynamicString(read.dynamic);
  return `if(${jsonType(read.raw, "String")}, JSONExtractString(${read.raw}), NULL)`;
}

/** A Float64 as JS's String(number) writes it: "1e+21", "0" for -0. */
export function jsNumberText(number: string, params: SqlParamsLike): string {
  const exponent = params.add("e([0-9])", "String");
  const replacement = params.add("e+\\1", "String");
  return `replaceRegexpOne(toString(${number} + 0), ${exponent}, ${replacement})`;
}

/** The text Node's matches and contains look in: a string as it is, another value as JSON. */
export function textOf(read: SqlRead, params: SqlParamsLike): string {
  if (read.type === "text") return read.text;
  if (read.type === "number") return jsNumberText(read.number, params);
  const raw = read.raw;
  const dynamic = read.dynamic;
  if (dynamic !== undefined) {
    return `multiIf(dynamicType(${dynamic}) = 'String', ${dynamicString(dynamic)}, ${dynamicNumber(dynamic)}, ${jsNumberText(dynamicFloat(dynamic), params)}, ${raw})`;
  }
  return `multiIf(${jsonType(raw, "String")}, JSONExtractString(${raw}), ${jsonType(raw, "Int64", "UInt64", "Double")}, ${jsNumberText(`JSONExtractFloat(${raw})`, params)}, ${raw})`;
}

/** The SQL conjunction of expressions; "1" for none. */
export function and(parts: readonly string[]): string {
  const terms = parts.filter((part) => part !== "1");
  if (terms.length === 0) return "1";
  return terms.length === 1 ? (terms[0] as string) : `(${terms.join(" AND ")})`;
}

/** The SQL disjunction of expressions; "0" for none. */
export function or(parts: readonly string[]): string {
  if (parts.length === 0) return "0";
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(" OR ")})`;
}

/**
 * SQL expression reading `field` from one agent_outputs row: numeric → Nullable(Float64),
 * categorical → Nullable(String) (a string as it is, other JSON values as JSON text); NULL
 * when absent.
 */
export function fieldSql(field: FieldRef, kind: SqlValueKind, params: SqlParamsLike): string {
  const read = readSql(field, params);
  const value = kind === "numeric" ? `toFloat64(${numberOf(read, params)})` : textOf(read, params);
  return read.present === "1" ? `toNullable(${value})` : `if(${read.present}, ${value}, NULL)`;
}
