/**
 * Rule regexes run on RE2 (re2js): matching time is linear in the input, so no pattern a rule
 * author writes, such as (a+)+$, can stall the evaluator.
 */

import { RE2JS } from "re2js";
/**
 * Compiles an RE2 pattern; when RE2 rejects it, `fail` hears why (with the RE2 reason) and the
 * result is undefined.
 */
export function compileRegex(
  source: string,
  ignoreCase: boolean,
  fail: (message: string) => undefined,
): RE2JS | undefined {
  try {
    return RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail(
      `invalid regular expression ${JSON.stringify(source)}: ${reason} (RE2 syntax: no lookaround or backreferences)`,
    );
  }
}
