/**
 * Conditions (`where` clauses and assertions), compiled once per rule into a test of a row.
 *
 * A condition names a field and one or more operators; every operator must hold. Semantics:
 * - A `[*]` field holds when every element satisfies every operator (vacuously for an empty
 *   array); a failure names the element (`output.json.items[2].amount`).
 * - An absent field (see FieldValue), or an element lacking the rest of a `[*]` path, has no
 *   value. The operators that say what a value must *not* be hold on it: `exists: false`,
 *   `not_equals`, `not_in`, `not_contains`, `not_matches`, `not_empty: false`,
 *   `is_json: false`, `error_payload: false`. Every other operator fails on it.
 * - `equals` / `in` compare JSON values deeply; a string compared with a number or boolean is
 *   read as one (attributes are stored as strings: `attributes.x equals 5` holds for "5").
 * - `contains` on an array means an element equals the string; on other non-strings it looks
 *   in the JSON text. `matches` finds the RE2 pattern anywhere (anchor with ^…$) in the string,
 *   or in the JSON text of other values, reading at most the first 1 MiB.
 * - `min` / `max` / `between` (inclusive) need a number or a numeric string; `length_between`
 *   a string (UTF-16 units) or an array.
 * - `not_empty` treats null, "", whitespace-only text, [] and {} as empty.
 * - `is_json`: text fields must parse as JSON (output.text also counts when the decoder found
 *   fenced JSON in it); values inside JSON are JSON already, except strings, which must parse.
 * - `error_payload`: looksLikeErrorPayload (error-payload.ts).
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { RuleIssues } from "../rules/rule-issues.ts";
import { cacheFor, readField, type RowCache } from "./fields.ts";
import { parseField, type FieldRef } from "../rules/field-grammar.ts";
import { ABSENT } from "./finding.ts";
import {
  compileOperator,
  OPERATOR_KEYS,
  type ConditionOutcome,
  type Operator,
} from "./operators.ts";
import type { Condition } from "../rules/rule.ts";

export type { ConditionOutcome };

export interface CompiledCondition {
  field: FieldRef;
  test(row: AgentOutputRow, cache?: RowCache): ConditionOutcome;
}

const OK: ConditionOutcome = { ok: true };

/**
 * Compiles a condition. An unknown field, a condition without operator, a bad operand or an
 * invalid regex is an issue (pointer relative to the condition), and the result undefined.
 */
export function compileCondition(
  condition: Condition,
  issues: RuleIssues,
): CompiledCondition | undefined {
  const parsed = parseField(condition.field);
  if (!parsed.ok) return void issues.add("/field", parsed.message);
  const field = parsed.field;
  const operators: Operator[] = [];
  let keys = 0;
  const before = issues.count();
  for (const key of OPERATOR_KEYS) {
    if (condition[key] === undefined) continue;
    keys += 1;
    const operator = compileOperator(key, condition, field, issues);
    if (operator !== undefined) operators.push(operator);
  }
  if (keys === 0) {
    const known = OPERATOR_KEYS.join(", ");
    return void issues.add(
      "",
      `the condition on "${field.text}" has no operator (one of ${known})`,
    );
  }
  if (issues.count() > before) return undefined;
  const customMessage = condition.message;

  function fail(path: string, observed: unknown, operator: Operator, why: string) {
    return {
      ok: false as const,
      path,
      observed,
      expected: operator.expected,
      message: customMessage ?? `${path} ${why}, expected ${operator.expected}`,
    };
  }

  return {
    field,
    test(row, cache = cacheFor(row)) {
      let value: ReturnType<typeof readField> | undefined;
      for (const operator of operators) {
        if (operator.whole !== undefined) {
          const outcome = operator.whole(row, cache);
          if (outcome === null || outcome.ok) continue;
          return customMessage === undefined ? outcome : { ...outcome, message: customMessage };
        }
        value ??= readField(row, field, cache);
        if (!value.present) {
          if (operator.holdsWhenAbsent) continue;
          const why = value.reason === "not_json" ? `is absent (${value.message})` : "is absent";
          return fail(field.text, ABSENT, operator, why);
        }
        for (let i = 0; i < value.values.length; i += 1) {
          const item = value.values[i];
          const location = value.locations[i] ?? field.text;
          if (item === undefined) {
            if (operator.holdsWhenAbsent) continue;
            return fail(location, ABSENT, operator, "is absent");
          }
          const why = operator.failure(item);
          if (why !== null) return fail(location, item, operator, why);
        }
      }
      return OK;
    },
  };
}
