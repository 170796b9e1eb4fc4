/**
 * The alerts a rule set would have raised, replayed for a backtest: the live alert manager
 * (alert-manager.ts, the same code and so the same state machine, grouping and fingerprints)
 * run on a simulated clock. It is handed what the backtest found at the times the live service
 * would have had it (backtest.ts), ticks every `tickMs` of simulated time as the service does
 * (for-durations, repeats, resolutions, rate windows), and reads its rate windows from
 * counters kept like `check_counts` from the backtest's own evaluations (rate-counters.ts).
 * Its store and outbox are a recorder (episode-recorder.ts): every episode of every alert, and
 * every message each channel would have received, silenced ones apart. Nothing is stored and
 * nothing is sent.
 *
 * The rules are taken as switched on at `sinceMs`: no alert is open then, and rate windows
 * start empty.
 */

import type { Rule } from "../rules/rule.ts";
import type { CheckEvaluation, Finding, WindowEvaluation } from "../rules/findings.ts";
import type { ParsedAlertSpec } from "../rules/alert-spec.ts";
import { createAlertManager } from "./alert-manager.ts";
import { createEpisodeRecorder } from "./episode-recorder.ts";
import { createRateCounters } from "./rate-counters.ts";
import type { Silence } from "./silences.ts";
import type { Alert, AlertExample, Measurement } from "./types.ts";

export interface AlertReplayOptions {
  /** The rules replayed (their alert specs, parsed when they were loaded). */
  rules: readonly Rule[];
  /** When the rules are taken as switched on: the first tick is the first after it. */
  sinceMs: number;
  /** alerts.tickMs of the service replayed. */
  tickMs: number;
  /** The channels an alert goes to (the service's routes). */
  route(alert: Alert): string[];
  /** Channels that repost a firing alert every so often (Alertmanager's API), name → ms. */
  resendEvery?: ReadonlyMap<string, number>;
  /** Silences applied to each message at its time; none when not given. */
  silences?: readonly Silence[];
}

/** The messages of an alert (or a rule's alerts). */
export interface NotificationCounts {
  /** Notifications of each kind; each one goes to every channel its route picks. */
  firing: number;
  repeat: number;
  resolved: number;
  /** Messages per channel, silenced ones left out (Alertmanager channels: their resends too). */
  channels: Record<string, number>;
  /** Messages a silence held back. */
  silenced: number;
}

/** The highest the episode's condition went. */
export interface EpisodePeak {
  /** ISO 8601: when it was measured (each: at the latest failure). */
  at: string;
  /** each: failing outputs of the episode; rate: of the window; window rules: hits. */
  failed: number;
  evaluated: number;
  /** failed / evaluated (null when nothing was evaluated). */
  ratio: number | null;
  /** Window rules: the evaluation furthest past its threshold. */
  measurement?: Measurement;
}

/** An example of an episode, and when (simulated) the alert took it in. */
export interface EpisodeExample extends AlertExample {
  seenAt: string;
}

/** One episode of one alert: from pending (or straight firing) to resolved or dropped. */
export interface AlertEpisode {
  fingerprint: string;
  /** As its notifications carry them: the rule's labels, the group labels, rule, severity. */
  labels: Record<string, string>;
  /** The group labels, which with the rule id make the fingerprint (empty values left out). */
  group: Record<string, string>;
  /** ISO 8601 times; null when it did not happen by the end of the backtest. */
  pendingAt: string;
  firingAt: string | null;
  resolvedAt: string | null;
  /** A pending episode that stopped holding before it could fire (nothing was sent). */
  droppedAt: string | null;
  /** Time spent firing, up to resolvedAt or the end of the backtest. */
  firingMs: number;
  peak: EpisodePeak;
  /** Its first examples (at most 5), oldest first. */
  examples: EpisodeExample[];
  notifications: NotificationCounts;
}

