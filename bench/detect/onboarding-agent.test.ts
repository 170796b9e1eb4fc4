/**
 * The onboarding assistant's conversations (onboarding-agent.ts) through the real OTel SDK,
 * normalised turn by turn as ingest does, and checked as the conversation evaluator does (each
 * turn against the turns before it, then the whole conversation): each failure of issue 18 is
 * caught by its detector on the turn it happened in, and stable conversations, with their
 * legitimate noise, raise nothing.
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { describe, expect, it } from "vitest";
import { inheritAgentNames } from "../../src/decode/inherit-agent.ts";
import { normaliseSpans } from "../../src/decode/normalise.ts";
import type { CompiledRule } from "../../src/evaluate/compile-rule.ts";
import type { Finding } from "../../src/rules/findings.ts";
import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import { fromReadableSpan } from "../../test/helpers/make-span.ts";
import { loadTestRuleFile } from "../../test/helpers/rules.ts";
import { emitRun } from "./genai-spans.ts";
import {
  ONBOARDING_TURNS,
  STABLE_ONBOARDING,
  onboardingConversation,
  type OnboardingEffects,
} from "./onboarding-agent.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
function rule(dir: string, name: string): CompiledRule {
  const result = loadTestRuleFile(path.join(ROOT, dir, `${name}.json`), path.join(ROOT, dir));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.rule;
}
const RULES = [
  ...[
    "duplicate-side-effect",
    "duplicate-side-effect-in-conversation",
    "loop",
    "loop-in-conversation",
    "context-reset",
    "memory-search-empty",
    "error-swallowed",
  ].map((name) => rule("rules/builtin", name)),
  rule("bench/detect/suggested-rules", "onboarding-customer-id-kept"),
];

/** Findings of RULES on one conversation, and the trace id of each of its turns. */
function run(effects: OnboardingEffects, runSeed: number) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "onboarding-agent" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("onboarding-test");
  const plans = onboardingConversation({ runSeed, startMs: Date.UTC(2026, 0, 5), effects });
  const rows: AgentOutputRow[] = [];
  const findings: Finding[] = [];
  const turns: string[] = [];
  for (const plan of plans) {
    exporter.reset();
    const traceId = emitRun(tracer, plan);
    turns.push(traceId);
    const spans = exporter.getFinishedSpans().map(fromReadableSpan);
    const normalised = normaliseSpans(spans);
    inheritAgentNames(normalised.rows, spans);
    rows.push(...normalised.rows);
    const id = normalised.rows[0]?.ConversationId ?? "";
    for (const r of RULES) {
      if (r.scope === "trace") findings.push(...r.evaluateTrace(normalised.rows));
      findings.push(
        ...r.evaluateConversation(id, rows, { kind: "turn", traceIds: new Set([traceId]) }),
      );
    }
  }
  const id = rows[0]?.ConversationId ?? "";
  for (const r of RULES) findings.push(...r.evaluateConversation(id, rows, { kind: "final" }));
  return { findings, turns, rows };
}

const on = (changes: Partial<OnboardingEffects>): OnboardingEffects => ({
  ...STABLE_ONBOARDING,
  ...changes,
  affected: true,
});

describe("the onboarding assistant", () => {
  it("holds five turns, one trace each, in one conversation", () => {
    const { turns, rows } = run(STABLE_ONBOARDING, 1);
    expect(turns).toHaveLength(ONBOARDING_TURNS);
    expect(new Set(turns).size).toBe(ONBOARDING_TURNS);
    expect(new Set(rows.map((r) => r.ConversationId)).size).toBe(1);
    expect(rows.every((r) => r.ConversationId.startsWith("onb_"))).toBe(true);
  });

  it("raises nothing on stable conversations, legitimate noise included", () => {
    for (let seed = 1; seed <= 60; seed++) {
      expect(run(STABLE_ONBOARDING, seed).findings, `seed ${seed}`).toEqual([]);
    }
  });

  it("a resumed run re-sending the welcome e-mail in a new trace", () => {
    const { findings, turns } = run(on({ resumedResend: true }), 7);
    expect(findings.map((f) => [f.ruleId, f.traceId])).toEqual([
      ["builtin.duplicate-side-effect-in-conversation", turns[5]],
    ]);
  });

  it("the history lost from turn 3 on", () => {
    const { findings, turns } = run(on({ contextLostFromTurn: 3 }), 8);
    expect(findings.map((f) => [f.ruleId, f.traceId])).toEqual([
      ["builtin.context-reset", turns[2]],
    ]);
  });

  it("a contradicted customer id", () => {
    const { findings, turns } = run(on({ contradictedFact: true }), 9);
    expect(findings.map((f) => [f.ruleId, f.code, f.traceId])).toEqual([
      ["onboarding-customer-id-kept", "inconsistent", turns[3]],
    ]);
  });

  it("a search repeated turn after turn", () => {
    const { findings, turns } = run(on({ searchLoop: true }), 10);
    expect(findings.map((f) => [f.ruleId, f.code, f.traceId])).toEqual([
      ["builtin.loop-in-conversation", "loop", turns[4]],
    ]);
  });
});
