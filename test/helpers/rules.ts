/** Loading and compiling rules in tests, as the service does: parsed once, compiled once. */

import { compileRule, type CompiledRule } from "../../src/evaluate/compile-rule.ts";
import {
  loadRuleFile,
  parseRule,
  type LoadRuleResult,
  type ResolveRef,
} from "../../src/rules/load-rule.ts";
import { collectRuleIssues, type RuleIssue, type RuleIssues } from "../../src/rules/rule-issues.ts";
import { parseAlertSpec } from "../../src/rules/alert-spec.ts";
import type { Rule, RuleFileError } from "../../src/rules/rule.ts";
import { parseWindowCheck, type WindowSpec } from "../../src/rules/window-spec.ts";

/** parseRule with the evaluate stage's compiler. */
export function parseTestRule(
  json: unknown,
  file = "test.json",
  resolveRef?: ResolveRef,
): LoadRuleResult<CompiledRule> {
  return parseRule(json, file, { compile: compileRule, ...(resolveRef && { resolveRef }) });
}

/** loadRuleFile with the evaluate stage's compiler. */
export function loadTestRuleFile(absPath: string, rulesDir: string): LoadRuleResult<CompiledRule> {
  return loadRuleFile(absPath, rulesDir, compileRule);
}

/** A rule that must load; its errors fail the test. */
export function loadedRule(json: unknown, file = "test.json"): CompiledRule {
  return mustLoad(parseTestRule(json, file));
}

/** A rule file that must load; its errors fail the test. */
export function loadedRuleFile(absPath: string, rulesDir: string): CompiledRule {
  return mustLoad(loadTestRuleFile(absPath, rulesDir));
}

function mustLoad(result: LoadRuleResult<CompiledRule>): CompiledRule {
  if (!result.ok) throw new Error(result.errors.map(formatError).join("\n"));
  return result.rule;
}

function formatError(e: RuleFileError): string {
  return `${e.file}: ${e.pointer || "/"}: ${e.message}`;
}

/** Runs a compile step with a fresh collector: what it made and the issues it reported. */
export function compiling<T>(compile: (issues: RuleIssues) => T): {
  value: T;
  issues: RuleIssue[];
} {
  const issues = collectRuleIssues();
  const value = compile(issues);
  return { value, issues: issues.list };
}

/** A compile step that must report nothing; its issues fail the test. */
export function compiled<T>(compile: (issues: RuleIssues) => T | undefined): T {
  const { value, issues } = compiling(compile);
  if (issues.length > 0 || value === undefined) {
    throw new Error(
      `compile issues: ${issues.map((i) => `${i.pointer}: ${i.message}`).join("; ")}`,
    );
  }
  return value;
}

/** The issues of a compile step, as `pointer: message` lines. */
export function issuesOf(compile: (issues: RuleIssues) => unknown): string[] {
  return compiling(compile).issues.map((i) => `${i.pointer}: ${i.message}`);
}

/**
 * A rule built by hand (no schema check, no compile), with what loading derives from it: the
 * parsed alert spec and, for rate and drift checks, the window spec. Problems throw.
 */
export function handMadeRule(fields: Omit<Rule, "alertSpec" | "window">): Rule {
  const windowed = fields.check.type === "rate" || fields.check.type === "drift";
  const alert = parseAlertSpec(fields.alert, fields.labels, windowed);
  if (!alert.ok) throw new Error(JSON.stringify(alert.errors));
  let window: WindowSpec | undefined;
  if (fields.check.type === "rate" || fields.check.type === "drift") {
    const parsed = parseWindowCheck(fields.check);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    window = parsed.spec;
  }
  return { ...fields, alertSpec: alert.spec, window };
}