/** What one rule's alerts did. */
export interface RuleAlerts {
  ruleId: string;
  mode: ParsedAlertSpec["mode"];
  /** Every episode of every alert of the rule, by the time it started. */
  alerts: AlertEpisode[];
  /** Episodes that fired, and their time spent firing, summed. */
  fired: number;
  firingMs: number;
  notifications: NotificationCounts;
}

export interface AlertReplay {
  /** What the engine handed on at `atMs` (outputs and traces evaluated then). */
  evaluated(atMs: number, findings: Finding[], evaluations: CheckEvaluation[]): Promise<void>;
  /** A window rule's evaluation, at the time the scheduler ran it. */
  windowEvaluated(atMs: number, evaluation: WindowEvaluation): Promise<void>;
  /** Lets time pass up to `untilMs` and answers what each rule's alerts did, in rule order. */
  finish(untilMs: number): Promise<RuleAlerts[]>;
}

export function createAlertReplay(options: AlertReplayOptions): AlertReplay {
  const tickMs = options.tickMs;
  let clock = options.sinceMs;
  let nextTick = Math.floor(options.sinceMs / tickMs) * tickMs + tickMs;
  const errors: unknown[] = [];
  const rateWindows = new Map(
    options.rules.flatMap((rule) =>
      rule.alertSpec.mode === "rate" ? [[rule.id, rule.alertSpec.windowMs] as const] : [],
    ),
  );
  const counters = createRateCounters(rateWindows);
  const recorder = createEpisodeRecorder({
    rules: options.rules,
    ...(options.silences !== undefined && { silences: options.silences }),
    now: () => clock,
  });

  const manager = createAlertManager({
    rules: () => options.rules,
    store: recorder.store,
    initialRecords: [],
    enqueue: recorder.enqueue,
    route: options.route,
    ...(options.resendEvery !== undefined && { resendEvery: options.resendEvery }),
    rateCounts: async (ruleId, windowMs) => counters.window(ruleId, windowMs, clock),
    linkTemplates: {},
    externalUrl: "",
    onError: (error) => errors.push(error),
    now: () => clock,
  });

  /** Ticks as the service would have, up to (not including) `atMs`. */
  async function advanceTo(atMs: number): Promise<void> {
    if (atMs < clock) {
      throw new Error(`alert replay: time went back from ${iso(clock)} to ${iso(atMs)}`);
    }
    while (nextTick < atMs) {
      // With no alert open and every rate window empty a tick changes nothing, and nothing
      // changes that before the next input: skip to it.
      if (!recorder.anyOpen() && !counters.anyInWindow(nextTick)) {
        nextTick = Math.ceil(atMs / tickMs) * tickMs;
        break;
      }
      clock = nextTick;
      await manager.tick();
      nextTick += tickMs;
    }
    clock = atMs;
  }

  function failIfBroken(): void {
    if (errors.length === 0) return;
    const error = errors[0];
    throw new Error(
      `alert replay failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  return {
    async evaluated(atMs, findings, evaluations) {
      await advanceTo(atMs);
      counters.add(evaluations);
      manager.onEvaluated(findings, evaluations);
      await manager.idle();
      failIfBroken();
    },
    async windowEvaluated(atMs, evaluation) {
      await advanceTo(atMs);
      await manager.onWindowResult(evaluation);
      failIfBroken();
    },
    async finish(untilMs) {
      await advanceTo(untilMs + 1);
      clock = untilMs;
      failIfBroken();
      return recorder.results(untilMs);
    },
  };
}

/** The sum of several counts. */
export function addCounts(all: readonly NotificationCounts[]): NotificationCounts {
  const sum: NotificationCounts = { firing: 0, repeat: 0, resolved: 0, channels: {}, silenced: 0 };
  for (const counts of all) {
    sum.firing += counts.firing;
    sum.repeat += counts.repeat;
    sum.resolved += counts.resolved;
    sum.silenced += counts.silenced;
    for (const [channel, n] of Object.entries(counts.channels)) {
      sum.channels[channel] = (sum.channels[channel] ?? 0) + n;
    }
  }
  return sum;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
