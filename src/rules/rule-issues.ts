/**
 * Problems of one rule, collected zod-style: every parser and compiler that reads a part of a
 * rule reports what is wrong there, with a JSON pointer into the rule file, and carries on, so
 * that `rules check` shows every problem of a file at once. A part with a problem compiles to
 * a harmless stand-in; a rule with any issue is never run.
 */

/** One problem: where in the rule (JSON pointer, e.g. `/check/assertions/2/matches`), and what. */
export interface RuleIssue {
  pointer: string;
  message: string;
}

export interface RuleIssues {
  /** Records a problem at `pointer`, relative to this collector's part of the rule. */
  add(pointer: string, message: string): void;
  /** A collector for a part of the rule: its pointers are prefixed with `prefix`. */
  at(prefix: string): RuleIssues;
  /** How many problems were recorded so far, across the whole rule. */
  count(): number;
}

/** A collector for one rule, and the list it fills. */
export function collectRuleIssues(): RuleIssues & { list: RuleIssue[] } {
  const list: RuleIssue[] = [];
  const make = (prefix: string): RuleIssues => ({
    add: (pointer, message) => void list.push({ pointer: prefix + pointer, message }),
    at: (more) => make(prefix + more),
    count: () => list.length,
  });
  return Object.assign(make(""), { list });
}

/**
 * A collector for code that only ever sees rules that loaded without issues (the SQL of a
 * window rule, built for every evaluation): an issue there is a bug, so it throws.
 */
export function issuesAreBugs(what: string): RuleIssues {
  const make = (prefix: string): RuleIssues => ({
    add: (pointer, message) => {
      throw new Error(`${what}: a loaded rule has a problem at ${prefix + pointer}: ${message}`);
    },
    at: (more) => make(prefix + more),
    count: () => 0,
  });
  return make("");
}
