/**
 * Loads one rule file: validates it against rules/rule.schema.json, checks every field against
 * the field grammar, resolves a json_schema check's `$ref` (inside the rules directory only),
 * compiles it once to catch bad regexes, expressions and schemas, applies defaults and stamps
 * the version. Problems are values, each with the file, a JSON pointer and a readable message.
 */

import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import Ajv2020Module, { type ValidateFunction } from "ajv/dist/2020.js";
import { RuleCompileError } from "./compile-error.ts";
import { compileRule } from "../evaluate/compile-rule.ts";
import { parseAlertSpec } from "./alert-spec.ts";
import { parseField } from "./field-grammar.ts";
import { asRecord, readableErrors } from "./schema-errors.ts";
import { parseWindowCheck } from "./window-spec.ts";
import type {
  AlertSpec,
  AssertCheck,
  Check,
  Condition,
  JsonSchemaCheck,
  MatchSpec,
  Rule,
  RuleFileError,
  Severity,
} from "./rule.ts";

export type LoadRuleResult =
  | { ok: true; rule: Rule; dependencies: string[] }
  | { ok: false; errors: RuleFileError[]; dependencies: string[] };

/** What a `$ref` in a json_schema check resolved to. `path` (absolute) is watched for changes. */
export type SchemaRefResult =
  | { ok: true; schema: unknown; file: string; path?: string }
  | { ok: false; message: string; path?: string };

export type ResolveRef = (ref: string) => SchemaRefResult;

const Ajv2020 = Ajv2020Module.default;
const META_SCHEMA_ID = "https://json-schema.org/draft/2020-12/schema";
const RULE_SCHEMA_URL = new URL("../../rules/rule.schema.json", import.meta.url);

interface Validators {
  rule: ValidateFunction;
  meta: ValidateFunction;
}

let validators: Validators | undefined;

/** The rule schema and the 2020-12 meta-schema, compiled once per process. */
function getValidators(): Validators {
  if (validators === undefined) {
    const ajv = new Ajv2020({
      allErrors: true,
      discriminator: true,
      verbose: true,
      allowUnionTypes: true,
    });
    ajv.addFormat("uri", isAbsoluteUrl);
    ajv.addFormat("date-time", isDateTime);
    const schema = JSON.parse(readFileSync(RULE_SCHEMA_URL, "utf8")) as Record<string, unknown>;
    const meta = ajv.getSchema(META_SCHEMA_ID);
    if (meta === undefined) throw new Error("ajv has no JSON Schema 2020-12 meta-schema");
    validators = { rule: ajv.compile(schema), meta };
  }
  return validators;
}

/** RFC 3339 date-time with a zone ("2026-11-01T00:00:00Z", "…+01:00"). */
function isDateTime(text: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(text) &&
    Number.isFinite(Date.parse(text))
  );
}

function isAbsoluteUrl(text: string): boolean {
  try {
    return new URL(text).protocol !== "";
  } catch {
    return false;
  }
}

/** Reads and loads one rule file; `rulesDir` is what file names and `$ref`s are relative to. */
export function loadRuleFile(absPath: string, rulesDir: string): LoadRuleResult {
  const file = toPosix(path.relative(rulesDir, absPath));
  let text: string;
  try {
    text = readFileSync(absPath, "utf8");
  } catch (error) {
    return fail([{ file, pointer: "", message: `cannot read the file: ${describe(error)}` }]);
  }
  const json = parseJson(text);
  if (!json.ok) return fail([{ file, pointer: "", message: json.message }]);
  return parseRule(json.value, file, fileRefResolver(absPath, rulesDir));
}

/**
 * Validates and loads a rule given as parsed JSON. `file` names it in errors and in the rule.
 * Without `resolveRef`, a `$ref` in a json_schema check is an error (nothing to resolve it in).
 */
