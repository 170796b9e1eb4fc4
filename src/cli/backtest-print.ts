/**
 * How `plumbline backtest` prints a report: per rule what it found, its window evaluations,
 * then a timeline of its alert episodes and the notifications they would have sent; then the
 * summary. With `--compare`, two reports side by side, a row per rule.
 */

import type { NotificationCounts } from "../alert/alert-replay.ts";
import type { BacktestReport, BacktestRuleReport } from "../api/rules-routes.ts";
import type { JudgeRuleResult } from "../evaluate/judge/judge-backtest.ts";
import type { Out } from "./rules-commands.ts";

/** Episodes printed per rule; --json has them all. */
const EPISODES_SHOWN = 20;

export function printReport(report: BacktestReport, io: Out): void {
  for (const rule of report.rules) {
    printFindings(rule, io);
    printAlerts(rule, io);
  }
  const { summary } = report;
  const severities = (["critical", "warning", "info"] as const)
    .filter((severity) => summary.bySeverity[severity].fired > 0)
    .map((severity) => `${severity} ${summary.bySeverity[severity].fired}`);
  io.out(
    `summary: ${summary.fired} alert(s) fired${severities.length > 0 ? ` (${severities.join(", ")})` : ""}, firing ${duration(summary.firingMs)} in all; ${notificationText(summary.notifications)}`,
  );
}

function printFindings(s: BacktestRuleReport, io: Out): void {
  const rate = s.evaluated > 0 ? ((s.failed / s.evaluated) * 100).toFixed(1) : "0.0";
  io.out(
    `${s.ruleId} (${s.ruleVersion}): ${s.failed} of ${s.evaluated} failed (${rate}%), ${s.findings} finding(s)`,
  );
  if (s.firstAt !== undefined) io.out(`  first ${s.firstAt}, last ${s.lastAt}`);
  for (const e of s.examples)
    io.out(`  e.g. trace ${e.traceId} span ${e.spanId}: ${e.code} ${e.field}: ${e.message}`);
  if (s.windows !== undefined) printWindows(s.windows, io);
  const run = s.judge?.run;
  if (s.judge !== undefined && run !== undefined) {
    io.out(
      `  judged a sample of ${s.judge.sampled} of ${s.judge.matched} matched output(s): ${run.called} call(s), ${run.fromCache} from the cache (free), ${run.errors} judge error(s), ${run.budgetSkipped} over budget; ${count(run.tokens)} tokens, ${dollars(run.costUsd)}`,
    );
    if (run.lastError !== undefined) io.out(`  last judge error: ${run.lastError}`);
  }
}

/**
 * Judge rules' plan, before anything is sent: per rule what matched, what is sampled, what
 * the cache answers for free, and the calls, tokens and cost of the rest.
 */
