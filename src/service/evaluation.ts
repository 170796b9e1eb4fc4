/**
 * Wires the evaluate stage: the rule set (built-in detectors, then the user's rules, reloaded
 * on change), the engine fed by ingest, the quiet-trace evaluator, the writers of findings and
 * counts, and the rules API on top of them.
 */

import { fileURLToPath } from "node:url";
import type { RulesApiDeps } from "../api/rules-routes.ts";
import type { Config } from "../config/index.ts";
import { backtest } from "../evaluate/backtest.ts";
import { compileRule, type CompiledRule } from "../evaluate/compile-rule.ts";
import { createEngine, type Engine } from "../evaluate/engine.ts";
import { parseRule } from "../rules/load-rule.ts";
import { createQuietTraceEvaluator } from "../evaluate/quiet-traces.ts";
import type { Rule, RuleFileError } from "../rules/rule.ts";
import { createRuleSet } from "../rules/rule-set.ts";
import { PlumblineError } from "../errors.ts";
import type { Logger } from "./log.ts";
import { createBufferedWriter } from "../store/buffered-writer.ts";
import {
  outputsInWindow,
  outputsOfTraces,
  quietTraceIds,
  readCursor,
  tracesStartingInWindow,
  writeCheckEvaluations,
  writeCheckResults,
  writeCursor,
} from "../store/check-queries.ts";
import type { CheckEvaluationRow, CheckResultRow } from "../store/check-rows.ts";
import type { Store } from "../store/store.ts";
import { lastWindowEnds, saveWindowResults, type WindowResultRow } from "../store/drift-results.ts";
import { evaluateWindowRules } from "../evaluate/windows/evaluate-window.ts";
import { createWindowScheduler } from "../evaluate/windows/scheduler.ts";

/** The built-in detectors shipped with Plumbline. */
export const BUILTIN_RULES_DIR = fileURLToPath(new URL("../../rules/builtin", import.meta.url));

