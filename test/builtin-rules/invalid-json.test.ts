/**
 * builtin.invalid-json (rules/builtin/invalid-json.json) on realistic telemetry, built with the
 * span builders of test/helpers/builtin-rules.ts. The detector must catch its silent failure and
 * stay quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import { makeSpan } from "../helpers/make-span.ts";
import {
  detector,
  check,
  failed,
  say,
  call,
  genAiChat,
  vercelModelCall,
} from "../helpers/builtin-rules.ts";

describe("builtin.invalid-json", () => {
  const rule = detector("invalid-json");
  const classify = "Classify this ticket: my parcel arrived crushed, I want my money back.";
  const jsonMode = { "gen_ai.output.type": "json" };

  it("flags JSON mode answered with prose around the JSON", async () => {
    const text = 'Sure! Here is the classification:\n{"intent": "refund", "confidence": 0.92}';
    const span = genAiChat(classify, [say(text)], "stop", {
      spanId: "e457b5a2e4d86bd1",
      attributes: { ...jsonMode, "gen_ai.openai.request.response_format": "json_object" },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        severity: "warning",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        message: "JSON was requested but the output does not parse as JSON",
        spanId: "e457b5a2e4d86bd1",
      }),
    ]);
  });

  it("flags an AI SDK generateObject call whose model returned broken JSON", async () => {
    const text = '{"refund": true, "amount": 25, "reason": "item arrived crushed",}';
    const span = vercelModelCall({ object: text }, "stop", {
      spanId: "f1e2d3c4b5a69788",
      operationId: "ai.generateObject.doGenerate",
      prompt: "Should we refund order 1234?",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        code: "assertion_failed",
        path: "output.text",
        observed: text,
        spanId: "f1e2d3c4b5a69788",
      }),
    ]);
  });

  it("flags a json_schema response format answered with invalid JSON (OpenInference)", async () => {
    const span = makeSpan({
      name: "ChatCompletion",
      spanId: "0f1e2d3c4b5a6978",
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o-2024-08-06",
        // json.dumps of the request parameters, as the Python instrumentation writes them.
        "llm.invocation_parameters":
          '{"model": "gpt-4o", "response_format": {"type": "json_schema", "json_schema": {"name": "Ticket", "strict": true, "schema": {"type": "object"}}}}',
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": classify,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": '{"intent": "refund", "confidence": 0.9',
      },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.invalid-json",
        code: "assertion_failed",
        path: "output.text",
        observed: '{"intent": "refund", "confidence": 0.9',
        spanId: "0f1e2d3c4b5a6978",
      }),
    ]);
  });

  it("does not flag JSON that was asked for and returned, plain or fenced", async () => {
    const plain = genAiChat(classify, [say('{"intent": "refund", "confidence": 0.92}')], "stop", {
      attributes: jsonMode,
    });
    const fenced = genAiChat(
      classify,
      [say('```json\n{\n  "intent": "refund",\n  "confidence": 0.92\n}\n```')],
      "stop",
      { attributes: { "gen_ai.openai.request.response_format": "json_object" } },
    );
    const object = vercelModelCall({ object: '{"refund":true,"amount":25}' }, "stop", {
      operationId: "ai.generateObject.doGenerate",
    });
    expect(await check(rule, plain)).toEqual([]);
    expect(await check(rule, fenced)).toEqual([]);
    expect(await check(rule, object)).toEqual([]);
  });

  it("does not flag plain text when JSON was not asked for", async () => {
    const text = "Your parcel arrived damaged — I'm sorry. I've opened refund case R-7731 for you.";
    expect(await check(rule, genAiChat(classify, [say(text)], "stop"))).toEqual([]);
    expect(
      await check(
        rule,
        genAiChat(classify, [say(text)], "stop", { attributes: { "gen_ai.output.type": "text" } }),
      ),
    ).toEqual([]);
    expect(await check(rule, vercelModelCall({ text }, "stop"))).toEqual([]);
  });

  it("does not flag a JSON-mode call that failed or only called a tool", async () => {
    const timedOut = genAiChat(classify, [], "", {
      attributes: jsonMode,
      span: failed("Request timed out.", "openai.APITimeoutError"),
    });
    const toolCall = genAiChat(
      classify,
      [call("lookup_order", { order_id: "1234" }, "call_9")],
      "tool_calls",
      { attributes: jsonMode },
    );
    expect(await check(rule, timedOut)).toEqual([]);
    expect(await check(rule, toolCall)).toEqual([]);
  });
});
