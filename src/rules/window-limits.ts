/**
 * What a window rule (rate or drift) may say. Window rules run as SQL in ClickHouse
 * (src/evaluate/windows/), which mirrors the Node semantics of conditions exactly except for
 * the few things below; a rule using one is refused at load, with the pointer of the part and
 * the per-output alternative, rather than evaluated differently in SQL.
 */

import { parseField, type FieldRef } from "./field-grammar.ts";
import type { Condition, MatchSpec, WhereClause } from "./rule.ts";
import type { RuleIssues } from "./rule-issues.ts";

/** Problems of a window rule's `match` (pointers relative to the match). */
export function windowMatchIssues(spec: MatchSpec, issues: RuleIssues): void {
  windowWhereIssues(spec.where ?? [], issues.at("/where"));
}

/** Problems of a list of where clauses (a match's `where`, a rate's `share`). */
export function windowWhereIssues(clauses: readonly WhereClause[], issues: RuleIssues): void {
  clauses.forEach((clause, i) => {
    if (!("any" in clause)) return windowConditionIssues(clause, issues.at(`/${i}`));
    if (!Array.isArray(clause.any)) return;
    clause.any.forEach((condition, j) =>
      windowConditionIssues(condition, issues.at(`/${i}/any/${j}`)),
    );
  });
}

/** A field a window rule reads as one value per output: a `[*]` path has many. */
export function windowFieldIssues(field: FieldRef, issues: RuleIssues): void {
  if (!field.wildcard) return;
  issues.add(
    "",
    `window rules cannot read "${field.text}": a [*] path has one value per element; name one element ([0]) or use a per-output rule`,
  );
}

function windowConditionIssues(condition: Condition, issues: RuleIssues): void {
  const parsed = typeof condition.field === "string" ? parseField(condition.field) : undefined;
  if (parsed?.ok === true) windowFieldIssues(parsed.field, issues.at("/field"));
  if (condition.error_payload !== undefined) {
    issues.add(
      "/error_payload",
      "window rules cannot use error_payload (a heuristic that only runs in Node); use a per-output rule instead",
    );
  }
  operandIssues(condition.equals, issues.at("/equals"));
  operandIssues(condition.not_equals, issues.at("/not_equals"));
  for (const key of ["in", "not_in"] as const) {
    const list = condition[key];
    if (Array.isArray(list))
      list.forEach((item, j) => operandIssues(item, issues.at(`/${key}/${j}`)));
  }
  for (const key of ["matches", "not_matches"] as const) {
    const source = condition[key];
    if (typeof source === "string" && source.includes("\u0000")) {
      issues.add(`/${key}`, "window rules cannot match a NUL character; use \\x00");
    }
  }
}

/** equals and in compare with scalars in SQL; objects and lists are not mirrored. */
function operandIssues(operand: unknown, issues: RuleIssues): void {
  if (operand === undefined || operand === null || typeof operand !== "object") return;
  issues.add(
    "",
    `window rules compare with strings, numbers, booleans and null, not ${Array.isArray(operand) ? "lists" : "objects"}; use a per-output rule`,
  );
}
