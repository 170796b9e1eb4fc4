/**
 * The wrong-entity scenario's judge reads only the prompt: it fails a reply naming an id that
 * nothing before it holds, and the benchmark's copy of the template judges the confirmations
 * alone, with the template's check unchanged.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { makeRow } from "../../test/helpers/make-row.ts";
import { REPLY_INSTRUCTIONS } from "./orders-agent.ts";
import { benchJudgeRule, judgeSameEntity, JUDGE_RULE_ID } from "./wrong-entity.ts";

const prompt = (input: string, tools: string, reply: string) =>
  `Input:\n${input}\n\nTool results:\n${tools}\n\nReply:\n${reply}`;

describe("the bench's judge", () => {
  it("passes a reply that names the order of the input or the tools, fails another", () => {
    const tools = 'tool create_order({"sku":"X"}) returned: {"order_id":"ORD-a1B2c3D4"}';
    expect(
      judgeSameEntity(
        prompt("user: Order ORD-a1B2c3D4: {}", tools, "Your order ORD-a1B2c3D4 is on its way."),
      ),
    ).toMatchObject({ verdict: "pass" });
    expect(judgeSameEntity(prompt("user: hi", tools, "Order ORD-a1B2c3D4 shipped."))).toMatchObject(
      { verdict: "pass" },
    );
    expect(judgeSameEntity(prompt("user: hi", "(none)", "Thanks for your order!"))).toMatchObject({
      verdict: "pass",
    });
    expect(
      judgeSameEntity(
        prompt("user: Order ORD-a1B2c3D4: {}", tools, "Your order ORD-zzzz9999 is on its way."),
      ),
    ).toMatchObject({
      verdict: "fail",
      score: 0,
      explanation: expect.stringContaining("ORD-zzzz9999"),
    });
  });

  it("answers a prompt of another template with something that is not a verdict", () => {
    expect(judgeSameEntity("Question: what?").type).toBe("content");
  });
});

describe("the bench's copy of judge-same-entity", () => {
  const template = JSON.parse(
    readFileSync(new URL("../../rules/examples/judge-same-entity.json", import.meta.url), "utf8"),
  ) as { check: Record<string, unknown> };
  const rule = benchJudgeRule();

  it("keeps the template's check, without its own limits", () => {
    expect(rule.id).toBe(JUDGE_RULE_ID);
    const { limits: _lifted, ...check } = template.check;
    expect(rule.check).toMatchObject(check);
    expect(rule.judge?.limits).toEqual({});
  });

  it("matches the orders agent's confirmations only", () => {
    const confirmation = makeRow({
      ServiceName: "orders-agent",
      AgentName: "order-processor",
      FinishReason: "stop",
      InputText: `system: ${REPLY_INSTRUCTIONS}\nuser: Order ORD-a1B2c3D4: {}`,
    });
    expect(rule.matches(confirmation)).toBe(true);
    expect(rule.matches({ ...confirmation, InputText: "system: Extract the order from …" })).toBe(
      false,
    );
    expect(rule.matches({ ...confirmation, ServiceName: "research-agent" })).toBe(false);
  });
});
