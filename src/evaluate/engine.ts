/**
 * The rule engine: evaluates every committed output against the output rules that match it,
 * and whole traces against the trace rules, and hands findings and evaluation counts to the
 * writer. It runs after the commit, off the acknowledgement path: ingest never waits for it,
 * and a rule that throws becomes a `rule_error` finding, not a crash.
 *
 * Rule problems (an error or timeout inside a rule: RuleProblem) are no verdict on the output:
 * an evaluation that ends in nothing but rule problems is neither failed nor passed and gets no
 * evaluation record, and its problems go to `onRuleProblems` (stored beside the findings), never
 * to the sink (which feeds the alerts). A timeout is first retried once, after the slice, with
 * the longer budget (checks/assert.ts EXPR_RETRY_TIMEOUT_MS); only a retry stopped too is
 * reported. A rule whose last UNHEALTHY_AFTER evaluations all hit a rule problem is unhealthy.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CompiledRule } from "./compile-rule.ts";
import type { ConversationPass } from "./checks/conversation.ts";
import type { JudgeActivity } from "./judge/judge-worker.ts";
import {
  isRuleProblem,
  type CheckEvaluation,
  type Finding,
  type RuleProblem,
} from "../rules/findings.ts";
import type { Rule } from "../rules/rule.ts";

export interface EvaluationSink {
  add(findings: Finding[], evaluations: CheckEvaluation[]): void;
}

export interface RuleActivity {
  /** Outputs (or traces) the rule matched since this process started, judged or not. */
  matched: number;
  failed: number;
  lastMatchedAt: number | undefined;
  /** Evaluations that hit a rule problem (after the retry of a timeout) since start. */
  ruleErrors: number;
  lastError: { code: string; message: string; at: number } | undefined;
  /**
   * unhealthy: the last UNHEALTHY_AFTER evaluations of the rule's version in effect all hit a
   * rule problem; ok again with the first evaluation that does not, or a new version.
   */
  health: "ok" | "unhealthy";
  /** Judge rules: the judge's own counts, limits and state (judge/judge-worker.ts). */
  judge?: JudgeActivity;
}

export type EngineLog = (
  level: "info" | "warn" | "error",
  message: string,
  fields: Record<string, unknown>,
) => void;

export interface Engine {
  /** Queues committed outputs for evaluation; returns at once. */
  onCommitted(outputs: AgentOutputRow[]): void;
  /** Evaluates the output rules on these outputs now (backtest, `rules test`). */
  evaluateOutputs(outputs: AgentOutputRow[]): Promise<EvaluationResult>;
  /** Evaluates the trace rules on the outputs of one trace. */
  evaluateTrace(outputs: AgentOutputRow[]): EvaluationResult;
  /**
   * Whether there are trace rules at all, and whether any of them reads the bulky columns
   * (input text, span or resource attributes), so the trace evaluator can skip reading them.
   */
  traceRulesRead(): { any: boolean; bulky: boolean };
  /**
   * Evaluates the conversation rules on the outputs of one conversation so far, for one pass:
   * a new turn (its traces) or the end of the quiet conversation (checks/conversation.ts).
   */
  evaluateConversation(
    conversationId: string,
    outputs: AgentOutputRow[],
    pass: ConversationPass,
  ): EvaluationResult;
  /** As traceRulesRead, for the conversation rules. */
  conversationRulesRead(): { any: boolean; bulky: boolean };
  /** Resolves when everything queued so far has been evaluated. */
  idle(): Promise<void>;
  activity(): ReadonlyMap<string, RuleActivity>;
  /** Outputs dropped because evaluation fell too far behind. */
  dropped(): number;
}

export interface EvaluationResult {
  /** Failures only: rule problems go to onRuleProblems. */
  findings: Finding[];
  evaluations: CheckEvaluation[];
}

