/**
 * The built-in detectors check answers: LLM calls, agent runs and tool calls. The rows of the
 * operations around them — workflows, plans, retrievals, memory operations, agent definitions —
 * are no answers of their own (a workflow's answer is its agent's, which is checked), so no
 * built-in fires on them, whatever they hold.
 */

import { describe, expect, it } from "vitest";
import { normaliseSpan } from "../../src/decode/normalise.ts";
import type { DecodedSpan } from "../../src/decode/span.ts";
import { check, detector, genAiStep, say } from "../helpers/builtin-rules.ts";

const OUTPUT_DETECTORS = [
  "truncated-output",
  "empty-output",
  "invalid-json",
  "refusal",
  "tool-error-in-disguise",
].map((name) => detector(name));

/** Output messages that every content detector would flag on an LLM call or agent run. */
const flaggable = {
  "gen_ai.output.type": "json",
  "gen_ai.response.finish_reasons": ["length"],
  "gen_ai.output.messages": JSON.stringify([
    { role: "assistant", parts: [say("I'm sorry, but I can't help with that.")] },
  ]),
};

const STEPS: [string, DecodedSpan][] = [
  [
    "workflow",
    genAiStep("invoke_workflow", { "gen_ai.workflow.name": "support_pipeline", ...flaggable }),
  ],
  ["plan", genAiStep("plan", { "gen_ai.agent.name": "support-triage", ...flaggable })],
  [
    "retrieval",
    genAiStep("retrieval", {
      "gen_ai.data_source.id": "vs_policies",
      "gen_ai.retrieval.query.text": "refund policy",
      "gen_ai.retrieval.documents": '{"error": "index vs_policies not found", "status": 404}',
    }),
  ],
  [
    "memory",
    genAiStep("search_memory", {
      "gen_ai.memory.store.id": "mem-store-1",
      "gen_ai.memory.query.text": "contact preference",
      "gen_ai.memory.records": "[]",
    }),
  ],
  [
    "definition",
    genAiStep("create_agent", {
      "gen_ai.agent.name": "support-triage",
      "gen_ai.output.messages": "[]",
    }),
  ],
];

describe("built-in detectors on the operations around answers", () => {
  it.each(STEPS)("find nothing on a %s", async (kind, span) => {
    expect(normaliseSpan(span)?.Kind).toBe(kind);
    for (const rule of OUTPUT_DETECTORS) expect(await check(rule, span), rule.id).toEqual([]);
  });
});
