/**
 * The wrong-entity scenario's judge (issue 19, "Done when"): a failure only a reader sees — the
 * orders agent's confirmation names another order than the one it created — caught by the
 * shipped template rules/examples/judge-same-entity.json, backtested with a fake
 * OpenAI-compatible judge.
 *
 * The judge is deterministic and no oracle: it reads only the prompt the product sends (the
 * template's "Input", "Tool results" and "Reply" sections), never the simulation's ground
 * truth, and fails a reply that names an identifier (ORD-…, TCK-…, CUS-…) appearing nowhere
 * before it — what a careful model asked the template's criteria would answer.
 *
 * The template is copied as a user would copy it (docs/judge.md "Templates": "adjust its
 * match"): its prompt, criteria, rubric and pass condition as shipped, its match narrowed to
 * the orders agent's confirmations (the other calls name no order), and its per-rule limits
 * lifted for the benchmark's back-dated days, which the service's own limits still bound.
 */

import { readFileSync } from "node:fs";
import { compileRule, type CompiledRule } from "../../src/evaluate/compile-rule.ts";
import { parseRule } from "../../src/rules/load-rule.ts";
import {
  startFakeJudge,
  type Decide,
  type FakeJudge,
  type FakeJudgeAnswer,
} from "../../test/helpers/fake-judge.ts";
import { REPLY_INSTRUCTIONS } from "./orders-agent.ts";
import type { ScenarioId } from "./scenarios.ts";

export const JUDGE_RULE_ID = "judge-same-entity";

/**
 * The scenarios whose backtest judges: the control run (no false alarm) and wrong-entity. The
 * others leave the confirmations as the control run has them, and judging each of their
 * ~600 confirmations again would only cost time (the npm test version runs seven scenarios).
 */
export function judgedIn(scenario: ScenarioId): boolean {
  return scenario === "control" || scenario === "wrong-entity";
}

const TEMPLATE = new URL("../../rules/examples/judge-same-entity.json", import.meta.url);

/** Identifiers the template's criteria name: orders, tickets, customers. */
const ID_PATTERN = /\b(?:ORD|TCK|CUS)-[A-Za-z0-9]+\b/g;

/** What the bench's judge answers for one prompt (exported for its test). */
export function judgeSameEntity(user: string): FakeJudgeAnswer {
  const at = user.lastIndexOf("\nReply:\n");
  if (at < 0) {
    return { type: "content", content: "the prompt has no Reply section: not this template" };
  }
  const known = new Set(user.slice(0, at).match(ID_PATTERN) ?? []);
  const unknown = [...new Set(user.slice(at).match(ID_PATTERN) ?? [])].filter(
    (id) => !known.has(id),
  );
  return unknown.length === 0
    ? { type: "verdict", verdict: "pass", score: 1, explanation: "every identifier matches" }
    : {
        type: "verdict",
        verdict: "fail",
        score: 0,
        explanation: `the reply names ${unknown.join(", ")}, which neither the input nor the tool results hold`,
      };
}

const decide: Decide = (body) =>
  judgeSameEntity(body.messages.find((m) => m.role === "user")?.content ?? "");

/** The judge server the benchmark's services are pointed at. */
export function startBenchJudge(): Promise<FakeJudge> {
  return startFakeJudge(decide);
}

/** The template as the benchmark copies it: the same check, a narrower match, no own limits. */
export function benchJudgeRule(): CompiledRule {
  const template = JSON.parse(readFileSync(TEMPLATE, "utf8")) as {
    match: Record<string, unknown>;
    check: Record<string, unknown>;
  };
  const { limits: _lifted, ...check } = template.check;
  const copy = {
    ...template,
    match: {
      ...template.match,
      service: "orders-agent*",
      agent: "order-processor",
      where: [
        ...((template.match["where"] as unknown[] | undefined) ?? []),
        {
          field: "input.text",
          matches: `^system: ${escapeRegExp(REPLY_INSTRUCTIONS.slice(0, 40))}`,
        },
      ],
    },
    check,
  };
  const loaded = parseRule(copy, `${JUDGE_RULE_ID}.json`, { compile: compileRule });
  if (!loaded.ok) {
    throw new Error(loaded.errors.map((e) => `${e.file}: ${e.pointer}: ${e.message}`).join("\n"));
  }
  return loaded.rule;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
