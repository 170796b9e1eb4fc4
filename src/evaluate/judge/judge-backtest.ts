/**
 * Judge rules in a backtest (docs/judge.md "Backtests"): judging history costs money, so a
 * backtest first plans and only judges when asked to. While the backtest reads the period hour
 * by hour, `offer` counts each judge rule's matching outputs and keeps a sample of at most
 * `sample` of them: those in the rule's own sampling share (the same hash as live), then the
 * first by a second hash of the rule and the output's ids, so the sample is spread over the
 * period and the same on every run. `plan` renders each sampled prompt as the live judge would,
 * looks its verdict up in the cache, and estimates the calls, tokens and cost of the rest;
 * nothing is sent. `judge` then judges the sample through the same client, within the same
 * limits (per rule and overall; the service's own ledger when it runs the backtest), and
 * writes each verdict to the cache, so the live judge and the next backtest never pay for it
 * again. Cached verdicts cost nothing and are counted apart.
 */

import { createHash } from "node:crypto";
import { PlumblineError } from "../../errors.ts";
import { isPending, type AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { Store } from "../../store/store.ts";
import { writeJudgeCache, type CachedVerdict } from "../../store/tables/judge-cache.ts";
import type { CheckEvaluation, Finding } from "../../rules/findings.ts";
import type { CompiledJudge } from "../checks/judge.ts";
import type { CompiledRule } from "../compile-rule.ts";
import { toFinding } from "../finding.ts";
import { createJudgeClient, type JudgeCall, type JudgeRequest } from "./judge-client.ts";
import { createJudgeLimits, dayStart, estimateTokens, type JudgeLimits } from "./judge-limits.ts";
import { judgeStore } from "./judge-queries.ts";
import { renderRequests, type JudgeWorkerStore } from "./judge-worker.ts";
import { runPool, safely } from "./run-pool.ts";

/** Outputs judged per judge rule unless the backtest says otherwise. */
export const DEFAULT_JUDGE_SAMPLE = 200;

/** A verdict is about this many reply tokens ({"verdict","score","explanation"} in a sentence). */
export const REPLY_TOKENS_ESTIMATE = 60;

/**
 * The price the estimate is stated at, in US dollars per million tokens: gpt-4o-mini's list
 * price when written, as docs/judge.md's template costs.
 */
export const DEFAULT_JUDGE_PRICE: JudgePrice = { promptPerMillion: 0.15, replyPerMillion: 0.6 };

/** Retryable failures (429, 5xx, timeouts) of one call tried this often before it is an error. */
const MAX_ATTEMPTS = 4;

/**
 * Verdicts written to the cache this many at a time: one insert each would cost more than the
 * calls (~50 ms an insert on embedded storage). A crash loses at most these, paid once more.
 */
const SAVE_BATCH = 200;

export interface JudgePrice {
  promptPerMillion: number;
  replyPerMillion: number;
}

export interface JudgeBacktestOptions {
  /** Outputs judged per judge rule, at most. */
  sample: number;
  /** Judge the sample; without it, only the plan. */
  confirm: boolean;
  price: JudgePrice;
}

/** One judge rule's plan, and with `confirm` what its sample was judged. */
export interface JudgeBacktestSummary {
  /** Outputs the rule's match took in the period. */
  matched: number;
  /** Of those, in the rule's own `sample` share (what the live judge would have judged). */
  inRuleSample: number;
  /** Of those, judged by this backtest (at most the sample size). */
  sampled: number;
  /** Of the sampled, answered by the cache: no call, no cost. */
  cached: number;
  /** Calls to make: sampled minus cached. */
  calls: number;
  /** The estimate for those calls: the rendered prompts at ~4 characters a token… */
  promptTokens: number;
  /** …and ~60 tokens a reply. */
  replyTokens: number;
  /** At `price`, in US dollars. */
  costUsd: number;
  price: JudgePrice;
  model: string;
  /** At the rule's (or the overall) calls per minute, about this long to judge. */
  minutes: number;
  /** False: the plan only, nothing was sent. */
  judged: boolean;
  /** With `judged`: what happened to the sample. */
  run?: JudgeRunCounts;
}

export interface JudgeRunCounts {
  verdicts: number;
  failed: number;
  fromCache: number;
  called: number;
  /** Judge errors (a reply that did not parse twice, a 4xx, retries exhausted). */
  errors: number;
  /** Not judged: a tokens-per-day budget is spent. */
  budgetSkipped: number;
  /** Tokens the calls used, as the judge reported them. */
  tokens: number;
  costUsd: number;
  lastError: string | undefined;
}

export interface JudgeBacktestDeps {
  store: Pick<JudgeWorkerStore, "context" | "cached" | "tokensSince"> & {
    /** Writes verdicts to the cache (a backtest writes them in batches). */
    saveVerdicts(verdicts: readonly CachedVerdict[]): Promise<void>;
  };
  /** The judge; undefined when none is configured (a plan can still be made). */
  call: JudgeCall | undefined;
  model: string | undefined;
  settings: {
    concurrency: number;
    callsPerMinute?: number | undefined;
    tokensPerDay?: number | undefined;
    maxTokens: number;
    backoffMs: number;
    maxBackoffMs: number;
  };
  /** The live judge's ledger, when the service runs the backtest: one set of limits. */
  limits?: JudgeLimits;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** What one judge rule's backtest found: the summary, and findings like any rule's. */
export interface JudgeRuleResult {
  ruleId: string;
  summary: JudgeBacktestSummary;
  findings: Finding[];
  evaluations: CheckEvaluation[];
}

export interface JudgeBacktest {
  /** Offers the outputs of one page of the period (any order). */
  offer(outputs: readonly AgentOutputRow[]): void;
  /** Renders the sample, looks up the cache, estimates; sends nothing. */
  plan(): Promise<JudgeRuleResult[]>;
  /** Judges what `plan` prepared (call `plan` first). */
  judge(onProgress?: (done: number, total: number) => void): Promise<JudgeRuleResult[]>;
}

type JudgeRule = CompiledRule & { judge: CompiledJudge };

interface Prepared {
  rule: JudgeRule;
  row: AgentOutputRow;
  request: JudgeRequest;
  hash: string;
  cached: CachedVerdict | undefined;
}

/** The judge rules among `rules`. */
export function judgeRulesOf(rules: readonly CompiledRule[]): JudgeRule[] {
  return rules.filter((r): r is JudgeRule => r.scope === "judge" && r.judge !== undefined);
}

export function createJudgeBacktest(
  rules: readonly CompiledRule[],
  options: JudgeBacktestOptions,
  deps: JudgeBacktestDeps,
): JudgeBacktest {
  if (!Number.isInteger(options.sample) || options.sample < 1) {
    throw new RangeError(
      `the judge sample must be a whole number of 1 or more, not ${options.sample}`,
    );
  }
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const judgeRules = judgeRulesOf(rules);
  const state = new Map(
    judgeRules.map((rule) => [
      rule.id,
      { rule, matched: 0, inRuleSample: 0, kept: [] as { order: string; row: AgentOutputRow }[] },
    ]),
  );
  let prepared: Prepared[] | undefined;
  let plans: Map<string, JudgeBacktestSummary> | undefined;
  /** Verdicts judged and not yet written to the cache. */
  const unsaved: CachedVerdict[] = [];

  const trim = (kept: { order: string; row: AgentOutputRow }[]) => {
    kept.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    kept.length = Math.min(kept.length, options.sample);
  };

  return {
    offer(outputs) {
      for (const entry of state.values()) {
        for (const row of outputs) {
          if (isPending(row) || !safely(() => entry.rule.matches(row))) continue;
          entry.matched++;
          if (!entry.rule.judge.sampled(row)) continue;
          entry.inRuleSample++;
          entry.kept.push({ order: sampleOrder(entry.rule.id, row), row });
          // Bounded memory over any period: the smallest `sample` orders are all that is kept.
          if (entry.kept.length >= 2 * options.sample) trim(entry.kept);
        }
      }
    },

    async plan() {
      const jobs: { rule: JudgeRule; row: AgentOutputRow }[] = [];
      for (const entry of state.values()) {
        trim(entry.kept);
        // Oldest first, as a reader of the findings expects.
        const rows = entry.kept
          .map((k) => k.row)
          .sort((a, b) => Number(a.Timestamp) - Number(b.Timestamp));
        for (const row of rows) jobs.push({ rule: entry.rule, row });
      }
      const rendered = await renderRequests(deps.store, jobs, deps.model, deps.settings.maxTokens);
      prepared = [];
      for (const rule of judgeRules) {
        const own = rendered.filter((r) => r.rule === rule);
        const cache =
          own.length === 0
            ? new Map<string, CachedVerdict>()
            : await deps.store.cached(
                rule.id,
                rule.version,
                own.map((r) => r.hash),
              );
        for (const r of own) prepared.push({ ...r, cached: cache.get(r.hash) });
      }
      plans = new Map();
      for (const rule of judgeRules) {
        const entry = state.get(rule.id);
        const own = prepared.filter((p) => p.rule === rule);
        const toCall = own.filter((p) => p.cached === undefined);
        const promptTokens = toCall.reduce(
          (sum, p) => sum + Math.ceil((p.request.system.length + p.request.user.length) / 4),
          0,
        );
        const replyTokens = toCall.length * REPLY_TOKENS_ESTIMATE;
        const perMinute = Math.min(
          rule.judge.limits.callsPerMinute ?? Number.POSITIVE_INFINITY,
          deps.settings.callsPerMinute ?? Number.POSITIVE_INFINITY,
        );
        plans.set(rule.id, {
          matched: entry?.matched ?? 0,
          inRuleSample: entry?.inRuleSample ?? 0,
          sampled: own.length,
          cached: own.length - toCall.length,
          calls: toCall.length,
          promptTokens,
          replyTokens,
          costUsd: costOf(promptTokens, replyTokens, options.price),
          price: options.price,
          model: rule.judge.model ?? deps.model ?? "",
          minutes: Number.isFinite(perMinute) ? Math.ceil(toCall.length / perMinute) : 0,
          judged: false,
        });
      }
      return resultsOf(new Map(), false);
    },

    async judge(onProgress) {
      if (prepared === undefined || plans === undefined) {
        throw new Error("createJudgeBacktest: judge() before plan()");
      }
      const call = deps.call;
      if (call === undefined && prepared.some((p) => p.cached === undefined)) {
        throw judgeNotConfigured();
      }
      const limits = deps.limits ?? (await seededLimits());
      const outcomes = new Map<Prepared, Outcome>();
      let done = 0;
      try {
        await runPool(prepared, deps.settings.concurrency, async (job) => {
          outcomes.set(job, await judgeOne(job, call as JudgeCall, limits));
          onProgress?.(++done, prepared?.length ?? done);
          if (unsaved.length >= SAVE_BATCH) await deps.store.saveVerdicts(unsaved.splice(0));
        });
      } finally {
        // Paid for: kept, even when a later call failed the run.
        await deps.store.saveVerdicts(unsaved.splice(0));
      }
      return resultsOf(outcomes, true);
    },
  };

  async function seededLimits(): Promise<JudgeLimits> {
    const limits = createJudgeLimits(
      { callsPerMinute: deps.settings.callsPerMinute, tokensPerDay: deps.settings.tokensPerDay },
      now,
    );
    // Today's spend, live and earlier backtests alike, is in the cache.
    limits.seed(await deps.store.tokensSince(dayStart(now())));
    return limits;
  }

  async function judgeOne(job: Prepared, call: JudgeCall, limits: JudgeLimits): Promise<Outcome> {
    if (job.cached !== undefined) return { type: "verdict", verdict: job.cached, fromCache: true };
    if (job.request.model === "") {
      return {
        type: "error",
        message: "no judge model: set PLUMBLINE_JUDGE_MODEL or the rule's model",
      };
    }
    const estimate = estimateTokens(job.request.system, job.request.user, deps.settings.maxTokens);
    for (;;) {
      const admission = limits.admit(job.rule.id, job.rule.judge.limits, estimate);
      if (admission.type === "ok") break;
      if (admission.type === "budget") {
        const whose = admission.scope === "rule" ? "the rule's" : "the overall";
        return {
          type: "budget",
          message: `not judged: ${whose} budget of ${admission.limit} tokens a day is spent (${admission.used} used)`,
        };
      }
      // Over calls per minute: a backtest waits its turn, as a queued item would.
      await sleep(admission.ms);
    }
    let used = 0;
    let malformedOnce = false;
    for (let attempt = 1; ; attempt++) {
      const reply = await call(job.request);
      if (reply.type === "verdict" || reply.type === "malformed") {
        used += reply.usage.inputTokens + reply.usage.outputTokens;
      }
      if (reply.type === "malformed" && !malformedOnce) {
        malformedOnce = true;
        continue;
      }
      if (reply.type === "retryable" && attempt < MAX_ATTEMPTS) {
        const backoff = Math.min(
          deps.settings.maxBackoffMs,
          deps.settings.backoffMs * 2 ** (attempt - 1),
        );
        await sleep(Math.max(reply.afterMs ?? 0, backoff));
        continue;
      }
      limits.settle(job.rule.id, estimate, used);
      if (reply.type === "malformed") {
        return {
          type: "error",
          message: `the judge's reply did not parse, twice: ${reply.message}`,
          used,
        };
      }
      if (reply.type === "retryable") {
        return {
          type: "error",
          message: `gave up after ${attempt} attempts: ${reply.message}`,
          used,
        };
      }
      if (reply.type === "failed") return { type: "error", message: reply.message, used };
      const verdict: CachedVerdict = {
        ruleId: job.rule.id,
        ruleVersion: job.rule.version,
        inputHash: job.hash,
        model: reply.model,
        verdict: reply.verdict.verdict,
        score: reply.verdict.score,
        explanation: reply.verdict.explanation,
        inputTokens: reply.usage.inputTokens,
        outputTokens: reply.usage.outputTokens,
        judgedAt: now(),
      };
      unsaved.push(verdict);
      return { type: "verdict", verdict, fromCache: false };
    }
  }

  function resultsOf(outcomes: ReadonlyMap<Prepared, Outcome>, ran: boolean): JudgeRuleResult[] {
    return judgeRules.map((rule) => {
      const plan = plans?.get(rule.id) as JudgeBacktestSummary;
      const findings: Finding[] = [];
      const evaluations: CheckEvaluation[] = [];
      if (!ran) return { ruleId: rule.id, summary: plan, findings, evaluations };
      const run: JudgeRunCounts = {
        verdicts: 0,
        failed: 0,
        fromCache: 0,
        called: 0,
        errors: 0,
        budgetSkipped: 0,
        tokens: 0,
        costUsd: 0,
        lastError: undefined,
      };
      let promptTokens = 0;
      let replyTokens = 0;
      for (const job of prepared ?? []) {
        if (job.rule !== rule) continue;
        const outcome = outcomes.get(job);
        if (outcome === undefined) continue;
        if (outcome.type === "budget") {
          run.budgetSkipped++;
          run.lastError = outcome.message;
          continue;
        }
        if (outcome.type === "error") {
          run.errors++;
          run.lastError = outcome.message;
          run.called++;
          run.tokens += outcome.used ?? 0;
          continue;
        }
        const { verdict } = outcome;
        run.verdicts++;
        if (outcome.fromCache) run.fromCache++;
        else {
          run.called++;
          run.tokens += verdict.inputTokens + verdict.outputTokens;
          promptTokens += verdict.inputTokens;
          replyTokens += verdict.outputTokens;
        }
        const draft = rule.judge.failure(verdict);
        if (draft !== undefined) {
          run.failed++;
          findings.push(toFinding(rule, job.row, draft));
        }
        evaluations.push({
          ruleId: rule.id,
          time: job.row.Timestamp,
          service: job.row.ServiceName,
          agent: job.row.AgentName,
          outputKey: `${job.row.TraceId}/${job.row.SpanId}`,
          failed: draft !== undefined,
        });
      }
      run.costUsd = costOf(promptTokens, replyTokens, options.price);
      return { ruleId: rule.id, summary: { ...plan, judged: true, run }, findings, evaluations };
    });
  }
}

/** Judging was asked for, and there is no judge to ask: bad input, said as such. */
function judgeNotConfigured(): PlumblineError {
  return new PlumblineError(
    "judge_not_configured",
    "no judge is configured: set PLUMBLINE_JUDGE_BASE_URL (and PLUMBLINE_JUDGE_MODEL) to judge the sample",
    400,
  );
}

/** The judge's deps over a store and the service's judge settings. */
export function judgeBacktestDeps(
  store: Store,
  config: JudgeBacktestDeps["settings"] & {
    baseUrl?: string | undefined;
    apiKey?: string | undefined;
    model?: string | undefined;
    timeoutMs: number;
  },
  limits?: JudgeLimits,
): JudgeBacktestDeps {
  const { context, cached, tokensSince } = judgeStore(store);
  return {
    store: {
      context,
      cached,
      tokensSince,
      saveVerdicts: (verdicts) => writeJudgeCache(store, verdicts),
    },
    call:
      config.baseUrl === undefined
        ? undefined
        : createJudgeClient({
            baseUrl: config.baseUrl,
            apiKey: config.apiKey,
            timeoutMs: config.timeoutMs,
          }),
    model: config.model,
    settings: config,
    ...(limits !== undefined && { limits }),
  };
}

type Outcome =
  | { type: "verdict"; verdict: CachedVerdict; fromCache: boolean }
  | { type: "error"; message: string; used?: number }
  | { type: "budget"; message: string };

function costOf(promptTokens: number, replyTokens: number, price: JudgePrice): number {
  return (promptTokens * price.promptPerMillion + replyTokens * price.replyPerMillion) / 1_000_000;
}

/** Which outputs a backtest samples first: a hash of the rule and the output's ids. */
function sampleOrder(ruleId: string, row: Pick<AgentOutputRow, "TraceId" | "SpanId">): string {
  return createHash("sha256")
    .update(`backtest\u0000${ruleId}\u0000${row.TraceId}\u0000${row.SpanId}`)
    .digest("hex");
}
