/**
 * The judge worker (docs/judge.md): judges the outputs that judge rules matched and sampled,
 * off the ingest path, from a durable queue (judge_queue). Ingest only appends to the queue,
 * through a buffered writer, so a slow or unreachable judge never slows or blocks it.
 *
 * One pass takes the items due, oldest first, reads their outputs (and the trace's tool calls
 * or the conversation when the prompt names them), renders each prompt and looks up the cache
 * (rule version + hash of exactly what the judge would read). What is not cached is admitted by
 * the limits (judge-limits.ts) and sent, at most `concurrency` calls at once. Every call's
 * verdict is written to the cache as soon as it arrives, before its finding, its score and the
 * item's final state: a crash at any point leaves the item queued, and the next pass finds its
 * verdict in the cache: nothing lost, nothing judged twice.
 *
 * Outcomes: a verdict (a `judge_failed` finding when it fails, an evaluation record either
 * way, and the score); a reply that does not parse, asked again once and then a `judge_error`
 * rule problem; a 4xx other than 429/408/409, a `judge_error`; 429, 5xx, a timeout or a network
 * error, the item retried after the server's Retry-After or a backoff, and every call paused
 * as long; over calls per minute, the item waits; over tokens per day, a `judge_budget` rule
 * problem. Rule problems are never failures of the output (src/rules/findings.ts).
 */

import { createHash } from "node:crypto";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { isPending } from "../../store/tables/agent-outputs.ts";
import type { CachedVerdict } from "../../store/tables/judge-cache.ts";
import {
  FINAL_SEQ,
  type JudgeQueueItem,
  type JudgeQueueState,
} from "../../store/tables/judge-queue.ts";
import type { EvaluationScore } from "../../store/tables/evaluation-scores.ts";
import type { CheckEvaluation, Finding, RuleProblem } from "../../rules/findings.ts";
import type { CompiledJudge, JudgeContext, Verdict } from "../checks/judge.ts";
import type { CompiledRule } from "../compile-rule.ts";
import type { EngineLog } from "../engine.ts";
import { toFinding } from "../finding.ts";
import type { JudgeCall, JudgeReply, JudgeRequest } from "./judge-client.ts";
import { createJudgeHealth, type JudgeActivity } from "./judge-health.ts";
import {
  createJudgeLimits,
  dayStart,
  estimateTokens,
  type JudgeLimits,
  type JudgeLimitSettings,
} from "./judge-limits.ts";
import { runPool, safely } from "./run-pool.ts";

/** The reads and writes the worker needs (judge-queries.ts binds them to the store). */
export interface JudgeWorkerStore {
  writeQueue(items: readonly JudgeQueueItem[]): Promise<void>;
  due(nowMs: number, limit: number): Promise<JudgeQueueItem[]>;
  outputs(items: readonly { traceId: string; spanId: string }[]): Promise<AgentOutputRow[]>;
  /** The context of each row (by traceId/spanId) for the placeholders its rule names. */
  context(
    wanted: readonly { row: AgentOutputRow; reads: CompiledJudge["reads"] }[],
  ): Promise<Map<string, JudgeContext>>;
  cached(
    ruleId: string,
    ruleVersion: string,
    hashes: readonly string[],
  ): Promise<Map<string, CachedVerdict>>;
  saveVerdict(verdict: CachedVerdict): Promise<void>;
  saveScores(scores: readonly EvaluationScore[]): Promise<void>;
  tokensSince(ms: number): Promise<Map<string, number>>;
}

export interface JudgeSettings {
  /** Calls in flight at once. */
  concurrency: number;
  /** Overall limits, beside each rule's own. */
  callsPerMinute?: number | undefined;
  tokensPerDay?: number | undefined;
  /** max_tokens of each reply. */
  maxTokens: number;
  /** Items taken per pass. */
  batch: number;
  /** First retry after a retryable failure; doubled per attempt up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /**
   * Items of a rule whose prompt reads other outputs ({{trace.tool_results}}, {{conversation}})
   * wait this long after they are queued, so that the rest of the trace has arrived.
   */
  contextDelayMs: number;
  /** An item still failing (or whose output is still not found) this long after it was queued is a judge_error. */
  giveUpAfterMs: number;
}

/** What one pass hands on: failures to the sink, rule problems beside them. */
export interface JudgeResults {
  findings: Finding[];
  evaluations: CheckEvaluation[];
  problems: RuleProblem[];
}

