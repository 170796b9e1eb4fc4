import { describe, expect, it } from "vitest";
import { createJudgeLimits, dayStart, estimateTokens } from "./judge-limits.ts";

const DAY = Date.parse("2026-12-03T00:00:00Z");

function clock(start = DAY + 3_600_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("judge limits", () => {
  it("holds a rule to its calls per minute, and says how long to wait", () => {
    const time = clock();
    const limits = createJudgeLimits({}, time.now);
    const rule = { callsPerMinute: 2 };
    expect(limits.admit("r", rule, 10).type).toBe("ok");
    time.advance(10_000);
    expect(limits.admit("r", rule, 10).type).toBe("ok");
    expect(limits.admit("r", rule, 10)).toEqual({ type: "wait", ms: 50_000, overall: false });
    // Another rule is not held by this one's limit.
    expect(limits.admit("other", rule, 10).type).toBe("ok");
    time.advance(50_000);
    expect(limits.admit("r", rule, 10).type).toBe("ok");
    expect(limits.usage("r").callsLastMinute).toBe(2);
  });

  it("holds every rule to the overall calls per minute", () => {
    const time = clock();
    const limits = createJudgeLimits({ callsPerMinute: 1 }, time.now);
    expect(limits.admit("a", {}, 1).type).toBe("ok");
    expect(limits.admit("b", {}, 1)).toMatchObject({ type: "wait", overall: true });
  });

  it("refuses a call past the tokens per day, per rule and overall, until the next UTC day", () => {
    const time = clock();
    const limits = createJudgeLimits({ tokensPerDay: 1_000 }, time.now);
    expect(limits.admit("a", { tokensPerDay: 300 }, 200).type).toBe("ok");
    // The reply used less than reserved: the difference comes back.
    limits.settle("a", 200, 150);
    expect(limits.usage("a").tokensToday).toBe(150);
    expect(limits.admit("a", { tokensPerDay: 300 }, 200)).toEqual({
      type: "budget",
      scope: "rule",
      limit: 300,
      used: 150,
    });
    expect(limits.admit("b", {}, 800).type).toBe("ok");
    expect(limits.admit("c", {}, 100)).toMatchObject({ type: "budget", scope: "overall" });
    time.advance(23 * 3_600_000);
    expect(limits.admit("a", { tokensPerDay: 300 }, 200).type).toBe("ok");
  });

  it("counts the tokens spent earlier today from the seed (a restart keeps the budget)", () => {
    const limits = createJudgeLimits({}, clock().now);
    limits.seed(new Map([["a", 290]]));
    expect(limits.admit("a", { tokensPerDay: 300 }, 20).type).toBe("budget");
    expect(limits.overall().tokensToday).toBe(290);
  });

  it("estimates a call from its characters and max_tokens", () => {
    expect(estimateTokens("x".repeat(40), "y".repeat(60), 300)).toBe(325);
    expect(dayStart(DAY + 5)).toBe(DAY);
  });
});
