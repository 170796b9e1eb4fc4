import { describe, expect, it } from "vitest";
import { parseTestRule } from "../../../test/helpers/rules.ts";
import { windowRow } from "../../../test/helpers/window-rows.ts";
import type { WindowEvaluation } from "../../rules/findings.ts";
import type { Rule } from "../../rules/rule.ts";
import { NO_STREAK, trackDisappearance } from "./disappearance.ts";
import { createWindowScheduler } from "./scheduler.ts";

const MINUTE = 60_000;

function driftRule(extra: Record<string, unknown> = {}): Rule {
  const loaded = parseTestRule({
    id: "total-drift",
    check: { type: "drift", field: "output.json.total", kind: "numeric", ...extra },
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.rule;
}

const rule = driftRule();
const HOUR = 60 * MINUTE;
const ALPHA = 1.7e-4;
/** A 1-hour window against the 7 days before it, 40 samples an hour: 40 due. */
const insufficient = (at: number, currentSize = 1) =>
  windowRow(rule, at, {
    field: "output.json.total",
    status: "insufficient",
    windowStart: at - HOUR,
    windowEnd: at,
    referenceStart: at - HOUR - 7 * 24 * HOUR,
    referenceEnd: at - HOUR,
    currentSize,
    referenceSize: 7 * 24 * 40,
    message: `too few samples: current ${currentSize} (needs 30), reference 6720 (needs 200)`,
  });
const ok = (at: number) => windowRow(rule, at, { field: "output.json.total", status: "ok" });

function replay(rows: WindowEvaluation[], after: number): string[] {
  let streak = NO_STREAK;
  return rows.map((row) => {
    const tracked = trackDisappearance(streak, row, after, ALPHA);
    streak = tracked.streak;
    return tracked.evaluation.status;
  });
}

describe("trackDisappearance", () => {
  it("reports the field disappeared from the n-th insufficient evaluation after data, until data returns", () => {
    const rows = [ok(1), insufficient(2), insufficient(3), insufficient(4), insufficient(5), ok(6)];
    expect(replay(rows, 3)).toEqual([
      "ok",
      "insufficient",
      "insufficient",
      "disappeared",
      "disappeared",
      "ok",
    ]);
    let streak = NO_STREAK;
    let last: WindowEvaluation | undefined;
    for (const row of rows.slice(0, 4)) {
      const tracked = trackDisappearance(streak, row, 3, ALPHA);
      streak = tracked.streak;
      last = tracked.evaluation;
    }
    expect(last?.message).toBe(
      "output.json.total disappeared: 3 windows in a row with 1 samples, 40 due, after one with data (too few samples: current 1 (needs 30), reference 6720 (needs 200))",
    );
  });

  it("does not count a window short of samples by chance (low traffic), only one as sparse as silence", () => {
    // 25 of 40 due: short of minSamples 30, but nothing like silence; it breaks the streak.
    const rows = [ok(1), insufficient(2), insufficient(3, 25), insufficient(4), insufficient(5)];
    expect(replay(rows, 3)).toEqual([
      "ok",
      "insufficient",
      "insufficient",
      "insufficient",
      "insufficient",
    ]);
    expect(replay([ok(1), ...[2, 3, 4, 5].map((at) => insufficient(at, 25))], 1)).toEqual([
      "ok",
      ...Array(4).fill("insufficient"),
    ]);
  });

  it("without a reference, counts only windows without any sample", () => {
    const threshold = (currentSize: number) =>
      windowRow(rule, 2, { status: "insufficient", currentSize, referenceStart: null });
    expect(replay([ok(1), threshold(0), threshold(0)], 2)).toEqual([
      "ok",
      "insufficient",
      "disappeared",
    ]);
    expect(replay([ok(1), threshold(1), threshold(1)], 2)).toEqual([
      "ok",
      "insufficient",
      "insufficient",
    ]);
  });

  it("never reports a rule that never had data, and not with disappearedAfter 0", () => {
    expect(replay([1, 2, 3, 4, 5].map(insufficient), 3)).toEqual(Array(5).fill("insufficient"));
    expect(replay([ok(0), ...[1, 2, 3, 4].map(insufficient)], 0)).toEqual([
      "ok",
      ...Array(4).fill("insufficient"),
    ]);
  });

  it("lets errors pass without breaking the streak", () => {
    const error = windowRow(rule, 3, { status: "error" });
    expect(replay([ok(1), insufficient(2), error, insufficient(4), insufficient(5)], 3)).toEqual([
      "ok",
      "insufficient",
      "error",
      "insufficient",
      "disappeared",
    ]);
  });

  it("is parsed with the rule: default 3, or as the file says", () => {
    expect(rule.window).toMatchObject({ disappearedAfter: 3 });
    expect(driftRule({ disappearedAfter: 6 }).window).toMatchObject({ disappearedAfter: 6 });
  });
});

describe("the window scheduler", () => {
  it("reports a disappeared field, carrying the streak it stored before a restart", async () => {
    const saved: WindowEvaluation[] = [];
    const told: string[] = [];
    let clock = 20 * MINUTE + 15_000;
    const start = (streak: { hadData: boolean; run: number }) =>
      createWindowScheduler({
        rules: () => [rule],
        evaluate: (_rule, _spec, ats) => Promise.resolve(ats.map((at) => insufficient(at))),
        save: (rows) => {
          saved.push(...rows);
          return Promise.resolve();
        },
        loadCursors: () =>
          Promise.resolve(new Map([[`${rule.id}@${rule.version}`, clock - 15_000 - 5 * MINUTE]])),
        loadStreaks: () => Promise.resolve(new Map([[`${rule.id}@${rule.version}`, streak]])),
        onResult: (row) => {
          told.push(row.status);
          return Promise.resolve();
        },
        now: () => clock,
      });
    await start({ hadData: true, run: 1 }).tick();
    clock += 5 * MINUTE;
    const restarted = start({ hadData: true, run: 2 });
    await restarted.tick();
    expect(saved.map((row) => row.status)).toEqual(["insufficient", "disappeared"]);
    expect(told).toEqual(["insufficient", "disappeared"]);
  });
});
