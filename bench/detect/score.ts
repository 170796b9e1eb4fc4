/**
 * Scores one scenario of the detection benchmark from the alerts its backtest replayed (the
 * product's, POST /api/backtest): which alert caught the failure and how long after injection
 * (simulated minutes), and which alerts fired in the stable period before it (false alarms).
 * Also the table and summary printed by run.ts.
 *
 * What counts as catching the failure, decided before any result was seen:
 * - evidence: a finding on a run the failure touched (the simulation's ground truth), or, for
 *   a window rule (rate, drift) or a rate alert that covers a failing service, a breach in a
 *   window holding traffic from after injection;
 * - a detection is an alert firing in an episode that had evidence, of a rule expected to catch
 *   the scenario (scenarios.ts `caughtBy` and the suggested rule written for it) or of any
 *   other rule that raised no alert in the scenario's stable period nor in the control run (a
 *   plausible catch, marked as not expected). A rule that alarms on noise gets no credit by
 *   luck.
 *
 * Where an episode's evidence is seen, and when it came: `each`, among the episode's first
 * examples (each with the time the alert took it in); window rules, among the rule's window
 * evaluations, each stepped `windowSettleMs` after its window ended; `rate`, the first tick at
 * least a minute after injection while the episode is open, for a failing service's alert.
 */

import type { AlertEpisode } from "../../src/alert/alert-replay.ts";
import type { BacktestReplayTiming, BacktestRuleReport } from "../../src/api/rules-routes.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { failingServices, selectsAny } from "./bench-rules.ts";
import { isControlScenario, SCENARIOS, type ScenarioId } from "./scenarios.ts";
import type { Simulation } from "./simulator.ts";

const MINUTE = 60_000;

/** The rules of bench/detect/suggested-rules written for the scenarios the others miss. */
export const SUGGESTED_RULES: Partial<Record<ScenarioId, readonly string[]>> = {
  "broken-json": ["orders-parse-complete"],
  "category-shift": ["orders-order-type-mix"],
  "unit-error": ["orders-total-drift"],
  "shorter-after-model-change": ["research-answer-length-after-model-change"],
  "tool-latency": ["fetch-page-latency-drift"],
  "stopped-calling-tool": ["orders-stock-checked-before-create"],
  "field-disappears": ["orders-total-present"],
};

/** Rules expected to catch a scenario: scenarios.ts `caughtBy` and its suggested rule. */
export function expectedRules(scenario: ScenarioId): string[] {
  const info = SCENARIOS.find((s) => s.id === scenario);
  return [...(info?.caughtBy ?? []), ...(SUGGESTED_RULES[scenario] ?? [])];
}

/** The history of one alert (one fingerprint) of a backtest. */
export interface AlertHistory {
  fingerprint: string;
  ruleId: string;
  /** The alert's group labels (none for a window rule: one alert per rule). */
  labels: Record<string, string>;
  /** Times the alert started firing (its "firing" notifications), oldest first. */
  firings: number[];
  /** The first time it was firing in an episode that had evidence. */
  firingOnEvidenceAt: number | undefined;
}

/** The alerts of a backtest's rules, each with when (if ever) it fired on evidence. */
export function alertHistories(
  simulation: Simulation,
  rules: readonly Rule[],
  reports: readonly BacktestRuleReport[],
  timing: BacktestReplayTiming,
): AlertHistory[] {
  const evidenceAt = evidenceJudge(simulation, rules, timing);
  const histories = new Map<string, AlertHistory>();
  for (const report of reports) {
    for (const episode of report.alerts) {
      let history = histories.get(episode.fingerprint);
      if (history === undefined) {
        history = {
          fingerprint: episode.fingerprint,
          ruleId: report.ruleId,
          labels: episode.group,
          firings: [],
          firingOnEvidenceAt: undefined,
        };
        histories.set(episode.fingerprint, history);
      }
      if (episode.firingAt === null) continue;
      const firingAt = Date.parse(episode.firingAt);
      history.firings.push(firingAt);
      const evidence = evidenceAt(report, episode);
      if (evidence === undefined) continue;
      // Evidence while pending counts once the episode fires; evidence later, from then.
      const onEvidence = Math.max(firingAt, evidence);
      history.firingOnEvidenceAt = Math.min(history.firingOnEvidenceAt ?? onEvidence, onEvidence);
    }
  }
  for (const history of histories.values()) history.firings.sort((a, b) => a - b);
  return [...histories.values()];
}

