/**
 * builtin.error-swallowed (rules/builtin/error-swallowed.json) on realistic telemetry, built with
 * the span builders of test/helpers/builtin-rules.ts. The detector must catch its silent failure
 * and stay quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import type { DecodedSpan } from "../../src/decode/span.ts";
import type { SpanOverrides } from "../helpers/make-span.ts";
import {
  TRACE_ID,
  detector,
  checkTrace,
  failed,
  say,
  call,
  genAiChat,
  genAiTool,
  genAiAgent,
  traceloopEntity,
  vercelModelCall,
  vercelRun,
  vercelToolCall,
} from "../helpers/builtin-rules.ts";

describe("builtin.error-swallowed", () => {
  const rule = detector("error-swallowed");
  const ask = "My tent arrived torn, please refund order 4411.";
  const refund = { order_id: "4411", amount: 89.0, reason: "damaged" };

  /** An agent run that asks for a refund, calls create_refund, then answers. */
  function refundTrace(
    toolSpan: SpanOverrides,
    result: string,
    answer: string,
    agentSpan: SpanOverrides = {},
  ): DecodedSpan[] {
    const agentId = "a1b2c3d4e5f60718";
    return [
      genAiAgent(ask, answer, { spanId: agentId, startMs: 0, endMs: 4200, span: agentSpan }),
      genAiChat(ask, [call("create_refund", refund, "call_r1")], "tool_calls", {
        spanId: "b1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 40,
        endMs: 910,
      }),
      genAiTool("create_refund", refund, result, {
        spanId: "c1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 930,
        endMs: 2950,
        callId: "call_r1",
        span: toolSpan,
      }),
      genAiChat(ask, [say(answer)], "stop", {
        spanId: "d1b2c3d4e5f60718",
        parentSpanId: agentId,
        startMs: 2990,
        endMs: 4150,
      }),
    ];
  }

  it("flags an agent run that ended OK after its tool call raised", () => {
    const spans = refundTrace(
      failed("ReadTimeout: payments-api did not answer within 2s", "httpx.ReadTimeout"),
      "",
      "Done! Your refund of $89.00 is on its way.",
    );
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.error-swallowed",
        severity: "critical",
        code: "error_swallowed",
        path: "status",
        observed: "Unset",
        message:
          "agent run support-triage (span a1b2c3d4e5f60718) ended with status Unset after tool create_refund (span c1b2c3d4e5f60718) failed with status Error: ReadTimeout: payments-api did not answer within 2s",
        traceId: TRACE_ID,
        spanId: "a1b2c3d4e5f60718",
      }),
    ]);
  });

  it("flags an AI SDK call whose tool returned an error payload and the model carried on", () => {
    const runId = "7a6b5c4d3e2f1001";
    const args = { to: "jane@example.com", subject: "Your refund", body: "Refund issued." };
    const spans = [
      vercelRun("Email Jane that her refund was issued.", "I've emailed Jane.", "stop", {
        spanId: runId,
        startMs: 0,
        endMs: 3800,
      }),
      vercelModelCall(
        {
          toolCalls: [
            { toolCallId: "toolu_1", toolName: "sendEmail", input: JSON.stringify(args) },
          ],
        },
        "tool-calls",
        { spanId: "7a6b5c4d3e2f1002", parentSpanId: runId, startMs: 10, endMs: 1400 },
      ),
      vercelToolCall(
        "sendEmail",
        args,
        { ok: false, error: "mailbox_unavailable" },
        { spanId: "7a6b5c4d3e2f1003", parentSpanId: runId, startMs: 1410, endMs: 1890 },
      ),
      vercelModelCall({ text: "I've emailed Jane." }, "stop", {
        spanId: "7a6b5c4d3e2f1004",
        parentSpanId: runId,
        startMs: 1900,
        endMs: 3790,
      }),
    ];
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.error-swallowed",
        code: "error_swallowed",
        path: "status",
        observed: "Unset",
        message: expect.stringContaining(
          'after tool sendEmail (span 7a6b5c4d3e2f1003) failed with error payload: "error" is set',
        ) as unknown,
        spanId: runId,
      }),
    ]);
  });

  it("does not flag a run that ended with Error after its tool failed", () => {
    const spans = refundTrace(
      failed("ReadTimeout: payments-api did not answer within 2s", "httpx.ReadTimeout"),
      "",
      "",
      failed("create_refund failed: ReadTimeout", "httpx.ReadTimeout"),
    );
    expect(checkTrace(rule, spans)).toEqual([]);
  });

  it("does not flag a run whose tool call succeeded", () => {
    const spans = refundTrace(
      {},
      '{"refund_id":"re_3P4x2LJ0i0a1b2c3","status":"succeeded","amount":8900,"error":null}',
      "Done! Your refund of $89.00 is on its way.",
    );
    expect(checkTrace(rule, spans)).toEqual([]);
  });

  it("flags a swallowed failure once per run, not again on the workflow around the agent", () => {
    // Traceloop SDK: @workflow around @agent around a @tool that raised; both return normally.
    const answer = "Done! Your refund of $89.00 is on its way.";
    const spans = [
      traceloopEntity("workflow", "support_workflow", ask, answer, {
        spanId: "f1f2f3f4f5f60001",
        startMs: 0,
        endMs: 4400,
      }),
      traceloopEntity("agent", "refund_agent", ask, answer, {
        spanId: "f1f2f3f4f5f60002",
        parentSpanId: "f1f2f3f4f5f60001",
        workflow: "support_workflow",
        startMs: 10,
        endMs: 4300,
      }),
      traceloopEntity("tool", "create_refund", refund, undefined, {
        spanId: "f1f2f3f4f5f60003",
        parentSpanId: "f1f2f3f4f5f60002",
        workflow: "support_workflow",
        agent: "refund_agent",
        startMs: 930,
        endMs: 2950,
        span: failed("ReadTimeout: payments-api did not answer within 2s", "httpx.ReadTimeout"),
      }),
    ];
    expect(checkTrace(rule, spans).map((f) => f.spanId)).toEqual(["f1f2f3f4f5f60002"]);
  });
});
