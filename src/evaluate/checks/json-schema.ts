/**
 * `json_schema` checks: a field validated against a JSON Schema 2020-12, compiled once per rule
 * (ajv, every error collected, formats not enforced). Text fields are parsed first, so a check
 * on output.text or tool.result asks "is this JSON, and the right JSON"; a `[*]` field
 * validates each element.
 */

import Ajv2020Module, { type ErrorObject } from "ajv/dist/2020.js";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { RuleIssues } from "../../rules/rule-issues.ts";
import { cacheFor, readField, readFieldAsJson, type RowCache } from "../fields.ts";
import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import { ABSENT, type FindingDraft } from "../finding.ts";
import type { JsonSchemaCheck } from "../../rules/rule.ts";

const Ajv2020 = Ajv2020Module.default;

/** Findings reported per output at most: the first violations say what is wrong. */
export const MAX_SCHEMA_FINDINGS = 20;

export type OutputCheck = (row: AgentOutputRow, cache?: RowCache) => FindingDraft[];

/** Compiles the check; an issue at `/field` or `/schema` when either is invalid. */
export function compileJsonSchemaCheck(
  check: JsonSchemaCheck,
  issues: RuleIssues,
): OutputCheck | undefined {
  const parsed = parseField(check.field);
  if (!parsed.ok) return void issues.add("/field", parsed.message);
  const field = parsed.field;
  // One ajv per rule: schemas of different rules may reuse an `$id`.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    logger: false,
  });
  let validate: ReturnType<typeof ajv.compile>;
  try {
    validate = ajv.compile(check.schema);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return void issues.add("/schema", `invalid JSON Schema: ${reason}`);
  }

  return (row, cache = cacheFor(row)) => {
    const value = readFieldAsJson(row, field, cache);
    if (!value.present) return [absentDraft(row, field, value.reason, value.message, cache)];
    const drafts: FindingDraft[] = [];
    for (let i = 0; i < value.values.length; i += 1) {
      const item = value.values[i];
      const location = value.locations[i] ?? field.text;
      if (item === undefined) {
        drafts.push({
          code: "missing",
          path: location,
          message: `${location} is missing`,
          observed: ABSENT,
          expected: "a value matching the schema",
        });
      } else if (!validate(item)) {
        for (const error of validate.errors ?? []) drafts.push(violation(location, item, error));
      }
      if (drafts.length >= MAX_SCHEMA_FINDINGS) return drafts.slice(0, MAX_SCHEMA_FINDINGS);
    }
    return drafts;
  };
}

function absentDraft(
  row: AgentOutputRow,
  field: FieldRef,
  reason: "missing" | "not_json",
  detail: string,
  cache: RowCache,
): FindingDraft {
  if (reason === "missing") {
    return {
      code: "missing",
      path: field.text,
      message: `${field.text} is missing${detail === "" ? "" : ` (${detail})`}`,
      observed: ABSENT,
      expected: "a value matching the schema",
    };
  }
  const raw = readField(row, field, cache);
  const observed = raw.present ? raw.values[0] : textOf(row, field);
  return {
    code: "not_json",
    path: field.text,
    message: `${field.text} is not JSON (${detail}), so it cannot match the schema`,
    observed,
    expected: "JSON matching the schema",
  };
}

/** The text a JSON root was read from, for a not_json finding's observed value. */
function textOf(row: AgentOutputRow, field: FieldRef): string {
  if (field.root === "tool.arguments") return row.ToolArguments;
  if (field.root === "tool.result") return row.ToolResult;
  return row.OutputText;
}

function violation(location: string, value: unknown, error: ErrorObject): FindingDraft {
  const params = error.params as Record<string, unknown>;
  let pointer = error.instancePath;
  let observed = valueAt(value, pointer);
  let message = error.message ?? `fails "${error.keyword}"`;
  if (error.keyword === "required" && typeof params.missingProperty === "string") {
    pointer += `/${escapePointer(params.missingProperty)}`;
    observed = ABSENT;
    message = `is missing the required property ${JSON.stringify(params.missingProperty)}`;
    return draft(location, error.instancePath, pointer, observed, message, error);
  }
  if (error.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
    pointer += `/${escapePointer(params.additionalProperty)}`;
    observed = valueAt(value, pointer);
    message = `has the property ${JSON.stringify(params.additionalProperty)}, which the schema does not allow`;
    return draft(location, error.instancePath, pointer, observed, message, error);
  }
  if (error.keyword === "enum") message = `must be one of ${JSON.stringify(params.allowedValues)}`;
  if (error.keyword === "const") message = `must equal ${JSON.stringify(params.allowedValue)}`;
  return draft(location, error.instancePath, pointer, observed, message, error);
}

function draft(
  location: string,
  subject: string,
  pointer: string,
  observed: unknown,
  message: string,
  error: ErrorObject,
): FindingDraft {
  return {
    code: "schema_violation",
    path: location + pointer,
    message: `${location + subject} ${message}`,
    observed,
    expected: expectedText(error),
  };
}

/** The schema keyword and its parameter, as a finding's `expected`: `minimum 0`, `type number`. */
function expectedText(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const values = Object.values(params);
  const shown =
    "limit" in params
      ? params.limit
      : "type" in params
        ? params.type
        : "missingProperty" in params
          ? params.missingProperty
          : "allowedValues" in params
            ? params.allowedValues
            : "allowedValue" in params
              ? params.allowedValue
              : "pattern" in params
                ? params.pattern
                : values.length === 1
                  ? values[0]
                  : params;
  if (error.keyword === "additionalProperties") return "additionalProperties false";
  const text = typeof shown === "string" ? shown : JSON.stringify(shown);
  return `${error.keyword} ${text}`;
}

function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** The value at a JSON pointer (ajv's instancePath), or ABSENT. */
function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === "") return root;
  let value = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(value)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index >= value.length) return ABSENT;
      value = value[index] as unknown;
    } else if (value !== null && typeof value === "object" && Object.hasOwn(value, key)) {
      value = (value as Record<string, unknown>)[key];
    } else return ABSENT;
  }
  return value;
}