/** When an episode first had evidence of the scenario's failure, if it did (see the header). */
export function evidenceJudge(
  simulation: Simulation,
  rules: readonly Rule[],
  timing: BacktestReplayTiming,
): (report: BacktestRuleReport, episode: AlertEpisode) => number | undefined {
  const injectedAt = simulation.injectedAtMs;
  const affected = new Set(simulation.affected.traceIds);
  const services = failingServices(simulation.scenario);
  const covers = new Map(rules.map((rule) => [rule.id, selectsAny(rule, services, rules)]));
  return (report, episode) => {
    const start = Date.parse(episode.pendingAt);
    const endIso = episode.resolvedAt ?? episode.droppedAt;
    const end = endIso === null ? Number.POSITIVE_INFINITY : Date.parse(endIso);
    switch (report.mode) {
      case "each": {
        const example = episode.examples.find(
          (e) => Date.parse(e.at) >= injectedAt && affected.has(e.traceId),
        );
        return example === undefined ? undefined : Date.parse(example.seenAt);
      }
      case "window": {
        if (covers.get(report.ruleId) !== true) return undefined;
        // An absence rule's alert is one entity's: it must be a failing service.
        const service = episode.group["service"];
        if (service !== undefined && !services.includes(service)) return undefined;
        // The evaluated window has to hold traffic from after injection.
        for (const evaluation of report.windows ?? []) {
          const windowEnd = Date.parse(evaluation.at);
          const steppedAt = windowEnd + timing.windowSettleMs;
          const found = evaluation.status === "drift" || evaluation.status === "disappeared";
          if (!found || windowEnd <= injectedAt) continue;
          if (steppedAt >= start && steppedAt < end) return steppedAt;
        }
        return undefined;
      }
      case "rate": {
        // At least one complete minute after injection in the window, while the episode is open.
        if (!services.includes(episode.labels["service"] ?? "") || episode.peak.failed === 0) {
          return undefined;
        }
        const from = Math.max(start, injectedAt + MINUTE);
        const tick = Math.ceil(from / timing.tickMs) * timing.tickMs;
        return tick < end ? tick : undefined;
      }
    }
  };
}

export interface AlertAt {
  rule: string;
  /** The alert's group labels, `service=…,agent=…` ("" for window rules: one alert per rule). */
  alert: string;
  /** ISO 8601, simulated time. */
  at: string;
}

export interface Detection {
  rule: string;
  alert: string;
  /** Whether the rule is one expected to catch the scenario. */
  expected: boolean;
  ttdMinutes: number;
}

export interface ScenarioScore {
  scenario: ScenarioId;
  detected: boolean;
  /** The earliest detection (expected rules first when tied), or null. */
  rule: string | null;
  alert: string | null;
  ttdMinutes: number | null;
  /** Every rule that caught it, earliest first. */
  detections: Detection[];
  /** Alerts that started firing before injection (the control run: all of them). */
  falseAlarms: AlertAt[];
  /** Alerts after injection that are not detections (noise, or another rule's side effect). */
  otherAlertsAfterInjection: AlertAt[];
  /** The control run only: every alert of the whole run. */
  controlAlerts: number | null;
  runs: number;
  affectedRuns: number;
}

/**
 * Scores a scenario's replayed alerts against its ground truth; `controlAlertRules` are the
 * rules that alerted in the control run.
 */
export function scoreScenario(
  simulation: Simulation,
  histories: readonly AlertHistory[],
  controlAlertRules: ReadonlySet<string> = new Set(),
): ScenarioScore {
  const scenario = simulation.scenario;
  const injectedAt = simulation.injectedAtMs;
  const isControl = isControlScenario(scenario);
  const expected = new Set(expectedRules(scenario));
  const label = (history: AlertHistory) =>
    Object.entries(history.labels)
      .filter(([, value]) => value !== "")
      .map(([name, value]) => `${name}=${value}`)
      .join(",");
  const alertAt = (history: AlertHistory, at: number): AlertAt => ({
    rule: history.ruleId,
    alert: label(history),
    at: new Date(at).toISOString(),
  });
  const byTime = (a: AlertAt, b: AlertAt) =>
    a.at.localeCompare(b.at) || a.rule.localeCompare(b.rule);

  const falseAlarms = histories
    .flatMap((h) =>
      h.firings.filter((at) => isControl || at < injectedAt).map((at) => alertAt(h, at)),
    )
    .sort(byTime);
  const noisyRules = new Set([...controlAlertRules, ...falseAlarms.map((alarm) => alarm.rule)]);

  const detecting = isControl
    ? []
    : histories.filter(
        (h) =>
          h.firingOnEvidenceAt !== undefined &&
          (expected.has(h.ruleId) || !noisyRules.has(h.ruleId)),
      );
  const detections: Detection[] = detecting
    .map((h) => ({
      rule: h.ruleId,
      alert: label(h),
      expected: expected.has(h.ruleId),
      ttdMinutes: round1(((h.firingOnEvidenceAt ?? injectedAt) - injectedAt) / MINUTE),
    }))
    .sort((a, b) => a.ttdMinutes - b.ttdMinutes || Number(b.expected) - Number(a.expected));
  const detectingSet = new Set(detecting);
  const otherAlertsAfterInjection = isControl
    ? []
    : histories
        .flatMap((h) =>
          h.firings
            .filter((at) => at >= injectedAt && !detectingSet.has(h))
            .map((at) => alertAt(h, at)),
        )
        .sort(byTime);

  const first = detections[0];
  return {
    scenario,
    detected: first !== undefined,
    rule: first?.rule ?? null,
    alert: first?.alert ?? null,
    ttdMinutes: first?.ttdMinutes ?? null,
    detections,
    falseAlarms,
    otherAlertsAfterInjection,
    controlAlerts: isControl ? falseAlarms.length : null,
    runs: simulation.runs,
    affectedRuns: simulation.affected.runs,
  };
}

