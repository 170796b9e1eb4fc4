import { describe, expect, it } from "vitest";
import { looksLikeErrorPayload, looksLikeErrorText } from "./error-payload.ts";

describe("looksLikeErrorPayload", () => {
  it.each([
    [{ error: "invalid_grant" }, `"error" is set`],
    [{ error: { type: "rate_limit_error", message: "slow down" } }, `"error" is set`],
    ['{"error":{"code":401,"message":"Invalid credentials"}}', `"error" is set`],
    [{ ok: false, error_code: "channel_not_found" }, `"ok" is false`],
    [{ success: false, data: null }, `"success" is false`],
    [{ status: 503, body: "" }, `"status" is HTTP 503`],
    [{ statusCode: "404", path: "/v1/orders/9" }, `"statusCode" is HTTP 404`],
    [{ status_code: 429 }, `"status_code" is HTTP 429`],
    [{ code: 500, name: "InternalError" }, `"code" is HTTP 500`],
    [{ status: "failed", id: "job-1" }, `"status" is "failed"`],
    [{ data: null, errors: [{ message: "Field 'x' not found" }] }, `"errors" has 1 entry`],
    [{ detail: "Invalid token" }, `"detail": text says "Invalid token"`],
    ["401 Unauthorized", `text says "Unauthorized"`],
    ["Error: token expired, please re-authenticate", "text starts with an error"],
    ["HTTP 429 Too Many Requests", `text says "HTTP 429"`],
    ["Rate limit exceeded. Try again in 20s.", `text says "Rate limit exceeded"`],
    [
      "You exceeded your current quota, please check your plan",
      `text says "exceeded your current quota"`,
    ],
    ["insufficient_quota", `text says "insufficient_quota"`],
    ["<html><title>503 Service Unavailable</title></html>", `text says "Service Unavailable"`],
    ["Request failed with status code 500", `text says "status code 500"`],
    ["Forbidden", `text says "Forbidden"`],
    ["Error 502 from upstream", "text starts with an error"],
    ['"Access denied for user"', `text says "Access denied"`],
    ['Traceback (most recent call last):\n  File "tool.py"', "text starts with an error"],
  ])("flags %j", (value, reason) => {
    const verdict = looksLikeErrorPayload(value);
    expect(verdict.error).toBe(true);
    if (verdict.error) expect(verdict.reason).toContain(reason);
  });

  it.each([
    [{ error: null, data: { id: 7 } }],
    [{ error: false }],
    [{ error: "" }],
    [{ errors: [], data: { user: "ada" } }],
    [{ ok: true }],
    [{ success: true, status: 200 }],
    [{ status: "shipped", code: "SKU-400" }],
    [{ code: 12345 }],
    [{ message: "Your order shipped" }],
    ['{"results":[{"title":"Why rate limit exceeded errors happen"}]}'],
    ['[{"error":"x"}]'],
    ["The report lists every error we fixed this quarter and what caused each one."],
    ["Here is a long article. ".repeat(20) + "At the end it says: rate limit exceeded."],
    ["Error handling is covered in chapter 4."],
    ["I found 3 results for 'error 404 page design'."],
    [42],
    [null],
    [["unauthorized"]],
    [""],
  ])("does not flag %j", (value) => {
    expect(looksLikeErrorPayload(value)).toEqual({ error: false });
  });

  it("reads text as text in looksLikeErrorText", () => {
    expect(looksLikeErrorText('{"error":"x"}')).toEqual({ error: false });
    expect(looksLikeErrorText("Unauthorised: bad key").error).toBe(true);
  });
});
