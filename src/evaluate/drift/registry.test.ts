import { describe, expect, it } from "vitest";
import { selectAutoTest } from "./auto.ts";
import { evaluateDrift } from "./evaluate-drift.ts";
import { PSI_FIXED_THRESHOLDS } from "./psi.ts";
import { STAT_TESTS, isDrift } from "./registry.ts";

describe("stat test registry", () => {
  it("declares name, kinds, default threshold, direction and p-value for every test", () => {
    const table = Object.values(STAT_TESTS).map((test) => [
      test.name,
      test.kinds.join("+"),
      test.defaultThreshold,
      test.direction,
      test.returnsPValue,
    ]);
    expect(table).toEqual([
      ["ks", "numeric", 0.05, "below", true],
      ["chi2", "numeric+categorical", 0.05, "below", true],
      ["psi", "numeric+categorical", "psi-sample-size", "above", false],
      ["jensen_shannon", "numeric+categorical", 0.1, "above", false],
      ["wasserstein", "numeric", 0.1, "above", false],
      ["z", "categorical", 0.05, "below", true],
    ]);
  });

  it("p-value tests are exactly the 'below' ones (evidently's trap)", () => {
    for (const test of Object.values(STAT_TESTS)) {
      expect(test.direction === "below").toBe(test.returnsPValue);
    }
  });

  it("compares on the declared side of the threshold", () => {
    expect(isDrift("above", 0.1, 0.1)).toBe(true);
    expect(isDrift("above", 0.09, 0.1)).toBe(false);
    expect(isDrift("below", 0.05, 0.05)).toBe(false);
    expect(isDrift("below", 0.049, 0.05)).toBe(true);
  });

  it("auto picks like evidently when both windows are the same size", () => {
    expect(selectAutoTest("numeric", 1000)).toBe("ks");
    expect(selectAutoTest("numeric", 1001)).toBe("wasserstein");
    expect(selectAutoTest("categorical", 1000, 5)).toBe("chi2");
    expect(selectAutoTest("categorical", 1000, 2)).toBe("z");
    expect(selectAutoTest("categorical", 1001, 2)).toBe("jensen_shannon");
  });

  it("auto keeps a test while the current window is small, however large the reference", () => {
    expect(selectAutoTest("numeric", 50_000, Infinity, 40)).toBe("ks");
    expect(selectAutoTest("categorical", 50_000, 5, 1000)).toBe("chi2");
    expect(selectAutoTest("categorical", 50_000, 2, 1001)).toBe("jensen_shannon");
    expect(selectAutoTest("numeric", 1001, Infinity, 50_000)).toBe("wasserstein");
  });

  it("significance replaces the default level of p-value tests only", () => {
    const counts = { reference: [500, 300, 200], current: [440, 330, 230] };
    const chi2 = evaluateDrift("chi2", { kind: "categorical", counts }, { significance: 1e-4 });
    expect(chi2.threshold).toBe(1e-4);
    expect(chi2.pValue).toBeGreaterThan(1e-4);
    expect(chi2.pValue).toBeLessThan(0.05);
    expect(chi2.drifted).toBe(false);
    expect(evaluateDrift("chi2", { kind: "categorical", counts }).drifted).toBe(true);
    const js = evaluateDrift(
      "jensen_shannon",
      { kind: "categorical", counts },
      { significance: 1e-4 },
    );
    expect(js.threshold).toBe(0.1);
    const explicit = evaluateDrift(
      "chi2",
      { kind: "categorical", counts },
      { significance: 1e-4, threshold: 0.2 },
    );
    expect(explicit.threshold).toBe(0.2);
  });

  it("an explicit threshold overrides the default, e.g. PSI's fixed 0.25", () => {
    const counts = { reference: [500, 300, 200], current: [400, 350, 250] };
    const outcome = evaluateDrift(
      "psi",
      { kind: "categorical", counts },
      { threshold: PSI_FIXED_THRESHOLDS.major },
    );
    expect(outcome.threshold).toBe(0.25);
    expect(outcome.drifted).toBe(false);
    expect(outcome.pValue).toBeNull();
  });

  it("rejects a method that does not accept the field kind, or a missing aggregate", () => {
    const categorical = {
      kind: "categorical" as const,
      counts: { reference: [1, 2], current: [2, 1] },
    };
    expect(() => evaluateDrift("ks", categorical)).toThrow(/does not accept categorical/);
    const binsOnly = { kind: "numeric" as const, bins: { reference: [1, 2], current: [2, 1] } };
    expect(() => evaluateDrift("ks", binsOnly)).toThrow(/needs numeric points/);
  });

  it("zero-variance and empty-bin edge cases stay finite", () => {
    const identical = {
      kind: "categorical" as const,
      counts: { reference: [10, 0], current: [7, 0] },
    };
    expect(evaluateDrift("chi2", identical)).toMatchObject({
      statistic: 0,
      pValue: 1,
      drifted: false,
    });
    expect(evaluateDrift("z", identical)).toMatchObject({
      statistic: 0,
      pValue: 1,
      drifted: false,
    });
    expect(evaluateDrift("jensen_shannon", identical).statistic).toBe(0);
    const disjoint = {
      kind: "categorical" as const,
      counts: { reference: [10, 0], current: [0, 7] },
    };
    expect(Number.isFinite(evaluateDrift("psi", disjoint).statistic)).toBe(true);
    expect(evaluateDrift("jensen_shannon", disjoint).statistic).toBeCloseTo(1, 12);
  });
});