export interface JudgeWorkerOptions {
  /** The enabled rules (judge rules among them), read at each pass. */
  rules(): readonly CompiledRule[];
  store: JudgeWorkerStore;
  /** The judge; undefined when PLUMBLINE_JUDGE_BASE_URL is not set (items wait in the queue). */
  call: JudgeCall | undefined;
  /** PLUMBLINE_JUDGE_MODEL, unless a rule names its own. */
  model: string | undefined;
  settings: JudgeSettings;
  /** Hands the results on; resolves once they are written (an item is final only after). */
  emit(results: JudgeResults): Promise<void>;
  log?: EngineLog;
  now?: () => number;
  /** The ledger of the limits (default: a new one); shared with backtests run in-process. */
  limits?: JudgeLimits;
}

export interface JudgeWorker {
  /** Items for the judge rules that match and sample these committed outputs. */
  itemsFor(outputs: readonly AgentOutputRow[]): JudgeQueueItem[];
  /** One pass; the number of items it settled (final or rescheduled). */
  pass(): Promise<number>;
  activity(): ReadonlyMap<string, JudgeActivity>;
  /** Counts queued items (the caller writes them). */
  noteQueued(items: readonly JudgeQueueItem[]): void;
}

export function createJudgeWorker(options: JudgeWorkerOptions): JudgeWorker {
  const now = options.now ?? Date.now;
  const log: EngineLog = options.log ?? (() => {});
  const settings = options.settings;
  const limits =
    options.limits ??
    createJudgeLimits(
      { callsPerMinute: settings.callsPerMinute, tokensPerDay: settings.tokensPerDay },
      now,
    );
  const health = createJudgeHealth(log, now);
  let seededDay: number | undefined;
  /** Every call waits until then (a 429's Retry-After, or the backoff of a judge that is down). */
  let pausedUntil = 0;
  let downStreak = 0;

  function judgeRules(): Map<string, CompiledRule & { judge: CompiledJudge }> {
    const map = new Map<string, CompiledRule & { judge: CompiledJudge }>();
    for (const rule of options.rules()) {
      if (rule.scope === "judge" && rule.judge !== undefined) {
        map.set(rule.id, rule as CompiledRule & { judge: CompiledJudge });
      }
    }
    return map;
  }

  function backoff(attempts: number): number {
    return Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** Math.max(0, attempts - 1));
  }

  async function pass(): Promise<number> {
    const at = now();
    const rules = judgeRules();
    health.newPass(rules.keys(), options.call !== undefined);
    // No judge rules, or no judge: nothing to ask the store (items wait in the queue).
    if (options.call === undefined || rules.size === 0) return 0;
    if (seededDay !== dayStart(at)) {
      limits.seed(await options.store.tokensSince(dayStart(at)));
      seededDay = dayStart(at);
    }
    if (at < pausedUntil) return 0;
    const items = await options.store.due(at, settings.batch);
    if (items.length === 0) return 0;

    const updates: JudgeQueueItem[] = [];
    const results: JudgeResults = { findings: [], evaluations: [], problems: [] };
    const scores: EvaluationScore[] = [];
    const final = (item: JudgeQueueItem, state: JudgeQueueState, message = "") =>
      updates.push({ ...item, state, seq: FINAL_SEQ, message });
    const later = (item: JudgeQueueItem, atMs: number, message: string, attempt: boolean) =>
      updates.push({
        ...item,
        attempts: item.attempts + (attempt ? 1 : 0),
        nextAttemptAt: atMs,
        seq: item.seq + 1,
        message,
      });

    const rows = new Map(
      (await options.store.outputs(items)).map((row) => [keyOf(row.TraceId, row.SpanId), row]),
    );
    interface Job {
      item: JudgeQueueItem;
      rule: CompiledRule & { judge: CompiledJudge };
      row: AgentOutputRow;
    }
    const jobs: Job[] = [];
    for (const item of items) {
      const rule = rules.get(item.ruleId);
      if (rule === undefined) {
        final(item, "dropped", "the rule is no longer loaded, enabled or a judge rule");
        continue;
      }
      const row = rows.get(keyOf(item.traceId, item.spanId));
      if (row === undefined) {
        // Not visible yet (a replica behind), or gone (retention): wait, then give up.
        if (at - item.enqueuedAt > settings.giveUpAfterMs) {
          final(item, "dropped", "the output was not found");
        } else later(item, at + backoff(item.attempts + 1), "the output was not found yet", true);
        continue;
      }
      jobs.push({ item, rule, row });
    }
    const prepared = await renderRequests(options.store, jobs, options.model, settings.maxTokens);
    const cache = new Map<string, CachedVerdict>();
    for (const rule of rules.values()) {
      const hashes = prepared.filter((p) => p.rule === rule).map((p) => p.hash);
      if (hashes.length === 0) continue;
      for (const [hash, verdict] of await options.store.cached(rule.id, rule.version, hashes)) {
        cache.set(`${rule.id}\u0000${hash}`, verdict);
      }
    }

    const settle = (job: Job, verdict: CachedVerdict, fromCache: boolean) => {
      const { rule, row, item } = job;
      const judged: Verdict = {
        verdict: verdict.verdict,
        score: verdict.score,
        explanation: verdict.explanation,
      };
      const draft = rule.judge.failure(judged);
      if (draft !== undefined) results.findings.push(toFinding(rule, row, draft));
      results.evaluations.push({
        ruleId: rule.id,
        time: row.Timestamp,
        service: row.ServiceName,
        agent: row.AgentName,
        outputKey: keyOf(row.TraceId, row.SpanId),
        failed: draft !== undefined,
      });
      scores.push({
        time: row.Timestamp,
        traceId: row.TraceId,
        spanId: row.SpanId,
        name: rule.judge.name,
        source: "judge",
        ruleId: rule.id,
        ruleVersion: rule.version,
        service: row.ServiceName,
        agent: row.AgentName,
        model: verdict.model,
        score: verdict.score,
        label: verdict.verdict,
        explanation: verdict.explanation,
      });
      health.verdict(rule.id, { failed: draft !== undefined, cached: fromCache });
      final(item, "done");
    };
    const problem = (job: Job, code: "judge_error" | "judge_budget", message: string) => {
      results.problems.push(
        toFinding(job.rule, job.row, {
          code,
          path: "",
          message,
          observed: "",
          expected: "",
        }) as RuleProblem,
      );
      health.problem(job.rule.id, code, message);
      final(job.item, code === "judge_budget" ? "budget" : "error", message);
    };

    // Identical inputs in one pass share one call.
    const inflight = new Map<string, Promise<CallOutcome>>();
    const waitingRules = new Set<string>();
    let stopCalls = false;
    const run = async (job: (typeof prepared)[number]): Promise<void> => {
      const cacheKey = `${job.rule.id}\u0000${job.hash}`;
      const hit = cache.get(cacheKey);
      if (hit !== undefined) return settle(job, hit, true);
      if (job.request.model === "") {
        return problem(
          job,
          "judge_error",
          "no judge model: set PLUMBLINE_JUDGE_MODEL or the rule's model",
        );
      }
      let outcome = inflight.get(cacheKey);
      if (outcome === undefined) {
        if (stopCalls || waitingRules.has(job.rule.id)) return;
        const estimate = estimateTokens(job.request.system, job.request.user, settings.maxTokens);
        const admission = limits.admit(job.rule.id, job.rule.judge.limits, estimate);
        if (admission.type === "wait") {
          // Left queued and due: taken again by a later pass, in order.
          if (admission.overall) stopCalls = true;
          else waitingRules.add(job.rule.id);
          return;
        }
        if (admission.type === "budget") {
          const whose = admission.scope === "rule" ? "the rule's" : "the overall";
          return problem(
            job,
            "judge_budget",
            `not judged: ${whose} budget of ${admission.limit} tokens a day is spent (${admission.used} used)`,
          );
        }
        outcome = callJudge(job.rule, job.request, job.hash, estimate);
        inflight.set(cacheKey, outcome);
      }
      const result = await outcome;
      if (result.type === "verdict") return settle(job, result.verdict, false);
      if (result.type === "error") return problem(job, "judge_error", result.message);
      // Retryable: the item waits; so does every call, as long as the server asked.
      health.retry(job.rule.id, result.message, result.rateLimited);
      if (now() - job.item.enqueuedAt > settings.giveUpAfterMs) {
        return problem(
          job,
          "judge_error",
          `gave up after ${job.item.attempts + 1} attempts: ${result.message}`,
        );
      }
      later(job.item, now() + result.waitMs, result.message, true);
    };

    type CallOutcome =
      | { type: "verdict"; verdict: CachedVerdict }
      | { type: "error"; message: string }
      | { type: "retry"; message: string; waitMs: number; rateLimited: boolean };
    async function callJudge(
      rule: CompiledRule,
      request: JudgeRequest,
      hash: string,
      estimate: number,
    ): Promise<CallOutcome> {
      const call = options.call as JudgeCall;
      let reply: JudgeReply = await call(request);
      let used = reply.type === "verdict" || reply.type === "malformed" ? tokensOf(reply.usage) : 0;
      // A reply that does not parse is asked again once.
      if (reply.type === "malformed") {
        reply = await call(request);
        if (reply.type === "verdict" || reply.type === "malformed") used += tokensOf(reply.usage);
      }
      limits.settle(rule.id, estimate, used);
      if (reply.type === "retryable") {
        downStreak++;
        stopCalls = true;
        const waitMs = Math.max(reply.afterMs ?? 0, backoff(downStreak));
        pausedUntil = Math.max(pausedUntil, now() + waitMs);
        return { type: "retry", message: reply.message, waitMs, rateLimited: reply.rateLimited };
      }
      downStreak = 0;
      if (reply.type === "malformed") {
        return {
          type: "error",
          message: `the judge's reply did not parse, twice: ${reply.message}`,
        };
      }
      if (reply.type === "failed") return { type: "error", message: reply.message };
      const verdict: CachedVerdict = {
        ruleId: rule.id,
        ruleVersion: rule.version,
        inputHash: hash,
        model: reply.model,
        verdict: reply.verdict.verdict,
        score: reply.verdict.score,
        explanation: reply.verdict.explanation,
        inputTokens: reply.usage.inputTokens,
        outputTokens: reply.usage.outputTokens,
        judgedAt: now(),
      };
      // Durable before anything depends on it: a crash from here on finds it in the cache.
      await options.store.saveVerdict(verdict);
      return { type: "verdict", verdict };
    }

    await runPool(prepared, settings.concurrency, run);
    for (const rule of rules.values()) health.usage(rule.id, limits.usage(rule.id));
    await options.emit(results);
    await options.store.saveScores(scores);
    await options.store.writeQueue(updates);
    return updates.length;
  }

  return {
    itemsFor(outputs) {
      const rules = [...judgeRules().values()];
      if (rules.length === 0) return [];
      const at = now();
      const items: JudgeQueueItem[] = [];
      for (const row of outputs) {
        if (isPending(row)) continue;
        for (const rule of rules) {
          if (!safely(() => rule.matches(row)) || !rule.judge.sampled(row)) continue;
          const { toolResults, conversation } = rule.judge.reads;
          items.push({
            ruleId: rule.id,
            ruleVersion: rule.version,
            traceId: row.TraceId,
            spanId: row.SpanId,
            outputTime: row.Timestamp,
            enqueuedAt: at,
            state: "queued",
            attempts: 0,
            nextAttemptAt: at + (toolResults || conversation ? settings.contextDelayMs : 0),
            seq: 0,
            message: "",
          });
        }
      }
      return items;
    },
    noteQueued(items) {
      for (const item of items) health.queued(item.ruleId);
    },
    pass,
    activity: () => {
      const rules = judgeRules();
      for (const rule of rules.values()) health.of(rule.id);
      if (options.call === undefined) health.newPass(rules.keys(), false);
      return health.all();
    },
  };
}

