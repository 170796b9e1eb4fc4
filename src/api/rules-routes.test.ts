/**
 * GET /api/rules through app.request(): idle means the same for every rule type (in effect for
 * 24 h and nothing matched in them), and rule problems show per rule, with counts and health,
 * apart from the evaluation counts.
 */

import { describe, expect, it } from "vitest";
import { loadedRule } from "../../test/helpers/rules.ts";
import type { RuleActivity } from "../evaluate/engine.ts";
import type { Rule } from "../rules/rule.ts";
import type { Store } from "../store/store.ts";
import { rulesRoutes, type RuleStatusView } from "./rules-routes.ts";

const NOW = Date.parse("2026-02-01T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const outputRule = loadedRule({
  id: "reply-short",
  check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 40] }] },
});
const traceRule = loadedRule({
  id: "no-duplicate-refund",
  check: { type: "trace", kind: "unique", key: ["tool.name", "tool.arguments"] },
});
const windowRule = loadedRule({
  id: "truncation-rate",
  check: {
    type: "rate",
    share: [{ field: "finish_reason", in: ["length", "max_tokens"] }],
    window: "1h",
    every: "5m",
    baseline: { reference: { trailing: "7d" }, direction: "above" },
  },
});

/** What the store's count queries answer, by the table each one reads. */
interface StoredCounts {
  /** check_counts: output and trace rules. */
  evaluations?: { RuleId: string; evaluated: number; failed: number; last: number }[];
  /** drift_results: window rules. */
  windows?: { RuleId: string; evaluated: number; failed: number; last: number }[];
  /** check_results rows marked rule_error. */
  problems?: { RuleId: string; problems: number; code: string; message: string; at: number }[];
}

function fakeStore(counts: StoredCounts): Store {
  const answer = (query: string): unknown[] => {
    if (query.includes("Outcome = 'rule_error'")) return counts.problems ?? [];
    if (query.includes("db.drift_results")) return counts.windows ?? [];
    if (query.includes("db.check_counts")) return counts.evaluations ?? [];
    throw new Error(`unexpected query: ${query}`);
  };
  return {
    tables: {
      checkResults: "db.check_results",
      checkCounts: "db.check_counts",
      driftResults: "db.drift_results",
    },
    client: {
      query: async ({ query }: { query: string }) => ({
        // ClickHouse sends 64-bit numbers as strings.
        json: async () =>
          answer(query).map((row) =>
            Object.fromEntries(
              Object.entries(row as object).map(([k, v]) => [
                k,
                typeof v === "number" ? String(v) : v,
              ]),
            ),
          ),
      }),
    },
  } as unknown as Store;
}

function status(rule: Rule, loadedAt: number): RuleStatusView {
  return {
    id: rule.id,
    file: `${rule.id}.json`,
    status: "loaded",
    version: rule.version,
    rule,
    errors: [],
    loadedAt: new Date(loadedAt).toISOString(),
  };
}

function activity(fields: Partial<RuleActivity>): RuleActivity {
  return {
    matched: 0,
    failed: 0,
    lastMatchedAt: undefined,
    ruleErrors: 0,
    lastError: undefined,
    health: "ok",
    ...fields,
  };
}

async function rulesOf(
  statuses: RuleStatusView[],
  counts: StoredCounts = {},
  live: Map<string, RuleActivity> = new Map(),
): Promise<Map<string, Record<string, unknown>>> {
  const app = rulesRoutes({
    store: fakeStore(counts),
    statuses: () => statuses,
    validate: () => ({ ok: false, errors: [] }),
    activity: () => live,
    backtest: () => ({ ok: false, errors: [] }),
    now: () => NOW,
  });
  const response = await app.request("/api/rules");
  expect(response.status).toBe(200);
  const body = (await response.json()) as { rules: Record<string, unknown>[] };
  return new Map(body.rules.map((r) => [r["id"] as string, r]));
}

