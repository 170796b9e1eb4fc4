/**
 * The alerts a service would have raised, replayed in simulated time: the product's own state
 * machine (src/alert/state-machine.ts) stepped with each rule's parsed alert spec, as the alert
 * manager steps it, but at the simulated times of what it is fed.
 *
 * - each: a step per batch of findings of one alert (same fingerprint, same output time), at
 *   the output's time; trace findings `traceQuietMs` later, when the trace would have been
 *   evaluated.
 * - window (rate and drift checks): a step per backtest evaluation, `windowSettleMs` after the
 *   window's end, when the scheduler would have run it.
 * - rate: a step every `tickMs` with the failed / evaluated counts of the complete minutes of
 *   the window (check_counts, per service and agent), as the manager's tick sums them.
 * Between inputs, every `tickMs`, a tick lets time pass for an alert that is pending or firing
 * (for-durations, resolutions).
 */

import { parseAlertSpec, type ParsedAlertSpec } from "../../src/rules/alert-spec.ts";
import { fingerprint, groupLabelsOf } from "../../src/alert/fingerprint.ts";
import {
  newAlertRecord,
  step,
  type AlertInput,
  type AlertRecord,
} from "../../src/alert/state-machine.ts";
import type { AlertExample, Measurement } from "../../src/alert/types.ts";
import type { BacktestWindow } from "../../src/evaluate/backtest.ts";
import type { Rule } from "../../src/rules/rule.ts";
import type { MinuteCount, StoredFinding } from "./store-dump.ts";

const MINUTE = 60_000;

export interface ReplayTiming {
  /** The alert manager's tick (config alerts.tickMs). */
  tickMs: number;
  /** Trace rules run once a trace is quiet this long (config evaluate.traceQuietMs). */
  traceQuietMs: number;
  /** A window is evaluated this long after it ends (config evaluate.windowSettleMs). */
  windowSettleMs: number;
}

/** What one step fed an alert, for the caller to judge whether it is evidence of the failure. */
export type ReplayInput =
  | { type: "findings"; at: number; findings: readonly StoredFinding[] }
  | { type: "window"; at: number; evaluation: BacktestWindow }
  | { type: "rate"; at: number; service: string; failed: number; evaluated: number };

export interface ReplayOptions {
  rules: readonly Rule[];
  findings: readonly StoredFinding[];
  /** Backtest evaluations of each window rule, by rule id. */
  windows: ReadonlyMap<string, readonly BacktestWindow[]>;
  minuteCounts: readonly MinuteCount[];
  fromMs: number;
  untilMs: number;
  timing: ReplayTiming;
  /**
   * Whether a step's input shows the failure under test (a finding on an affected run, a
   * drift after injection …). An alert that is firing in an episode that has had such a step
   * has detected the failure.
   */
  isEvidence?: (ruleId: string, input: ReplayInput) => boolean;
}

/** The history of one alert (one fingerprint). */
export interface AlertHistory {
  fingerprint: string;
  ruleId: string;
  mode: ParsedAlertSpec["mode"];
  labels: Record<string, string>;
  /** Times the alert started firing (its "firing" notifications), oldest first. */
  firings: number[];
  /** The first time it was firing in an episode that had evidence (see isEvidence). */
  firingOnEvidenceAt: number | undefined;
}

interface Feed {
  ruleId: string;
  spec: ParsedAlertSpec;
  labels: Record<string, string>;
  /** Inputs in time order (each, window); rate alerts compute theirs at each tick. */
  inputs: { at: number; input: AlertInput; replay: ReplayInput }[];
  rateAt?: (at: number) => { input: AlertInput; replay: ReplayInput };
}

