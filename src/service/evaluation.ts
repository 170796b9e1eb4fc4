/**
 * Wires the evaluate stage: the rule set (built-in detectors, then the user's rules, reloaded
 * on change), the engine fed by ingest, the quiet-trace evaluator, the writers of findings and
 * counts, and the rules API on top of them.
 */

import { fileURLToPath } from "node:url";
import type { BacktestRule, RulesApiDeps } from "../api/rules-routes.ts";
import type { Config } from "../config/index.ts";
import { compileRule, type CompiledRule } from "../evaluate/compile-rule.ts";
import { createEngine, type Engine, type RuleActivity } from "../evaluate/engine.ts";
import { startJudge } from "../evaluate/judge/start-judge.ts";
import { parseRule } from "../rules/load-rule.ts";
import { createQuietTraceEvaluator } from "../evaluate/quiet-traces.ts";
import type { Rule, RuleFileError } from "../rules/rule.ts";
import { createRuleSet } from "../rules/rule-set.ts";
import { createPollLoop } from "../poll-loop.ts";
import type { Logger } from "./log.ts";
import { runBacktest } from "./backtest.ts";
import { createBufferedWriter } from "../store/buffered-writer.ts";
import { quietTraceStore } from "../evaluate/quiet-trace-queries.ts";
import { createConversationEvaluator } from "../evaluate/conversations.ts";
import { conversationStore } from "../evaluate/conversation-queries.ts";
import { createOutputRecovery } from "../evaluate/output-recovery.ts";
import { createPendingCompleter } from "../receive/complete-pending.ts";
import {
  deletePendingOutputs,
  isPending,
  pendingOutputsOf,
} from "../store/tables/agent-outputs.ts";
import { spansOfTraces } from "../store/tables/otel-traces.ts";
import { genAiLogEventsOfTraces } from "../store/tables/otel-logs.ts";
import { logEventFromRow } from "../decode/log-events.ts";
import { outputRecoveryStore } from "../evaluate/output-recovery-queries.ts";
import { writeCheckEvaluations, writeFindings } from "../store/tables/checks.ts";
import type { CheckEvaluation, Finding, WindowEvaluation } from "../rules/findings.ts";
import type { Store } from "../store/store.ts";
import { lastWindowEnds, saveWindowEvaluations } from "../store/tables/drift-results.ts";
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
  listen(listener: (findings: Finding[], evaluations: CheckEvaluation[]) => void): void;
  /** Hands every stored evaluation of a window rule to `listener` (the alert manager). */
  listenWindows(listener: (row: WindowEvaluation) => Promise<void>): void;
  /** Evaluates the window rules that are due now (also done every evaluate.windowTickMs). */
  evaluateWindows(): Promise<void>;
  /**
   * Evaluates again the outputs committed before a crash whose results were not written (once,
   * at start, after the alert listeners are attached), then keeps the checkpoint moving.
   */
  recoverOutputs(): Promise<number>;
  /** Evaluates what is queued and writes all findings and counts now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function startEvaluation(config: Config, store: Store, log: Logger): Evaluation {
  let closed = false;
  let recovered = false;
  // With role `evaluate` and spans received elsewhere, output rules run on quiet traces.
  const outputRulesWhenQuiet = config.role === "evaluate" && config.source === "otlp";
  const settings = config.evaluate;
  const onWriteError = (what: string) => (error: unknown) =>
    log.warn(`could not write ${what}; keeping them for the next try`, { error: String(error) });
  const results = createBufferedWriter<Finding>((findings) => writeFindings(store, findings), {
    intervalMs: settings.resultsFlushMs,
    maxRows: 200_000,
    onError: onWriteError("check results"),
  });
  const evaluations = createBufferedWriter<CheckEvaluation>(
    (rows) => writeCheckEvaluations(store, rows),
    {
      intervalMs: settings.resultsFlushMs,
      maxRows: 1_000_000,
      onError: onWriteError("check counts"),
    },
  );
  const listeners: ((findings: Finding[], evaluations: CheckEvaluation[]) => void)[] = [];
  const sink = {
    add(found: Finding[], evaluated: CheckEvaluation[]) {
      results.add(found);
      evaluations.add(evaluated);
      for (const listener of listeners) listener(found, evaluated);
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

  const ruleEngine = createEngine({
    rules: () => ruleSet.rules(),
    sink,
    // Stored beside the findings (marked rule_error), never handed to the alert listeners.
    onRuleProblems: (problems) => results.add(problems),
    log: (level, message, fields) => log[level](message, fields),
    onError: (error) => log.error("evaluation failed", { error: String(error) }),
  });
  // Judge rules are judged from a durable queue, off the ingest path (docs/judge.md): every
  // output the engine evaluates is also offered to the judge, which queues what its rules
  // match and sample. Its verdicts go where the engine's results go.
  const judge = startJudge(config.judge, store, {
    rules: () => ruleSet.rules(),
    emit: async ({ findings, evaluations: evaluated, problems }) => {
      sink.add(findings, evaluated);
      results.add(problems);
      await writeResults();
    },
    log: (level, message, fields) => log[level](message, fields),
    flushMs: settings.resultsFlushMs,
  });
  const engine: Engine = {
    ...ruleEngine,
    onCommitted(outputs) {
      ruleEngine.onCommitted(outputs);
      judge.onOutputs(outputs);
    },
    evaluateOutputs(outputs) {
      judge.onOutputs(outputs);
      return ruleEngine.evaluateOutputs(outputs);
    },
    activity: () => withJudgeActivity(ruleEngine.activity(), judge.activity()),
  };
  // Everything handed to the writers so far, written: what a checkpoint may count on.
  async function writeResults(): Promise<void> {
    const written = await Promise.all([results.flush(), evaluations.flush(), judge.flush()]);
    if (!written.every(Boolean)) throw new Error("check results not written yet; will retry");
  }
  const traceStore = quietTraceStore(store);
  // Outputs stored pending (their agent or content in a later request) are completed and
  // evaluated once their trace is quiet.
  const completePending = createPendingCompleter({
    pendingOutputsOf: (ids) => pendingOutputsOf(store, ids),
    spansOfTraces: (ids) => spansOfTraces(store, ids),
    logEventsOfTraces: async (ids) =>
      (await genAiLogEventsOfTraces(store, ids)).map(logEventFromRow),
    writeOutputs: (rows) => store.write({ traces: [], outputs: rows }),
    deletePending: (rows) => deletePendingOutputs(store, rows, config.clickhouse.cluster),
    conversationAttributes: config.ingest.conversationAttributes,
  });
  const conversationReads = conversationStore(store);
  // Conversation rules: each quiet trace as a new turn, and each quiet conversation once whole.
  const conversations = createConversationEvaluator({
    store: {
      ...conversationReads,
      writeCursor: async (name, value) => {
        await writeResults();
        await conversationReads.writeCursor(name, value);
      },
    },
    engine,
    sink,
    quietMs: settings.conversationQuietMs,
    intervalMs: settings.traceIntervalMs,
    onError: (error) =>
      log.warn("conversation evaluation failed; retrying", { error: String(error) }),
  });
  conversations.start();
  const traces = createQuietTraceEvaluator({
    pending: { complete: completePending, evaluate: engine },
    conversations,
    // The trace cursor moves only once the results of the traces it passes are written.
    store: {
      ...traceStore,
      writeCursor: async (name, value) => {
        await writeResults();
        await traceStore.writeCursor(name, value);
      },
    },
    engine,
    ...(outputRulesWhenQuiet && { outputs: engine }),
    sink,
    quietMs: settings.traceQuietMs,
    intervalMs: settings.traceIntervalMs,
    onError: (error) => log.warn("trace evaluation failed; retrying", { error: String(error) }),
  });
  traces.start();

  const windowListeners: ((row: WindowEvaluation) => Promise<void>)[] = [];
  const windows = createWindowScheduler({
    rules: () => ruleSet.rules(),
    evaluate: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
    save: (rows) => saveWindowEvaluations(store, rows),
    loadCursors: () => lastWindowEnds(store),
    onResult: async (row) => {
      for (const listener of windowListeners) await listener(row);
    },
    onError: (rule, error) =>
      log.warn("window rule evaluation failed; retrying", { rule: rule.id, error: String(error) }),
    settleMs: settings.windowSettleMs,
    maxCatchUp: settings.windowMaxCatchUp,
  });
  const windowLoop = createPollLoop(
    () => windows.tick(),
    settings.windowTickMs,
    (error) => log.warn("window rules pass failed; retrying", { error: String(error) }),
  );
  windowLoop.start();

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
        loadedAt: s.loadedAt,
      })),
    validate: (json) => parseRule(json, "(request body)", { compile: compileRule }),
    activity: () => engine.activity(),
    backtest: (request) => {
      const loaded = loadBacktestRules(request.rules);
      if (!loaded.ok) return loaded;
      return {
        ok: true,
        run: (onProgress, onJudgePlan) =>
          runBacktest(store, config, {
            ...request,
            rules: loaded.rules,
            onProgress,
            judgeLimits: judge.limits,
            ...(onJudgePlan && { onJudgePlan }),
          }),
      };
    },
  };

  async function flush(): Promise<void> {
    await engine.idle();
    await Promise.all([results.flush(), evaluations.flush(), judge.flush()]);
  }

  // Output rules run in memory on committed outputs; a checkpoint says up to when their
  // results are written, and a start evaluates what came after it again (output-recovery.ts).
  // With output rules on quiet traces instead, the trace cursor does that job.
  const recovery = outputRulesWhenQuiet
    ? undefined
    : createOutputRecovery({
        store: outputRecoveryStore(store),
        // Pending outputs are the quiet-trace evaluator's, whose cursor is durable too.
        evaluate: async (rows) => {
          const result = await engine.evaluateOutputs(rows.filter((row) => !isPending(row)));
          sink.add(result.findings, result.evaluations);
        },
        flush: async () => {
          await engine.idle();
          await writeResults();
        },
      });
  const checkpointLoop =
    recovery &&
    createPollLoop(
      () => recovery.checkpoint(),
      settings.resultsFlushMs,
      (error) => log.warn("evaluation checkpoint failed; retrying", { error: String(error) }),
    );

  return {
    engine,
    api,
    rules: () => ruleSet.rules(),
    noteCommitted: (outputs) => traces.noteIngested([...new Set(outputs.map((o) => o.TraceId))]),
    listen: (listener) => void listeners.push(listener),
    listenWindows: (listener) => void windowListeners.push(listener),
    evaluateWindows: () => windowLoop.readNow(),
    async recoverOutputs() {
      if (recovery === undefined || checkpointLoop === undefined) return 0;
      for (;;) {
        try {
          const evaluated = await recovery.recover();
          recovered = true;
          if (!closed) checkpointLoop.start();
          if (evaluated > 0) log.info("evaluated again after a restart", { outputs: evaluated });
          return evaluated;
        } catch (error) {
          if (closed) return 0;
          log.warn("could not evaluate again what a restart left; retrying", {
            error: String(error),
          });
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    },
    flush,
    async close() {
      closed = true;
      await windowLoop.stop();
      ruleSet.close();
      await traces.stop();
      await conversations.stop();
      await checkpointLoop?.stop();
      await judge.close();
      await flush();
      await Promise.all([results.close(), evaluations.close()]);
      // Everything is written: the next start has nothing of this run to evaluate again (unless
      // this run never got to evaluate what the last one left).
      if (recovered) await recovery?.checkpoint().catch(() => undefined);
    },
  };
}

/**
 * Rules sent with a backtest, each loaded by the rule loader under its file's name, as the rule
 * set loads that file: the same rule means the same here, and every problem of every rule is
 * reported. (A `$ref` arrives resolved: the client loaded the file beside it.)
 */
