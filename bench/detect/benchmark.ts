/**
 * The detection benchmark as a function, shared by `npm run bench:detect` (run.ts) and its
 * smaller version in `npm test` (detect.test.ts): every scenario and the control run on one
 * simulated timeline (the same start, so every stable period is the control run's), at most
 * `parallel` services at a time, each backtested by the product (rules and alerts), then
 * scored.
 */

import { rmSync } from "node:fs";
import type { BacktestRuleReport } from "../../src/api/rules-routes.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { isWindowRule, loadBenchRules, makeRulesDir, ownWindowRules } from "./bench-rules.ts";
import { REPLAY_TIMING, runScenario, type ScenarioData } from "./run-scenario.ts";
import type { ScenarioId } from "./scenarios.ts";
import { benchJudgeRule, judgedIn, JUDGE_RULE_ID, startBenchJudge } from "./wrong-entity.ts";
import {
  alertHistories,
  scoreScenario,
  summarise,
  type ScenarioScore,
  type Summary,
} from "./score.ts";

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
  // One deterministic judge for every scenario's backtest (wrong-entity.ts).
  const judge = await startBenchJudge();
  try {
    const rules = [...loadBenchRules(rulesDir.dir), benchJudgeRule()];
    const windowed = options.windowRules === false ? [] : rules.filter(isWindowRule);
    const perOutput = rules.filter((rule) => !isWindowRule(rule));
    const data = new Map<ScenarioId, ScenarioData>();
    const queue = [...scenarios];
    const lane = async () => {
      for (let scenario = queue.shift(); scenario !== undefined; scenario = queue.shift()) {
        // A scenario's window rules that select no failing service see the control run's
        // traffic span for span: their alerts are taken from the control run's backtest.
        const own = scenario === "control" ? windowed : ownWindowRules(scenario, windowed);
        // The judge rule is judged where its verdicts can differ from the control run's.
        const judged = judgedIn(scenario);
        const backtested = [
          ...perOutput.filter((rule) => judged || rule.id !== JUDGE_RULE_ID),
          ...own,
        ];
        const run = await runScenario(
          scenario,
          shape,
          rulesDir.dir,
          backtested,
          log,
          judged ? judge.baseUrl : undefined,
        );
        const t = run.timings;
        log(
          `${scenario}: done in ${(t.total / 1000).toFixed(1)} s (start ${t.start} ms, ingest ${t.ingest} ms, settle ${t.settle} ms, backtest ${t.backtest} ms of ${backtested.length} rule(s), ${own.length} of them window rules)`,
        );
        data.set(scenario, run);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.parallel ?? 2, scenarios.length) }, lane),
    );

    const control = data.get("control");
    if (control === undefined) throw new Error("the control run did not run");
    const score = (
      run: ScenarioData,
      reports: readonly BacktestRuleReport[],
      noisy?: Set<string>,
    ) =>
      scoreScenario(
        run.simulation,
        alertHistories(run.simulation, rules, reports, REPLAY_TIMING),
        noisy,
      );
    const controlScore = score(control, control.report.rules);
    const controlAlertRules = new Set(controlScore.falseAlarms.map((alarm) => alarm.rule));
    const results = scenarios.flatMap((scenario) => {
      const run = data.get(scenario);
      if (run === undefined) return [];
      if (scenario === "control") return [{ score: controlScore, data: run }];
      const reports = withControlWindows(run.report.rules, control.report.rules, windowed);
      return [{ score: score(run, reports, controlAlertRules), data: run }];
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
    await judge.close();
    rmSync(rulesDir.dir, { recursive: true, force: true });
  }
}

/** A scenario's rule reports, plus the control run's for the window rules it did not replay. */
function withControlWindows(
  own: readonly BacktestRuleReport[],
  control: readonly BacktestRuleReport[],
  windowed: readonly Rule[],
): BacktestRuleReport[] {
  const replayed = new Set(own.map((report) => report.ruleId));
  const taken = control.filter(
    (report) => !replayed.has(report.ruleId) && windowed.some((rule) => rule.id === report.ruleId),
  );
  return [...own, ...taken];
}
