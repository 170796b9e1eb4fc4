/**
 * Reading a parsed field (src/rules/field-grammar.ts) out of one agent output: what a condition,
 * a schema check or a trace key sees.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { walkPath } from "../rules/json-path.ts";
import {
  EVALUATION_ATTRIBUTE_PREFIX,
  EVALUATION_PARTS,
  evaluationAttributeKey,
  evaluationOf,
} from "../rules/field-grammar.ts";
import type { EvaluationPart, FieldRef, JsonRoot, ScalarRoot } from "../rules/field-grammar.ts";

/**
 * What a field holds in one output.
 * - `present: false`: the field is not there. `reason` is `not_json` when the field reads JSON
 *   (a path into output.json / tool.*, or output.json itself) and the text is not JSON,
 *   `missing` otherwise (empty column, absent key, null on the way, index out of range …).
 *   String columns that are "" count as absent: ClickHouse stores an absent value as "".
 * - `present: true`: `values` holds one value, or for a `[*]` path one per element (possibly
 *   none), with `locations[i]` naming where `values[i]` came from (`output.json.items[2].amount`).
 *   For `[*]` paths an element that lacks the rest of the path has the value `undefined` (JSON
 *   never produces it), so that a check can say which element is missing it.
 */
export type FieldValue =
  | { present: false; reason: "missing" | "not_json"; message: string }
  | { present: true; values: unknown[]; locations: string[] };

type ParsedJson = { ok: true; value: unknown } | { ok: false };

/** Per-row memo: each JSON text of a row is parsed at most once, whichever rules read it. */
export interface RowCache {
  json: Map<string, ParsedJson>;
  /** Memo slot for other per-row derived values (the JSONata input, say). */
  extra: Map<string, unknown>;
}

const caches = new WeakMap<AgentOutputRow, RowCache>();

/** The cache of a row object, created on first use; it lives as long as the row does. */
export function cacheFor(row: AgentOutputRow): RowCache {
  let cache = caches.get(row);
  if (cache === undefined) {
    cache = { json: new Map(), extra: new Map() };
    caches.set(row, cache);
  }
  return cache;
}

function missing(message: string): FieldValue {
  return { present: false, reason: "missing", message };
}

function notJson(message: string): FieldValue {
  return { present: false, reason: "not_json", message };
}

function one(value: unknown, field: FieldRef): FieldValue {
  return { present: true, values: [value], locations: [field.text] };
}

/** Parses `text` as JSON once per row and source; "" is not parsed. */
function parseOnce(cache: RowCache, source: string, text: string): ParsedJson {
  let parsed = cache.json.get(source);
  if (parsed === undefined) {
    try {
      parsed = { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      parsed = { ok: false };
    }
    cache.json.set(source, parsed);
  }
  return parsed;
}

/** A token count: number, or a decimal string as ClickHouse returns UInt64; else absent. */
function toCount(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && value.trim() !== "") {
    const count = Number(value);
    return Number.isFinite(count) ? count : undefined;
  }
  return undefined;
}

function codePoints(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}

function text(value: string, field: FieldRef): FieldValue {
  return value === "" ? missing(`${field.text} is empty`) : one(value, field);
}

function readScalar(row: AgentOutputRow, root: ScalarRoot, field: FieldRef): FieldValue {
  switch (root) {
    case "output.text":
      return text(row.OutputText, field);
    case "output.length":
      // Characters (Unicode code points) of the output text; an empty output has length 0.
      return one(codePoints(row.OutputText), field);
    case "output.type":
      return text(row.OutputType, field);
    case "input.text":
      return text(row.InputText, field);
    case "tool.name":
      return text(row.ToolName, field);
    case "finish_reason":
      return text(row.FinishReason, field);
    case "usage.input_tokens":
    case "usage.output_tokens": {
      const count = toCount(root === "usage.input_tokens" ? row.InputTokens : row.OutputTokens);
      return count === undefined ? missing(`${root} is not recorded`) : one(count, field);
    }
    case "duration_ms": {
      const ns = toCount(row.DurationNs);
      return ns === undefined ? missing("duration_ms is not recorded") : one(ns / 1e6, field);
    }
    case "status":
      return text(row.StatusCode, field);
    case "error.type":
      return text(row.ErrorType, field);
    case "model":
      return text(row.Model, field);
    case "agent":
      return text(row.AgentName, field);
    case "service":
      return text(row.ServiceName, field);
    case "operation":
      return text(row.Operation, field);
    case "kind":
      return text(row.Kind, field);
    case "provider":
      return text(row.Provider, field);
  }
}

/**
 * The parsed JSON of a JSON root. output.json prefers the decoder's OutputJson (unfenced); the
 * tool fields parse their text. Absent when the column is empty, not_json when it does not parse.
 */
export function readJsonRoot(
  row: AgentOutputRow,
  root: JsonRoot,
  cache: RowCache = cacheFor(row),
): { ok: true; value: unknown } | { ok: false; reason: "missing" | "not_json"; message: string } {
  if (root === "output.json") {
    if (row.OutputJson !== "") {
      const parsed = parseOnce(cache, root, row.OutputJson);
      if (parsed.ok) return parsed;
    }
    return row.OutputText.trim() === ""
      ? { ok: false, reason: "missing", message: "the output is empty" }
      : { ok: false, reason: "not_json", message: "the output is not JSON" };
  }
  const raw = root === "tool.arguments" ? row.ToolArguments : row.ToolResult;
  if (raw.trim() === "") return { ok: false, reason: "missing", message: `${root} is empty` };
  const parsed = parseOnce(cache, root, raw);
  return parsed.ok ? parsed : { ok: false, reason: "not_json", message: `${root} is not JSON` };
}