export interface Summary {
  /** Failure scenarios detected, of all failure scenarios. */
  recall: { detected: number; of: number };
  /**
   * Alerts before injection, per failure scenario: fewest and most. Every stable period is the
   * control run's first hours, so they are usually the same alerts in every scenario.
   */
  falseAlarmsBeforeInjection: { min: number; max: number; total: number };
  /** Alerts in the control runs (the whole run: control, traffic-lull). */
  falseAlarmsControl: number;
  /** Over the detected scenarios. */
  medianTtdMinutes: number | null;
}

export function summarise(scores: readonly ScenarioScore[]): Summary {
  const failures = scores.filter((s) => !isControlScenario(s.scenario));
  const ttds = failures.flatMap((s) => (s.ttdMinutes === null ? [] : [s.ttdMinutes]));
  const before = failures.map((s) => s.falseAlarms.length);
  return {
    recall: { detected: failures.filter((s) => s.detected).length, of: failures.length },
    falseAlarmsBeforeInjection: {
      min: before.length === 0 ? 0 : Math.min(...before),
      max: before.length === 0 ? 0 : Math.max(...before),
      total: before.reduce((a, b) => a + b, 0),
    },
    falseAlarmsControl: scores.reduce((sum, s) => sum + (s.controlAlerts ?? 0), 0),
    medianTtdMinutes: ttds.length === 0 ? null : round1(median(ttds)),
  };
}

/** The summary in one line. */
export function summaryLine(summary: Summary): string {
  const { recall, falseAlarmsBeforeInjection: before, falseAlarmsControl } = summary;
  const ttd = summary.medianTtdMinutes === null ? "n/a" : `${summary.medianTtdMinutes} min`;
  const perScenario = before.min === before.max ? `${before.min}` : `${before.min}–${before.max}`;
  return `recall ${recall.detected}/${recall.of}, false alarms ${falseAlarmsControl} in the control run and ${perScenario} before injection in each scenario, median time to detect ${ttd} (simulated, over the detected scenarios)`;
}

/** The results as a Markdown table, a row per scenario. */
export function formatTable(scores: readonly ScenarioScore[]): string {
  const rows = scores.map((s) => {
    const caught = isControlScenario(s.scenario)
      ? "—"
      : s.rule === null
        ? "**no**"
        : `${s.rule}${s.alert ? ` (${s.alert})` : ""}${s.detections[0]?.expected === false ? " ¹" : ""}`;
    const ttd = s.ttdMinutes === null ? "—" : String(s.ttdMinutes);
    const alarms = isControlScenario(s.scenario)
      ? `${s.controlAlerts ?? 0}${s.falseAlarms.length > 0 ? `: ${countByRule(s.falseAlarms)}` : ""}`
      : `${s.falseAlarms.length}${s.falseAlarms.length > 0 ? `: ${countByRule(s.falseAlarms)}` : ""}`;
    const other =
      s.otherAlertsAfterInjection.length === 0
        ? "0"
        : `${s.otherAlertsAfterInjection.length}: ${countByRule(s.otherAlertsAfterInjection)}`;
    return [s.scenario, caught, ttd, alarms, other];
  });
  const header = [
    "scenario",
    "detected by (rule, alert)",
    "time to detect (sim. min)",
    "false alarms before injection (control: all alerts)",
    "other alerts after injection",
  ];
  return markdownTable(header, rows);
}

function countByRule(alerts: readonly AlertAt[]): string {
  const counts = new Map<string, number>();
  for (const alert of alerts) counts.set(alert.rule, (counts.get(alert.rule) ?? 0) + 1);
  return [...counts].map(([rule, n]) => `${rule} ×${n}`).join(", ");
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
