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
import { parseAlertSpec, type ParsedAlertSpec } from "./alert-spec.ts";
import { parseField } from "./field-grammar.ts";
import { parseJudgeTemplate } from "./judge-template.ts";
import { asRecord, readableErrors } from "./schema-errors.ts";
import { collectRuleIssues, type RuleIssues } from "./rule-issues.ts";
import { windowFieldIssues, windowMatchIssues, windowWhereIssues } from "./window-limits.ts";
import { parseWindowCheck, type WindowSpec } from "./window-spec.ts";
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

export type LoadRuleResult<R extends Rule = Rule> =
  | { ok: true; rule: R; dependencies: string[] }
  | { ok: false; errors: RuleFileError[]; dependencies: string[] };

/**
 * Compiles a parsed rule into the form a stage runs (the evaluate stage's checks), reporting
 * what cannot be compiled (a bad regex, schema or expression) as issues. Called once per load.
 */
export type RuleCompiler<R extends Rule> = (rule: Rule, issues: RuleIssues) => R;

export interface ParseRuleOptions<R extends Rule> {
  compile: RuleCompiler<R>;
  /** Without it, a `$ref` in a json_schema check is an error (nothing to resolve it in). */
  resolveRef?: ResolveRef;
}

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
export function loadRuleFile<R extends Rule>(
  absPath: string,
  rulesDir: string,
  compile: RuleCompiler<R>,
): LoadRuleResult<R> {
  const file = toPosix(path.relative(rulesDir, absPath));
  let text: string;
  try {
    text = readFileSync(absPath, "utf8");
  } catch (error) {
    return fail([{ file, pointer: "", message: `cannot read the file: ${describe(error)}` }]);
  }
  const json = parseJson(text);
  if (!json.ok) return fail([{ file, pointer: "", message: json.message }]);
  return parseRule(json.value, file, { compile, resolveRef: fileRefResolver(absPath, rulesDir) });
}

/**
 * Validates and loads a rule given as parsed JSON; `file` names it in errors and in the rule.
 * Every section is parsed here, once: the match and check (compiled by `compile`), the window
 * spec of a rate or drift check, the alert block. Problems are collected, not thrown: every
 * schema error, every unknown field, and every problem of each section the schema accepted.
 */
export function parseRule<R extends Rule>(
  json: unknown,
  file: string,
  options: ParseRuleOptions<R>,
): LoadRuleResult<R> {
  const { rule: validate } = getValidators();
  const errors: RuleFileError[] = [];
  const dependencies: string[] = [];
  if (!validate(json)) errors.push(...readableErrors(validate.errors ?? [], file));
  errors.push(...semanticErrors(json, file));
  if (asRecord(json) === undefined) return fail(errors, dependencies);
  // A section the schema refused is not read further: its shape is unknown.
  const schemaErrors = [...errors];
  const usable = (section: string) =>
    !schemaErrors.some((e) => e.pointer === section || e.pointer.startsWith(`${section}/`));
  const issues = collectRuleIssues();
  const raw = structuredClone(json) as RawRule;

  let schemaFile: string | undefined;
  let check: RawCheck | undefined = usable("/check") ? raw.check : undefined;
  if (check?.type === "json_schema" && check.$ref !== undefined) {
    const ref = check.$ref;
    const resolved: SchemaRefResult = options.resolveRef
      ? options.resolveRef(ref)
      : { ok: false, message: "$ref is only resolved for rule files; put the schema inline" };
    if (resolved.path !== undefined) dependencies.push(resolved.path);
    const { meta } = getValidators();
    if (!resolved.ok) {
      errors.push({ file, pointer: "/check/$ref", message: resolved.message });
      check = undefined;
    } else if (!meta(resolved.schema)) {
      errors.push(...readableErrors(meta.errors ?? [], resolved.file));
      check = undefined;
    } else {
      schemaFile = resolved.file;
      check = { type: "json_schema", field: check.field, schema: resolved.schema };
    }
  }
  const match = usable("/match") ? (raw.match ?? {}) : undefined;
  const labels = usable("/labels") ? (raw.labels ?? {}) : {};

  let window: WindowSpec | undefined;
  const windowed = check?.type === "rate" || check?.type === "drift" || check?.type === "absent";
  if (
    check !== undefined &&
    (check.type === "rate" || check.type === "drift" || check.type === "absent")
  ) {
    const parsed = parseWindowCheck(check);
    if (parsed.ok) window = parsed.spec;
    else for (const e of parsed.errors) issues.add(e.pointer, e.message);
    if (match !== undefined) windowMatchIssues(match, issues.at("/match"));
    if (check.type === "rate") windowWhereIssues(check.share ?? [], issues.at("/check/share"));
    const spec = parsed.ok ? parsed.spec : undefined;
    const field =
      spec?.type === "drift"
        ? spec.field
        : spec?.type === "rate" && spec.measure.type === "aggregate"
          ? spec.measure.field
          : undefined;
    if (field !== undefined) windowFieldIssues(field, issues.at("/check/field"));
  }

  let alertSpec: ParsedAlertSpec | undefined;
  if (usable("/alert")) {
    const alert = parseAlertSpec(raw.alert, labels, windowed);
    // An absence rule alerts per entity: its alert groups by the check's groupBy.
    if (alert.ok && window?.type === "absent")
      alertSpec = { ...alert.spec, groupBy: [...window.groupBy] };
    else if (alert.ok) alertSpec = alert.spec;
    else for (const e of alert.errors) issues.add(e.pointer, e.message);
  }

  let compiled: R | undefined;
  if (check !== undefined) {
    // The compiler sees the sections that parsed; stand-ins for the others are never run.
    const rule = withDefaults({ ...raw, match: match ?? {}, labels, check }, file, {
      alertSpec: alertSpec ?? parsedAlertDefaults(windowed),
      window,
    });
    const compileIssues = collectRuleIssues();
    compiled = options.compile(rule, compileIssues);
    for (const issue of compileIssues.list) {
      if (schemaFile !== undefined && issue.pointer.startsWith("/check/schema")) {
        const where = issue.pointer.slice("/check/schema".length);
        issues.add("/check/$ref", `${schemaFile}${where}: ${issue.message}`);
      } else issues.add(issue.pointer, issue.message);
    }
  }

  for (const issue of issues.list) errors.push({ file, ...issue });
  if (errors.length > 0 || compiled === undefined) return fail(distinct(errors), dependencies);
  return { ok: true, rule: Object.freeze(compiled), dependencies };
}

