/**
 * The judge, started (docs/judge.md): the client for the configured endpoint, the worker and
 * its poll loop, and the buffered writers that put committed outputs into the queue and
 * external evaluation results into evaluation_scores. What the service wires: committed outputs
 * in (`onOutputs`, never waiting for the store, let alone the judge), results out (`emit`).
 */

import { createBufferedWriter } from "../../store/buffered-writer.ts";
import type { Store } from "../../store/store.ts";
import { isPending, type AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import {
  writeEvaluationScores,
  type EvaluationScore,
} from "../../store/tables/evaluation-scores.ts";
import { writeJudgeQueue, type JudgeQueueItem } from "../../store/tables/judge-queue.ts";
import { createPollLoop } from "../../poll-loop.ts";
import type { CompiledRule } from "../compile-rule.ts";
import type { EngineLog } from "../engine.ts";
import { eventScoresOf } from "./event-scores.ts";
import { createJudgeClient } from "./judge-client.ts";
import { createJudgeLimits, type JudgeLimits } from "./judge-limits.ts";
import { judgeStore } from "./judge-queries.ts";
import {
  createJudgeWorker,
  type JudgeActivity,
  type JudgeResults,
  type JudgeSettings,
  type JudgeWorkerStore,
} from "./judge-worker.ts";

/** The judge's settings (config `judge`, src/config/schema.ts). */
export interface JudgeConfig extends JudgeSettings {
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  model?: string | undefined;
  timeoutMs: number;
  pollMs: number;
}

export interface StartJudgeOptions {
  rules(): readonly CompiledRule[];
  emit(results: JudgeResults): Promise<void>;
  log: EngineLog;
  /** How often queued items and scores are written. */
  flushMs: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Tests: the worker's store (default: the tables of `store`). */
  workerStore?: JudgeWorkerStore;
}

export interface Judge {
  /** Queues the outputs judge rules match and sample, and stores their evaluation results. */
  onOutputs(rows: readonly AgentOutputRow[]): void;
  /** Writes what is buffered; true once written. */
  flush(): Promise<boolean>;
  /** Runs a pass now (after the one in progress). */
  passNow(): Promise<number>;
  activity(): ReadonlyMap<string, JudgeActivity>;
  /** The ledger of the limits, which a backtest in this process spends from too. */
  limits: JudgeLimits;
  close(): Promise<void>;
}

export function startJudge(config: JudgeConfig, store: Store, options: StartJudgeOptions): Judge {
  const onError = (what: string) => (error: unknown) =>
    options.log("warn", `could not write ${what}; keeping them for the next try`, {
      error: String(error),
    });
  const queue = createBufferedWriter<JudgeQueueItem>((items) => writeJudgeQueue(store, items), {
    intervalMs: options.flushMs,
    maxRows: 1_000_000,
    onError: onError("judge queue items"),
  });
  const scores = createBufferedWriter<EvaluationScore>(
    (rows) => writeEvaluationScores(store, rows),
    { intervalMs: options.flushMs, maxRows: 1_000_000, onError: onError("evaluation scores") },
  );
  const call =
    config.baseUrl === undefined
      ? undefined
      : createJudgeClient({
          baseUrl: config.baseUrl,
          apiKey: config.apiKey,
          timeoutMs: config.timeoutMs,
          ...(options.fetch !== undefined && { fetch: options.fetch }),
          ...(options.now !== undefined && { now: options.now }),
        });
  const limits = createJudgeLimits(
    { callsPerMinute: config.callsPerMinute, tokensPerDay: config.tokensPerDay },
    options.now ?? Date.now,
  );
  const worker = createJudgeWorker({
    limits,
    rules: options.rules,
    store: options.workerStore ?? judgeStore(store),
    call,
    model: config.model,
    settings: config,
    emit: options.emit,
    log: options.log,
    ...(options.now !== undefined && { now: options.now }),
  });
  // The queue is written before a pass reads it: an item queued is an item a pass can see.
  const loop = createPollLoop(
    async () => {
      await queue.flush();
      return worker.pass();
    },
    config.pollMs,
    (error) => options.log("warn", "judge pass failed; retrying", { error: String(error) }),
  );
  loop.start();
  return {
    onOutputs(rows) {
      const items = worker.itemsFor(rows);
      worker.noteQueued(items);
      queue.add(items);
      // A pending output is offered again once completed (complete-pending.ts).
      scores.add(eventScoresOf(rows.filter((row) => !isPending(row))));
    },
    async flush() {
      const written = await Promise.all([queue.flush(), scores.flush()]);
      return written.every(Boolean);
    },
    passNow: () => loop.readNow(),
    activity: () => worker.activity(),
    limits,
    async close() {
      await loop.stop();
      await Promise.all([queue.close(), scores.close()]);
    },
  };
}
