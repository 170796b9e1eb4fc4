/**
 * builtin.duplicate-side-effect (rules/builtin/duplicate-side-effect.json) on realistic telemetry,
 * built with the span builders of test/helpers/builtin-rules.ts. The detector must catch its
 * silent failure and stay quiet on the look-alikes a production agent produces every day.
 */

import { describe, expect, it } from "vitest";
import { normaliseSpan } from "../../src/decode/normalise.ts";
import type { DecodedSpan } from "../../src/decode/span.ts";
import {
  TRACE_ID,
  detector,
  checkTrace,
  call,
  genAiChat,
  genAiTool,
  genAiAgent,
  vercelRun,
  vercelToolCall,
} from "../helpers/builtin-rules.ts";

describe("builtin.duplicate-side-effect", () => {
  const rule = detector("duplicate-side-effect");
  const agentId = "9f8e7d6c5b4a3921";

  /** An agent run whose model asks for each tool call in turn, each executed after it. */
  function agentTrace(calls: [name: string, args: string][]): DecodedSpan[] {
    const ask = "Please sort out order 4411.";
    const spans = [genAiAgent(ask, "All done.", { spanId: agentId, endMs: 9000 })];
    calls.forEach(([name, args], i) => {
      const startMs = 100 + i * 1000;
      const callId = `call_${i + 1}`;
      const parsed = JSON.parse(args) as Record<string, unknown>;
      spans.push(
        genAiChat(ask, [call(name, parsed, callId)], "tool_calls", {
          spanId: `${i + 1}000000000000a01`,
          parentSpanId: agentId,
          startMs,
          endMs: startMs + 600,
        }),
        genAiTool(name, args, '{"status":"ok"}', {
          spanId: `${i + 1}000000000000b01`,
          parentSpanId: agentId,
          startMs: startMs + 620,
          endMs: startMs + 900,
          callId,
        }),
      );
    });
    return spans;
  }

  it("flags create_refund called twice with the same arguments in a different key order", () => {
    const spans = agentTrace([
      ["lookup_order", '{"order_id":"4411"}'],
      ["create_refund", '{"order_id":"4411","amount":89.0,"reason":"damaged"}'],
      ["create_refund", '{"reason": "damaged", "amount": 89.0, "order_id": "4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.duplicate-side-effect",
        severity: "critical",
        code: "duplicate",
        path: "tool.name, tool.arguments",
        observed: '["create_refund",{"amount":89,"order_id":"4411","reason":"damaged"}]',
        message: expect.stringContaining(
          "span 3000000000000b01 repeats span 2000000000000b01: same tool.name, tool.arguments",
        ) as unknown,
        traceId: TRACE_ID,
        spanId: "3000000000000b01",
      }),
    ]);
  });

  it("flags an AI SDK sendEmail executed twice with the same arguments", () => {
    const runId = "6e5d4c3b2a190801";
    const args = { to: "jane@example.com", subject: "Your refund", body: "Refund issued." };
    const spans = [
      vercelRun("Email Jane that her refund was issued.", "Sent.", "stop", {
        spanId: runId,
        endMs: 6000,
      }),
      vercelToolCall(
        "sendEmail",
        args,
        { id: "msg_1", status: "sent" },
        {
          spanId: "6e5d4c3b2a190802",
          parentSpanId: runId,
          startMs: 1200,
          endMs: 1900,
          callId: "toolu_1",
        },
      ),
      vercelToolCall(
        "sendEmail",
        args,
        { id: "msg_2", status: "sent" },
        {
          spanId: "6e5d4c3b2a190803",
          parentSpanId: runId,
          startMs: 3400,
          endMs: 4100,
          callId: "toolu_2",
        },
      ),
    ];
    expect(checkTrace(rule, spans)).toEqual([
      expect.objectContaining({
        code: "duplicate",
        path: "tool.name, tool.arguments",
        spanId: "6e5d4c3b2a190803",
        message: expect.stringContaining("repeats span 6e5d4c3b2a190802") as unknown,
      }),
    ]);
  });

  it("does not flag the same side effect with different arguments", () => {
    const spans = agentTrace([
      ["send_email", '{"to":"jane@example.com","subject":"Your refund"}'],
      ["send_email", '{"to":"ops@acme.example","subject":"Refund issued for order 4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([]);
  });

  it("matches side-effecting tool names, not read-only ones that mention a side effect", () => {
    const matches = (name: string) => {
      const row = normaliseSpan(genAiTool(name, { id: "4411" }, '{"status":"ok"}'));
      return row !== null && rule.matches(row);
    };
    for (const name of [
      "create_refund",
      "send_email",
      "sendEmail",
      "cancel_subscription",
      "book_table",
    ]) {
      expect(matches(name), name).toBe(true);
    }
    for (const name of [
      "lookup_order",
      "get_payment_status",
      "get_refund_status",
      "getUpdates",
      "list_refunds",
      "mcp__stripe__get_refund",
      "OrdersPlugin-GetRefundStatus",
    ]) {
      expect(matches(name), name).toBe(false);
    }
  });

  it("does not flag read-only tools called twice with the same arguments", () => {
    const spans = agentTrace([
      ["lookup_order", '{"order_id":"4411"}'],
      ["create_refund", '{"order_id":"4411","amount":89.0}'],
      ["get_refund_status", '{"order_id":"4411"}'],
      ["lookup_order", '{"order_id":"4411"}'],
      ["get_refund_status", '{"order_id":"4411"}'],
    ]);
    expect(checkTrace(rule, spans)).toEqual([]);
  });
});