/** The alert spec of a rule without an alert block, for a compiler that never reads it. */
function parsedAlertDefaults(windowed: boolean): ParsedAlertSpec {
  const parsed = parseAlertSpec(undefined, {}, windowed);
  if (!parsed.ok) throw new Error("the alert defaults do not parse");
  return parsed.spec;
}

/** Each problem once: a field the grammar refuses is also refused by the compiler. */
function distinct(errors: RuleFileError[]): RuleFileError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.file}\u0000${e.pointer}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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

/** What a rule's file says, defaults applied: the content its version is the hash of. */
export type RuleDefinition = Omit<Rule, "version" | "file" | "alertSpec" | "window">;

/** The definition of a loaded (or compiled) rule, without what loading derived from it. */
export function ruleDefinition(rule: Rule): RuleDefinition {
  return {
    id: rule.id,
    description: rule.description,
    severity: rule.severity,
    enabled: rule.enabled,
    labels: rule.labels,
    ...(rule.runbook !== undefined && { runbook: rule.runbook }),
    ...(rule.owner !== undefined && { owner: rule.owner }),
    match: rule.match,
    check: rule.check,
    ...(rule.alert !== undefined && { alert: rule.alert }),
  };
}

function withDefaults(
  raw: RawRule,
  file: string,
  parsed: Pick<Rule, "alertSpec" | "window">,
): Rule {
  const check = normaliseCheck(raw.check);
  const content: RuleDefinition = {
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
  // The version covers what the file says, not what was derived from it.
  return { ...content, version: ruleVersion(content), file, ...parsed };
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
  const acrossOutputs = check?.type === "trace" || check?.type === "conversation";
  if (check?.type === "conversation" && check.kind === "consistent") {
    fields.push({ pointer: "/check/field", value: check.field });
  }
  if (acrossOutputs && check.kind === "unique" && Array.isArray(check.key)) {
    check.key.forEach((value: unknown, i) => fields.push({ pointer: `/check/key/${i}`, value }));
  }
  if (check?.type === "drift" || (check?.type === "rate" && check.aggregate !== undefined)) {
    fields.push({ pointer: "/check/field", value: check.field });
  }
  if (check?.type === "rate")
    conditions.push(...conditionsOfMatch({ where: check.share }, "/check/share").map(fromWhere));
  if (acrossOutputs && check.kind === "sequence") {
    conditions.push(...conditionsOfMatch(check.before, "/check/before"));
    conditions.push(...conditionsOfMatch(check.after, "/check/after"));
  }
  if (check?.type === "judge" && typeof check.prompt === "string") {
    const template = parseJudgeTemplate(check.prompt);
    if (!template.ok) {
      for (const message of template.messages)
        errors.push({ file, pointer: "/check/prompt", message });
    }
  }
  if (acrossOutputs && check.kind === "count") {
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

function fail(errors: RuleFileError[], dependencies: string[] = []): LoadRuleResult<never> {
  return { ok: false, errors, dependencies };
}
