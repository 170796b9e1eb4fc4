import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { absenceVerdict, poissonLowerTail } from "./poisson.ts";

// Reference values from test/fixtures/absence/generate.py (scipy.stats.poisson.cdf).
// Tolerance: 1e-9 relative (absolute 1e-300: e^-1500 underflows to 0 in both).
const fixture = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/absence/poisson.json", import.meta.url), "utf8"),
) as { cases: { observed: number; expected: number; cdf: number }[] };

const thresholds = { minExpected: 5, maxShare: 0.1, alpha: 1e-3 };

describe("poissonLowerTail", () => {
  it.each(fixture.cases)("P(X ≤ $observed | λ = $expected) as scipy", (c) => {
    const actual = poissonLowerTail(c.observed, c.expected);
    expect(Math.abs(actual - c.cdf)).toBeLessThanOrEqual(Math.max(1e-300, 1e-9 * c.cdf));
  });

  it("has enough cases, some of them in the far tail", () => {
    expect(fixture.cases.length).toBeGreaterThan(40);
    expect(fixture.cases.some((c) => c.cdf > 0 && c.cdf < 1e-50)).toBe(true);
  });

  it("is 1 when nothing is expected", () => {
    expect(poissonLowerTail(0, 0)).toBe(1);
  });
});

describe("absenceVerdict", () => {
  it("finds an entity silent that sent every day at this time", () => {
    const verdict = absenceVerdict({ observed: 0, daily: [30, 25, 28, 31] }, thresholds);
    expect(verdict.status).toBe("drift");
    expect(verdict.expected).toBeCloseTo(28.5, 9);
    expect(verdict.pValue).toBeCloseTo(Math.exp(-28.5), 20);
  });

  it("calls a naturally sparse entity (or a nightly lull) too sparse to tell", () => {
    const verdict = absenceVerdict({ observed: 0, daily: [3, 4, 2, 5, 4, 3, 4] }, thresholds);
    expect(verdict.status).toBe("insufficient");
  });

  it("does not call a dip silence", () => {
    expect(absenceVerdict({ observed: 600, daily: [1000, 1010, 990] }, thresholds).status).toBe(
      "ok",
    );
  });

  it("is ok when p is not below alpha", () => {
    // λ = 6: P(0) = e^-6 ≈ 2.5e-3 ≥ 1e-3.
    expect(absenceVerdict({ observed: 0, daily: [6, 6] }, thresholds).status).toBe("ok");
  });

  it("is ok when it was as quiet at this time on an earlier day (a weekend)", () => {
    const verdict = absenceVerdict({ observed: 0, daily: [40, 40, 40, 40, 40, 0, 0] }, thresholds);
    expect(verdict.expected).toBeGreaterThan(20);
    expect(verdict.status).toBe("ok");
    expect(verdict.reason).toContain("6 days ago");
  });

  it("is insufficient without a counted day", () => {
    expect(absenceVerdict({ observed: 0, daily: [] }, thresholds).status).toBe("insufficient");
  });
});
