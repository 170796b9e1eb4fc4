/**
 * builtin.refusal (rules/builtin/refusal.json) on realistic telemetry, built with the span
 * builders of test/helpers/builtin-rules.ts. The detector must catch its silent failure and stay
 * quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import { detector, check, say, genAiChat, vercelRun } from "../helpers/builtin-rules.ts";

describe("builtin.refusal", () => {
  const rule = detector("refusal");

  it("flags a chat completion that refused", async () => {
    const text = "I'm sorry, but I can't help with that request.";
    const span = genAiChat("Write me a fake receipt for order 4411.", [say(text)], "stop", {
      spanId: "8d7c6b5a49382716",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.refusal",
        severity: "warning",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        message: "the output is a refusal",
        spanId: "8d7c6b5a49382716",
      }),
    ]);
  });

  it("flags an AI SDK agent run that refused (curly apostrophes)", async () => {
    const text = "I’m sorry, but I can’t assist with that.";
    const span = vercelRun("Give me another customer's address.", text, "stop", {
      spanId: "9e8d7c6b5a493827",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.refusal",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        spanId: "9e8d7c6b5a493827",
      }),
    ]);
  });

  it("does not flag apologies that go on to answer or ask", async () => {
    for (const text of [
      "I'm sorry, but I can't find that order in our system — could you check the number?",
      "Sorry, but I can't process refunds over $500 myself — I've escalated your request to a supervisor, who will email you within 24 hours.",
      "I'm sorry for the delay! Your order #4411 shipped this morning.",
    ]) {
      expect(
        await check(rule, genAiChat("Where is order 4471?", [say(text)], "stop")),
        text,
      ).toEqual([]);
    }
    expect(
      await check(
        rule,
        vercelRun(
          "Where is order 4471?",
          "Sorry, but I can't find order 4471. Is it 4411?",
          "stop",
        ),
      ),
    ).toEqual([]);
  });
});
