/**
 * The operators of a condition (see conditions.ts for their semantics), each compiled once:
 * operands checked, regexes compiled, expected text prepared.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { RuleIssues } from "../rules/rule-issues.ts";
import { looksLikeErrorPayload, looksLikeErrorText } from "./error-payload.ts";
import { isTextField, readField, readFieldAsJson, type RowCache } from "./fields.ts";
import { type FieldRef } from "../rules/field-grammar.ts";
import { ABSENT } from "./finding.ts";
import { compileRegex } from "./regex.ts";
import type { Condition } from "../rules/rule.ts";
import { isEmpty, lengthOf, looselyEqual, parses, show, toNumber } from "./values.ts";

export type ConditionOutcome =
  | { ok: true }
  | {
      ok: false;
      /** Where the failing value is: the field, or the element of a `[*]` field. */
      path: string;
      /** The value seen (ABSENT when there is none). */
      observed: unknown;
      expected: string;
      message: string;
    };

/** The most text a regex or `contains` reads: enough for any output, bounded for any input. */
export const MAX_MATCH_CHARS = 1 << 20;

/** One operator: `failure` returns why a present value fails it, or null when it holds. */
export interface Operator {
  expected: string;
  holdsWhenAbsent: boolean;
  /**
   * Reads the field itself instead of value by value: is_json and error_payload on text
   * fields, to use the row's cached JSON parse. Returns null when the operator holds.
   */
  whole?: (row: AgentOutputRow, cache: RowCache) => ConditionOutcome | null;
  failure(value: unknown): string | null;
}

export const OPERATOR_KEYS = [
  "exists",
  "not_empty",
  "is_json",
  "equals",
  "not_equals",
  "in",
  "not_in",
  "contains",
  "not_contains",
  "matches",
  "not_matches",
  "min",
  "max",
  "between",
  "length_between",
  "error_payload",
] as const;

/** Compiles one operator of a condition; a bad operand is an issue at `/<operator>` (undefined). */
export function compileOperator(
  key: (typeof OPERATOR_KEYS)[number],
  condition: Condition,
  field: FieldRef,
  issues: RuleIssues,
): Operator | undefined {
  const pointer = `/${key}`;
  const fail = (message: string): undefined => void issues.add(pointer, message);
  const ignoreCase = condition.ignore_case === true;
  switch (key) {
    case "exists": {
      const want = requireBoolean(condition.exists, fail);
      if (want === undefined) return undefined;
      return want
        ? { expected: "present", holdsWhenAbsent: false, failure: () => null }
        : { expected: "absent", holdsWhenAbsent: true, failure: () => "is present" };
    }
    case "not_empty": {
      const want = requireBoolean(condition.not_empty, fail);
      if (want === undefined) return undefined;
      return want
        ? {
            expected: "not empty",
            holdsWhenAbsent: false,
            failure: (v) => (isEmpty(v) ? "is empty" : null),
          }
        : {
            expected: "empty",
            holdsWhenAbsent: true,
            failure: (v) => (isEmpty(v) ? null : `is ${show(v)}`),
          };
    }
    case "is_json": {
      const want = requireBoolean(condition.is_json, fail);
      return want === undefined ? undefined : isJsonOperator(want, field);
    }
    case "equals": {
      const expected = condition.equals;
      return {
        expected: `equals ${show(expected)}`,
        holdsWhenAbsent: false,
        failure: (v) => (looselyEqual(v, expected) ? null : `is ${show(v)}`),
      };
    }
    case "not_equals": {
      const expected = condition.not_equals;
      return {
        expected: `not equal to ${show(expected)}`,
        holdsWhenAbsent: true,
        failure: (v) => (looselyEqual(v, expected) ? `is ${show(v)}` : null),
      };
    }
    case "in":
    case "not_in": {
      const list = condition[key];
      if (!Array.isArray(list)) return fail(`"${key}" needs a list`);
      const isIn = (v: unknown) => list.some((candidate) => looselyEqual(v, candidate));
      return key === "in"
        ? {
            expected: `one of ${show(list)}`,
            holdsWhenAbsent: false,
            failure: (v) => (isIn(v) ? null : `is ${show(v)}`),
          }
        : {
            expected: `none of ${show(list)}`,
            holdsWhenAbsent: true,
            failure: (v) => (isIn(v) ? `is ${show(v)}` : null),
          };
    }
    case "contains":
    case "not_contains": {
      const needle = condition[key];
      if (typeof needle !== "string") return fail(`"${key}" needs a string`);
      const has = containsTest(needle, ignoreCase);
      return key === "contains"
        ? {
            expected: `contains ${JSON.stringify(needle)}`,
            holdsWhenAbsent: false,
            failure: (v) => (has(v) ? null : `does not contain ${JSON.stringify(needle)}`),
          }
        : {
            expected: `does not contain ${JSON.stringify(needle)}`,
            holdsWhenAbsent: true,
            failure: (v) => (has(v) ? `contains ${JSON.stringify(needle)}` : null),
          };
    }
    case "matches":
    case "not_matches": {
      const source = condition[key];
      if (typeof source !== "string") return fail(`"${key}" needs a regular expression string`);
      const regex = compileRegex(source, ignoreCase, fail);
      if (regex === undefined) return undefined;
      const shown = `/${source}/${ignoreCase ? "i" : ""}`;
      return key === "matches"
        ? {
            expected: `matches ${shown}`,
            holdsWhenAbsent: false,
            failure: (v) =>
              regex.test(matchText(v)) ? null : `is ${show(v)}, which does not match`,
          }
        : {
            expected: `does not match ${shown}`,
            holdsWhenAbsent: true,
            failure: (v) => {
              const text = matchText(v);
              // test() runs on RE2's DFA; the slower exec() only to quote a failure.
              if (!regex.test(text)) return null;
              const match = regex.exec(text);
              return `matches at ${show(String(match?.[0] ?? ""))}`;
            },
          };
    }
    case "min":
    case "max": {
      const limit = requireNumber(condition[key], fail);
      if (limit === undefined) return undefined;
      const holds = key === "min" ? (n: number) => n >= limit : (n: number) => n <= limit;
      return numericOperator(`${key === "min" ? ">=" : "<="} ${limit}`, holds);
    }
    case "between": {
      const range = requireRange(condition.between, fail);
      if (range === undefined) return undefined;
      const [low, high] = range;
      return numericOperator(`between ${low} and ${high}`, (n) => n >= low && n <= high);
    }
    case "length_between": {
      const range = requireRange(condition.length_between, fail);
      if (range === undefined) return undefined;
      const [low, high] = range;
      return {
        expected: `length between ${low} and ${high}`,
        holdsWhenAbsent: false,
        failure: (v) => {
          const length = lengthOf(v);
          if (length === undefined) return `is ${show(v)}, which has no length`;
          return length >= low && length <= high ? null : `has length ${length}`;
        },
      };
    }
    case "error_payload": {
      const want = requireBoolean(condition.error_payload, fail);
      return want === undefined ? undefined : errorPayloadOperator(want, field);
    }
  }
}

