/**
 * `match`: which outputs a rule applies to. Compiled once per rule into a predicate that runs
 * for every rule on every output, so patterns are pre-sorted into exact names (a Set lookup)
 * and globs (one anchored RE2 each), and `where` conditions are compiled.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { compileCondition } from "./conditions.ts";
import { cacheFor, type RowCache } from "./fields.ts";
import { compilePattern } from "../rules/pattern.ts";
import type { RuleIssues } from "../rules/rule-issues.ts";
import { OUTPUT_KINDS } from "../rules/rule.ts";
import type { MatchSpec, Pattern, WhereClause } from "../rules/rule.ts";

export type RowPredicate = (row: AgentOutputRow, cache?: RowCache) => boolean;

/** The column each pattern key of a match names (also read by the SQL of window rules). */
export const PATTERN_COLUMNS = {
  service: "ServiceName",
  agent: "AgentName",
  operation: "Operation",
  kind: "Kind",
  model: "Model",
  tool: "ToolName",
} as const satisfies Record<string, keyof AgentOutputRow>;

type PatternKey = keyof typeof PATTERN_COLUMNS;

/**
 * Compiles a match spec; an empty spec matches every output. Problems are issues with a pointer
 * relative to the spec (e.g. `/where/1/any/0/field`).
 */
export function compileMatch(spec: MatchSpec, issues: RuleIssues): RowPredicate {
  const columnTests: ((row: AgentOutputRow) => boolean)[] = [];
  for (const key of Object.keys(PATTERN_COLUMNS) as PatternKey[]) {
    const pattern = spec[key];
    if (pattern === undefined) continue;
    const column = PATTERN_COLUMNS[key];
    if (key === "kind") kindIssues(pattern, issues.at("/kind"));
    const test = compilePattern(pattern, issues.at(`/${key}`));
    columnTests.push((row) => test(row[column]));
  }
  const clauses = (spec.where ?? []).map((clause, i) =>
    compileClause(clause, issues.at(`/where/${i}`)),
  );
  if (columnTests.length === 0 && clauses.length === 0) return () => true;
  return (row, cache) => {
    for (const test of columnTests) if (!test(row)) return false;
    if (clauses.length === 0) return true;
    const rowCache = cache ?? cacheFor(row);
    for (const clause of clauses) if (!clause(row, rowCache)) return false;
    return true;
  };
}

const knownKinds = new Set<string>(OUTPUT_KINDS);

/**
 * Kinds are Plumbline's own names, so an exact kind outside them is a typo that would match
 * nothing, silently: it is an issue. Globs are left alone.
 */
function kindIssues(pattern: Pattern, issues: RuleIssues): void {
  const list = typeof pattern === "string" ? [pattern] : Array.isArray(pattern) ? pattern : [];
  list.forEach((kind, i) => {
    if (typeof kind !== "string" || kind.includes("*") || kind.includes("?")) return;
    if (knownKinds.has(kind)) return;
    const pointer = typeof pattern === "string" ? "" : `/${i}`;
    issues.add(pointer, `unknown kind "${kind}"; kinds are ${OUTPUT_KINDS.join(", ")}`);
  });
}

/** Compiles a list of where clauses (a rate's `share`); all must hold. Pointers relative to it. */
export function compileWhere(clauses: readonly WhereClause[], issues: RuleIssues): RowPredicate {
  const tests = clauses.map((clause, i) => compileClause(clause, issues.at(`/${i}`)));
  return (row, cache) => {
    const rowCache = cache ?? cacheFor(row);
    return tests.every((test) => test(row, rowCache));
  };
}

type ClauseTest = (row: AgentOutputRow, cache: RowCache) => boolean;

/** A clause with a problem never holds (its rule does not load, so it never runs either). */
const NEVER: ClauseTest = () => false;

function compileClause(clause: WhereClause, issues: RuleIssues): ClauseTest {
  if ("any" in clause) {
    if (!Array.isArray(clause.any) || clause.any.length === 0) {
      issues.add("/any", `"any" needs at least one condition`);
      return NEVER;
    }
    const conditions = clause.any.map((condition, j) =>
      compileCondition(condition, issues.at(`/any/${j}`)),
    );
    return (row, cache) => conditions.some((condition) => condition?.test(row, cache).ok === true);
  }
  const condition = compileCondition(clause, issues);
  return condition === undefined ? NEVER : (row, cache) => condition.test(row, cache).ok;
}
