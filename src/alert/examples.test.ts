import { describe, expect, it } from "vitest";
import { makeFinding } from "../../test/helpers/findings.ts";
import { exampleOfFinding, keepExamples, timestampMs } from "./examples.ts";
import type { AlertExample } from "./types.ts";

const ex = (n: number): AlertExample => ({
  traceId: `t${n}`,
  spanId: `s${n}`,
  field: "output",
  observed: "",
  message: "",
  at: "2026-01-31T12:00:00.000Z",
});

const ids = (examples: AlertExample[]) => examples.map((e) => e.traceId);

describe("keepExamples", () => {
  it("keeps everything up to 5", () => {
    expect(ids(keepExamples([], [ex(1), ex(2), ex(3)]))).toEqual(["t1", "t2", "t3"]);
    expect(ids(keepExamples([ex(1), ex(2)], [ex(3), ex(4), ex(5)]))).toEqual([
      "t1",
      "t2",
      "t3",
      "t4",
      "t5",
    ]);
  });

  it("past 5: the first 2 and the latest 3", () => {
    const five = [ex(1), ex(2), ex(3), ex(4), ex(5)];
    expect(ids(keepExamples(five, [ex(6)]))).toEqual(["t1", "t2", "t4", "t5", "t6"]);
    expect(ids(keepExamples(five, [ex(6), ex(7), ex(8), ex(9)]))).toEqual([
      "t1",
      "t2",
      "t7",
      "t8",
      "t9",
    ]);
    expect(ids(keepExamples([], [1, 2, 3, 4, 5, 6, 7].map(ex)))).toEqual([
      "t1",
      "t2",
      "t5",
      "t6",
      "t7",
    ]);
  });

  it("does not change its arguments", () => {
    const kept = [ex(1), ex(2), ex(3), ex(4), ex(5)];
    keepExamples(kept, [ex(6)]);
    expect(ids(kept)).toEqual(["t1", "t2", "t3", "t4", "t5"]);
  });
});

describe("timestampMs", () => {
  it.each([
    ["1769860800.250000000", 1769860800250],
    ["1769860800.9999", 1769860800999],
    ["1769860800", 1769860800000],
    ["2026-01-31 12:00:00.250000000", Date.parse("2026-01-31T12:00:00.250Z")],
    ["2026-01-31 12:00:00", Date.parse("2026-01-31T12:00:00Z")],
    ["2026-01-31T12:00:00.5+01:00", Date.parse("2026-01-31T11:00:00.500Z")],
  ])("%s", (text, ms) => {
    expect(timestampMs(text)).toBe(ms);
  });

  it("is NaN for anything else", () => {
    expect(timestampMs("yesterday")).toBeNaN();
  });
});

describe("exampleOfFinding", () => {
  it("a finding at its output's time", () => {
    const finding = makeFinding();
    expect(exampleOfFinding(finding)).toStrictEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      field: "output.json.amount",
      observed: "900",
      message: "amount 900 is above 500",
      at: "2026-01-31T12:00:00.250Z",
    });
    expect(exampleOfFinding({ ...finding, time: "garbage" }).at).toBe("garbage");
  });
});
