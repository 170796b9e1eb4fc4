/**
 * One scenario of the detection benchmark, end to end: a fresh `plumbline serve` child (own
 * data directory, free port, the benchmark's rules directory, built-ins on, the live window
 * scheduler out of the way) receives the simulated traffic over OTLP/HTTP; once the live
 * engine has evaluated every output and trace (rate checks on `failures` read its counters),
 * the product's backtest — POST /api/backtest, what `plumbline backtest` runs — replays the
 * rules and their alerts over the whole simulated period, with the product's default timing;
 * then the service stops. score.ts scores the alert episodes of that report. With a judge, its
 * judge rules are judged too (`judge.confirm`), every matching output (wrong-entity.ts).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../../src/config/index.ts";
import type { BacktestReplayTiming, BacktestReport } from "../../src/api/rules-routes.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { ruleDefinition } from "../../src/rules/load-rule.ts";
import { startChildService } from "../../test/helpers/child-service.ts";
import { freePort } from "../../test/helpers/service.ts";
import { SIMULATED_SERVICES } from "./bench-rules.ts";
import type { ScenarioId } from "./scenarios.ts";
import { simulate, type Simulation } from "./simulator.ts";

const HOUR = 3_600_000;

/**
 * The product's default timing, for the replay: the child service runs with a short trace
 * quiet time only so that the benchmark does not wait, and its backtest is told the defaults.
 */
const DEFAULTS = configSchema.parse({});
export const REPLAY_TIMING: BacktestReplayTiming = {
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

export interface ScenarioData {
  simulation: Simulation;
  /** The backtest of the scenario's rules over the whole simulated period. */
  report: BacktestReport;
  /** Where the backtest ends: a little after the last run, so its spans count. */
  untilMs: number;
  /** Wall-clock milliseconds of each phase. */
  timings: {
    start: number;
    ingest: number;
    settle: number;
    backtest: number;
    total: number;
  };
}

/** Runs one scenario and backtests `rules` (all of the benchmark's, or a subset) over it. */
export async function runScenario(
  scenario: ScenarioId,
  shape: Shape,
  rulesDir: string,
  rules: readonly Rule[],
  log: (message: string) => void = () => {},
  /** An OpenAI-compatible judge for the backtest's judge rules. */
  judgeUrl?: string,
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
      ...(judgeUrl !== undefined && {
        PLUMBLINE_JUDGE_BASE_URL: judgeUrl,
        PLUMBLINE_JUDGE_MODEL: "bench-judge",
        PLUMBLINE_JUDGE_CONCURRENCY: "8",
        // Days of back-dated traffic judged in seconds: the limits are for live traffic.
        PLUMBLINE_JUDGE_CALLS_PER_MINUTE: "1000000",
        PLUMBLINE_JUDGE_TOKENS_PER_DAY: "1000000000",
      }),
    },
    await freePort(),
  );
  try {
    const timings = { start: mark(), ingest: 0, settle: 0, backtest: 0, total: 0 };
    const simulation = await simulate(`${service.url}/v1/traces`, { scenario, ...shape });
    timings.ingest = mark();
    const names = Object.values(simulation.services).sort().join();
    if (names !== Object.values(SIMULATED_SERVICES).sort().join()) {
      throw new Error(`the simulator's services are ${names}, not SIMULATED_SERVICES`);
    }
    log(
      `${scenario}: ${simulation.runs} runs, ${simulation.spans} spans sent in ${(timings.ingest / 1000).toFixed(1)} s`,
    );

    await settled(service.url, simulation.runs - simulation.skippedRuns);
    timings.settle = mark();

    const untilMs = simulation.endMs + 10 * 60_000;
    const report = await backtest(
      service.url,
      rules,
      shape.startMs,
      untilMs,
      judgeUrl !== undefined,
    );
    timings.backtest = mark();

    service.child.kill("SIGTERM");
    const exit = await service.exited;
    if (exit !== 0) {
      throw new Error(`${scenario}: the service exited with ${exit}:\n${service.output()}`);
    }
    timings.total = Math.round(performance.now() - started);
    return { simulation, report, untilMs, timings };
  } finally {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill("SIGKILL");
      await service.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
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
 * The backtest of `rules` over [fromMs, untilMs] through the service's streaming
 * POST /api/backtest (a progress line per hour and per window evaluation, then the report) —
 * the same path as `plumbline backtest --url`.
 */
async function backtest(
  url: string,
  rules: readonly Rule[],
  fromMs: number,
  untilMs: number,
  judge: boolean,
): Promise<BacktestReport> {
  const res = await fetch(`${url}/api/backtest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      rules: rules.map((rule) => ({ file: rule.file, rule: ruleDefinition(rule) })),
      since: String(fromMs),
      until: String(untilMs),
      timing: REPLAY_TIMING,
      // Every matching output, not a sample: the detection is then the live rule's.
      ...(judge && { judge: { confirm: true, sample: 100_000 } }),
    }),
  });
  const status = res.status;
  const text = await res.text();
  if (status !== 200) throw new Error(`backtest answered ${status}: ${text}`);
  const lines = text.trim().split("\n");
  const last = JSON.parse(lines.at(-1) ?? "{}") as {
    result?: BacktestReport;
    error?: { message: string };
  };
  if (last.result === undefined) {
    throw new Error(`backtest failed: ${last.error?.message ?? lines.at(-1)}`);
  }
  return last.result;
}
