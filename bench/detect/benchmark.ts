/**
 * The detection benchmark as a function, shared by `npm run bench:detect` (run.ts) and its
 * smaller version in `npm test` (detect.test.ts): every scenario and the control run on one
 * simulated timeline (the same start, so every stable period is the control run's), at most
 * `parallel` services at a time, then the alerts replayed and scored.
 */

import { rmSync } from "node:fs";
import {
  composeWindows,
  isWindowRule,
  loadBenchRules,
  makeRulesDir,
  ownWindowRules,
} from "./bench-rules.ts";
import { replayAndScore, runScenario, type ScenarioData } from "./run-scenario.ts";
import type { ScenarioId } from "./scenarios.ts";
import { summarise, type ScenarioScore, type Summary } from "./score.ts";

const HOUR = 3_600_000;

export interface BenchmarkOptions {
  /** Failure scenarios to run; the control run always runs (first). */
  scenarios: readonly ScenarioId[];
  stableHours: number;
  failureHours: number;
  runsPerHour: number;
  seed: number;
  /** Services running at once (default 2). */
  parallel?: number;
  /**
   * Whether window rules (rate, drift) are replayed. Their baselines need the full stable
   * period; the short version in npm test leaves them out.
   */
  windowRules?: boolean;
  log?: (message: string) => void;
}

export interface ScenarioResult {
  score: ScenarioScore;
  data: ScenarioData;
}

export interface BenchmarkResult {
  startMs: number;
  injectedAtMs: number;
  /** Copied rules left out: written for agents the simulation does not have. */
  rulesLeftOut: string[];
  /** Control first, then the scenarios in the order asked. */
  results: ScenarioResult[];
  summary: Summary;
  seconds: number;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  // Whole hours, so that injection falls on every window rule's schedule.
  const startMs =
    Math.floor((Date.now() - (options.stableHours + options.failureHours + 1) * HOUR) / HOUR) *
    HOUR;
  const shape = {
    startMs,
    stableHours: options.stableHours,
    failureHours: options.failureHours,
    runsPerHour: options.runsPerHour,
    seed: options.seed,
  };
  const injectedAtMs = startMs + options.stableHours * HOUR;
  const scenarios: ScenarioId[] = [
    "control",
    ...options.scenarios.filter((id) => id !== "control"),
  ];

  const rulesDir = makeRulesDir();
  try {
    const rules = loadBenchRules(rulesDir.dir);
    const windowed = options.windowRules === false ? [] : rules.filter(isWindowRule);
    const rateRuleIds = rules
      .filter((rule) => !isWindowRule(rule) && rule.alert?.mode === "rate")
      .map((rule) => rule.id);
    const data = new Map<ScenarioId, ScenarioData>();
    const queue = [...scenarios];
    const lane = async () => {
      for (let scenario = queue.shift(); scenario !== undefined; scenario = queue.shift()) {
        const plan =
          scenario === "control"
            ? { rules: windowed, fromMs: startMs }
            : {
                rules: ownWindowRules(scenario, windowed),
                fromMs: injectedAtMs,
              };
        const run = await runScenario(scenario, shape, rulesDir.dir, plan, rateRuleIds, log);
        const t = run.timings;
        log(
          `${scenario}: done in ${(t.total / 1000).toFixed(1)} s (start ${t.start} ms, ingest ${t.ingest} ms, settle ${t.settle} ms, backtest ${t.backtest} ms of ${plan.rules.length} window rule(s), read ${t.read} ms)`,
        );
        data.set(scenario, run);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.parallel ?? 2, scenarios.length) }, lane),
    );

    const control = data.get("control");
    if (control === undefined) throw new Error("the control run did not run");
    const controlScore = replayAndScore(control, rules, control.windows, startMs).score;
    const controlAlertRules = new Set(controlScore.falseAlarms.map((alarm) => alarm.rule));
    const results = scenarios.flatMap((scenario) => {
      const run = data.get(scenario);
      if (run === undefined) return [];
      if (scenario === "control") return [{ score: controlScore, data: run }];
      const windows = composeWindows(control.windows, run.windows, injectedAtMs);
      const { score } = replayAndScore(run, rules, windows, startMs, controlAlertRules);
      return [{ score, data: run }];
    });
    return {
      startMs,
      injectedAtMs,
      rulesLeftOut: rulesDir.leftOut,
      results,
      summary: summarise(results.map((r) => r.score)),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    rmSync(rulesDir.dir, { recursive: true, force: true });
  }
}