/**
 * Each job's request to the judge: its prompt rendered with what it reads of its trace and
 * conversation (one read for all jobs), the rule's model or the default, and the hash the
 * verdict cache keys it by. The live worker and judge backtests render alike.
 */
export async function renderRequests<J extends { rule: JudgeRuleLike; row: AgentOutputRow }>(
  store: Pick<JudgeWorkerStore, "context">,
  jobs: readonly J[],
  defaultModel: string | undefined,
  maxTokens: number,
): Promise<(J & { request: JudgeRequest; hash: string })[]> {
  const contexts = await store.context(
    jobs
      .filter((job) => job.rule.judge.reads.toolResults || job.rule.judge.reads.conversation)
      .map((job) => ({ row: job.row, reads: job.rule.judge.reads })),
  );
  return jobs.map((job) => {
    const messages = job.rule.judge.render(
      job.row,
      contexts.get(keyOf(job.row.TraceId, job.row.SpanId)) ?? { toolResults: "", conversation: "" },
    );
    const model = job.rule.judge.model ?? defaultModel ?? "";
    const request: JudgeRequest = { ...messages, model, maxTokens };
    return { ...job, request, hash: inputHash(job.rule.version, request) };
  });
}

/** What renderRequests reads of a rule. */
type JudgeRuleLike = { version: string; judge: CompiledJudge };

/** What the cache is keyed by, beside the rule version: exactly what the judge reads. */
export function inputHash(ruleVersion: string, request: JudgeRequest): string {
  return createHash("sha256")
    .update(
      [ruleVersion, request.model, String(request.maxTokens), request.system, request.user].join(
        "\u0000",
      ),
    )
    .digest("hex");
}

function tokensOf(usage: { inputTokens: number; outputTokens: number }): number {
  return usage.inputTokens + usage.outputTokens;
}

function keyOf(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}

export type { JudgeActivity, JudgeLimitSettings };
