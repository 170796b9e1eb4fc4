/**
 * The health of each judge rule, as /api/rules shows it (docs/judge.md "Health"): counts since
 * start, the day's usage, the last error, and a state. budget_exhausted lasts until the next
 * UTC day; rate_limited and judge_unreachable until the next verdict; judge_errors after
 * ERRORS_UNHEALTHY_AFTER judge errors in a row, until the next verdict. State changes are
 * logged, and every rule problem at most once a minute per rule, with how many were not.
 */

import type { EngineLog } from "../engine.ts";
import { dayStart, type JudgeUsageNow } from "./judge-limits.ts";

export type JudgeState =
  | "ok"
  | "not_configured"
  | "budget_exhausted"
  | "rate_limited"
  | "judge_unreachable"
  | "judge_errors";

export interface JudgeActivity {
  state: JudgeState;
  /** Outputs queued for judging since start (matched and sampled). */
  queued: number;
  /** Verdicts (called or cached) since start, and how many failed. */
  judged: number;
  failed: number;
  /** Verdicts taken from the cache. */
  cached: number;
  /** judge_error rule problems, and outputs not judged for the budget (judge_budget). */
  errors: number;
  budgetSkipped: number;
  /** Calls to be tried again (429, 5xx, timeouts, the network). */
  retries: number;
  callsLastMinute: number;
  tokensToday: number;
  lastError: { code: string; message: string; at: number } | undefined;
}

export interface JudgeHealth {
  of(ruleId: string): JudgeActivity;
  queued(ruleId: string): void;
  verdict(ruleId: string, outcome: { failed: boolean; cached: boolean }): void;
  problem(ruleId: string, code: "judge_error" | "judge_budget", message: string): void;
  retry(ruleId: string, message: string, rateLimited: boolean): void;
  /** Starts a pass: a budget spent on an earlier day is ok again. */
  newPass(ruleIds: Iterable<string>, configured: boolean): void;
  usage(ruleId: string, usage: JudgeUsageNow): void;
  all(): ReadonlyMap<string, JudgeActivity>;
}

/** Consecutive judge errors of a rule that make its state judge_errors. */
export const ERRORS_UNHEALTHY_AFTER = 5;

/** At most one warning per rule this often for its rule problems. */
const LOG_EVERY_MS = 60_000;

export function createJudgeHealth(log: EngineLog, now: () => number): JudgeHealth {
  const activity = new Map<string, JudgeActivity>();
  const errorStreak = new Map<string, number>();
  /** The day a rule's budget was last found spent: it stays budget_exhausted that day. */
  const budgetDay = new Map<string, number>();
  const logged = new Map<string, { at: number; unlogged: number }>();

  function of(ruleId: string): JudgeActivity {
    let entry = activity.get(ruleId);
    if (entry === undefined) {
      entry = {
        state: "ok",
        queued: 0,
        judged: 0,
        failed: 0,
        cached: 0,
        errors: 0,
        budgetSkipped: 0,
        retries: 0,
        callsLastMinute: 0,
        tokensToday: 0,
        lastError: undefined,
      };
      activity.set(ruleId, entry);
    }
    return entry;
  }

  function setState(ruleId: string, state: JudgeState, reason?: string): void {
    const entry = of(ruleId);
    if (entry.state === state) return;
    const was = entry.state;
    entry.state = state;
    if (state === "ok") log("info", "judge rule is healthy again", { rule: ruleId, was });
    else if (state !== "not_configured") {
      log("warn", `judge rule: ${state.replaceAll("_", " ")}`, { rule: ruleId, reason });
    }
  }

  return {
    of,
    queued: (ruleId) => void of(ruleId).queued++,
    verdict(ruleId, outcome) {
      const entry = of(ruleId);
      entry.judged++;
      if (outcome.failed) entry.failed++;
      if (outcome.cached) entry.cached++;
      errorStreak.set(ruleId, 0);
      if (budgetDay.get(ruleId) !== dayStart(now())) setState(ruleId, "ok");
    },
    problem(ruleId, code, message) {
      const entry = of(ruleId);
      entry.lastError = { code, message, at: now() };
      if (code === "judge_budget") {
        entry.budgetSkipped++;
        budgetDay.set(ruleId, dayStart(now()));
        setState(ruleId, "budget_exhausted", message);
      } else {
        entry.errors++;
        const streak = (errorStreak.get(ruleId) ?? 0) + 1;
        errorStreak.set(ruleId, streak);
        if (streak >= ERRORS_UNHEALTHY_AFTER) setState(ruleId, "judge_errors", message);
      }
      const last = logged.get(ruleId);
      if (last === undefined || now() - last.at >= LOG_EVERY_MS) {
        log("warn", "judge rule problem: the output was not judged; not counted as a failure", {
          rule: ruleId,
          code,
          reason: message,
          ...(last !== undefined && last.unlogged > 0 && { notLoggedSince: last.unlogged }),
        });
        logged.set(ruleId, { at: now(), unlogged: 0 });
      } else last.unlogged++;
    },
    retry(ruleId, message, rateLimited) {
      const entry = of(ruleId);
      entry.retries++;
      entry.lastError = { code: "judge_unreachable", message, at: now() };
      setState(ruleId, rateLimited ? "rate_limited" : "judge_unreachable", message);
    },
    newPass(ruleIds, configured) {
      for (const ruleId of ruleIds) {
        if (!configured) {
          setState(ruleId, "not_configured");
          continue;
        }
        if (of(ruleId).state === "not_configured") setState(ruleId, "ok");
        const spent = budgetDay.get(ruleId);
        if (spent !== undefined && spent !== dayStart(now())) {
          budgetDay.delete(ruleId);
          setState(ruleId, "ok");
        }
      }
    },
    usage(ruleId, usage) {
      const entry = of(ruleId);
      entry.callsLastMinute = usage.callsLastMinute;
      entry.tokensToday = usage.tokensToday;
    },
    all: () => activity,
  };
}