describe("GET /api/rules: idle", () => {
  it("is false for every rule type loaded a minute ago, though nothing matched yet", async () => {
    const rules = await rulesOf(
      [outputRule, traceRule, windowRule].map((rule) => status(rule, NOW - MINUTE)),
    );
    for (const id of [outputRule.id, traceRule.id, windowRule.id])
      expect(rules.get(id)).toMatchObject({ idle: false });
  });

  it("is true for every rule type in effect for 24 h that matched nothing in them", async () => {
    const rules = await rulesOf(
      [outputRule, traceRule, windowRule].map((rule) => status(rule, NOW - 25 * HOUR)),
      {},
      // Matched, but longer ago than a day.
      new Map([[traceRule.id, activity({ matched: 3, lastMatchedAt: NOW - 25 * HOUR })]]),
    );
    for (const id of [outputRule.id, traceRule.id, windowRule.id])
      expect(rules.get(id)).toMatchObject({ idle: true });
  });

  it("is false once anything matched in the last 24 h, counted by the store or by this process", async () => {
    const day = NOW - 25 * HOUR;
    const rules = await rulesOf(
      [status(outputRule, day), status(traceRule, day), status(windowRule, day)],
      {
        windows: [{ RuleId: windowRule.id, evaluated: 12, failed: 0, last: NOW - HOUR }],
        problems: [
          { RuleId: outputRule.id, problems: 1, code: "expr_timeout", message: "m", at: NOW },
        ],
      },
      new Map([[traceRule.id, activity({ matched: 1, lastMatchedAt: NOW - HOUR })]]),
    );
    for (const id of [outputRule.id, traceRule.id, windowRule.id])
      expect(rules.get(id)).toMatchObject({ idle: false });
  });
});

describe("GET /api/rules: rule problems", () => {
  it("shows each rule's problems and health apart from its evaluation counts", async () => {
    const rules = await rulesOf(
      [status(outputRule, NOW - HOUR), status(traceRule, NOW - HOUR)],
      {
        evaluations: [{ RuleId: outputRule.id, evaluated: 40, failed: 2, last: NOW - MINUTE }],
        problems: [
          {
            RuleId: outputRule.id,
            problems: 7,
            code: "expr_error",
            message: "stored earlier",
            at: NOW - 30 * MINUTE,
          },
        ],
      },
      new Map([
        [
          outputRule.id,
          activity({
            matched: 45,
            failed: 2,
            lastMatchedAt: NOW - MINUTE,
            ruleErrors: 5,
            lastError: {
              code: "expr_timeout",
              message: "stopped after 500 ms on its retry",
              at: NOW - MINUTE,
            },
            health: "unhealthy",
          }),
        ],
      ]),
    );
    expect(rules.get(outputRule.id)).toMatchObject({
      last24h: { evaluated: 40, failed: 2 },
      sinceStart: { matched: 45, failed: 2 },
      ruleErrors: {
        last24h: 7,
        sinceStart: 5,
        lastError: {
          code: "expr_timeout",
          message: "stopped after 500 ms on its retry",
          at: new Date(NOW - MINUTE).toISOString(),
        },
      },
      health: "unhealthy",
    });
    expect(rules.get(traceRule.id)).toMatchObject({
      ruleErrors: { last24h: 0, sinceStart: 0 },
      health: "ok",
    });
    expect(rules.get(traceRule.id)?.["ruleErrors"]).not.toHaveProperty("lastError");
  });

  it("falls back to the stored last problem after a restart", async () => {
    const rules = await rulesOf([status(outputRule, NOW - HOUR)], {
      problems: [
        {
          RuleId: outputRule.id,
          problems: 2,
          code: "rule_error",
          message: "rule reply-short failed while evaluating: boom",
          at: NOW - 30 * MINUTE,
        },
      ],
    });
    expect(rules.get(outputRule.id)).toMatchObject({
      ruleErrors: {
        last24h: 2,
        sinceStart: 0,
        lastError: { code: "rule_error", at: new Date(NOW - 30 * MINUTE).toISOString() },
      },
      health: "ok",
    });
  });
});