export interface Evaluation {
  engine: Engine;
  api: RulesApiDeps;
  /** Tells the quiet-trace evaluator which traces were just ingested. */
  noteCommitted(outputs: readonly { TraceId: string }[]): void;
  /** The enabled rules in effect. */
  rules(): readonly Rule[];
  /** Also hands every batch of findings and evaluations to `listener` (the alert manager). */
  listen(listener: (results: CheckResultRow[], evaluations: CheckEvaluationRow[]) => void): void;
  /** Hands every stored evaluation of a window rule to `listener` (the alert manager). */
  listenWindows(listener: (row: WindowResultRow) => Promise<void>): void;
  /** Evaluates the window rules that are due now (also done every evaluate.windowTickMs). */
  evaluateWindows(): Promise<void>;
  /** Evaluates what is queued and writes all findings and counts now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function startEvaluation(config: Config, store: Store, log: Logger): Evaluation {
  // With role `evaluate` and spans received elsewhere, output rules run on quiet traces.
  const outputRulesWhenQuiet = config.role === "evaluate" && config.source === "otlp";
  const settings = config.evaluate;
  const onWriteError = (what: string) => (error: unknown) =>
    log.warn(`could not write ${what}; keeping them for the next try`, { error: String(error) });
  const results = createBufferedWriter<CheckResultRow>((rows) => writeCheckResults(store, rows), {
    intervalMs: settings.resultsFlushMs,
    maxRows: 200_000,
    onError: onWriteError("check results"),
  });
  const evaluations = createBufferedWriter<CheckEvaluationRow>(
    (rows) => writeCheckEvaluations(store, rows),
    {
      intervalMs: settings.resultsFlushMs,
      maxRows: 1_000_000,
      onError: onWriteError("check counts"),
    },
  );
  const listeners: ((results: CheckResultRow[], evaluations: CheckEvaluationRow[]) => void)[] = [];
  const sink = {
    add(resultRows: CheckResultRow[], evaluationRows: CheckEvaluationRow[]) {
      results.add(resultRows);
      evaluations.add(evaluationRows);
      for (const listener of listeners) listener(resultRows, evaluationRows);
    },
  };

  const dirs = settings.builtinRules ? [BUILTIN_RULES_DIR, config.rulesDir] : [config.rulesDir];
  const ruleSet = createRuleSet({
    dirs,
    compile: compileRule,
    pollMs: settings.rulesPollMs,
    log: (level, message, fields) => log[level](message, fields),
  });
  for (const error of ruleSet.errors()) log.warn("rule file error", { ...error });
  log.info("rules loaded", { rules: ruleSet.rules().length, dirs });

  const engine = createEngine({
    rules: () => ruleSet.rules(),
    sink,
    onError: (error) => log.error("evaluation failed", { error: String(error) }),
  });
  const traces = createQuietTraceEvaluator({
    store: {
      readCursor: (name) => readCursor(store, name),
      writeCursor: (name, value) => writeCursor(store, name, value),
      quietTraceIds: (after, upto) => quietTraceIds(store, after, upto),
      outputsOfTraces: (ids, lean) => outputsOfTraces(store, ids, lean),
    },
    engine,
    ...(outputRulesWhenQuiet && { outputs: engine }),
    sink,
    quietMs: settings.traceQuietMs,
    intervalMs: settings.traceIntervalMs,
    onError: (error) => log.warn("trace evaluation failed; retrying", { error: String(error) }),
  });
  traces.start();

  const windowListeners: ((row: WindowResultRow) => Promise<void>)[] = [];
  const windows = createWindowScheduler({
    rules: () => ruleSet.rules(),
    evaluate: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
    save: (rows) => saveWindowResults(store, rows),
    loadCursors: () => lastWindowEnds(store),
    onResult: async (row) => {
      for (const listener of windowListeners) await listener(row);
    },
    onError: (rule, error) =>
      log.warn("window rule evaluation failed; retrying", { rule: rule.id, error: String(error) }),
    settleMs: settings.windowSettleMs,
    maxCatchUp: settings.windowMaxCatchUp,
  });
  let windowsStopped = false;
  let windowRun: Promise<void> = Promise.resolve();
  let windowTimer: NodeJS.Timeout | undefined;
  const windowLoop = () => {
    if (windowsStopped) return;
    windowTimer = setTimeout(() => {
      windowRun = windows.tick().finally(windowLoop);
    }, settings.windowTickMs);
  };
  windowLoop();

  const api: RulesApiDeps = {
    store,
    statuses: () =>
      ruleSet.all().map((s) => ({
        id: s.id,
        file: s.file,
        status: s.status,
        version: s.version,
        rule: s.rule,
        errors: s.errors,
      })),
    validate: (json) => parseRule(json, "(request body)", { compile: compileRule }),
    activity: () => engine.activity(),
    backtest: (request, onProgress) =>
      backtest({
        rules: parseRules(request.rules),
        source: {
          outputsInWindow: (from, to) => outputsInWindow(store, from, to, request.service),
          tracesStartingInWindow: (from, to) =>
            tracesStartingInWindow(store, from, to, request.service),
          outputsOfTraces: (ids) => outputsOfTraces(store, ids),
        },
        sinceMs: request.sinceMs,
        untilMs: request.untilMs,
        evaluateWindows: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
        onProgress,
      }),
  };

  async function flush(): Promise<void> {
    await engine.idle();
    await Promise.all([results.flush(), evaluations.flush()]);
  }

  return {
    engine,
    api,
    rules: () => ruleSet.rules(),
    noteCommitted: (outputs) => traces.noteIngested([...new Set(outputs.map((o) => o.TraceId))]),
    listen: (listener) => void listeners.push(listener),
    listenWindows: (listener) => void windowListeners.push(listener),
    evaluateWindows: () => windows.tick(),
    flush,
    async close() {
      windowsStopped = true;
      clearTimeout(windowTimer);
      await windowRun;
      ruleSet.close();
      await traces.stop();
      await flush();
      await Promise.all([results.close(), evaluations.close()]);
    },
  };
}

/** Rules sent with a backtest request; any error stops the backtest with every error listed. */
function parseRules(list: unknown[]): CompiledRule[] {
  const rules: CompiledRule[] = [];
  const errors: RuleFileError[] = [];
  list.forEach((json, i) => {
    const result = parseRule(json, `rules[${i}]`, { compile: compileRule });
    if (result.ok) rules.push(result.rule);
    else errors.push(...result.errors);
  });
  if (errors.length > 0) {
    const text = errors.map((e) => `${e.file}: ${e.pointer || "/"}: ${e.message}`).join("; ");
    throw new PlumblineError("invalid_rules", text, 400);
  }
  return rules;
}
