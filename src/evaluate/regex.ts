/**
 * Rule regexes run on RE2 (re2js): matching time is linear in the input, so no pattern a rule
 * author writes, such as (a+)+$, can stall the evaluator.
 */

import { RE2JS } from "re2js";
import { RuleCompileError } from "../rules/compile-error.ts";

/** Compiles an RE2 pattern; RuleCompileError (with the reason) when RE2 rejects it. */
export function compileRegex(source: string, ignoreCase: boolean, pointer: string): RE2JS {
  try {
    return RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RuleCompileError(
      pointer,
      `invalid regular expression ${JSON.stringify(source)}: ${reason} (RE2 syntax: no lookaround or backreferences)`,
    );
  }
}
