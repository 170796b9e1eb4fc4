/**
 * A rule's `match` spec (match.ts) as a ClickHouse SQL condition over `agent_outputs`, for
 * window rules: the rows it holds for are exactly those compileMatch accepts. It is built only
 * for rules that loaded: Node compiled the spec, and what SQL cannot mirror was refused then
 * (src/rules/window-limits.ts), so meeting it here is a bug.
 *
 * Differences accepted besides those of sql-fields.ts:
 * - `ignore_case` lowercases with ClickHouse's lowerUTF8, one code point at a time, where JS's
 *   toLowerCase also applies context rules (a final "Σ" becomes "ς").
 * - `contains` and `matches` read at most the first 1 MiB of a value as Node does, counted in
 *   code points rather than UTF-16 units: beyond 1 MiB, astral characters shift the cut.
 */

import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import { PATTERN_COLUMNS } from "../match.ts";
import { MAX_MATCH_CHARS, OPERATOR_KEYS } from "../operators.ts";
import type { Condition, MatchSpec, Pattern, WhereClause } from "../../rules/rule.ts";
import {
  and,
  JS_SPACE,
  jsonType,
  numberOf,
  or,
  readSql,
  stringOf,
  textOf,
  type SqlRead,
} from "./sql-fields.ts";
import { type SqlParamsLike } from "./sql-params.ts";

type PatternKey = keyof typeof PATTERN_COLUMNS;

/**
 * A boolean SQL expression (UInt8) that holds exactly for the rows compileMatch(spec) accepts;
 * "1" for an empty spec.
 */
export function matchSql(spec: MatchSpec, params: SqlParamsLike): string {
  const parts: string[] = [];
  for (const key of Object.keys(PATTERN_COLUMNS) as PatternKey[]) {
    const pattern = spec[key];
    if (pattern === undefined) continue;
    parts.push(patternSql(PATTERN_COLUMNS[key], pattern, params));
  }
  const where = spec.where ?? [];
  parts.push(whereSql(where, params));
  return and(parts);
}

/** The same for a list of where clauses (all must hold). */
export function whereSql(clauses: readonly WhereClause[], params: SqlParamsLike): string {
  return and(clauses.map((clause) => clauseSql(clause, params)));
}

function clauseSql(clause: WhereClause, params: SqlParamsLike): string {
  if (!("any" in clause)) return conditionSql(clause, params);
  if (!Array.isArray(clause.any) || clause.any.length === 0) {
    throw new Error(`"any" needs at least one condition`);
  }
  return or(clause.any.map((item) => conditionSql(item, params)));
}

/** A name pattern: exact names in one IN list, globs in one anchored RE2 (as compilePattern). */
function patternSql(column: string, pattern: Pattern, params: SqlParamsLike): string {
  const list = typeof pattern === "string" ? [pattern] : pattern;
  const exact = list.filter((entry) => !entry.includes("*") && !entry.includes("?"));
  const globs = list.filter((entry) => entry.includes("*") || entry.includes("?"));
  const parts: string[] = [];
  if (exact.length > 0) parts.push(`(${column} IN ${params.add(exact, "Array(String)")})`);
  if (globs.length > 0) {
    const source = `(?s)^(?:${globs.map(globSource).join("|")})$`;
    parts.push(`match(${column}, ${params.add(source, "String")})`);
  }
  return or(parts);
}

/** A glob as RE2: `*` any run, `?` one character, everything else literal. */
function globSource(glob: string): string {
  let source = "";
  for (const char of glob) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else if (code >= 0x80 || /[A-Za-z0-9]/.test(char)) source += char;
    // RE2: a backslash before ASCII punctuation always means the character itself.
    else if (code > 0x20 && code < 0x7f) source += `\\${char}`;
    else source += `\\x{${code.toString(16)}}`;
  }
  return `(?:${source})`;
}

function conditionSql(condition: Condition, params: SqlParamsLike): string {
  const parsed = parseField(condition.field);
  if (!parsed.ok) throw new Error(parsed.message);
  const field = parsed.field;
  const read = readSql(field, params);
  const parts = OPERATOR_KEYS.filter((key) => condition[key] !== undefined).map((key) =>
    operatorSql(key, condition, field, read, params),
  );
  return and(parts);
}

function not(expression: string): string {
  return `not(${expression})`;
}

function operatorSql(
  key: (typeof OPERATOR_KEYS)[number],
  condition: Condition,
  field: FieldRef,
  read: SqlRead,
  params: SqlParamsLike,
): string {
  // A positive operator needs a value; its negation (not_…, …: false) holds without one.
  const holds = (test: string) => and([read.present, `coalesce(${test}, 0)`]);
  const ignoreCase = condition.ignore_case === true;
  switch (key) {
    case "exists":
      return condition.exists === true ? read.present : not(read.present);
    case "not_empty": {
      const notEmpty = holds(notEmptySql(read, params));
      return condition.not_empty === true ? notEmpty : not(notEmpty);
    }
    case "is_json": {
      const json = isJsonSql(field, read);
      return condition.is_json === true ? json : not(json);
    }
    case "equals":
      return holds(equalsSql(read, condition.equals, params));
    case "not_equals":
      return not(holds(equalsSql(read, condition.not_equals, params)));
    case "in":
    case "not_in": {
      const list = condition[key] ?? [];
      const isIn = or(list.map((item) => equalsSql(read, item, params)));
      return key === "in" ? holds(isIn) : not(holds(isIn));
    }
    case "contains":
      return holds(containsSql(read, condition.contains ?? "", ignoreCase, params));
    case "not_contains":
      return not(holds(containsSql(read, condition.not_contains ?? "", ignoreCase, params)));
    case "matches":
      return holds(matchesSql(read, condition.matches ?? "", ignoreCase, params));
    case "not_matches":
      return not(holds(matchesSql(read, condition.not_matches ?? "", ignoreCase, params)));
    case "min":
      return holds(`${numberOf(read, params)} >= ${params.add(condition.min ?? 0, "Float64")}`);
    case "max":
      return holds(`${numberOf(read, params)} <= ${params.add(condition.max ?? 0, "Float64")}`);
    case "between":
      return holds(rangeSql(numberOf(read, params), condition.between ?? [0, 0], params));
    case "length_between":
      return holds(rangeSql(lengthSql(read, params), condition.length_between ?? [0, 0], params));
    case "error_payload":
      throw new Error("error_payload is not supported in window rules");
  }
}

