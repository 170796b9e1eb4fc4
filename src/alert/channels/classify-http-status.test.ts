import { describe, expect, it } from "vitest";
import {
  classifyHttpStatus,
  parseRetryAfterMs,
  type HttpStatusClass,
} from "./classify-http-status.ts";

describe("classifyHttpStatus", () => {
  const table: [number, HttpStatusClass][] = [
    [200, "success"],
    [201, "success"],
    [202, "success"],
    [204, "success"],
    [299, "success"],
    // Standard Webhooks: redirects are not followed; the URL should be updated.
    [301, "failure"],
    [302, "failure"],
    [304, "failure"],
    [307, "failure"],
    [308, "failure"],
    [400, "failure"],
    [401, "failure"],
    [403, "failure"],
    [404, "failure"],
    [405, "failure"],
    [408, "retry"],
    [409, "failure"],
    [410, "disable"],
    [413, "failure"],
    [415, "failure"],
    [422, "failure"],
    [429, "retry"],
    [500, "retry"],
    [501, "retry"],
    [502, "retry"],
    [503, "retry"],
    [504, "retry"],
    [599, "retry"],
    [100, "failure"],
    [199, "failure"],
    [600, "failure"],
    [0, "failure"],
  ];
  it.each(table)("%i → %s", (status, expected) => {
    expect(classifyHttpStatus(status)).toBe(expected);
  });
});

describe("parseRetryAfterMs", () => {
  const now = Date.parse("2026-01-05T09:30:00Z");
  const table: [string | null | undefined, number | undefined][] = [
    [null, undefined],
    [undefined, undefined],
    ["", undefined],
    ["7", 7_000],
    [" 120 ", 120_000],
    ["0", 0],
    ["-5", undefined],
    ["1.5", undefined],
    ["soon", undefined],
    ["Mon, 05 Jan 2026 09:30:30 GMT", 30_000],
    // A date in the past means "now", not a negative wait.
    ["Mon, 05 Jan 2026 09:00:00 GMT", 0],
    ["2026-01-05T09:30:30Z", undefined],
  ];
  it.each(table)("%j → %j", (header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });
});