export interface EngineOptions {
  /** The enabled rules, compiled; called before each batch, so reloads take effect at once. */
  rules(): readonly CompiledRule[];
  sink: EvaluationSink;
  /** Every rule problem, from every way in (queued outputs, evaluateOutputs, evaluateTrace). */
  onRuleProblems?: (problems: RuleProblem[]) => void;
  /** Rule problems (warn, at most one line per rule per LOG_EVERY_MS), health changes. */
  log?: EngineLog;
  /** Outputs waiting for evaluation beyond which new ones are dropped (and counted). */
  maxQueued?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** A timed-out evaluation waiting for its retry. */
interface Retry {
  rule: CompiledRule;
  row: AgentOutputRow;
}

/** Per rule: what health and the retry allowance are decided on. */
interface RuleHealth {
  version: string;
  /** Consecutive evaluations (newest last) that hit a rule problem. */
  streak: number;
  /** Retries queued and not yet run. */
  pending: number;
  lastRetryAt: number;
  lastLoggedAt: number;
  /** Problems not logged since lastLoggedAt. */
  unlogged: number;
}

export function createEngine(options: EngineOptions): Engine {
  const maxQueued = options.maxQueued ?? 100_000;
  const now = options.now ?? Date.now;
  const log: EngineLog = options.log ?? (() => {});
  const activity = new Map<string, RuleActivity>();
  const health = new Map<string, RuleHealth>();
  let queue: AgentOutputRow[] = [];
  let running: Promise<void> | undefined;
  let droppedOutputs = 0;
  /** Outputs taken from the queue by drain() and not yet evaluated. */
  let inProgress = 0;

  /** The current output or trace rules; split again only when the rule set changed. */
  let split: {
    of: readonly CompiledRule[];
    output: CompiledRule[];
    trace: CompiledRule[];
    conversation: CompiledRule[];
  } = { of: [], output: [], trace: [], conversation: [] };
  function rulesOf(scope: "output" | "trace" | "conversation"): CompiledRule[] {
    const rules = options.rules();
    if (split.of !== rules) {
      split = {
        of: rules,
        output: rules.filter((r) => r.scope === "output"),
        trace: rules.filter((r) => r.scope === "trace"),
        conversation: rules.filter((r) => r.scope === "conversation"),
      };
    }
    return split[scope];
  }

  function activityOf(ruleId: string): RuleActivity {
    let entry = activity.get(ruleId);
    if (entry === undefined) {
      entry = {
        matched: 0,
        failed: 0,
        lastMatchedAt: undefined,
        ruleErrors: 0,
        lastError: undefined,
        health: "ok",
      };
      activity.set(ruleId, entry);
    }
    return entry;
  }

  /** The health state of the rule's version in effect (a new version starts healthy). */
  function healthOf(rule: Rule): RuleHealth {
    let state = health.get(rule.id);
    if (state === undefined || state.version !== rule.version) {
      state = {
        version: rule.version,
        streak: 0,
        pending: state?.pending ?? 0,
        lastRetryAt: Number.NEGATIVE_INFINITY,
        lastLoggedAt: Number.NEGATIVE_INFINITY,
        unlogged: 0,
      };
      health.set(rule.id, state);
      const entry = activity.get(rule.id);
      if (entry !== undefined) entry.health = "ok";
    }
    return state;
  }

  /**
   * Whether a timed-out evaluation of `rule` is retried. A healthy rule's are, up to the
   * evaluations left before it would turn unhealthy (so a newly runaway expression costs at
   * most UNHEALTHY_AFTER retries); an unhealthy rule gets one retry per RETRY_PROBE_MS, which
   * is how it recovers. A retry can hold the event loop for EXPR_RETRY_TIMEOUT_MS (500 ms) per
   * runaway expression: at most UNHEALTHY_AFTER (5) of those in a row, then one a minute per
   * unhealthy rule.
   */
  function mayRetry(rule: Rule): boolean {
    const state = healthOf(rule);
    const at = now();
    const allowed =
      state.streak + state.pending < UNHEALTHY_AFTER || at - state.lastRetryAt >= RETRY_PROBE_MS;
    if (allowed) {
      state.pending++;
      state.lastRetryAt = at;
    }
    return allowed;
  }

  /**
   * Records one evaluation of `rule`: failures are a failed evaluation (even beside a rule
   * problem: a failed assertion is a verdict); nothing is a passed one; rule problems alone
   * are no evaluation at all.
   */
  function settle(
    rule: Rule,
    anchor: AgentOutputRow,
    outputKey: string,
    found: readonly Finding[],
    result: EvaluationResult,
  ): void {
    const failures = found.filter((finding) => !isRuleProblem(finding));
    const problems = found.filter(isRuleProblem);
    const entry = activityOf(rule.id);
    entry.matched++;
    entry.lastMatchedAt = now();
    if (failures.length > 0) entry.failed++;
    if (failures.length > 0 || problems.length === 0) {
      result.evaluations.push(evaluationOf(rule, anchor, outputKey, failures.length > 0));
    }
    for (const finding of failures) result.findings.push(finding);
    const state = healthOf(rule);
    if (problems.length === 0) {
      if (state.streak >= UNHEALTHY_AFTER) {
        log("info", "rule is healthy again", { rule: rule.id, version: rule.version });
      }
      state.streak = 0;
      entry.health = "ok";
      return;
    }
    entry.ruleErrors++;
    const last = problems[problems.length - 1] as RuleProblem;
    entry.lastError = { code: last.code, message: last.message, at: now() };
    state.streak++;
    if (state.streak === UNHEALTHY_AFTER) {
      entry.health = "unhealthy";
      log("error", "rule is unhealthy: its last evaluations all hit a rule problem", {
        rule: rule.id,
        version: rule.version,
        evaluations: UNHEALTHY_AFTER,
        code: last.code,
        message: last.message,
      });
    }
    if (now() - state.lastLoggedAt >= LOG_EVERY_MS) {
      log("warn", "rule problem: the rule could not judge an output; not counted as a failure", {
        rule: rule.id,
        version: rule.version,
        code: last.code,
        message: last.message,
        traceId: last.traceId,
        spanId: last.spanId,
        ...(state.unlogged > 0 && { notLoggedSince: state.unlogged }),
      });
      state.lastLoggedAt = now();
      state.unlogged = 0;
    } else {
      state.unlogged++;
    }
    options.onRuleProblems?.(problems);
  }

  function outputRules(): CompiledRule[] {
    return rulesOf("output");
  }

  /**
   * Evaluates one output against `rules`, adding to `result`; a timed-out evaluation that may
   * be retried goes to `retries` instead, to be settled by runRetries.
   */
  async function evaluateOutput(
    rules: readonly CompiledRule[],
    row: AgentOutputRow,
    result: EvaluationResult,
    retries: Retry[],
  ): Promise<void> {
    for (const rule of rules) {
      if (!safeMatches(rule, row)) continue;
      const found = await rule.evaluateOutput(row);
      if (found.some((finding) => finding.code === "expr_timeout")) {
        if (mayRetry(rule)) {
          retries.push({ rule, row });
          continue;
        }
        const state = healthOf(rule);
        const reason =
          state.streak >= UNHEALTHY_AFTER
            ? "the rule is unhealthy"
            : `${state.pending} retries of this rule are waiting`;
        settle(rule, row, outputKeyOf(row), found.map(notRetried(reason)), result);
        continue;
      }
      settle(rule, row, outputKeyOf(row), found, result);
    }
  }

  /**
   * Runs each retry alone in its own macrotask, after the slice: no other work's microtasks
   * interleave with it, and ingest gets the event loop between two retries.
   */
  async function runRetries(retries: Retry[], result: EvaluationResult): Promise<void> {
    for (const { rule, row } of retries) {
      await new Promise((resolve) => setImmediate(resolve));
      const state = health.get(rule.id);
      if (state !== undefined) state.pending = Math.max(0, state.pending - 1);
      try {
        settle(rule, row, outputKeyOf(row), await rule.evaluateOutput(row, "retry"), result);
      } catch (error) {
        options.onError?.(error);
      }
    }
  }

  async function evaluateOutputs(outputs: AgentOutputRow[]): Promise<EvaluationResult> {
    const rules = outputRules();
    const result = emptyResult();
    const retries: Retry[] = [];
    for (const row of outputs) await evaluateOutput(rules, row, result, retries);
    await runRetries(retries, result);
    return result;
  }

  function evaluateTrace(outputs: AgentOutputRow[]): EvaluationResult {
    const rules = rulesOf("trace");
    const result = emptyResult();
    if (outputs.length === 0) return result;
    const ordered = [...outputs].sort((a, b) => a.Timestamp.localeCompare(b.Timestamp));
    for (const rule of rules) {
      const matching = ordered.filter((row) => safeMatches(rule, row));
      if (matching.length === 0) continue;
      const anchor = matching[0] as AgentOutputRow;
      // Trace checks run no expressions: their problems are errors, which a retry would repeat.
      settle(rule, anchor, anchor.TraceId, rule.evaluateTrace(ordered), result);
    }
    return result;
  }

  /**
   * One evaluation per rule and turn (outputKey conversation:<id>/<trace>), about the new
   * turn's first matching output; the final pass of a quiet conversation records only the
   * evaluations that found something (its turns were each counted already).
   */
  function evaluateConversation(
    conversationId: string,
    outputs: AgentOutputRow[],
    pass: ConversationPass,
  ): EvaluationResult {
    const result = emptyResult();
    if (outputs.length === 0) return result;
    const ordered = [...outputs].sort((a, b) => a.Timestamp.localeCompare(b.Timestamp));
    for (const rule of rulesOf("conversation")) {
      const inPass = ordered.filter(
        (row) =>
          (pass.kind === "final" || pass.traceIds.has(row.TraceId)) && safeMatches(rule, row),
      );
      const anchor = inPass[0];
      if (anchor === undefined) continue;
      const found = rule.evaluateConversation(conversationId, ordered, pass);
      if (pass.kind === "final" && found.length === 0) continue;
      const turn = found[0]?.traceId ?? anchor.TraceId;
      settle(rule, anchor, `conversation:${conversationId}/${turn}`, found, result);
    }
    return result;
  }

  /**
   * Evaluates what is queued in slices of at most SLICE_MS, yielding to the event loop after
   * each: the same process decodes and acknowledges exports, and one long evaluation of
   * thousands of queued outputs would hold every request that arrives meanwhile.
   */
  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      let next = 0;
      while (next < batch.length) {
        const sliceStart = performance.now();
        const rules = outputRules();
        const result = emptyResult();
        const retries: Retry[] = [];
        while (next < batch.length && performance.now() - sliceStart < SLICE_MS) {
          const row = batch[next++] as AgentOutputRow;
          inProgress = batch.length - next;
          try {
            await evaluateOutput(rules, row, result, retries);
          } catch (error) {
            // A bug, not a rule error (those are rule problems): report it and go on.
            options.onError?.(error);
          }
        }
        options.sink.add(result.findings, result.evaluations);
        // Let ingest run between slices: evaluation must never starve the receivers.
        await new Promise((resolve) => setImmediate(resolve));
        if (retries.length > 0) {
          const retried = emptyResult();
          await runRetries(retries, retried);
          options.sink.add(retried.findings, retried.evaluations);
        }
      }
      inProgress = 0;
    }
  }

  return {
    onCommitted(outputs) {
      if (outputs.length === 0) return;
      const room = maxQueued - queue.length - inProgress;
      if (room < outputs.length) droppedOutputs += outputs.length - Math.max(room, 0);
      for (const row of outputs.slice(0, Math.max(room, 0))) queue.push(row);
      running ??= drain().finally(() => (running = undefined));
    },
    evaluateOutputs,
    evaluateTrace,
    traceRulesRead() {
      const rules = rulesOf("trace");
      const bulky = rules.some((r) => BULKY_FIELDS.test(JSON.stringify([r.match, r.check])));
      return { any: rules.length > 0, bulky };
    },
    evaluateConversation,
    conversationRulesRead() {
      const rules = rulesOf("conversation");
      // context_reset counts input messages, repeated reads earlier inputs: both read input.text.
      const bulky = rules.some(
        (r) =>
          BULKY_FIELDS.test(JSON.stringify([r.match, r.check])) ||
          (r.check.type === "conversation" &&
            (r.check.kind === "context_reset" || r.check.kind === "repeated")),
      );
      return { any: rules.length > 0, bulky };
    },
    async idle() {
      while (running !== undefined) await running;
    },
    activity: () => activity,
    dropped: () => droppedOutputs,
  };
}

