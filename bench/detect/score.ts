/**
 * Scores one scenario of the detection benchmark from its replayed alerts: which alert caught
 * the failure and how long after injection (simulated minutes), and which alerts fired in the
 * stable period before it (false alarms). Also the table and summary printed by run.ts.
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
 */

import type { Rule } from "../../src/rules/rule.ts";
import { failingServices, selectsAny } from "./bench-rules.ts";
import type { AlertHistory, ReplayInput } from "./replay-alerts.ts";
import { SCENARIOS, type ScenarioId } from "./scenarios.ts";
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
};

/** Rules expected to catch a scenario: scenarios.ts `caughtBy` and its suggested rule. */
export function expectedRules(scenario: ScenarioId): string[] {
  const info = SCENARIOS.find((s) => s.id === scenario);
  return [...(info?.caughtBy ?? []), ...(SUGGESTED_RULES[scenario] ?? [])];
}

/** Whether a replay step shows the scenario's failure (see the file comment). */
export function evidenceJudge(
  simulation: Simulation,
  rules: readonly Rule[],
): (ruleId: string, input: ReplayInput) => boolean {
  const affected = new Set(simulation.affected.traceIds);
  const services = failingServices(simulation.scenario);
  const covers = new Map(rules.map((rule) => [rule.id, selectsAny(rule, services, rules)]));
  return (ruleId, input) => {
    if (input.at < simulation.injectedAtMs) return false;
    switch (input.type) {
      case "findings":
        return input.findings.some(
          (finding) => finding.at >= simulation.injectedAtMs && affected.has(finding.traceId),
        );
      case "window":
        // The evaluated window has to hold traffic from after injection.
        return (
          input.evaluation.status === "drift" &&
          Date.parse(input.evaluation.at) > simulation.injectedAtMs &&
          covers.get(ruleId) === true
        );
      case "rate":
        // At least one complete minute after injection in the window.
        return (
          input.failed > 0 &&
          input.at >= simulation.injectedAtMs + MINUTE &&
          services.includes(input.service)
        );
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
  const isControl = scenario === "control";
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
  /** Alerts in the control run (the whole run). */
  falseAlarmsControl: number;
  /** Over the detected scenarios. */
  medianTtdMinutes: number | null;
}

export function summarise(scores: readonly ScenarioScore[]): Summary {
  const failures = scores.filter((s) => s.scenario !== "control");
  const ttds = failures.flatMap((s) => (s.ttdMinutes === null ? [] : [s.ttdMinutes]));
  const before = failures.map((s) => s.falseAlarms.length);
  return {
    recall: { detected: failures.filter((s) => s.detected).length, of: failures.length },
    falseAlarmsBeforeInjection: {
      min: before.length === 0 ? 0 : Math.min(...before),
      max: before.length === 0 ? 0 : Math.max(...before),
      total: before.reduce((a, b) => a + b, 0),
    },
    falseAlarmsControl: scores.find((s) => s.scenario === "control")?.controlAlerts ?? 0,
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
    const caught =
      s.scenario === "control"
        ? "—"
        : s.rule === null
          ? "**no**"
          : `${s.rule}${s.alert ? ` (${s.alert})` : ""}${s.detections[0]?.expected === false ? " ¹" : ""}`;
    const ttd = s.ttdMinutes === null ? "—" : String(s.ttdMinutes);
    const alarms =
      s.scenario === "control"
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
