import { describe, expect, it } from "vitest";
import type { RuleActivity } from "../evaluate/engine.ts";
import { ruleHealthOf } from "./alerting.ts";

const activity = (overrides: Partial<RuleActivity>): RuleActivity => ({
  matched: 10,
  failed: 0,
  lastMatchedAt: undefined,
  ruleErrors: 0,
  lastError: undefined,
  health: "ok",
  ...overrides,
});

const judge = (state: NonNullable<RuleActivity["judge"]>["state"]) =>
  ({ state }) as NonNullable<RuleActivity["judge"]>;

describe("rule health for the alerts", () => {
  it("is the judge's state for judge rules, rule_errors for an unhealthy rule, else ok", () => {
    const lastError = { code: "judge_budget", message: "the budget is spent", at: 1 };
    const reports = ruleHealthOf(
      new Map([
        ["fine", activity({})],
        [
          "runaway",
          activity({
            health: "unhealthy",
            lastError: { ...lastError, code: "expr_timeout", message: "timed out" },
          }),
        ],
        ["judged", activity({ health: "unhealthy", judge: judge("budget_exhausted"), lastError })],
        ["judged-ok", activity({ judge: judge("ok") })],
        // A judge nobody configured is a setting: shown in /api/rules, no alert.
        ["unconfigured", activity({ health: "unhealthy", judge: judge("not_configured") })],
      ]),
    );
    expect(reports).toEqual([
      { ruleId: "fine", state: "ok", message: undefined },
      { ruleId: "runaway", state: "rule_errors", message: "timed out" },
      { ruleId: "judged", state: "budget_exhausted", message: "the budget is spent" },
      { ruleId: "judged-ok", state: "ok", message: undefined },
      { ruleId: "unconfigured", state: "ok", message: undefined },
    ]);
  });
});
