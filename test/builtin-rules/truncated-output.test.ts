/**
 * builtin.truncated-output (rules/builtin/truncated-output.json) on realistic telemetry, built
 * with the span builders of test/helpers/builtin-rules.ts. The detector must catch its silent
 * failure and stay quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import {
  TRACE_ID,
  detector,
  check,
  say,
  call,
  genAiAgent,
  genAiChat,
  vercelModelCall,
  vercelRun,
} from "../helpers/builtin-rules.ts";

describe("builtin.truncated-output", () => {
  const rule = detector("truncated-output");

  it("flags an OpenAI chat completion cut off at max_tokens (finish reason length)", async () => {
    const span = genAiChat(
      "Summarise our returns policy for a customer in Germany.",
      [say("Sure. You can return any item within 30 days of delivery. To start a return, open")],
      "length",
      { spanId: "5fb397be34d26b51", attributes: { "gen_ai.request.max_tokens": 20 } },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.truncated-output",
        severity: "warning",
        code: "assertion_failed",
        path: "finish_reason",
        observed: "length",
        message: expect.stringContaining("the output was cut off") as unknown,
        traceId: TRACE_ID,
        spanId: "5fb397be34d26b51",
      }),
    ]);
  });

  it("flags an AI SDK stream that hit the token limit", async () => {
    const span = vercelModelCall(
      { text: "Your order #4411 left our warehouse on Monday and is now with DHL. The trac" },
      "length",
      { spanId: "a3ce929d0e0e4736", operationId: "ai.streamText.doStream" },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.truncated-output",
        code: "assertion_failed",
        path: "finish_reason",
        observed: "length",
        spanId: "a3ce929d0e0e4736",
      }),
    ]);
  });

  it.each(["max_tokens", "MAX_TOKENS", "content_filter"])(
    "flags finish reason %s as the providers spell it",
    async (finishReason) => {
      const span = genAiChat(
        "Tell me about your warranty.",
        [say("Our warranty covers")],
        finishReason,
      );
      const findings = await check(rule, span);
      expect(findings.map((f) => [f.code, f.observed])).toEqual([
        ["assertion_failed", finishReason.toLowerCase()],
      ]);
    },
  );

  it("does not flag answers that stopped on their own, or to call a tool", async () => {
    const spans = [
      genAiChat("Where is my order #4411?", [say("Order #4411 shipped yesterday.")], "stop"),
      genAiChat(
        "Where is my order #4411?",
        [call("lookup_order", { order_id: "4411" }, "call_Qx1bX5D2mBXwuT7pmHQ3nEGa")],
        "tool_calls",
      ),
      vercelModelCall(
        {
          toolCalls: [
            {
              toolCallId: "toolu_01A09q90qw90lq917835lq9",
              toolName: "lookupOrder",
              input: '{"orderId":"4411"}',
            },
          ],
        },
        "tool-calls",
      ),
      vercelModelCall({ text: "It shipped yesterday with DHL." }, "stop"),
    ];
    for (const span of spans) expect(await check(rule, span), span.name).toEqual([]);
  });

  it("flags a truncated AI SDK call once, on its model call, not again on the run", async () => {
    // ai.generateText reports the finish reason of its last model call, which is its own span.
    const cut = "Your order #4411 left our warehouse on Monday and is now with DHL. The trac";
    const run = vercelRun("Where is my order #4411?", cut, "length", {
      spanId: "0a0a0a0a0a0a0a0a",
    });
    const modelCall = vercelModelCall({ text: cut }, "length", {
      spanId: "0b0b0b0b0b0b0b0b",
      parentSpanId: "0a0a0a0a0a0a0a0a",
    });
    const findings = [...(await check(rule, run)), ...(await check(rule, modelCall))];
    expect(findings.map((f) => [f.spanId, f.observed])).toEqual([["0b0b0b0b0b0b0b0b", "length"]]);
    for (const operationId of ["ai.streamText", "ai.generateObject", "ai.streamObject"]) {
      const other = vercelRun("Where is my order #4411?", cut, "length", {
        span: {
          name: operationId,
          attributes: { ...run.attributes, "ai.operationId": operationId },
        },
      });
      expect(await check(rule, other), operationId).toEqual([]);
    }
  });

  it("still flags an agent run of other conventions that was cut off", async () => {
    // A remote agent (OpenAI Assistants, Bedrock Agents) shows no model call of its own.
    const run = genAiAgent("Summarise our returns policy.", "You can return any item within", {
      spanId: "0c0c0c0c0c0c0c0c",
    });
    const agent = {
      ...run,
      attributes: { ...run.attributes, "gen_ai.response.finish_reasons": ["length"] },
    };
    expect((await check(rule, agent)).map((f) => f.spanId)).toEqual(["0c0c0c0c0c0c0c0c"]);
  });
});
