/**
 * Rule problems on a real embedded store (migration 7): stored beside the findings, marked
 * `rule_error` (rows written before the column are findings), counted per rule apart from the
 * evaluation counts, each output once however often it is written.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../src/store/store.ts";
import {
  listChecks,
  ruleCounts,
  ruleProblemCounts,
  writeCheckEvaluations,
  writeFindings,
} from "../src/store/tables/checks.ts";
import { evaluationOf, makeFinding } from "./helpers/findings.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

const SECONDS = Math.floor(Date.now() / 1000) - 60;

describe("rule problems in check_results", () => {
  it("are stored marked rule_error, counted apart, and never as evaluations", async () => {
    const failure = makeFinding({ ruleId: "totals", time: `${SECONDS}.000000000` });
    const timeout = makeFinding({
      ruleId: "totals",
      code: "expr_timeout",
      path: "",
      message: "expression … was stopped after 500 ms on its retry (50 ms at first)",
      traceId: "a".repeat(32),
      time: `${SECONDS + 1}.000000000`,
    });
    const error = makeFinding({
      ruleId: "totals",
      code: "rule_error",
      path: "",
      message: "rule totals failed while evaluating: boom",
      traceId: "b".repeat(32),
      time: `${SECONDS + 2}.000000000`,
    });
    await writeFindings(store, [failure, timeout, error]);
    // Written again (a re-evaluation): still one output each.
    await writeFindings(store, [timeout]);
    await writeCheckEvaluations(store, [evaluationOf(failure)]);

    const rows = (await listChecks(store, { rule: "totals", limit: 10 })) as Record<
      string,
      unknown
    >[];
    expect(rows.map((r) => [r["Code"], r["Outcome"]]).sort()).toEqual([
      ["assertion_failed", "failed"],
      ["expr_timeout", "rule_error"],
      ["rule_error", "rule_error"],
    ]);

    const since = (SECONDS - 60) * 1000;
    const problems = await ruleProblemCounts(store, since);
    expect(problems.get("totals")).toEqual({
      problems: 2,
      last: {
        code: expect.stringMatching(/^(expr_timeout|rule_error)$/) as unknown,
        message: expect.any(String) as unknown,
        at: expect.any(Number) as unknown,
      },
    });
    expect(Math.abs((problems.get("totals")?.last.at ?? 0) - Date.now())).toBeLessThan(60_000);
    expect((await ruleCounts(store, since)).get("totals")).toMatchObject({
      evaluated: 1,
      failed: 1,
    });
  });

  it("reads rows written before the column as findings", async () => {
    await store.client.insert({
      table: store.tables.checkResults,
      values: [
        {
          Timestamp: `${SECONDS}.000000000`,
          RuleId: "older",
          Code: "assertion_failed",
          TraceId: "c".repeat(32),
        },
      ],
      format: "JSONEachRow",
    });
    const rows = (await listChecks(store, { rule: "older", limit: 10 })) as Record<
      string,
      unknown
    >[];
    expect(rows.map((r) => r["Outcome"])).toEqual(["failed"]);
    expect((await ruleProblemCounts(store, 0)).has("older")).toBe(false);
  });
});
