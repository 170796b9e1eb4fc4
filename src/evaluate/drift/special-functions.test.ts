import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  chiSquareQuantile,
  chiSquareSurvival,
  kolmogorovSurvival,
  normalSurvival,
} from "./special-functions.ts";

// scipy values from test/fixtures/drift/generate.py. Tolerance: 1e-10 relative (the
// functions are accurate to ~1e-14; p-values are compared at 1e-6 elsewhere), absolute
// 1e-300 so that underflow to 0 on both sides passes.
const RELATIVE = 1e-10;

interface SpecialFixture {
  cases: {
    chiSquareSurvival: { x: number; df: number; expected: number }[];
    chiSquareQuantile: { p: number; df: number; expected: number }[];
    kolmogorovSurvival: { x: number; expected: number }[];
    normalSurvival: { z: number; expected: number }[];
  };
}

const fixture = JSON.parse(
  readFileSync(
    new URL("../../../test/fixtures/drift/special-functions.json", import.meta.url),
    "utf8",
  ),
) as SpecialFixture;

function expectRelative(actual: number, expected: number): void {
  const tolerance = Math.max(1e-300, RELATIVE * Math.abs(expected));
  expect(Math.abs(actual - expected), `${actual} vs scipy ${expected}`).toBeLessThanOrEqual(
    tolerance,
  );
}

describe("special functions against scipy", () => {
  it.each(fixture.cases.chiSquareSurvival)("chi2.sf($x, $df)", ({ x, df, expected }) => {
    expectRelative(chiSquareSurvival(x, df), expected);
  });

  it.each(fixture.cases.chiSquareQuantile)("chi2.ppf($p, $df)", ({ p, df, expected }) => {
    expectRelative(chiSquareQuantile(p, df), expected);
  });

  it.each(fixture.cases.kolmogorovSurvival)("kstwobign.sf($x)", ({ x, expected }) => {
    expectRelative(kolmogorovSurvival(x), expected);
  });

  it.each(fixture.cases.normalSurvival)("norm.sf($z)", ({ z, expected }) => {
    expectRelative(normalSurvival(z), expected);
  });
});
