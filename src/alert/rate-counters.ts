/**
 * The per-minute failure counters of `check_counts`, kept in memory for an alert replay: per
 * rule, service, agent and minute of the output's time, the distinct outputs evaluated and
 * failed. `window` answers what the manager's `rateCounts` reads from the table (SQL in
 * store/tables/checks.ts): every minute from the start of the minute `windowMs` ago, the
 * current one included, as far as it has been counted.
 */

import type { CheckEvaluation } from "../rules/findings.ts";
import { timestampMs } from "./examples.ts";
import type { RateGroupCounts } from "./alert-manager.ts";

const MINUTE = 60_000;

interface MinuteCounts {
  evaluated: Set<string>;
  failed: Set<string>;
}

export interface RateCounters {
  /** Counts these evaluations (of rules in `ruleIds` only), from now on. */
  add(evaluations: readonly CheckEvaluation[]): void;
  /** Failed/evaluated per (service, agent) of one rule over the window ending at `nowMs`. */
  window(ruleId: string, windowMs: number, nowMs: number): RateGroupCounts[];
  /** Whether any rule has a counted output in its window ending at `nowMs`. */
  anyInWindow(nowMs: number): boolean;
}

/** `windows`: each counted rule's window (rules alerting in mode rate), by rule id. */
export function createRateCounters(windows: ReadonlyMap<string, number>): RateCounters {
  /** rule → "service\0agent" → minute (unix ms) → counts. */
  const counts = new Map<string, Map<string, Map<number, MinuteCounts>>>();
  /** rule → the latest minute counted. */
  const latest = new Map<string, number>();
  const windowStart = (windowMs: number, nowMs: number) =>
    Math.floor((nowMs - windowMs) / MINUTE) * MINUTE;

  return {
    add(evaluations) {
      for (const evaluation of evaluations) {
        if (!windows.has(evaluation.ruleId)) continue;
        const ms = timestampMs(evaluation.time);
        if (Number.isNaN(ms)) continue;
        const minute = Math.floor(ms / MINUTE) * MINUTE;
        let groups = counts.get(evaluation.ruleId);
        if (groups === undefined) {
          groups = new Map();
          counts.set(evaluation.ruleId, groups);
        }
        const group = `${evaluation.service}\u0000${evaluation.agent}`;
        let minutes = groups.get(group);
        if (minutes === undefined) {
          minutes = new Map();
          groups.set(group, minutes);
        }
        let slot = minutes.get(minute);
        if (slot === undefined) {
          slot = { evaluated: new Set(), failed: new Set() };
          minutes.set(minute, slot);
        }
        // uniqExact over the output's key: an output evaluated twice counts once.
        slot.evaluated.add(evaluation.outputKey);
        if (evaluation.failed) slot.failed.add(evaluation.outputKey);
        latest.set(evaluation.ruleId, Math.max(latest.get(evaluation.ruleId) ?? minute, minute));
      }
    },
    window(ruleId, windowMs, nowMs) {
      const from = windowStart(windowMs, nowMs);
      const rows: RateGroupCounts[] = [];
      for (const [group, minutes] of counts.get(ruleId) ?? []) {
        let evaluated = 0;
        let failed = 0;
        for (const [minute, slot] of minutes) {
          // Minutes that left the window never come back into it: forget them.
          if (minute < from) minutes.delete(minute);
          else {
            evaluated += slot.evaluated.size;
            failed += slot.failed.size;
          }
        }
        if (evaluated === 0) continue;
        const [service = "", agent = ""] = group.split("\u0000");
        rows.push({ service, agent, evaluated, failed });
      }
      return rows;
    },
    anyInWindow(nowMs) {
      for (const [ruleId, minute] of latest) {
        if (minute >= windowStart(windows.get(ruleId) ?? 0, nowMs)) return true;
      }
      return false;
    },
  };
}
