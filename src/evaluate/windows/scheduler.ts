/**
 * Runs window rules (rate and drift checks) on time. A rule with `every: 5m` is evaluated for
 * the windows ending at each multiple of 5 minutes since the epoch, once that moment is
 * `settleMs` past (spans exported a little late still count). The durable position of each
 * rule version is max(WindowEnd) in drift_results, so after downtime the missed windows are
 * evaluated in order (at most `maxCatchUp` of them, the latest ones, in batches that share a
 * query) and none twice; a rule seen for the first time starts at the latest window, without
 * history (the backtest is for that). The same rule never runs twice at once: a rule still busy is skipped by the next
 * tick, which its cursor then catches up.
 */

import type { Rule } from "../../rules/rule.ts";
import type { WindowEvaluation } from "../../rules/findings.ts";
import { defaultSignificance } from "../../rules/significance.ts";
import { evaluateInBatches } from "./batches.ts";
import { NO_STREAK, trackDisappearance, type InsufficientStreak } from "./disappearance.ts";
import type { WindowSpec } from "../../rules/window-spec.ts";

export interface WindowSchedulerOptions {
  rules(): readonly Rule[];
  /** Evaluates one rule for the windows ending at each of `atsMs` (consecutive, in order). */
  evaluate(rule: Rule, spec: WindowSpec, atsMs: readonly number[]): Promise<WindowEvaluation[]>;
  /** Stores the results; only then does the cursor move. */
  save(rows: WindowEvaluation[]): Promise<void>;
  /** Where each rule version stopped (`${id}@${version}` → window end, ms). */
  loadCursors(): Promise<Map<string, number>>;
  /** Each rule version's insufficient streak so far (disappearance.ts); none: all start afresh. */
  loadStreaks?(): Promise<Map<string, InsufficientStreak>>;
  /** Told of every stored result (the alert manager). */
  onResult?(row: WindowEvaluation): Promise<void>;
  onError?(rule: Rule, error: unknown): void;
  now?: () => number;
  settleMs?: number;
  maxCatchUp?: number;
}

export interface WindowScheduler {
  /** Evaluates every window that is due; resolves when they are stored. */
  tick(): Promise<void>;
}

export const SCHEDULER_DEFAULTS = { settleMs: 15_000, maxCatchUp: 288 } as const;

/** The window rules of a rule set with their specs (parsed when the rules were loaded). */
export function windowRules(rules: readonly Rule[]): { rule: Rule; spec: WindowSpec }[] {
  return rules.flatMap((rule) =>
    rule.enabled && rule.window !== undefined ? [{ rule, spec: rule.window }] : [],
  );
}

/** The window ends due at `now`: after `last` (exclusive), at most `max`, oldest first. */
export function dueWindowEnds(
  everyMs: number,
  last: number | undefined,
  nowMs: number,
  settleMs: number,
  max: number,
): number[] {
  const latest = Math.floor((nowMs - settleMs) / everyMs) * everyMs;
  if (last === undefined) return [latest];
  const ends: number[] = [];
  const first = Math.max(
    Math.floor(last / everyMs) * everyMs + everyMs,
    latest - (max - 1) * everyMs,
  );
  for (let at = first; at <= latest; at += everyMs) ends.push(at);
  return ends;
}

export function createWindowScheduler(options: WindowSchedulerOptions): WindowScheduler {
  const now = options.now ?? Date.now;
  const settleMs = options.settleMs ?? SCHEDULER_DEFAULTS.settleMs;
  const maxCatchUp = options.maxCatchUp ?? SCHEDULER_DEFAULTS.maxCatchUp;
  let cursors: Map<string, number> | undefined;
  let streaks: Map<string, InsufficientStreak> | undefined;
  const running = new Set<string>();

  async function runRule(rule: Rule, spec: WindowSpec): Promise<void> {
    const key = `${rule.id}@${rule.version}`;
    cursors ??= await options.loadCursors();
    streaks ??= (await options.loadStreaks?.()) ?? new Map<string, InsufficientStreak>();
    const ends = dueWindowEnds(spec.everyMs, cursors.get(key), now(), settleMs, maxCatchUp);
    // After downtime, the missed windows are evaluated in batches (batches.ts); each result
    // is stored, moves the cursor and reaches the alert manager in order.
    const known = cursors;
    const streakOf = streaks;
    await evaluateInBatches(
      ends,
      (ats) => options.evaluate(rule, spec, ats),
      async (evaluated, at) => {
        let row = evaluated;
        if (spec.type !== "absent") {
          const tracked = trackDisappearance(
            streakOf.get(key) ?? NO_STREAK,
            evaluated,
            spec.disappearedAfter,
            defaultSignificance(spec.everyMs),
          );
          streakOf.set(key, tracked.streak);
          row = tracked.evaluation;
        }
        await options.save([row]);
        known.set(key, at);
        await options.onResult?.(row);
      },
    );
  }

  return {
    async tick() {
      const due = windowRules(options.rules()).filter(({ rule }) => !running.has(rule.id));
      await Promise.all(
        due.map(async ({ rule, spec }) => {
          running.add(rule.id);
          try {
            await runRule(rule, spec);
          } catch (error) {
            options.onError?.(rule, error);
          } finally {
            running.delete(rule.id);
          }
        }),
      );
    },
  };
}
