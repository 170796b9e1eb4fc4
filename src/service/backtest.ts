/**
 * Wires a backtest (`plumbline backtest`, POST /api/backtest): the evaluate stage replays the
 * rules over the stored outputs and hands what they find, in simulated time, to the alert
 * stage's replay of the alert manager, set up as this service's alerting is — its routes, its
 * channels' resends, its tick and evaluation timing, and, when asked, the silences that held
 * at each moment. The answer is one report: per rule what it found and what its alerts did.
 * Judge rules are sampled and planned, and judged only when confirmed, through the configured
 * judge and within its limits (the live judge's ledger when this process runs one).
 */

import { addCounts, createAlertReplay, type RuleAlerts } from "../alert/alert-replay.ts";
import { routeChannels } from "../alert/channels/route-channels.ts";
import type { Silence } from "../alert/silences.ts";
import type {
  BacktestReplayTiming,
  BacktestReport,
  BacktestRuleReport,
  BacktestSummary,
} from "../api/rules-routes.ts";
import type { Config } from "../config/index.ts";
import { backtest, type RuleSummary } from "../evaluate/backtest.ts";
import { backtestSource } from "../evaluate/backtest-queries.ts";
import type { CompiledRule } from "../evaluate/compile-rule.ts";
import { evaluateWindowRules } from "../evaluate/windows/evaluate-window.ts";
import {
  DEFAULT_JUDGE_PRICE,
  DEFAULT_JUDGE_SAMPLE,
  judgeBacktestDeps,
  type JudgePrice,
  type JudgeRuleResult,
} from "../evaluate/judge/judge-backtest.ts";
import type { Judge } from "../evaluate/judge/start-judge.ts";
import type { Severity } from "../rules/rule.ts";
import type { Store } from "../store/store.ts";
import { silenceHistory } from "../store/tables/alerts.ts";

export interface BacktestRunOptions {
  rules: readonly CompiledRule[];
  sinceMs: number;
  untilMs: number;
  /** Only this service's outputs (output and trace rules). */
  service: string | undefined;
  /** Apply the silences that held at each moment. */
  silences: boolean;
  /** Overrides of the config's timing. */
  timing?: Partial<BacktestReplayTiming>;
  onProgress?: (done: number, total: number) => void;
  /** Judge rules: how many outputs to sample, whether to judge them, at what price. */
  judge?: BacktestJudgeRequest;
  /** The judge's plan, before anything is sent (judge rules only). */
  onJudgePlan?: (plan: readonly JudgeRuleResult[]) => void | Promise<void>;
  /** The live judge's limits, when this process runs one: a backtest spends from them too. */
  judgeLimits?: Judge["limits"];
}

/** What a backtest does with judge rules (defaults: 200 per rule, plan only, gpt-4o-mini's price). */
export interface BacktestJudgeRequest {
  sample?: number | undefined;
  confirm?: boolean | undefined;
  price?: JudgePrice | undefined;
}

/** Replays the rules and their alerts over [since, until]; nothing is written or sent. */
export async function runBacktest(
  store: Store,
  config: Config,
  options: BacktestRunOptions,
): Promise<BacktestReport> {
  const timing: BacktestReplayTiming = {
    tickMs: options.timing?.tickMs ?? config.alerts.tickMs,
    traceQuietMs: options.timing?.traceQuietMs ?? config.evaluate.traceQuietMs,
    windowSettleMs: options.timing?.windowSettleMs ?? config.evaluate.windowSettleMs,
  };
  const settings = config.alerts;
  // As service/alerting.ts routes: without routes every channel gets every alert.
  const defaults = settings.defaultChannels ?? Object.keys(settings.channels);
  const replay = createAlertReplay({
    rules: options.rules,
    sinceMs: options.sinceMs,
    tickMs: timing.tickMs,
    route: (alert) => routeChannels(settings.routes, defaults, alert),
    resendEvery: new Map(
      Object.entries(settings.channels).flatMap(([name, channel]) =>
        channel.type === "alertmanager" ? [[name, channel.resendMs] as const] : [],
      ),
    ),
    ...(options.silences && { silences: await silencesAsTheyHeld(store) }),
  });
  const summaries = await backtest({
    rules: options.rules,
    source: backtestSource(store, options.service),
    sinceMs: options.sinceMs,
    untilMs: options.untilMs,
    evaluateWindows: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
    ...(options.onProgress && { onProgress: options.onProgress }),
    timeline: replay,
    timing: { ...timing, conversationQuietMs: config.evaluate.conversationQuietMs },
    judge: {
      sample: options.judge?.sample ?? DEFAULT_JUDGE_SAMPLE,
      confirm: options.judge?.confirm ?? false,
      price: options.judge?.price ?? DEFAULT_JUDGE_PRICE,
      ...judgeBacktestDeps(store, config.judge, options.judgeLimits),
      contextDelayMs: config.judge.contextDelayMs,
      ...(options.onJudgePlan && { onPlan: options.onJudgePlan }),
    },
  });
  const alerts = await replay.finish(options.untilMs);
  return {
    since: new Date(options.sinceMs).toISOString(),
    until: new Date(options.untilMs).toISOString(),
    service: options.service ?? null,
    timing,
    silences: options.silences,
    ...reportRules(options.rules, summaries, alerts),
  };
}

/** Every silence ever set, a deleted one ending when it was deleted. */
async function silencesAsTheyHeld(store: Store): Promise<Silence[]> {
  return (await silenceHistory(store)).map(({ silence, deletedAtMs }) => {
    const saved = silence as Silence;
    if (deletedAtMs === null || deletedAtMs >= Date.parse(saved.endsAt)) return saved;
    return { ...saved, endsAt: new Date(deletedAtMs).toISOString() };
  });
}

/** Each rule's findings and alerts side by side, and the summary over all of them. */
function reportRules(
  rules: readonly CompiledRule[],
  summaries: readonly RuleSummary[],
  alerts: readonly RuleAlerts[],
): { rules: BacktestRuleReport[]; summary: BacktestSummary } {
  const summaryOf = new Map(summaries.map((s) => [s.ruleId, s]));
  const alertsOf = new Map(alerts.map((a) => [a.ruleId, a]));
  const reports = rules.flatMap((rule): BacktestRuleReport[] => {
    const summary = summaryOf.get(rule.id);
    const ruleAlerts = alertsOf.get(rule.id);
    if (summary === undefined || ruleAlerts === undefined) return [];
    const { ruleId: _sameId, ...alerting } = ruleAlerts;
    return [{ ...summary, severity: rule.severity, ...alerting }];
  });
  const bySeverity = Object.fromEntries(
    (["critical", "warning", "info"] as const).map((severity: Severity) => {
      const of = reports.filter((r) => r.severity === severity);
      return [
        severity,
        {
          fired: of.reduce((sum, r) => sum + r.fired, 0),
          firingMs: of.reduce((sum, r) => sum + r.firingMs, 0),
          notifications: addCounts(of.map((r) => r.notifications)),
        },
      ];
    }),
  ) as BacktestSummary["bySeverity"];
  return {
    rules: reports,
    summary: {
      alerts: reports.reduce((sum, r) => sum + r.alerts.length, 0),
      fired: reports.reduce((sum, r) => sum + r.fired, 0),
      firingMs: reports.reduce((sum, r) => sum + r.firingMs, 0),
      notifications: addCounts(reports.map((r) => r.notifications)),
      bySeverity,
    },
  };
}
