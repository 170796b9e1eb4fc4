/**
 * The judge's limits, per rule and overall, as a pure ledger with the clock passed in: calls
 * per minute (a sliding minute; a call over it waits, it is not lost) and tokens per UTC day
 * (an estimate is reserved before the call and replaced by the reply's usage; an output that
 * would pass the budget is not judged: `budget`, a rule problem). Concurrency and timeouts are
 * the worker's.
 */

export interface JudgeLimitSettings {
  callsPerMinute?: number | undefined;
  tokensPerDay?: number | undefined;
}

export type Admission =
  | { type: "ok" }
  /** Over calls per minute: try again in `ms`. `overall`: every rule waits. */
  | { type: "wait"; ms: number; overall: boolean }
  /** Over tokens per day: not judged today. */
  | { type: "budget"; scope: "rule" | "overall"; limit: number; used: number };

export interface JudgeUsageNow {
  callsLastMinute: number;
  tokensToday: number;
}

export interface JudgeLimits {
  /** Admits one call of about `estimatedTokens` for `ruleId`, and reserves it when ok. */
  admit(ruleId: string, rule: JudgeLimitSettings, estimatedTokens: number): Admission;
  /** Replaces a call's reserved estimate with the tokens it used. */
  settle(ruleId: string, estimatedTokens: number, usedTokens: number): void;
  /** Tokens already spent today (counted again from the cache at start). */
  seed(tokensByRule: ReadonlyMap<string, number>): void;
  usage(ruleId: string): JudgeUsageNow;
  overall(): JudgeUsageNow;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The start of the UTC day of `ms`: when the tokens-per-day budgets start again. */
export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

interface Ledger {
  calls: number[];
  tokens: number;
}

export function createJudgeLimits(overall: JudgeLimitSettings, now: () => number): JudgeLimits {
  let day = dayStart(now());
  const rules = new Map<string, Ledger>();
  const total: Ledger = { calls: [], tokens: 0 };

  function roll(): void {
    const today = dayStart(now());
    if (today === day) return;
    day = today;
    total.tokens = 0;
    for (const ledger of rules.values()) ledger.tokens = 0;
  }
  function ledgerOf(ruleId: string): Ledger {
    let ledger = rules.get(ruleId);
    if (ledger === undefined) {
      ledger = { calls: [], tokens: 0 };
      rules.set(ruleId, ledger);
    }
    return ledger;
  }
  function recent(ledger: Ledger, at: number): number[] {
    while (ledger.calls.length > 0 && (ledger.calls[0] ?? 0) <= at - MINUTE_MS)
      ledger.calls.shift();
    return ledger.calls;
  }
  /** How long until a call fits under `limit` calls per minute (0: now). */
  function waitFor(ledger: Ledger, limit: number | undefined, at: number): number {
    if (limit === undefined) return 0;
    const calls = recent(ledger, at);
    if (calls.length < limit) return 0;
    return (calls[calls.length - limit] ?? at) + MINUTE_MS - at;
  }

  return {
    admit(ruleId, rule, estimatedTokens) {
      roll();
      const at = now();
      const ledger = ledgerOf(ruleId);
      if (rule.tokensPerDay !== undefined && ledger.tokens + estimatedTokens > rule.tokensPerDay) {
        return { type: "budget", scope: "rule", limit: rule.tokensPerDay, used: ledger.tokens };
      }
      if (
        overall.tokensPerDay !== undefined &&
        total.tokens + estimatedTokens > overall.tokensPerDay
      ) {
        return {
          type: "budget",
          scope: "overall",
          limit: overall.tokensPerDay,
          used: total.tokens,
        };
      }
      const overallWait = waitFor(total, overall.callsPerMinute, at);
      if (overallWait > 0) return { type: "wait", ms: overallWait, overall: true };
      const ruleWait = waitFor(ledger, rule.callsPerMinute, at);
      if (ruleWait > 0) return { type: "wait", ms: ruleWait, overall: false };
      ledger.calls.push(at);
      total.calls.push(at);
      ledger.tokens += estimatedTokens;
      total.tokens += estimatedTokens;
      return { type: "ok" };
    },
    settle(ruleId, estimatedTokens, usedTokens) {
      roll();
      const ledger = ledgerOf(ruleId);
      const delta = usedTokens - estimatedTokens;
      ledger.tokens = Math.max(0, ledger.tokens + delta);
      total.tokens = Math.max(0, total.tokens + delta);
    },
    seed(tokensByRule) {
      roll();
      for (const [ruleId, tokens] of tokensByRule) {
        ledgerOf(ruleId).tokens += tokens;
        total.tokens += tokens;
      }
    },
    usage(ruleId) {
      roll();
      const ledger = ledgerOf(ruleId);
      return { callsLastMinute: recent(ledger, now()).length, tokensToday: ledger.tokens };
    },
    overall() {
      roll();
      return { callsLastMinute: recent(total, now()).length, tokensToday: total.tokens };
    },
  };
}

/**
 * A call's tokens before it is made: the prompt at about four characters a token (OpenAI's rule
 * of thumb for English; tokenizers differ by tens of percent) plus the reply's max_tokens.
 */
export function estimateTokens(system: string, user: string, maxTokens: number): number {
  return Math.ceil((system.length + user.length) / 4) + maxTokens;
}