/**
 * A decimal number written as text ("4", " 0.85", "-1e-3"), as SQL reads one
 * (windows/sql-fields.ts numericText); undefined for anything else, "0x1F" and "Infinity" too.
 */
export function decimalNumber(text: string): number | undefined {
  const match = /^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*$/.exec(text);
  if (match === null) return undefined;
  const n = Number(match[1]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Part of an evaluation result of the output (stored by the decoder in SpanAttributes): the
 * score as a number, the label and explanation as text; undefined when the output's span had
 * no such result, an empty one, or a score that is not a number.
 */
export function readEvaluation(
  row: AgentOutputRow,
  name: string,
  part: EvaluationPart,
): number | string | undefined {
  const key = evaluationAttributeKey(name, part);
  const value = Object.hasOwn(row.SpanAttributes, key) ? row.SpanAttributes[key] : undefined;
  if (value === undefined || value === "") return undefined;
  return part === "score" ? decimalNumber(value) : value;
}

/**
 * Every evaluation result of the output, by name: `{Relevance: {score: 4, label: "relevant",
 * explanation: …}}`, parts read as readEvaluation reads them (what expressions see as
 * `evaluation`).
 */
export function evaluationsOf(
  row: AgentOutputRow,
): Record<string, Partial<Record<EvaluationPart, number | string>>> {
  const out: Record<string, Partial<Record<EvaluationPart, number | string>>> = {};
  for (const key of Object.keys(row.SpanAttributes)) {
    if (!key.startsWith(EVALUATION_ATTRIBUTE_PREFIX)) continue;
    const dot = key.lastIndexOf(".");
    const name = key.slice(EVALUATION_ATTRIBUTE_PREFIX.length, dot);
    const part = key.slice(dot + 1) as EvaluationPart;
    if (name === "" || !EVALUATION_PARTS.includes(part)) continue;
    const value = readEvaluation(row, name, part);
    if (value !== undefined) (out[name] ??= {})[part] = value;
  }
  return out;
}

/** Reads a field from one output (see FieldValue for what absent and present mean). */
export function readField(
  row: AgentOutputRow,
  field: FieldRef,
  cache: RowCache = cacheFor(row),
): FieldValue {
  const root = field.root;
  if (root === "evaluation") {
    const { name, part } = evaluationOf(field);
    const value = readEvaluation(row, name, part);
    return value === undefined ? missing(`${field.text} is not recorded`) : one(value, field);
  }
  if (root === "attributes" || root === "resource") {
    const map = root === "attributes" ? row.SpanAttributes : row.ResourceAttributes;
    const step = field.path[0];
    const key = step?.type === "key" ? step.key : "";
    return Object.hasOwn(map, key) ? one(map[key], field) : missing(`${field.text} is not set`);
  }
  if (root === "output.json" || root === "tool.arguments" || root === "tool.result") {
    // A bare tool field is its text; a path (and output.json itself) reads the JSON.
    if (field.path.length === 0 && root !== "output.json") {
      return text(root === "tool.arguments" ? row.ToolArguments : row.ToolResult, field);
    }
    const json = readJsonRoot(row, root, cache);
    if (!json.ok) {
      return json.reason === "missing" ? missing(json.message) : notJson(json.message);
    }
    const walked = walkPath(json.value, field.path, field.root, field.text);
    return walked.found
      ? { present: true, values: walked.values, locations: walked.locations }
      : missing(walked.message);
  }
  return readScalar(row, root, field);
}

/**
 * Whether a field reads text (a column, a bare tool field, an attribute) rather than a value
 * inside JSON (output.json and paths into output.json / tool.*).
 */
export function isTextField(field: FieldRef): boolean {
  if (field.root === "output.json") return false;
  if (field.root === "tool.arguments" || field.root === "tool.result") {
    return field.path.length === 0;
  }
  return true;
}

/**
 * Reads a field as JSON. A text field (see isTextField) is parsed, once per row: text that is
 * not JSON is `not_json`. For output.text the decoder's unfenced OutputJson is used when there
 * is one. Values inside JSON are returned as they are (a string there is a JSON string).
 */
export function readFieldAsJson(
  row: AgentOutputRow,
  field: FieldRef,
  cache: RowCache = cacheFor(row),
): FieldValue {
  if (!isTextField(field)) return readField(row, field, cache);
  if (
    field.path.length === 0 &&
    (field.root === "tool.arguments" || field.root === "tool.result")
  ) {
    const json = readJsonRoot(row, field.root, cache);
    if (json.ok) return one(json.value, field);
    return json.reason === "missing" ? missing(json.message) : notJson(json.message);
  }
  if (field.root === "output.text" && row.OutputJson !== "") {
    const json = readJsonRoot(row, "output.json", cache);
    if (json.ok) return one(json.value, field);
  }
  const value = readField(row, field, cache);
  if (!value.present) return value;
  const values: unknown[] = [];
  // Text fields have no path, hence exactly one value.
  for (const item of value.values) {
    if (typeof item !== "string") {
      values.push(item);
      continue;
    }
    const parsed = parseOnce(cache, `text:${field.text}`, item);
    if (!parsed.ok) return notJson(`${field.text} is not JSON`);
    values.push(parsed.value);
  }
  return { present: true, values, locations: value.locations };
}
