/**
 * Name patterns of a rule's `match` and of alert routes: an exact name, or a glob with `*` and
 * `?`, or a list of them. Compiled once into a test of a name.
 */

import { RE2JS } from "re2js";
import type { RuleIssues } from "./rule-issues.ts";
import type { Pattern } from "./rule.ts";

/**
 * A name test for a pattern: exact, or a glob when it holds `*` (any run of characters) or `?`
 * (one character); a list matches when any entry does. Case-sensitive.
 */
const GLOB_MEMO_SIZE = 10_000;

export function compilePattern(pattern: Pattern, issues: RuleIssues): (value: string) => boolean {
  const list = typeof pattern === "string" ? [pattern] : pattern;
  if (!Array.isArray(list) || list.length === 0) {
    issues.add("", "a pattern is a name, a glob, or a non-empty list of them");
    return () => false;
  }
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const entry of list) {
    if (typeof entry !== "string") {
      issues.add("", "patterns are strings");
      return () => false;
    }
    if (entry.includes("*") || entry.includes("?")) globs.push(globSource(entry));
    else exact.add(entry);
  }
  if (globs.length === 0) {
    if (exact.size === 1) {
      const only = exact.values().next().value as string;
      return (value) => value === only;
    }
    return (value) => exact.has(value);
  }
  const glob = RE2JS.compile(globs.join("|"), RE2JS.DOTALL);
  // Matched values are service, agent, model and tool names: few distinct ones, seen over and
  // over. Remember each answer (up to a bound) so a glob costs one Map lookup per output.
  const seen = new Map<string, boolean>();
  return (value) => {
    if (exact.has(value)) return true;
    let answer = seen.get(value);
    if (answer === undefined) {
      answer = glob.testExact(value);
      if (seen.size < GLOB_MEMO_SIZE) seen.set(value, answer);
    }
    return answer;
  };
}

function globSource(glob: string): string {
  let source = "";
  let literal = "";
  const flush = () => {
    if (literal !== "") source += RE2JS.quote(literal);
    literal = "";
  };
  for (const char of glob) {
    if (char === "*" || char === "?") {
      flush();
      source += char === "*" ? ".*" : ".";
    } else literal += char;
  }
  flush();
  return `(?:${source})`;
}