export function parseRule(json: unknown, file: string, resolveRef?: ResolveRef): LoadRuleResult {
  const { rule: validate } = getValidators();
  const errors: RuleFileError[] = [];
  const dependencies: string[] = [];
  const valid = validate(json);
  if (!valid) errors.push(...readableErrors(validate.errors ?? [], file));
  errors.push(...semanticErrors(json, file));
  if (!valid || errors.length > 0) return fail(errors, dependencies);

  const raw = structuredClone(json) as RawRule;
  let schemaFile: string | undefined;
  if (raw.check.type === "json_schema" && raw.check.$ref !== undefined) {
    const ref = raw.check.$ref;
    const resolved: SchemaRefResult = resolveRef
      ? resolveRef(ref)
      : { ok: false, message: "$ref is only resolved for rule files; put the schema inline" };
    if (resolved.path !== undefined) dependencies.push(resolved.path);
    if (!resolved.ok) {
      return fail([{ file, pointer: "/check/$ref", message: resolved.message }], dependencies);
    }
    const { meta } = getValidators();
    if (!meta(resolved.schema)) {
      return fail(readableErrors(meta.errors ?? [], resolved.file), dependencies);
    }
    schemaFile = resolved.file;
    raw.check = { type: "json_schema", field: raw.check.field, schema: resolved.schema };
  }

  if (raw.check.type === "rate" || raw.check.type === "drift") {
    const window = parseWindowCheck(raw.check);
    if (!window.ok) {
      return fail(
        window.errors.map((e) => ({ file, pointer: e.pointer, message: e.message })),
        dependencies,
      );
    }
  }
  const rule = withDefaults(raw, file);
  try {
    compileRule(rule);
  } catch (error) {
    let pointer = error instanceof RuleCompileError ? error.pointer : "/check";
    let message = describe(error);
    if (schemaFile !== undefined && pointer.startsWith("/check/schema")) {
      message = `${schemaFile}${pointer.slice("/check/schema".length)}: ${message}`;
      pointer = "/check/$ref";
    }
    return fail([{ file, pointer, message }], dependencies);
  }
  // The alert block is the alert stage's to define; its parser says what is wrong and where.
  const windowed = rule.check.type === "rate" || rule.check.type === "drift";
  const alert = parseAlertSpec(rule.alert, rule.labels, windowed);
  if (!alert.ok) {
    return fail(
      alert.errors.map((e) => ({ file, pointer: e.pointer, message: e.message })),
      dependencies,
    );
  }
  return { ok: true, rule, dependencies };
}

type RawCheck =
  | Exclude<Check, JsonSchemaCheck | AssertCheck>
  | { type: "json_schema"; field: string; schema?: unknown; $ref?: string }
  | { type: "assert"; assertions?: Condition[]; expr?: AssertCheck["expr"] };

/** The rule as the file holds it, after schema validation (defaults not applied yet). */
interface RawRule {
  $schema?: string;
  id: string;
  description?: string;
  severity?: Severity;
  enabled?: boolean;
  labels?: Record<string, string>;
  runbook?: string;
  owner?: string;
  match?: MatchSpec;
  check: RawCheck;
  alert?: AlertSpec;
}

function withDefaults(raw: RawRule, file: string): Rule {
  const check = normaliseCheck(raw.check);
  const content: Omit<Rule, "version" | "file"> = {
    id: raw.id,
    description: raw.description ?? "",
    severity: raw.severity ?? "warning",
    enabled: raw.enabled ?? true,
    labels: raw.labels ?? {},
    ...(raw.runbook !== undefined && { runbook: raw.runbook }),
    ...(raw.owner !== undefined && { owner: raw.owner }),
    match: raw.match ?? {},
    check,
    ...(raw.alert !== undefined && { alert: raw.alert }),
  };
  return { ...content, version: ruleVersion(content), file };
}

function normaliseCheck(check: RawCheck): Check {
  if (check.type === "assert") {
    return {
      type: "assert",
      assertions: check.assertions ?? [],
      ...(check.expr !== undefined && { expr: check.expr }),
    };
  }
  if (check.type === "json_schema") {
    // Validated against the 2020-12 meta-schema: an object or a boolean.
    const schema = check.schema as Record<string, unknown> | boolean;
    return { type: "json_schema", field: check.field, schema };
  }
  return check;
}