function loadBacktestRules(
  list: readonly BacktestRule[],
): { ok: true; rules: CompiledRule[] } | { ok: false; errors: RuleFileError[] } {
  const rules: CompiledRule[] = [];
  const errors: RuleFileError[] = [];
  for (const { file, rule } of list) {
    const result = parseRule(rule, file, { compile: compileRule });
    if (result.ok) rules.push(result.rule);
    else errors.push(...result.errors);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

/**
 * The engine's activity with the judge rules' beside it: a judge rule's counts are its
 * verdicts, its rule errors its judge errors and budget skips, and it is unhealthy while its
 * judge is unreachable, rate limited, out of budget, erring or not configured.
 */
function withJudgeActivity(
  engine: ReadonlyMap<string, RuleActivity>,
  judge: ReturnType<ReturnType<typeof startJudge>["activity"]>,
): ReadonlyMap<string, RuleActivity> {
  if (judge.size === 0) return engine;
  const merged = new Map(engine);
  for (const [ruleId, activity] of judge) {
    merged.set(ruleId, {
      matched: activity.queued,
      failed: activity.failed,
      lastMatchedAt: undefined,
      ruleErrors: activity.errors + activity.budgetSkipped,
      lastError: activity.lastError,
      health: activity.state === "ok" ? "ok" : "unhealthy",
      judge: activity,
    });
  }
  return merged;
}
