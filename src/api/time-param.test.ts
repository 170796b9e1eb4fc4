import { describe, expect, it } from "vitest";
import { parseTimeParam } from "./time-param.ts";

describe("parseTimeParam", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  it("reads durations ago, ISO times and unix milliseconds", () => {
    expect(parseTimeParam("15m", now)).toBe(now - 15 * 60_000);
    expect(parseTimeParam("7d", now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeParam("2026-11-25T00:00:00Z", now)).toBe(Date.parse("2026-11-25T00:00:00Z"));
    expect(parseTimeParam("1764150000000", now)).toBe(1764150000000);
  });
  it("refuses anything else", () => {
    for (const bad of ["yesterday", "15", "-5m", "2026-13-45", ""])
      expect(parseTimeParam(bad, now)).toBeUndefined();
  });
});
