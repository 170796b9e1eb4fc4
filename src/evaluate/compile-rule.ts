/**
 * A rule compiled once, when it is loaded (the rule set calls compileRule through
 * src/rules/load-rule.ts): fields parsed, regexes, schema and expressions compiled into the
 * functions the engine calls for every output and every quiet trace. Problems are issues of
 * the rule; a rule with any does not load. Evaluation never throws: anything unexpected
 * becomes one `rule_error` finding-shaped RuleProblem with the rule's id (src/rules/findings.ts):
 * a problem of the rule, which the engine never counts as a failure of the output.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { RuleIssues } from "../rules/rule-issues.ts";
import type { Finding } from "../rules/findings.ts";
import type { Rule } from "../rules/rule.ts";
import {
  compileAssertCheck,
  type AsyncOutputCheck,
  type EvaluationAttempt,
} from "./checks/assert.ts";
import { compileJudgeCheck, type CompiledJudge } from "./checks/judge.ts";
import { compileJsonSchemaCheck } from "./checks/json-schema.ts";
import { compileTraceCheck } from "./checks/trace.ts";
import { compileConversationCheck, type ConversationPass } from "./checks/conversation.ts";
import { cacheFor } from "./fields.ts";
import { toFinding } from "./finding.ts";
import { compileMatch, compileWhere } from "./match.ts";

/** A loaded rule with its checks compiled: what every stage reads. */
export interface CompiledRule extends Rule {
  /**
   * `output` rules run per output as it arrives; `trace` rules once a trace is quiet; `window`
   * rules (rate and drift checks) on a schedule, in ClickHouse (src/evaluate/windows/);
   * `judge` rules by the judge worker, from its queue (src/evaluate/judge/), never by the engine;
   * `conversation` rules as each trace of a conversation goes quiet, and once the whole
   * conversation is quiet (src/evaluate/conversations.ts).
   */
  readonly scope: "output" | "trace" | "conversation" | "window" | "judge";
  /** A judge rule's compiled check (its prompt, sample and pass condition). */
  readonly judge?: CompiledJudge;
  /** Whether the rule applies to this output (its `match`). */
  matches(row: AgentOutputRow): boolean;
  /**
   * Findings of an output rule on one output ([] for trace rules, and when it passes); rule
   * problems (isRuleProblem) among them. `retry`: the engine's second attempt after an
   * `expr_timeout`, with the longer budget (checks/assert.ts).
   */
  evaluateOutput(row: AgentOutputRow, attempt?: EvaluationAttempt): Promise<Finding[]>;
  /** Findings (and rule problems) of a trace rule on every output of one trace ([] for output rules). */
  evaluateTrace(rows: readonly AgentOutputRow[]): Finding[];
  /**
   * Findings (and rule problems) of a conversation rule on the outputs of one conversation so
   * far, for one pass (checks/conversation.ts); [] for other rules.
   */
  evaluateConversation(
    conversationId: string,
    rows: readonly AgentOutputRow[],
    pass: ConversationPass,
  ): Finding[];
}

const NO_OUTPUT_FINDINGS = (): Promise<Finding[]> => Promise.resolve([]);
const NO_TRACE_FINDINGS = (): Finding[] => [];
const NO_CONVERSATION_FINDINGS = (): Finding[] => [];

/** Compiles a parsed rule; what cannot be compiled is reported to `issues`. */
export function compileRule(rule: Rule, issues: RuleIssues): CompiledRule {
  const match = compileMatch(rule.match, issues.at("/match"));
  const matches = (row: AgentOutputRow): boolean => match(row);
  const check = rule.check;

  if (check.type === "trace") {
    const evaluate = compileTraceCheck(check, issues.at("/check"));
    return {
      ...rule,
      scope: "trace",
      matches,
      evaluateOutput: NO_OUTPUT_FINDINGS,
      evaluateTrace(rows) {
        try {
          return evaluate(rule, rows, matches);
        } catch (error) {
          const anchor = rows.find((row) => safely(() => matches(row))) ?? rows[0];
          return anchor === undefined ? [] : [ruleError(rule, anchor, error)];
        }
      },
      evaluateConversation: NO_CONVERSATION_FINDINGS,
    };
  }

  if (check.type === "conversation") {
    const evaluate = compileConversationCheck(check, issues.at("/check"));
    return {
      ...rule,
      scope: "conversation",
      matches,
      evaluateOutput: NO_OUTPUT_FINDINGS,
      evaluateTrace: NO_TRACE_FINDINGS,
      evaluateConversation(conversationId, rows, pass) {
        try {
          return evaluate(rule, conversationId, rows, matches, pass);
        } catch (error) {
          // About the new turn's first output: a problem of the rule, never a verdict.
          const inPass = (row: AgentOutputRow): boolean =>
            pass.kind === "final" || pass.traceIds.has(row.TraceId);
          const anchor = rows.find((row) => inPass(row) && safely(() => matches(row))) ?? rows[0];
          return anchor === undefined
            ? []
            : [{ ...ruleError(rule, anchor, error), conversationId }];
        }
      },
    };
  }

  if (check.type === "rate" || check.type === "drift" || check.type === "absent") {
    // Evaluated as SQL (src/evaluate/windows/); Node's compile catches the same mistakes in
    // the rate's share conditions as in any match.
    if (check.type === "rate") compileWhere(check.share ?? [], issues.at("/check/share"));
    return {
      ...rule,
      scope: "window",
      matches,
      evaluateOutput: NO_OUTPUT_FINDINGS,
      evaluateTrace: NO_TRACE_FINDINGS,
      evaluateConversation: NO_CONVERSATION_FINDINGS,
    };
  }

  if (check.type === "judge") {
    const judge = compileJudgeCheck(rule, check, issues.at("/check"));
    return {
      ...rule,
      scope: "judge",
      judge,
      matches,
      evaluateOutput: NO_OUTPUT_FINDINGS,
      evaluateTrace: NO_TRACE_FINDINGS,
      evaluateConversation: NO_CONVERSATION_FINDINGS,
    };
  }

  let evaluate: AsyncOutputCheck | undefined;
  if (check.type === "json_schema") {
    const sync = compileJsonSchemaCheck(check, issues.at("/check"));
    if (sync !== undefined) evaluate = (row, cache) => Promise.resolve(sync(row, cache));
  } else if (check.type === "assert") {
    evaluate = compileAssertCheck(check, issues.at("/check"));
  } else {
    const type = (check as { type?: unknown }).type;
    issues.add("/check/type", `unknown check type ${JSON.stringify(type)}`);
  }
  const run = evaluate ?? (() => Promise.resolve([]));
  return {
    ...rule,
    scope: "output",
    matches,
    async evaluateOutput(row, attempt = "first") {
      try {
        const drafts = await run(row, cacheFor(row), attempt);
        return drafts.map((draft) => toFinding(rule, row, draft));
      } catch (error) {
        return [ruleError(rule, row, error)];
      }
    },
    evaluateTrace: NO_TRACE_FINDINGS,
    evaluateConversation: NO_CONVERSATION_FINDINGS,
  };
}

function safely(test: () => boolean): boolean {
  try {
    return test();
  } catch {
    return false;
  }
}

function ruleError(rule: Rule, row: AgentOutputRow, error: unknown): Finding {
  const reason = error instanceof Error ? error.message : String(error);
  return toFinding(rule, row, {
    code: "rule_error",
    path: "",
    message: `rule ${rule.id} failed while evaluating: ${reason}`,
    observed: "",
    expected: "",
  });
}
