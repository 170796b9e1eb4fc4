import { parseTestRule } from "../../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import { windowRow } from "../../../test/helpers/window-rows.ts";
import type { WindowEvaluation } from "../../rules/findings.ts";

import type { Rule } from "../../rules/rule.ts";
import { createWindowScheduler, dueWindowEnds } from "./scheduler.ts";

const MINUTE = 60_000;

function driftRule(id: string, every = "5m"): Rule {
  const loaded = parseTestRule(
    { id, check: { type: "drift", field: "output.length", every } },
    `${id}.json`,
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.rule;
}

function rowOf(rule: Rule, at: number): WindowEvaluation {
  return windowRow(rule, at, { field: "output.length" });
}

/** A scheduler over an in-memory results table, with a clock the test moves. */
function harness(rules: Rule[], options: { delayMs?: number; saved?: WindowEvaluation[] } = {}) {
  let clock = 0;
  const saved = options.saved ?? [];
  const evaluated: { rule: string; at: number }[] = [];
  const batches: number[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const scheduler = createWindowScheduler({
    rules: () => rules,
    evaluate: async (rule, _spec, ats) => {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      batches.push(ats.length);
      for (const at of ats) evaluated.push({ rule: rule.id, at });
      if (options.delayMs !== undefined) await new Promise((r) => setTimeout(r, options.delayMs));
      concurrent -= 1;
      return ats.map((at) => rowOf(rule, at));
    },
    save: (rows) => {
      saved.push(...rows);
      return Promise.resolve();
    },
    loadCursors: () => {
      const cursors = new Map<string, number>();
      for (const row of saved) {
        const key = `${row.ruleId}@${row.ruleVersion}`;
        cursors.set(key, Math.max(cursors.get(key) ?? 0, row.windowEnd));
      }
      return Promise.resolve(cursors);
    },
    now: () => clock,
    settleMs: 15_000,
    maxCatchUp: 10,
  });
  return {
    scheduler,
    saved,
    evaluated,
    batches,
    maxConcurrent: () => maxConcurrent,
    setClock: (ms: number) => (clock = ms),
  };
}

describe("dueWindowEnds", () => {
  it("is the latest settled multiple of every for a new rule", () => {
    expect(dueWindowEnds(5 * MINUTE, undefined, 12 * MINUTE, 15_000, 10)).toEqual([10 * MINUTE]);
    // 10:10 is not settled yet at 10:10 with 15 s to settle.
    expect(dueWindowEnds(5 * MINUTE, undefined, 10 * MINUTE + 10_000, 15_000, 10)).toEqual([
      5 * MINUTE,
    ]);
  });

  it("lists every missed window after the cursor, capped to the latest max", () => {
    expect(dueWindowEnds(5 * MINUTE, 10 * MINUTE, 26 * MINUTE, 0, 10)).toEqual([
      15 * MINUTE,
      20 * MINUTE,
      25 * MINUTE,
    ]);
    expect(dueWindowEnds(5 * MINUTE, 0, 100 * MINUTE, 0, 3)).toEqual([
      90 * MINUTE,
      95 * MINUTE,
      100 * MINUTE,
    ]);
    expect(dueWindowEnds(5 * MINUTE, 25 * MINUTE, 29 * MINUTE, 0, 10)).toEqual([]);
  });
});

describe("the window scheduler", () => {
  it("runs each window once, on time, and catches up after downtime without duplicates", async () => {
    const rule = driftRule("a");
    const h = harness([rule]);
    h.setClock(60 * MINUTE + 20_000);
    await h.scheduler.tick();
    await h.scheduler.tick();
    expect(h.evaluated.map((e) => e.at)).toEqual([60 * MINUTE]);
    h.setClock(64 * MINUTE);
    await h.scheduler.tick();
    expect(h.evaluated).toHaveLength(1);
    // Down from 64 to 81 minutes: 65, 70, 75 and 80 are evaluated in order.
    h.setClock(81 * MINUTE);
    await h.scheduler.tick();
    expect(h.evaluated.map((e) => e.at / MINUTE)).toEqual([60, 65, 70, 75, 80]);
    expect(new Set(h.saved.map((r) => r.windowEnd)).size).toBe(h.saved.length);
    // The catch-up shares queries: the first missed window alone, the other three together.
    expect(h.batches).toEqual([1, 1, 3]);
    expect(h.saved.map((r) => r.windowEnd / MINUTE)).toEqual([60, 65, 70, 75, 80]);
  });

  it("resumes from the stored results after a restart", async () => {
    const rule = driftRule("a");
    const first = harness([rule]);
    first.setClock(30 * MINUTE + 20_000);
    await first.scheduler.tick();
    // A new process over the same results table.
    const second = harness([rule], { saved: first.saved });
    second.setClock(46 * MINUTE);
    await second.scheduler.tick();
    expect(second.evaluated.map((e) => e.at / MINUTE)).toEqual([35, 40, 45]);
  });

  it("never runs the same rule twice at once", async () => {
    const rule = driftRule("a");
    const h = harness([rule], { delayMs: 30 });
    h.setClock(60 * MINUTE + 20_000);
    await Promise.all([h.scheduler.tick(), h.scheduler.tick(), h.scheduler.tick()]);
    expect(h.maxConcurrent()).toBe(1);
    expect(h.evaluated).toHaveLength(1);
  });

  it("a changed rule (new version) starts at the latest window", async () => {
    const h = harness([driftRule("a", "5m")]);
    h.setClock(60 * MINUTE + 20_000);
    await h.scheduler.tick();
    const changed = harness([driftRule("a", "10m")], { saved: h.saved });
    changed.setClock(90 * MINUTE + 20_000);
    await changed.scheduler.tick();
    expect(changed.evaluated.map((e) => e.at / MINUTE)).toEqual([90]);
  });
});
