/**
 * The rule engine: evaluates every committed output against the output rules that match it,
 * and whole traces against the trace rules, and hands findings and evaluation counts to the
 * writer. It runs after the commit, off the acknowledgement path: ingest never waits for it,
 * and a rule that throws becomes a `rule_error` finding, not a crash.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CompiledRule } from "./compile-rule.ts";
import type { CheckEvaluation, Finding } from "../rules/findings.ts";
import type { Rule } from "../rules/rule.ts";

export interface EvaluationSink {
  add(findings: Finding[], evaluations: CheckEvaluation[]): void;
}

export interface RuleActivity {
  /** Outputs (or traces) the rule matched since this process started. */
  matched: number;
  failed: number;
  lastMatchedAt: number | undefined;
}

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
  /** Resolves when everything queued so far has been evaluated. */
  idle(): Promise<void>;
  activity(): ReadonlyMap<string, RuleActivity>;
  /** Outputs dropped because evaluation fell too far behind. */
  dropped(): number;
}

export interface EvaluationResult {
  findings: Finding[];
  evaluations: CheckEvaluation[];
}

export interface EngineOptions {
  /** The enabled rules, compiled; called before each batch, so reloads take effect at once. */
  rules(): readonly CompiledRule[];
  sink: EvaluationSink;
  /** Outputs waiting for evaluation beyond which new ones are dropped (and counted). */
  maxQueued?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

export function createEngine(options: EngineOptions): Engine {
  const maxQueued = options.maxQueued ?? 100_000;
  const now = options.now ?? Date.now;
  const activity = new Map<string, RuleActivity>();
  let queue: AgentOutputRow[] = [];
  let running: Promise<void> | undefined;
  let droppedOutputs = 0;
  /** Outputs taken from the queue by drain() and not yet evaluated. */
  let inProgress = 0;

  /** The current output or trace rules; split again only when the rule set changed. */
  let split: { of: readonly CompiledRule[]; output: CompiledRule[]; trace: CompiledRule[] } = {
    of: [],
    output: [],
    trace: [],
  };
  function rulesOf(scope: "output" | "trace"): CompiledRule[] {
    const rules = options.rules();
    if (split.of !== rules) {
      split = {
        of: rules,
        output: rules.filter((r) => r.scope === "output"),
        trace: rules.filter((r) => r.scope === "trace"),
      };
    }
    return split[scope];
  }

  function record(ruleId: string, failed: boolean): void {
    let entry = activity.get(ruleId);
    if (entry === undefined) {
      entry = { matched: 0, failed: 0, lastMatchedAt: undefined };
      activity.set(ruleId, entry);
    }
    entry.matched++;
    if (failed) entry.failed++;
    entry.lastMatchedAt = now();
  }

  function outputRules(): CompiledRule[] {
    return rulesOf("output");
  }

  /** Evaluates one output against `rules`, adding to `result`. */
  async function evaluateOutput(
    rules: readonly CompiledRule[],
    row: AgentOutputRow,
    result: EvaluationResult,
  ): Promise<void> {
    for (const rule of rules) {
      if (!safeMatches(rule, row)) continue;
      const findings = await rule.evaluateOutput(row);
      record(rule.id, findings.length > 0);
      result.evaluations.push(
        evaluationOf(rule, row, `${row.TraceId}/${row.SpanId}`, findings.length > 0),
      );
      for (const finding of findings) result.findings.push(finding);
    }
  }

  async function evaluateOutputs(outputs: AgentOutputRow[]): Promise<EvaluationResult> {
    const rules = outputRules();
    const result: EvaluationResult = { findings: [], evaluations: [] };
    for (const row of outputs) await evaluateOutput(rules, row, result);
    return result;
  }

  function evaluateTrace(outputs: AgentOutputRow[]): EvaluationResult {
    const rules = rulesOf("trace");
    const result: EvaluationResult = { findings: [], evaluations: [] };
    if (outputs.length === 0) return result;
    const ordered = [...outputs].sort((a, b) => a.Timestamp.localeCompare(b.Timestamp));
    for (const rule of rules) {
      const matching = ordered.filter((row) => safeMatches(rule, row));
      if (matching.length === 0) continue;
      const findings = rule.evaluateTrace(ordered);
      record(rule.id, findings.length > 0);
      const anchor = matching[0] as AgentOutputRow;
      result.evaluations.push(evaluationOf(rule, anchor, anchor.TraceId, findings.length > 0));
      for (const finding of findings) result.findings.push(finding);
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
        const result: EvaluationResult = { findings: [], evaluations: [] };
        while (next < batch.length && performance.now() - sliceStart < SLICE_MS) {
          const row = batch[next++] as AgentOutputRow;
          inProgress = batch.length - next;
          try {
            await evaluateOutput(rules, row, result);
          } catch (error) {
            // A bug, not a rule error (those are findings): report it and go on.
            options.onError?.(error);
          }
        }
        options.sink.add(result.findings, result.evaluations);
        // Let ingest run between slices: evaluation must never starve the receivers.
        await new Promise((resolve) => setImmediate(resolve));
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
    async idle() {
      while (running !== undefined) await running;
    },
    activity: () => activity,
    dropped: () => droppedOutputs,
  };
}

/** How long drain() evaluates before it lets the event loop run. */
const SLICE_MS = 5;

// Field names of the grammar that read the columns outputsOfTraces can leave out.
const BULKY_FIELDS = /"(?:attributes\.|resource\.|input\.text)/;

function safeMatches(rule: CompiledRule, row: AgentOutputRow): boolean {
  try {
    return rule.matches(row);
  } catch {
    return false;
  }
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
