/**
 * A rule compiled once (fields parsed, regexes, schema and expressions compiled) into the
 * functions the engine calls for every output and every quiet trace. Evaluation never throws:
 * anything unexpected becomes one `rule_error` finding with the rule's id.
 */

import type { AgentOutputRow } from "../store/rows.ts";
import { compileAssertCheck, type AsyncOutputCheck } from "./checks/assert.ts";
import { compileJsonSchemaCheck } from "./checks/json-schema.ts";
import { compileTraceCheck, type CompiledTraceCheck } from "./checks/trace.ts";
import { compileAt, RuleCompileError } from "../rules/compile-error.ts";
import { cacheFor } from "./fields.ts";
import { toFinding } from "./finding.ts";
import { compileMatch } from "./match.ts";
import type { Finding, Rule } from "../rules/rule.ts";
import { fieldSql, SqlParams } from "./windows/sql-fields.ts";
import { matchSql, whereSql } from "./windows/sql-match.ts";
import { parseWindowCheck, type WindowSpec } from "../rules/window-spec.ts";

export interface CompiledRule {
  rule: Rule;
  /**
   * `output` rules run per output as it arrives; `trace` rules once a trace is quiet; `window`
   * rules (rate and drift checks) on a schedule, in ClickHouse (src/evaluate/windows/).
   */
  scope: "output" | "trace" | "window";
  /** Whether the rule applies to this output (its `match`). */
  matches(row: AgentOutputRow): boolean;
  /** Findings of an output rule on one output ([] for trace rules, and when it passes). */
  evaluateOutput(row: AgentOutputRow): Promise<Finding[]>;
  /** Findings of a trace rule on every output of one trace ([] for output rules). */
  evaluateTrace(rows: readonly AgentOutputRow[]): Finding[];
}

/**
 * Compiles a rule. Throws RuleCompileError (with a JSON pointer into the rule file) when a
 * field, regex, schema or expression is invalid.
 */
export function compileRule(rule: Rule): CompiledRule {
  const match = compileAt("/match", () => compileMatch(rule.match));
  const matches = (row: AgentOutputRow): boolean => match(row);
  const check = rule.check;

  if (check.type === "trace") {
    const evaluate: CompiledTraceCheck = compileAt("/check", () => compileTraceCheck(check));
    return {
      rule,
      scope: "trace",
      matches,
      evaluateOutput: () => Promise.resolve([]),
      evaluateTrace(rows) {
        try {
          return evaluate(rule, rows, matches);
        } catch (error) {
          const anchor = rows.find((row) => safely(() => matches(row))) ?? rows[0];
          return anchor === undefined ? [] : [ruleError(rule, anchor, error)];
        }
      },
    };
  }

  if (check.type === "rate" || check.type === "drift") {
    const parsed = parseWindowCheck(check);
    if (!parsed.ok) {
      const first = parsed.errors[0];
      throw new RuleCompileError(first?.pointer ?? "/check", first?.message ?? "invalid check");
    }
    // The SQL is built once here so that what ClickHouse cannot express is refused at load.
    compileAt("/match", () => matchSql(rule.match, new SqlParams()));
    compileWindowSql(parsed.spec);
    return {
      rule,
      scope: "window",
      matches,
      evaluateOutput: () => Promise.resolve([]),
      evaluateTrace: () => [],
    };
  }

  let evaluate: AsyncOutputCheck;
  if (check.type === "json_schema") {
    const sync = compileAt("/check", () => compileJsonSchemaCheck(check));
    evaluate = (row, cache) => Promise.resolve(sync(row, cache));
  } else if (check.type === "assert") {
    evaluate = compileAt("/check", () => compileAssertCheck(check));
  } else {
    const type = (check as { type?: unknown }).type;
    throw new RuleCompileError("/check/type", `unknown check type ${JSON.stringify(type)}`);
  }
  return {
    rule,
    scope: "output",
    matches,
    async evaluateOutput(row) {
      try {
        const drafts = await evaluate(row, cacheFor(row));
        return drafts.map((draft) => toFinding(rule, row, draft));
      } catch (error) {
        return [ruleError(rule, row, error)];
      }
    },
    evaluateTrace: () => [],
  };
}

function compileWindowSql(spec: WindowSpec): void {
  const params = new SqlParams();
  if (spec.type === "drift") {
    compileAt("/check/field", () => fieldSql(spec.field, spec.kind, params));
    return;
  }
  const measure = spec.measure;
  if (measure.type === "share") compileAt("/check/share", () => whereSql(measure.where, params));
  if (measure.type === "aggregate" && measure.field !== undefined) {
    const field = measure.field;
    compileAt("/check/field", () => fieldSql(field, "numeric", params));
  }
}

function safely(test: () => boolean): boolean {
  try {
    return test();
  } catch {
    return false;
  }
}

function ruleError(rule: Rule, row: AgentOutputRow, error: unknown): Finding {
  const reason = error instanceof Error ? error.message : String(error);
  return toFinding(rule, row, {
    code: "rule_error",
    path: "",
    message: `rule ${rule.id} failed while evaluating: ${reason}`,
    observed: "",
    expected: "",
  });
}