/** Replays every alert the rules would have raised over [fromMs, untilMs]. */
export function replayAlerts(options: ReplayOptions): AlertHistory[] {
  const feeds = new Map<string, Feed>();
  const specs = new Map<string, { rule: Rule; spec: ParsedAlertSpec }>();
  for (const rule of options.rules) {
    const windowed = rule.check.type === "rate" || rule.check.type === "drift";
    const parsed = parseAlertSpec(rule.alert, rule.labels, windowed);
    if (!parsed.ok) {
      throw new Error(`${rule.id}: ${parsed.errors.map((e) => e.message).join("; ")}`);
    }
    specs.set(rule.id, { rule, spec: parsed.spec });
  }
  const feedOf = (ruleId: string, spec: ParsedAlertSpec, labels: Record<string, string>) => {
    const fp = fingerprint(ruleId, labels);
    let feed = feeds.get(fp);
    if (feed === undefined) {
      feed = { ruleId, spec, labels, inputs: [] };
      feeds.set(fp, feed);
    }
    return { fp, feed };
  };

  // each: findings of one alert at one output time form one batch.
  const batches = new Map<string, { feed: Feed; at: number; findings: StoredFinding[] }>();
  for (const finding of options.findings) {
    const found = specs.get(finding.ruleId);
    if (found === undefined || found.spec.mode !== "each") continue;
    const labels = groupLabelsOf(found.spec, found.rule, finding.labels);
    const { fp, feed } = feedOf(finding.ruleId, found.spec, labels);
    const at = finding.at + (finding.scope === "trace" ? options.timing.traceQuietMs : 0);
    const key = `${fp}@${at}`;
    const batch = batches.get(key) ?? { feed, at, findings: [] };
    batch.findings.push(finding);
    batches.set(key, batch);
  }
  for (const { feed, at, findings } of batches.values()) {
    const failed = new Set(findings.map((f) => `${f.traceId}/${f.spanId}`)).size;
    feed.inputs.push({
      at,
      input: {
        type: "failures",
        findings: findings.slice(0, 5).map(example),
        failed,
        evaluated: failed,
      },
      replay: { type: "findings", at, findings },
    });
  }

  // window: one alert per rule, stepped by each evaluation.
  for (const [ruleId, evaluations] of options.windows) {
    const found = specs.get(ruleId);
    if (found === undefined || found.spec.mode !== "window") continue;
    const { feed } = feedOf(ruleId, found.spec, {});
    for (const evaluation of evaluations) {
      const at = Date.parse(evaluation.at) + options.timing.windowSettleMs;
      feed.inputs.push({
        at,
        input: {
          type: "window",
          status: evaluation.status,
          failed: 0,
          evaluated: evaluation.currentSize,
          measurement: measurementOf(found.rule, evaluation),
        },
        replay: { type: "window", at, evaluation },
      });
    }
  }

  // rate: per group, the complete minutes of the window at each tick.
  const rateGroups = new Map<string, { feed: Feed; minutes: Map<number, [number, number]> }>();
  for (const count of options.minuteCounts) {
    const found = specs.get(count.ruleId);
    if (found === undefined || found.spec.mode !== "rate") continue;
    const labels = groupLabelsOf(found.spec, found.rule, {
      service: count.service,
      agent: count.agent,
      operation: "",
      model: "",
      tool: "",
    });
    const { fp, feed } = feedOf(count.ruleId, found.spec, labels);
    const group = rateGroups.get(fp) ?? { feed, minutes: new Map() };
    const sum = group.minutes.get(count.minute) ?? [0, 0];
    group.minutes.set(count.minute, [sum[0] + count.failed, sum[1] + count.evaluated]);
    rateGroups.set(fp, group);
  }
  for (const { feed, minutes } of rateGroups.values()) {
    const spec = feed.spec;
    if (spec.mode !== "rate") continue;
    const service = feed.labels["service"] ?? "";
    feed.rateAt = (at) => {
      let failed = 0;
      let evaluated = 0;
      const first = Math.floor((at - spec.windowMs) / MINUTE) * MINUTE;
      for (let minute = first; minute + MINUTE <= at; minute += MINUTE) {
        const counts = minutes.get(minute);
        if (counts === undefined) continue;
        failed += counts[0];
        evaluated += counts[1];
      }
      return {
        input: { type: "rate", failed, evaluated },
        replay: { type: "rate", at, service, failed, evaluated },
      };
    };
  }

  return [...feeds.entries()].map(([fp, feed]) => runFeed(fp, feed, options));
}

function runFeed(fp: string, feed: Feed, options: ReplayOptions): AlertHistory {
  const { tickMs } = options.timing;
  const history: AlertHistory = {
    fingerprint: fp,
    ruleId: feed.ruleId,
    mode: feed.spec.mode,
    labels: feed.labels,
    firings: [],
    firingOnEvidenceAt: undefined,
  };
  let record: AlertRecord = newAlertRecord({
    fingerprint: fp,
    ruleId: feed.ruleId,
    labels: feed.labels,
  });
  let evidenceInEpisode = false;
  const apply = (at: number, input: AlertInput, replay: ReplayInput | undefined) => {
    const result = step(record, input, at, feed.spec);
    record = result.record;
    if (result.notify === "firing") history.firings.push(at);
    if (replay !== undefined && options.isEvidence?.(feed.ruleId, replay) === true) {
      evidenceInEpisode = true;
    }
    if (record.state === "inactive" || record.state === "resolved") evidenceInEpisode = false;
    if (record.state === "firing" && evidenceInEpisode) history.firingOnEvidenceAt ??= at;
  };

  const inputs = [...feed.inputs].sort((a, b) => a.at - b.at);
  let next = 0;
  const firstTick = Math.ceil(options.fromMs / tickMs) * tickMs;
  for (let tick = firstTick; tick <= options.untilMs; tick += tickMs) {
    for (; next < inputs.length && (inputs[next]?.at ?? Infinity) <= tick; next++) {
      const item = inputs[next];
      if (item !== undefined) apply(item.at, item.input, item.replay);
    }
    if (feed.rateAt !== undefined) {
      const { input, replay } = feed.rateAt(tick);
      apply(tick, input, replay);
    } else if (record.state === "pending" || record.state === "firing") {
      apply(tick, { type: "tick" }, undefined);
    }
  }
  for (; next < inputs.length; next++) {
    const item = inputs[next];
    if (item !== undefined) apply(item.at, item.input, item.replay);
  }
  return history;
}

function example(finding: StoredFinding): AlertExample {
  return {
    traceId: finding.traceId,
    spanId: finding.spanId,
    field: "",
    observed: "",
    message: "",
    at: new Date(finding.at).toISOString(),
  };
}

function measurementOf(rule: Rule, evaluation: BacktestWindow): Measurement {
  return {
    checkType: rule.check.type === "rate" ? "rate" : "drift",
    method: evaluation.method,
    field: "",
    statistic: evaluation.statistic,
    pValue: evaluation.pValue,
    threshold: evaluation.threshold,
    direction: "",
    windowStart: evaluation.at,
    windowEnd: evaluation.at,
    referenceStart: null,
    referenceEnd: null,
    currentSize: evaluation.currentSize,
    referenceSize: evaluation.referenceSize,
    message: evaluation.message,
  };
}