function rangeSql(value: string, [low, high]: [number, number], params: SqlParamsLike): string {
  return `(${value} >= ${params.add(low, "Float64")} AND ${value} <= ${params.add(high, "Float64")})`;
}

/** looselyEqual against a scalar operand; objects and lists are not mirrored. */
function equalsSql(read: SqlRead, expected: unknown, params: SqlParamsLike): string {
  if (typeof expected === "string") return `${stringOf(read)} = ${params.add(expected, "String")}`;
  if (typeof expected === "number") {
    return `${numberOf(read, params)} = ${params.add(expected, "Float64")}`;
  }
  if (typeof expected === "boolean") {
    // A string compared with a boolean is read as one: "true" equals true.
    const asText = `${stringOf(read)} = '${String(expected)}'`;
    if (read.type !== "json") return asText;
    const asBool = `(${jsonType(read.raw, "Bool")} AND JSONExtractBool(${read.raw}) = ${expected ? 1 : 0})`;
    return or([asBool, asText]);
  }
  if (expected === null) return read.type === "json" ? jsonType(read.raw, "Null") : "0";
  throw new Error(`window rules compare with scalars, not ${JSON.stringify(expected)}`);
}

/** Node reads at most MAX_MATCH_CHARS of a value for contains and matches. */
function capped(text: string): string {
  return `if(length(${text}) > ${MAX_MATCH_CHARS}, leftUTF8(${text}, ${MAX_MATCH_CHARS}), ${text})`;
}

/** contains: an element of an array equal to the needle, else a substring of the text. */
function containsSql(read: SqlRead, needle: string, ignoreCase: boolean, params: SqlParamsLike) {
  const fold = (text: string) => (ignoreCase ? `lowerUTF8(${text})` : text);
  const wanted = params.add(ignoreCase ? needle.toLowerCase() : needle, "String");
  const substring = `position(${fold(capped(textOf(read, params)))}, ${wanted}) > 0`;
  if (read.type !== "json") return substring;
  const element = `(${jsonType("element", "String")} AND ${fold("JSONExtractString(element)")} = ${wanted})`;
  const inArray = `arrayExists(element -> ${element}, JSONExtractArrayRaw(${read.raw}))`;
  return `if(${jsonType(read.raw, "Array")}, ${inArray}, ${substring})`;
}

/** matches: RE2 finds the pattern in the text. ClickHouse's `.` matches "\n" unless (?-s). */
function matchesSql(read: SqlRead, source: string, ignoreCase: boolean, params: SqlParamsLike) {
  if (source.includes("\u0000")) {
    throw new Error("window rules cannot match a NUL character");
  }
  const pattern = params.add(`(?-s)${ignoreCase ? "(?i)" : ""}${source}`, "String");
  return `match(${capped(textOf(read, params))}, ${pattern})`;
}

/** Length in UTF-16 units, as JS counts it: code points plus one per astral code point. */
function utf16Length(text: string, params: SqlParamsLike): string {
  const astral = params.add("[\\x{10000}-\\x{10FFFF}]", "String");
  return `(lengthUTF8(${text}) + countMatches(${text}, ${astral}))`;
}

function lengthSql(read: SqlRead, params: SqlParamsLike): string {
  if (read.type === "text") return utf16Length(read.text, params);
  if (read.type === "number") return "NULL";
  const raw = read.raw;
  return `multiIf(${jsonType(raw, "String")}, ${utf16Length(`JSONExtractString(${raw})`, params)}, ${jsonType(raw, "Array")}, JSONLength(${raw}), NULL)`;
}

/** isEmpty negated: null, blank text, [] and {} are empty. */
function notEmptySql(read: SqlRead, params: SqlParamsLike): string {
  const blank = params.add(`^${JS_SPACE}*$`, "String");
  if (read.type === "text") return not(`match(${read.text}, ${blank})`);
  if (read.type === "number") return "1";
  const raw = read.raw;
  return `multiIf(${jsonType(raw, "Null")}, 0, ${jsonType(raw, "String")}, not(match(JSONExtractString(${raw}), ${blank})), ${jsonType(raw, "Array", "Object")}, JSONLength(${raw}) > 0, 1)`;
}

/** is_json: true (present and JSON); its negation is is_json: false. */
function isJsonSql(field: FieldRef, read: SqlRead): string {
  // output.text also counts when the decoder found (fenced) JSON in it.
  if (field.root === "output.text") return "(isValidJSON(OutputJson) OR isValidJSON(OutputText))";
  if (read.type === "text") return and([read.present, `isValidJSON(${read.text})`]);
  if (read.type === "number") return read.present;
  // Values inside JSON are JSON already, except strings, which must parse.
  const raw = read.raw;
  const json = `(not(${jsonType(raw, "String")}) OR isValidJSON(JSONExtractString(${raw})))`;
  return and([read.present, json]);
}
