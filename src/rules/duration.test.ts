import { describe, expect, it } from "vitest";
import { durationSchema, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["0s", 0],
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["1w", 604_800_000],
    [" 15m ", 900_000],
  ])("%j is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5", "5 m", "-5m", "1.5h", "5min", "m", "1h 30m", "99999999999999999999w"])(
    "%j is not a duration",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );
});

describe("durationSchema", () => {
  it("gives milliseconds", () => {
    expect(durationSchema().parse("5m")).toBe(300_000);
  });

  it("names the bad value", () => {
    const result = durationSchema().safeParse("5 minutes");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(
      '"5 minutes" is not a duration: use an integer and a unit (ms, s, m, h, d, w), like 30s, 5m, 1h30m',
    );
    expect(
      durationSchema({ ms: 60_000, why: "too short" }).safeParse("59s").error?.issues[0]?.message,
    ).toBe('"59s" is too short');
    expect(durationSchema({ ms: 60_000, why: "too short" }).parse("1m")).toBe(60_000);
    expect(durationSchema().safeParse(300).error?.issues[0]?.message).toBe(
      "300 is not a duration text",
    );
  });
});
