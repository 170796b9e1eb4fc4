/**
 * builtin.tool-error-in-disguise (rules/builtin/tool-error-in-disguise.json) on realistic
 * telemetry, built with the span builders of test/helpers/builtin-rules.ts. The detector must
 * catch its silent failure and stay quiet on the look-alikes a production agent produces every
 * day.
 */

import { describe, expect, it } from "vitest";
import { makeSpan } from "../helpers/make-span.ts";
import { detector, check, failed, genAiTool, vercelToolCall } from "../helpers/builtin-rules.ts";

describe("builtin.tool-error-in-disguise", () => {
  const rule = detector("tool-error-in-disguise");

  it("flags an OAuth error returned as a tool result (GenAI execute_tool)", async () => {
    const result =
      '{"error":"invalid_grant","error_description":"Token has been expired or revoked."}';
    const span = genAiTool("list_calendar_events", { date: "2025-03-14" }, result, {
      spanId: "1a2b3c4d5e6f7081",
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        ruleId: "builtin.tool-error-in-disguise",
        severity: "critical",
        code: "assertion_failed",
        path: "tool.result",
        observed: result,
        message: "the tool call reported success but returned an error",
        spanId: "1a2b3c4d5e6f7081",
      }),
    ]);
  });

  it("flags an HTTP error returned as text by an AI SDK tool", async () => {
    const span = vercelToolCall(
      "getShipmentStatus",
      { trackingNumber: "JD014600006281412345" },
      "HTTP 429 Too Many Requests: rate limit exceeded, retry after 60s",
      { spanId: "2b3c4d5e6f708192" },
    );
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        code: "assertion_failed",
        path: "tool.result",
        observed: "HTTP 429 Too Many Requests: rate limit exceeded, retry after 60s",
        spanId: "2b3c4d5e6f708192",
      }),
    ]);
  });

  it('flags Slack\'s {"ok": false} on an OpenInference tool span', async () => {
    const span = makeSpan({
      name: "post_slack_message",
      spanId: "3c4d5e6f708192a3",
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "post_slack_message",
        "input.value": '{"channel": "#support-escalations", "text": "Order 4411 needs a refund"}',
        "input.mime_type": "application/json",
        "output.value": '{"ok": false, "error": "channel_not_found"}',
        "output.mime_type": "application/json",
      },
    });
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({
        code: "assertion_failed",
        path: "tool.result",
        observed: '{"ok": false, "error": "channel_not_found"}',
      }),
    ]);
  });

  it("does not flag results that are data, even when they mention errors", async () => {
    const article = [
      "Designing resilient checkout flows",
      "A checkout is a chain of calls: cart, pricing, tax, payment and fulfilment. ".repeat(5),
      "Good error handling means every failure is either retried or reported; a 429 from the",
      "payment provider should back off, and an internal server error should page someone.",
      "Idempotency keys make retries safe. ".repeat(10),
    ].join("\n");
    const results: [string, Record<string, unknown>, string][] = [
      ["send_email", { to: "jane@example.com" }, '{"status":"delivered","error":null}'],
      ["web_search", { query: "checkout error handling" }, article],
      ["search_orders", { customer_id: "cus_81" }, '{"items":[]}'],
      ["get_weather", { city: "Paris" }, '{"city":"Paris","sky":"sunny","celsius":21}'],
    ];
    for (const [name, args, result] of results) {
      expect(await check(rule, genAiTool(name, args, result)), name).toEqual([]);
    }
    expect(
      await check(rule, vercelToolCall("searchOrders", { customerId: "cus_81" }, { items: [] })),
    ).toEqual([]);
  });

  it("believes a result that declares success, whatever its message mentions", async () => {
    const revoked =
      '{"success": true, "message": "API token revoked; further requests will return 401 Unauthorized."}';
    const refreshed =
      '{"ok": true, "message": "Session refreshed: the previous access token expired at 09:14."}';
    expect(
      await check(rule, genAiTool("revoke_api_token", { token_id: "tok_19" }, revoked)),
    ).toEqual([]);
    expect(await check(rule, genAiTool("refresh_session", { user_id: "u_81" }, refreshed))).toEqual(
      [],
    );
  });

  it("still flags a success envelope that carries errors", async () => {
    const result =
      '{"success": true, "sent": 1, "errors": [{"to": "bob@example", "reason": "invalid address"}]}';
    const span = genAiTool("send_bulk_email", { campaign: "refund-notice" }, result);
    expect(await check(rule, span)).toEqual([
      expect.objectContaining({ code: "assertion_failed", path: "tool.result", observed: result }),
    ]);
  });

  it("leaves tool calls whose span failed to builtin.error-swallowed", async () => {
    const span = genAiTool("create_refund", { order_id: "4411" }, '{"error":"timeout"}', {
      span: failed("ReadTimeout", "httpx.ReadTimeout"),
    });
    expect(await check(rule, span)).toEqual([]);
  });
});