export function printJudgePlan(plan: readonly JudgeRuleResult[], io: Out): void {
  const first = plan[0]?.summary;
  if (first === undefined) return;
  const { promptPerMillion, replyPerMillion } = first.price;
  io.out(
    `judge plan (nothing sent yet), at $${promptPerMillion.toFixed(2)} / $${replyPerMillion.toFixed(2)} per million prompt / reply tokens:`,
  );
  let calls = 0;
  let tokens = 0;
  let cost = 0;
  for (const { ruleId, summary: p } of plan) {
    calls += p.calls;
    tokens += p.promptTokens + p.replyTokens;
    cost += p.costUsd;
    io.out(
      `  ${ruleId}: ${count(p.matched)} output(s) matched, ${count(p.inRuleSample)} in the rule's sample, ${count(p.sampled)} to judge; ${count(p.cached)} cached (free), ${count(p.calls)} call(s) of ${p.model === "" ? "(no model set)" : p.model}, ~${count(p.promptTokens)} prompt + ~${count(p.replyTokens)} reply tokens, ~${dollars(p.costUsd)}${p.minutes > 0 ? `, ~${p.minutes} min at the calls-per-minute limit` : ""}`,
    );
  }
  io.out(`  in all: ${count(calls)} call(s), ~${count(tokens)} tokens, ~${dollars(cost)}`);
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** $0.0123: cents matter at these prices. */
function dollars(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/** Window rules: how many evaluations drifted, were insufficient, and the drifted ones. */
function printWindows(windows: NonNullable<BacktestRuleReport["windows"]>, io: Out): void {
  const count = (status: string) => windows.filter((w) => w.status === status).length;
  io.out(
    `  ${windows.length} evaluation(s): ${count("drift")} drift, ${count("ok")} ok, ${count("insufficient")} insufficient, ${count("disappeared")} disappeared, ${count("error")} error`,
  );
  const shown = windows
    .filter((w) => w.status === "drift" || w.status === "disappeared" || w.status === "error")
    .slice(0, 10);
  for (const w of shown) io.out(`  ${w.at} ${w.status}: ${w.message}`);
}

/** The rule's alert episodes, oldest first: when each was pending, fired and resolved. */
function printAlerts(rule: BacktestRuleReport, io: Out): void {
  if (rule.alerts.length === 0) {
    io.out(`  alerts (${rule.mode}): none`);
    return;
  }
  io.out(
    `  alerts (${rule.mode}): ${rule.fired} fired of ${rule.alerts.length} episode(s), firing ${duration(rule.firingMs)}; ${notificationText(rule.notifications)}`,
  );
  for (const episode of rule.alerts.slice(0, EPISODES_SHOWN)) {
    const steps = [
      `${time(episode.pendingAt)} ${episode.firingAt === episode.pendingAt ? "firing" : "pending"}`,
    ];
    if (episode.firingAt !== null && episode.firingAt !== episode.pendingAt) {
      steps.push(`${time(episode.firingAt)} firing`);
    }
    if (episode.resolvedAt !== null) steps.push(`${time(episode.resolvedAt)} resolved`);
    else if (episode.droppedAt !== null) steps.push(`${time(episode.droppedAt)} dropped`);
    else steps.push(episode.firingAt === null ? "still pending" : "still firing");
    const { peak } = episode;
    const ratio = peak.ratio === null ? "" : ` (${(peak.ratio * 100).toFixed(1)}%)`;
    const measured =
      peak.measurement === undefined
        ? `peak ${peak.failed} of ${peak.evaluated} failed${ratio}`
        : `peak ${peak.measurement.message}`;
    io.out(`    ${groupLabels(episode.group)} ${steps.join(" → ")}`);
    io.out(
      `      ${episode.firingAt === null ? "never fired" : `firing ${duration(episode.firingMs)}`}, ${measured}`,
    );
    const first = episode.examples[0];
    if (first !== undefined) {
      io.out(`      e.g. trace ${first.traceId} span ${first.spanId}: ${first.message}`);
    }
  }
  if (rule.alerts.length > EPISODES_SHOWN) {
    io.out(
      `    … and ${rule.alerts.length - EPISODES_SHOWN} more episode(s) (--json has them all)`,
    );
  }
}

/** Two reports of the same period, a row per rule id: alerts fired, notifications, firing time. */
export function printComparison(
  names: readonly [string, string],
  reports: readonly [BacktestReport, BacktestReport],
  io: Out,
): void {
  const [a, b] = reports;
  const ids = [...new Set([...a.rules, ...b.rules].map((r) => r.ruleId))];
  const cell = (rule: BacktestRuleReport | undefined) =>
    rule === undefined
      ? "—"
      : `${rule.fired} fired, ${notified(rule.notifications)} notified, firing ${duration(rule.firingMs)}`;
  const rows = ids.map((id) => [
    id,
    cell(a.rules.find((r) => r.ruleId === id)),
    cell(b.rules.find((r) => r.ruleId === id)),
  ]);
  const total = (report: BacktestReport) =>
    `${report.summary.fired} fired, ${notified(report.summary.notifications)} notified, firing ${duration(report.summary.firingMs)}`;
  rows.push(["total", total(a), total(b)]);
  const header = ["rule", names[0], names[1]];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  io.out(`backtest ${a.since} – ${a.until}`);
  io.out(line(header));
  for (const row of rows) io.out(line(row));
  io.out(`${names[0]}: ${notificationText(a.summary.notifications)}`);
  io.out(`${names[1]}: ${notificationText(b.summary.notifications)}`);
}

/** Notifications made (firing, repeat, resolved), whatever channels they went to. */
function notified(counts: NotificationCounts): number {
  return counts.firing + counts.repeat + counts.resolved;
}

function notificationText(counts: NotificationCounts): string {
  const notifications = notified(counts);
  const channels = Object.entries(counts.channels)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([name, n]) => `${name} ${n}`);
  return `${notifications} notification(s) (${counts.firing} firing, ${counts.repeat} repeat, ${counts.resolved} resolved), ${
    channels.length > 0 ? `sent to ${channels.join(", ")}` : "sent to no channel"
  }${counts.silenced > 0 ? `, ${counts.silenced} silenced` : ""}`;
}

/** What tells a rule's alerts apart: their group labels. */
function groupLabels(group: Record<string, string>): string {
  const shown = Object.entries(group);
  return shown.length === 0
    ? "(the rule's one alert)"
    : shown.map(([n, v]) => `${n}=${v}`).join(" ");
}

/** ISO 8601 to the second: 2026-11-26T10:00:01Z. */
function time(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "Z");
}

/** 2d 3h, 4h 10m, 12m 5s, 40s. */
export function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor((seconds % 86_400) / 3600), "h"],
    [Math.floor((seconds % 3600) / 60), "m"],
    [seconds % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0s";
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(" ");
}
