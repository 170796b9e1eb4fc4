/**
 * ajv's errors as people read them: one message per problem, at the JSON pointer of the rule
 * file where it is, with oneOf/anyOf noise collapsed and typos answered with a suggestion.
 */

import type { ErrorObject } from "ajv/dist/2020.js";
import type { RuleFileError } from "./rule.ts";

/** The value as a plain object, or undefined when it is not one. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

interface Readable {
  pointer: string;
  message: string;
  /** For merging the branches of anyOf / oneOf: what the value was expected to be. */
  expected?: string[];
  /** "must have exactly one of …": the property names. "unknown property": the suggestion. */
  names?: string[];
  keyword: string;
}

/**
 * Turns ajv's errors into readable ones. anyOf / oneOf report every failing branch; those are
 * collapsed into the most relevant message: the deepest branch error (the branch that got
 * furthest), else one "must be a or b" at the value, else "must have exactly one of …" when
 * the branches only differ in a required property (a condition's operator, schema vs $ref).
 */
export function readableErrors(errors: readonly ErrorObject[], file: string): RuleFileError[] {
  let out: Readable[] = [];
  for (const error of errors) {
    if (error.keyword === "if" || error.keyword === "discriminator") continue;
    if (error.keyword === "anyOf" || error.keyword === "oneOf") {
      const at = error.instancePath;
      const branches: Readable[] = [];
      while (out.length > 0 && isWithin(out[out.length - 1]?.pointer ?? "", at)) {
        const last = out.pop();
        if (last) branches.unshift(last);
      }
      out.push(...collapseUnion(error, branches));
      continue;
    }
    out.push(translate(error));
  }
  // A value of the wrong type: nothing else said about it (or inside it) matters.
  const wrongType = out.filter((entry) => entry.keyword === "type").map((entry) => entry.pointer);
  out = out.filter(
    (entry) =>
      entry.keyword === "type" || !wrongType.some((pointer) => isWithin(entry.pointer, pointer)),
  );
  // `{"field": …, "equal": 1}`: "unknown property "equal" (did you mean "equals"?)" says it
  // all; "must have exactly one of equals, …" beside it is the same mistake again.
  const misspelt = out.filter((entry) => entry.keyword === "additionalProperties");
  out = out.filter(
    (entry) =>
      entry.keyword !== "requiredUnion" ||
      !misspelt.some(
        (typo) =>
          parentPointer(typo.pointer) === entry.pointer &&
          typo.names?.some((name) => entry.names?.includes(name)),
      ),
  );
  const seen = new Set<string>();
  const result: RuleFileError[] = [];
  for (const { pointer, message } of out) {
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ file, pointer, message });
  }
  return result;
}

function parentPointer(pointer: string): string {
  return pointer.slice(0, Math.max(0, pointer.lastIndexOf("/")));
}

function isWithin(pointer: string, at: string): boolean {
  return pointer === at || pointer.startsWith(`${at}/`);
}

function collapseUnion(error: ErrorObject, branches: Readable[]): Readable[] {
  const at = error.instancePath;
  const alternatives = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
  const requiredOnly = alternatives.length > 0 && alternatives.every(isRequiredOnly);
  if (requiredOnly) {
    const names = alternatives.map(
      (alternative) => (alternative as { required: string[] }).required[0] ?? "",
    );
    const passing = (error.params as { passingSchemas?: number[] | null }).passingSchemas;
    let message: string;
    if (Array.isArray(passing)) {
      const given = passing.map((index) => names[index]).join(", ");
      message = `must have only one of ${names.join(", ")}; found ${given}`;
    } else if (error.keyword === "oneOf") {
      message = `must have exactly one of ${names.join(", ")}`;
    } else {
      message = `must have at least one of ${names.join(", ")}`;
    }
    return [{ pointer: at, message, keyword: "requiredUnion", names }];
  }
  const deepest = Math.max(-1, ...branches.map((branch) => depth(branch.pointer)));
  if (deepest > depth(at)) return branches.filter((branch) => depth(branch.pointer) === deepest);
  if (branches.length > 0 && branches.every((branch) => branch.expected !== undefined)) {
    const expected = branches.flatMap((branch) => branch.expected ?? []);
    return [{ pointer: at, message: `must be ${joinOr(expected)}`, expected, keyword: "union" }];
  }
  if (branches.length > 0) return branches;
  return [{ pointer: at, message: error.message ?? "is not valid", keyword: error.keyword }];
}

