/**
 * A RegExp look-alike backed by RE2 (re2js), for JSONata's `RegexEngine` option: regex literals
 * in rule expressions (`$match(output.text, /…/)`) then run in linear time, like every other
 * rule regex, instead of on the backtracking engine a pattern such as /(a+)+$/ can hang.
 * JSONata only constructs it from a RegExp and calls `exec` with `lastIndex`.
 */

import { RE2JS } from "re2js";

export class Re2RegExp {
  lastIndex = 0;
  readonly source: string;
  readonly flags: string;
  private readonly pattern: RE2JS;

  constructor(source: RegExp | string, flags?: string) {
    this.source = typeof source === "string" ? source : source.source;
    this.flags = typeof source === "string" ? (flags ?? "") : source.flags;
    let re2Flags = 0;
    if (this.flags.includes("i")) re2Flags |= RE2JS.CASE_INSENSITIVE;
    if (this.flags.includes("m")) re2Flags |= RE2JS.MULTILINE;
    if (this.flags.includes("s")) re2Flags |= RE2JS.DOTALL;
    this.pattern = RE2JS.compile(RE2JS.translateRegExp(this.source), re2Flags);
  }

  /** Finds the next match from `lastIndex`, as RegExp.prototype.exec does with the `g` flag. */
  exec(input: string): RegExpExecArray | null {
    const matcher = this.pattern.matcher(input);
    if (this.lastIndex > input.length || !matcher.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: string[] = [];
    for (let i = 0; i <= matcher.groupCount(); i += 1) groups.push(matcher.group(i) ?? "");
    const result = groups as unknown as RegExpExecArray;
    result.index = matcher.start();
    result.input = input;
    this.lastIndex = matcher.end();
    return result;
  }

  test(input: string): boolean {
    return this.exec(input) !== null;
  }
}