function numericOperator(expected: string, holds: (n: number) => boolean): Operator {
  return {
    expected,
    holdsWhenAbsent: false,
    failure: (v) => {
      const n = toNumber(v);
      if (n === undefined) return `is ${show(v)}, not a number`;
      return holds(n) ? null : `is ${show(v)}`;
    },
  };
}

function isJsonOperator(want: boolean, field: FieldRef): Operator {
  const expected = want ? "JSON" : "not JSON";
  const failure = (v: unknown): string | null => {
    const json = typeof v !== "string" || parses(v);
    if (json === want) return null;
    return want ? "is not JSON" : "is JSON";
  };
  if (!isTextField(field)) return { expected, holdsWhenAbsent: !want, failure };
  // Text fields go through readFieldAsJson, whose parse is cached per row.
  return {
    expected,
    holdsWhenAbsent: !want,
    failure,
    whole(row, cache) {
      const value = readFieldAsJson(row, field, cache);
      const json = value.present;
      if (!json && value.reason === "missing") {
        return want ? absentOutcome(field, expected) : null;
      }
      if (json === want) return null;
      const raw = readField(row, field, cache);
      const observed = raw.present ? raw.values[0] : ABSENT;
      return {
        ok: false,
        path: field.text,
        observed,
        expected,
        message: `${field.text} ${want ? "is not JSON" : "is JSON"}, expected ${expected}`,
      };
    },
  };
}

function errorPayloadOperator(want: boolean, field: FieldRef): Operator {
  const expected = want ? "an error payload" : "not an error payload";
  const failure = (v: unknown): string | null => {
    const verdict = looksLikeErrorPayload(v);
    if (verdict.error === want) return null;
    return verdict.error
      ? `looks like an error payload (${verdict.reason})`
      : "does not look like an error payload";
  };
  if (!isTextField(field)) return { expected, holdsWhenAbsent: !want, failure };
  // A JSON text is judged by its parsed form; the parse is the row's cached one.
  return {
    expected,
    holdsWhenAbsent: !want,
    failure,
    whole(row, cache) {
      const raw = readField(row, field, cache);
      if (!raw.present) return want ? absentOutcome(field, expected) : null;
      const asJson = readFieldAsJson(row, field, cache);
      const judged = asJson.present ? asJson.values[0] : raw.values[0];
      // Text that did not parse is judged as text, without parsing it again.
      const verdict =
        !asJson.present && typeof judged === "string"
          ? looksLikeErrorText(judged)
          : looksLikeErrorPayload(judged);
      if (verdict.error === want) return null;
      const why = verdict.error
        ? `looks like an error payload (${verdict.reason})`
        : "does not look like an error payload";
      return {
        ok: false,
        path: field.text,
        observed: raw.values[0],
        expected,
        message: `${field.text} ${why}, expected ${expected}`,
      };
    },
  };
}

function absentOutcome(field: FieldRef, expected: string): ConditionOutcome {
  return {
    ok: false,
    path: field.text,
    observed: ABSENT,
    expected,
    message: `${field.text} is absent, expected ${expected}`,
  };
}

type Fail = (message: string) => undefined;

function requireBoolean(value: unknown, fail: Fail): boolean | undefined {
  return typeof value === "boolean" ? value : fail("needs true or false");
}

function requireNumber(value: unknown, fail: Fail): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : fail("needs a number");
}

function requireRange(value: unknown, fail: Fail): [number, number] | undefined {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== "number" ||
    typeof value[1] !== "number" ||
    !Number.isFinite(value[0]) ||
    !Number.isFinite(value[1]) ||
    value[0] > value[1]
  ) {
    return fail("needs [low, high] with low <= high");
  }
  return [value[0], value[1]];
}

/** The text a regex or `contains` reads: strings as they are, other values as JSON; capped. */
function matchText(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return text.length > MAX_MATCH_CHARS ? text.slice(0, MAX_MATCH_CHARS) : text;
}

function containsTest(needle: string, ignoreCase: boolean): (value: unknown) => boolean {
  const wanted = ignoreCase ? needle.toLowerCase() : needle;
  const fold = (text: string) => (ignoreCase ? text.toLowerCase() : text);
  return (value) => {
    if (Array.isArray(value)) {
      return value.some((item) => typeof item === "string" && fold(item) === wanted);
    }
    return fold(matchText(value)).includes(wanted);
  };
}
