/**
 * One scenario of the detection benchmark, end to end: a fresh `plumbline serve` child (own
 * data directory, free port, the benchmark's rules directory, built-ins on, the live window
 * scheduler out of the way) receives the simulated traffic over OTLP/HTTP; once the live
 * engine has evaluated every output and trace, window rules are replayed through
 * POST /api/backtest; the service stops and its stored findings (and minute counters) are read
 * back. replayAndScore then turns them into alerts in simulated time and scores them.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../../src/config/index.ts";
import type { BacktestWindow, RuleSummary } from "../../src/evaluate/backtest.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { ruleDefinition } from "../../src/rules/load-rule.ts";
import { startChildService } from "../../test/helpers/child-service.ts";
import { freePort } from "../../test/helpers/service.ts";
import { SIMULATED_SERVICES } from "./bench-rules.ts";
import { replayAlerts, type AlertHistory } from "./replay-alerts.ts";
import type { ScenarioId } from "./scenarios.ts";
import { evidenceJudge, scoreScenario, type ScenarioScore } from "./score.ts";
import { simulate, type Simulation } from "./simulator.ts";
import { readStore, type StoreDump } from "./store-dump.ts";

const HOUR = 3_600_000;

/** The product's defaults for what the replay needs to place steps in time. */
const DEFAULTS = configSchema.parse({});
export const REPLAY_TIMING = {
  tickMs: DEFAULTS.alerts.tickMs,
  traceQuietMs: DEFAULTS.evaluate.traceQuietMs,
  windowSettleMs: DEFAULTS.evaluate.windowSettleMs,
};

export interface Shape {
  /** Simulated start, epoch ms: the same for every scenario of a run. */
  startMs: number;
  stableHours: number;
  failureHours: number;
  runsPerHour: number;
  seed: number;
}

/** Window rules to replay through the backtest, for windows ending after `fromMs`. */
export interface BacktestPlan {
  rules: readonly Rule[];
  fromMs: number;
}

export interface ScenarioData {
  simulation: Simulation;
  dump: StoreDump;
  /** The backtest's evaluations of the planned window rules, by rule id. */
  windows: Map<string, BacktestWindow[]>;
  /** Where alerts are replayed to: a little after the last run, so its spans count. */
  untilMs: number;
  /** Wall-clock milliseconds of each phase. */
  timings: {
    start: number;
    ingest: number;
    settle: number;
    backtest: number;
    read: number;
    total: number;
  };
}

