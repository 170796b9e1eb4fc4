/**
 * A judge check compiled once (docs/judge.md): the prompt template parsed, the sampling and
 * pass condition fixed, the messages the judge reads rendered per output, and a verdict turned
 * into a finding draft. Pure: the calls, the queue, the cache and the limits are the judge
 * worker's (evaluate/judge/).
 */

import { createHash } from "node:crypto";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { parseJudgeTemplate, type TemplatePart } from "../../rules/judge-template.ts";
import type { RuleIssues } from "../../rules/rule-issues.ts";
import type { JudgeCheck, Rule } from "../../rules/rule.ts";
import { readField } from "../fields.ts";
import type { FindingDraft } from "../finding.ts";

/** What the judge answers, as the response_format schema requires it. */
export interface Verdict {
  verdict: "pass" | "fail";
  score: number;
  explanation: string;
}

/** Other outputs a prompt reads: the trace's tool calls, the conversation's earlier turns. */
export interface JudgeContext {
  toolResults: string;
  conversation: string;
}

/** The messages of one judge call. */
export interface JudgeMessages {
  system: string;
  user: string;
}

export interface CompiledJudge {
  /** The evaluation name the verdicts are stored under: evaluation.<name>.score. */
  name: string;
  /** The rule's model, or undefined for the configured one. */
  model: string | undefined;
  limits: { callsPerMinute?: number; tokensPerDay?: number };
  /** Which context placeholders the prompt holds (each costs a read). */
  reads: { toolResults: boolean; conversation: boolean };
  /** Whether this output is in the rule's sample: a hash of its ids, the same every time. */
  sampled(row: Pick<AgentOutputRow, "TraceId" | "SpanId">): boolean;
  render(row: AgentOutputRow, context: JudgeContext): JudgeMessages;
  /** A judge_failed draft for a failing verdict, undefined for a passing one. */
  failure(verdict: Verdict): FindingDraft | undefined;
}

/** Each placeholder's value is cut to this many characters unless the rule says otherwise. */
export const DEFAULT_MAX_INPUT_CHARS = 4_000;

/** Compiles the judge check of `rule`; a bad placeholder is an issue at /prompt. */
export function compileJudgeCheck(
  rule: Pick<Rule, "id">,
  check: JudgeCheck,
  issues: RuleIssues,
): CompiledJudge {
  const template = parseJudgeTemplate(check.prompt);
  if (!template.ok) for (const message of template.messages) issues.add("/prompt", message);
  const parts: TemplatePart[] = template.ok ? template.parts : [];
  const maxChars = check.max_input_chars ?? DEFAULT_MAX_INPUT_CHARS;
  const name = check.name ?? rule.id;
  const sample = check.sample ?? 1;
  const minScore = check.pass?.min_score;
  const system = systemPrompt(check);
  const limits: CompiledJudge["limits"] = {
    ...(check.limits?.calls_per_minute !== undefined && {
      callsPerMinute: check.limits.calls_per_minute,
    }),
    ...(check.limits?.tokens_per_day !== undefined && {
      tokensPerDay: check.limits.tokens_per_day,
    }),
  };
  return {
    name,
    model: check.model,
    limits,
    reads: {
      toolResults: parts.some((p) => p.type === "context" && p.context === "trace.tool_results"),
      conversation: parts.some((p) => p.type === "context" && p.context === "conversation"),
    },
    sampled: (row) => sample >= 1 || (sample > 0 && sampleFraction(rule.id, row) < sample),
    render(row, context) {
      const user = parts
        .map((part) => {
          if (part.type === "text") return part.text;
          if (part.type === "context") {
            const text =
              part.context === "conversation" ? context.conversation : context.toolResults;
            return cut(text === "" ? "(none)" : text, maxChars);
          }
          const value = readField(row, part.field);
          if (!value.present) return "(absent)";
          return cut(value.values.map(asText).join("\n"), maxChars);
        })
        .join("");
      return { system, user };
    },
    failure(verdict) {
      const belowMin = minScore !== undefined && verdict.score < minScore;
      if (verdict.verdict === "pass" && !belowMin) return undefined;
      return {
        code: "judge_failed",
        path: `evaluation.${name}.score`,
        message:
          verdict.explanation === "" ? `judge ${name}: ${verdict.verdict}` : verdict.explanation,
        observed: String(verdict.score),
        expected: minScore === undefined ? "verdict pass" : `verdict pass, score ≥ ${minScore}`,
      };
    },
  };
}

function systemPrompt(check: JudgeCheck): string {
  return [
    "You evaluate one output of an AI agent against the criteria below, using only what you are shown.",
    "",
    "Criteria:",
    check.criteria,
    ...(check.rubric === undefined ? [] : ["", "Rubric:", check.rubric]),
    "",
    'Answer with a JSON object only: {"verdict": "pass" or "fail", "score": a number from 0 (fails the criteria completely) to 1 (meets them fully), "explanation": one or two sentences naming the evidence}.',
  ].join("\n");
}

/** A number in [0, 1) from the rule and the output's ids. */
function sampleFraction(ruleId: string, row: Pick<AgentOutputRow, "TraceId" | "SpanId">): number {
  const digest = createHash("sha256").update(`${ruleId}\u0000${row.TraceId}\u0000${row.SpanId}`);
  return digest.digest().readUInt32BE(0) / 2 ** 32;
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? String(value);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (cut at ${max} characters)` : text;
}
