// The window scheduler's insufficient streaks survive a restart: they are read back from
// drift_results, per rule version, counting the insufficient (or disappeared) evaluations
// after the last one with data.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WindowEvaluation } from "../src/rules/findings.ts";
import type { Store } from "../src/store/store.ts";
import { insufficientStreaks, saveWindowEvaluations } from "../src/store/tables/drift-results.ts";
import { loadedRule } from "./helpers/rules.ts";
import { openTestStore } from "./helpers/store.ts";
import { windowRow } from "./helpers/window-rows.ts";

const MINUTE = 60_000;
let store: Store;

const rule = loadedRule({
  id: "total-drift",
  check: { type: "drift", field: "output.json.total", kind: "numeric" },
});
const other = loadedRule({
  id: "never-had-data",
  check: { type: "rate", aggregate: "count", above: 5 },
});

const row = (r: typeof rule, i: number, status: WindowEvaluation["status"]) =>
  windowRow(r, Date.UTC(2026, 9, 10) + i * 5 * MINUTE, { status });

beforeAll(async () => {
  store = await openTestStore();
  await saveWindowEvaluations(store, [
    row(rule, 1, "ok"),
    row(rule, 2, "insufficient"),
    row(rule, 3, "drift"),
    row(rule, 4, "insufficient"),
    row(rule, 5, "error"),
    row(rule, 6, "insufficient"),
    row(rule, 7, "disappeared"),
    row(other, 1, "insufficient"),
    row(other, 2, "insufficient"),
  ]);
});

afterAll(async () => {
  await store.close();
});

describe("insufficientStreaks", () => {
  it("counts what came after the last evaluation with data, per rule version", async () => {
    const streaks = await insufficientStreaks(store);
    expect(streaks.get(`${rule.id}@${rule.version}`)).toEqual({ hadData: true, run: 3 });
    expect(streaks.get(`${other.id}@${other.version}`)).toEqual({ hadData: false, run: 2 });
  });
});
