import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, webhookSecretKey, webhookSecretProblem } from "./sign.ts";

describe("signWebhook", () => {
  it("matches the Standard Webhooks reference implementation's test vector", () => {
    // libraries/javascript/src/webhook.test.ts, "sign function works"
    const headers = signWebhook(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("signs id, timestamp and body with the decoded secret, and non-ASCII bodies as UTF-8", () => {
    const key = randomBytes(32);
    const body = '{"message":"échec — 失败"}';
    const headers = signWebhook(`whsec_${key.toString("base64")}`, "ntf_1", 1767600000, body);
    const expected = createHmac("sha256", key).update(
      Buffer.from(`ntf_1.1767600000.${body}`, "utf8"),
    );
    expect(headers["webhook-signature"]).toBe(`v1,${expected.digest("base64")}`);
  });

  it("refuses ids with a dot and timestamps that are not whole seconds (bugs, not input)", () => {
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    expect(() => signWebhook(secret, "a.b", 1, "{}")).toThrow(/no "\."/);
    expect(() => signWebhook(secret, "", 1, "{}")).toThrow(TypeError);
    expect(() => signWebhook(secret, "a", 1.5, "{}")).toThrow(/whole seconds/);
    expect(() => signWebhook(secret, "a", -1, "{}")).toThrow(/whole seconds/);
  });
});

describe("webhookSecretProblem", () => {
  const valid = `whsec_${randomBytes(32).toString("base64")}`;

  it.each([
    ["a valid 32-byte secret", valid, undefined],
    ["the reference library's 24-byte secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", undefined],
    ["no prefix", valid.slice("whsec_".length), /starts with "whsec_"/],
    [
      "another scheme's prefix",
      `whsk_${randomBytes(32).toString("base64")}`,
      /starts with "whsec_"/,
    ],
    ["nothing after the prefix", "whsec_", /standard base64/],
    ["base64url characters", `whsec_${"-_".repeat(16)}`, /standard base64/],
    [
      "broken padding",
      `whsec_${randomBytes(32).toString("base64").replace(/=$/, "")}`,
      /standard base64/,
    ],
    [
      "too short",
      `whsec_${randomBytes(16).toString("base64")}`,
      /24 to 64 random bytes; this one holds 16/,
    ],
    ["too long", `whsec_${randomBytes(65).toString("base64")}`, /this one holds 65/],
  ])("%s", (_name, secret, expected) => {
    const problem = webhookSecretProblem(secret);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
    // The message is printed: it never repeats the secret.
    if (problem !== undefined && secret.length > 8) expect(problem).not.toContain(secret.slice(6));
  });

  it("decodes the key of a valid secret and throws for a bad one", () => {
    const key = randomBytes(24);
    expect(webhookSecretKey(`whsec_${key.toString("base64")}`).equals(key)).toBe(true);
    expect(() => webhookSecretKey("secret")).toThrow(TypeError);
  });
});