function isRequiredOnly(schema: unknown): boolean {
  const record = asRecord(schema);
  return (
    record !== undefined &&
    Object.keys(record).length === 1 &&
    Array.isArray(record.required) &&
    record.required.length === 1
  );
}

function depth(pointer: string): number {
  return pointer === "" ? 0 : pointer.split("/").length - 1;
}

function joinOr(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique.join("");
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1] ?? ""}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  array: "an array",
  object: "an object",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  null: "null",
};

function translate(error: ErrorObject): Readable {
  const { instancePath: pointer, keyword } = error;
  const params = error.params as Record<string, unknown>;
  if (keyword === "additionalProperties") {
    const name = String(params.additionalProperty);
    const known = Object.keys(asRecord(asRecord(error.parentSchema)?.properties) ?? {});
    const suggestion = closest(name, known);
    const hint = suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
    return {
      pointer: `${pointer}/${escapePointer(name)}`,
      message: `unknown property "${name}"${hint}`,
      keyword,
      ...(suggestion !== undefined && { names: [suggestion] }),
    };
  }
  const expected = expectedValues(keyword, params);
  if (expected !== undefined) {
    return { pointer, message: `must be ${joinOr(expected)}`, expected, keyword };
  }
  const message =
    MESSAGES[keyword]?.(params, pointer) ?? error.message ?? `is not valid (${keyword})`;
  return { pointer, message, keyword };
}

/** What enum, const and type errors expect, so that union branches can be merged. */
function expectedValues(keyword: string, params: Record<string, unknown>): string[] | undefined {
  if (keyword === "enum") {
    return [`one of ${(params.allowedValues as unknown[]).map(formatValue).join(", ")}`];
  }
  if (keyword === "const") return [formatValue(params.allowedValue)];
  if (keyword === "type") {
    return ([] as string[]).concat(params.type as string | string[]).map((t) => TYPE_NAMES[t] ?? t);
  }
  return undefined;
}

type MessageOf = (params: Record<string, unknown>, pointer: string) => string;

const ID_CHARACTERS =
  ' (lowercase letters, digits, ".", "_", "-"; starting with a letter or digit)';

const MESSAGES: Record<string, MessageOf> = {
  required: (p) => `missing required property "${String(p.missingProperty)}"`,
  pattern: (p, at) => `must match ${String(p.pattern)}${at === "/id" ? ID_CHARACTERS : ""}`,
  format: (p) => `must be a valid ${p.format === "uri" ? "absolute URL" : String(p.format)}`,
  minItems: (p) =>
    p.limit === 1 ? "must not be empty" : `must have at least ${String(p.limit)} items`,
  maxItems: (p) => `must have at most ${String(p.limit)} items`,
  items: (p) => `must have at most ${String(p.limit)} items`,
  minLength: (p) =>
    p.limit === 1 ? "must not be empty" : `must be at least ${String(p.limit)} characters`,
  maxLength: (p) => `must be at most ${String(p.limit)} characters`,
  minimum: (p) => `must be ${String(p.comparison)} ${String(p.limit)}`,
  maximum: (p) => `must be ${String(p.comparison)} ${String(p.limit)}`,
  exclusiveMinimum: (p) => `must be ${String(p.comparison)} ${String(p.limit)}`,
  exclusiveMaximum: (p) => `must be ${String(p.comparison)} ${String(p.limit)}`,
  "false schema": () => "is not allowed here",
};

function formatValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function escapePointer(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** The known name within edit distance 2 of a misspelt one, if there is exactly one best. */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ---------------------------------------------------------------------------------------------