/** First 12 hex digits of sha256 over the canonical JSON (sorted keys) of the rule's content. */
export function ruleVersion(content: unknown): string {
  return createHash("sha256").update(canonicalJson(content)).digest("hex").slice(0, 12);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

// ---------------------------------------------------------------------------------------------
// $ref: a *.schema.json file relative to the rule, never outside the rules directory.

function fileRefResolver(rulePath: string, rulesDir: string): ResolveRef {
  return (ref) => {
    if (path.isAbsolute(ref) || path.win32.isAbsolute(ref) || /^[a-z][a-z0-9+.-]*:/i.test(ref)) {
      return { ok: false, message: `$ref must be a path relative to the rule file, not "${ref}"` };
    }
    if (ref.includes("#")) {
      return {
        ok: false,
        message: `$ref names a whole schema file; "#" fragments are not supported`,
      };
    }
    const target = path.resolve(path.dirname(rulePath), ref);
    const root = path.resolve(rulesDir);
    if (!isInside(root, target)) {
      return { ok: false, message: `$ref "${ref}" points outside the rules directory` };
    }
    let real: string;
    try {
      real = realpathSync(target);
    } catch {
      return { ok: false, message: `schema file "${ref}" not found`, path: target };
    }
    if (!isInside(realpathSync(root), real)) {
      return {
        ok: false,
        message: `$ref "${ref}" leads outside the rules directory (symlink)`,
        path: target,
      };
    }
    let text: string;
    try {
      text = readFileSync(real, "utf8");
    } catch (error) {
      return { ok: false, message: `cannot read "${ref}": ${describe(error)}`, path: target };
    }
    const json = parseJson(text);
    if (!json.ok) return { ok: false, message: `"${ref}": ${json.message}`, path: target };
    return {
      ok: true,
      schema: json.value,
      file: toPosix(path.relative(root, target)),
      path: target,
    };
  };
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

// ---------------------------------------------------------------------------------------------
// Checks the schema cannot express: field names, and ranges given low to high.

interface Located {
  pointer: string;
  value: unknown;
}

/**
 * Field names against the grammar, and ranges given low to high. Runs on unvalidated JSON too
 * (every access is guarded), so a file with a schema error also hears about its bad fields.
 */
function semanticErrors(json: unknown, file: string): RuleFileError[] {
  const errors: RuleFileError[] = [];
  const rule = asRecord(json);
  const check = asRecord(rule?.check);
  const conditions = conditionsOfMatch(rule?.match, "/match");
  const fields: Located[] = [];
  if (check?.type === "json_schema") fields.push({ pointer: "/check/field", value: check.field });
  if (check?.type === "assert")
    conditions.push(...conditionList(check.assertions, "/check/assertions"));
  if (check?.type === "trace" && check.kind === "unique" && Array.isArray(check.key)) {
    check.key.forEach((value: unknown, i) => fields.push({ pointer: `/check/key/${i}`, value }));
  }
  if (check?.type === "drift" || (check?.type === "rate" && check.aggregate !== undefined)) {
    fields.push({ pointer: "/check/field", value: check.field });
  }
  if (check?.type === "rate")
    conditions.push(...conditionsOfMatch({ where: check.share }, "/check/share").map(fromWhere));
  if (check?.type === "trace" && check.kind === "sequence") {
    conditions.push(...conditionsOfMatch(check.before, "/check/before"));
    conditions.push(...conditionsOfMatch(check.after, "/check/after"));
  }
  if (check?.type === "trace" && check.kind === "count") {
    const { min, max } = check;
    if (typeof min === "number" && typeof max === "number" && min > max) {
      errors.push({
        file,
        pointer: "/check/min",
        message: `min (${min}) is greater than max (${max})`,
      });
    }
  }
  for (const { pointer, value } of conditions) {
    const condition = asRecord(value);
    if (condition === undefined) continue;
    if ("field" in condition) fields.push({ pointer: `${pointer}/field`, value: condition.field });
    for (const operator of ["between", "length_between"]) {
      const range = condition[operator];
      if (!Array.isArray(range) || typeof range[0] !== "number" || typeof range[1] !== "number") {
        continue;
      }
      if (range[0] > range[1]) {
        const message = `must be [low, high]: ${range[0]} is greater than ${range[1]}`;
        errors.push({ file, pointer: `${pointer}/${operator}`, message });
      }
    }
  }
  for (const { pointer, value } of fields) {
    if (typeof value !== "string" || value === "") continue;
    const parsed = parseField(value);
    if (!parsed.ok) errors.push({ file, pointer, message: parsed.message });
  }
  return errors.sort((a, b) => compareText(a.pointer, b.pointer));
}

/** The conditions of a match's `where`, any-groups included, with their pointers. */
function conditionsOfMatch(match: unknown, at: string): Located[] {
  const where = asRecord(match)?.where;
  if (!Array.isArray(where)) return [];
  return where.flatMap((clause: unknown, i) => {
    const any = asRecord(clause)?.any;
    return any === undefined
      ? [{ pointer: `${at}/where/${i}`, value: clause }]
      : conditionList(any, `${at}/where/${i}/any`);
  });
}

/** conditionsOfMatch on a bare list: "/check/share/where/0" → "/check/share/0". */
function fromWhere(located: Located): Located {
  return { ...located, pointer: located.pointer.replace("/where/", "/") };
}

function conditionList(list: unknown, at: string): Located[] {
  if (!Array.isArray(list)) return [];
  return list.map((value: unknown, i) => ({ pointer: `${at}/${i}`, value }));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = describe(error);
    const position = /position (\d+)/.exec(message)?.[1];
    if (position === undefined) return { ok: false, message: `not valid JSON: ${message}` };
    const before = text.slice(0, Number(position));
    const line = before.split("\n").length;
    const column = Number(position) - before.lastIndexOf("\n");
    return { ok: false, message: `not valid JSON (line ${line}, column ${column}): ${message}` };
  }
}

function toPosix(file: string): string {
  return file.split(path.sep).join("/");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function fail(errors: RuleFileError[], dependencies: string[] = []): LoadRuleResult {
  return { ok: false, errors, dependencies };
}