export async function runScenario(
  scenario: ScenarioId,
  shape: Shape,
  rulesDir: string,
  plan: BacktestPlan,
  rateRuleIds: readonly string[],
  log: (message: string) => void = () => {},
): Promise<ScenarioData> {
  const started = performance.now();
  let last = started;
  const mark = () => {
    const now = performance.now();
    const elapsed = Math.round(now - last);
    last = now;
    return elapsed;
  };
  const dataDir = mkdtempSync(join(tmpdir(), `plumbline-detect-${scenario}-`));
  const service = await startChildService(
    {
      PLUMBLINE_DATA_DIR: dataDir,
      PLUMBLINE_RULES_DIR: rulesDir,
      PLUMBLINE_BUILTIN_RULES: "true",
      // The live scheduler would evaluate only the latest windows, in real time; the backtest
      // replays every one in simulated time instead.
      PLUMBLINE_WINDOW_TICK_MS: String(24 * HOUR),
      PLUMBLINE_TRACE_QUIET_MS: "1000",
      PLUMBLINE_TRACE_INTERVAL_MS: "250",
      PLUMBLINE_RESULTS_FLUSH_MS: "200",
      PLUMBLINE_MAX_BODY_BYTES: String(64 << 20),
      OTEL_SDK_DISABLED: "true",
    },
    await freePort(),
  );
  try {
    const timings = { start: mark(), ingest: 0, settle: 0, backtest: 0, read: 0, total: 0 };
    const simulation = await simulate(`${service.url}/v1/traces`, { scenario, ...shape });
    timings.ingest = mark();
    const names = Object.values(simulation.services).sort().join();
    if (names !== Object.values(SIMULATED_SERVICES).sort().join()) {
      throw new Error(`the simulator's services are ${names}, not SIMULATED_SERVICES`);
    }
    log(
      `${scenario}: ${simulation.runs} runs, ${simulation.spans} spans sent in ${(timings.ingest / 1000).toFixed(1)} s`,
    );

    await settled(service.url, simulation.runs);
    timings.settle = mark();

    const untilMs = simulation.endMs + 10 * 60_000;
    const windows = await backtestWindows(service.url, plan.rules, plan.fromMs, untilMs);
    timings.backtest = mark();

    service.child.kill("SIGTERM");
    const exit = await service.exited;
    if (exit !== 0) {
      throw new Error(`${scenario}: the service exited with ${exit}:\n${service.output()}`);
    }
    const dump = await readStore(dataDir, rateRuleIds);
    timings.read = mark();
    timings.total = Math.round(performance.now() - started);
    return { simulation, dump, windows, untilMs, timings };
  } finally {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill("SIGKILL");
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The alerts of a scenario's run replayed in simulated time, and their score. */
export function replayAndScore(
  data: ScenarioData,
  rules: readonly Rule[],
  windows: ReadonlyMap<string, readonly BacktestWindow[]>,
  fromMs: number,
  controlAlertRules?: ReadonlySet<string>,
): { score: ScenarioScore; histories: AlertHistory[] } {
  const histories = replayAlerts({
    rules,
    findings: data.dump.findings,
    windows,
    minuteCounts: data.dump.minuteCounts,
    fromMs,
    untilMs: data.untilMs,
    timing: REPLAY_TIMING,
    isEvidence: evidenceJudge(data.simulation, rules),
  });
  return { score: scoreScenario(data.simulation, histories, controlAlertRules), histories };
}

/**
 * Waits until the live engine has evaluated every run: each run has one agent output, and
 * builtin.error-swallowed (a trace rule matching agent outputs) evaluates each trace once it
 * is quiet. Per-output rules ran at ingest, before that.
 */
async function settled(url: string, runs: number, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let matched = 0;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/rules`);
    const body = (await res.json()) as {
      rules: { id?: string; sinceStart: { matched: number } }[];
    };
    matched = body.rules.find((r) => r.id === "builtin.error-swallowed")?.sinceStart.matched ?? 0;
    if (matched >= runs) {
      // Findings and counts are written every PLUMBLINE_RESULTS_FLUSH_MS, and rate checks on
      // `failures` read the counts.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`trace evaluation did not settle: ${matched} of ${runs} runs evaluated`);
}

/**
 * Every scheduled evaluation of each rule in (fromMs, untilMs], by rule id, through the
 * service's streaming POST /api/backtest (a progress line per evaluation, then the result) —
 * the same path as `plumbline backtest --url`.
 */
async function backtestWindows(
  url: string,
  rules: readonly Rule[],
  fromMs: number,
  untilMs: number,
): Promise<Map<string, BacktestWindow[]>> {
  if (rules.length === 0) return new Map();
  const res = await fetch(`${url}/api/backtest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      rules: rules.map(ruleDefinition),
      since: String(fromMs),
      until: String(untilMs),
    }),
  });
  const status = res.status;
  const text = await res.text();
  if (status !== 200) throw new Error(`backtest answered ${status}: ${text}`);
  const lines = text.trim().split("\n");
  const last = JSON.parse(lines.at(-1) ?? "{}") as {
    result?: RuleSummary[];
    error?: { message: string };
  };
  if (last.result === undefined) {
    throw new Error(`backtest failed: ${last.error?.message ?? lines.at(-1)}`);
  }
  return new Map(last.result.map((summary) => [summary.ruleId, summary.windows ?? []]));
}