/** How long drain() evaluates before it lets the event loop run. */
const SLICE_MS = 5;

/**
 * Consecutive evaluations hitting a rule problem that make a rule unhealthy. Five: a timeout
 * that survives its retry is rare for a sound rule (checks/assert.ts: under 1 in 100 first
 * attempts of a trivial expression under load, and the retry's budget is twice the worst
 * stall measured), so five in a row, with no evaluation in between that worked, is the rule.
 */
export const UNHEALTHY_AFTER = 5;

/** How often an unhealthy rule's timeout is still retried: its way back to healthy. */
export const RETRY_PROBE_MS = 60_000;

/** At most one warning per rule this often; the next one says how many were not logged. */
const LOG_EVERY_MS = 60_000;

// Field names of the grammar that read the columns outputsOfTraces can leave out (evaluation
// results are stored in SpanAttributes).
const BULKY_FIELDS = /"(?:attributes\.|resource\.|input\.text|evaluation\.)/;

function safeMatches(rule: CompiledRule, row: AgentOutputRow): boolean {
  try {
    return rule.matches(row);
  } catch {
    return false;
  }
}

function emptyResult(): EvaluationResult {
  return { findings: [], evaluations: [] };
}

function outputKeyOf(row: AgentOutputRow): string {
  return `${row.TraceId}/${row.SpanId}`;
}

/** A timeout reported without a retry says so, and why. */
function notRetried(reason: string): (finding: Finding) => Finding {
  return (finding) =>
    finding.code === "expr_timeout"
      ? { ...finding, message: `${finding.message} (not retried: ${reason})` }
      : finding;
}

function evaluationOf(
  rule: Rule,
  row: AgentOutputRow,
  outputKey: string,
  failed: boolean,
): CheckEvaluation {
  return {
    ruleId: rule.id,
    time: row.Timestamp,
    service: row.ServiceName,
    agent: row.AgentName,
    outputKey,
    failed,
  };
}
