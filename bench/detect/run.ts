/**
 * `npm run bench:detect` (`tsx bench/detect/run.ts`): the detection benchmark (issue 7). Each
 * failure scenario of scenarios.ts, and the control run, gets its own `plumbline serve` child
 * with the built-in detectors plus rules/examples and bench/detect/suggested-rules, and days of
 * back-dated traffic from the simulator (48 stable hours, then 24 with the failure, 40 runs an
 * hour per service). The alerts are replayed in simulated time and scored (benchmark.ts).
 * Prints a table and a one-line summary, and writes bench/detect/results.json.
 *
 * Options: --scenarios a,b,… (default: all), --parallel N (default 2), --stable-hours 48,
 * --failure-hours 24, --runs-per-hour 40, --seed N, --no-window-rules, --out path.
 */

import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBenchmark } from "./benchmark.ts";
import { SCENARIO_IDS, type ScenarioId } from "./scenarios.ts";
import { formatTable, summaryLine } from "./score.ts";

const { values: args } = parseArgs({
  options: {
    scenarios: { type: "string" },
    parallel: { type: "string", default: "2" },
    "stable-hours": { type: "string", default: "48" },
    "failure-hours": { type: "string", default: "24" },
    "runs-per-hour": { type: "string", default: "40" },
    seed: { type: "string", default: "20260105" },
    "no-window-rules": { type: "boolean", default: false },
    out: { type: "string", default: fileURLToPath(new URL("./results.json", import.meta.url)) },
  },
});

const scenarios = (args.scenarios?.split(",") ?? [...SCENARIO_IDS]).map((id) => {
  if (!(SCENARIO_IDS as readonly string[]).includes(id)) {
    throw new Error(`--scenarios: unknown scenario "${id}"; known: ${SCENARIO_IDS.join(", ")}`);
  }
  return id as ScenarioId;
});
const options = {
  stableHours: Number(args["stable-hours"]),
  failureHours: Number(args["failure-hours"]),
  runsPerHour: Number(args["runs-per-hour"]),
  seed: Number(args.seed),
};

const result = await runBenchmark({
  ...options,
  scenarios,
  parallel: Math.max(1, Number(args.parallel)),
  windowRules: !args["no-window-rules"],
  log: (message) => process.stderr.write(`${message}\n`),
});
const scores = result.results.map((r) => r.score);

const shape = `${options.stableHours} h stable + ${options.failureHours} h failure, ${options.runsPerHour} runs/h per service, seed ${options.seed}`;
console.log(`\nDetection benchmark (${shape}): ${result.seconds} s\n`);
console.log(formatTable(scores));
if (scores.some((s) => s.detections[0]?.expected === false)) {
  console.log("\n¹ not a rule expected to catch the scenario, but it alerted on its evidence");
}
for (const score of scores) {
  const others = score.detections.slice(1);
  if (others.length === 0) continue;
  const list = others.map(
    (d) => `${d.rule} (${d.ttdMinutes} min${d.expected ? "" : ", not expected"})`,
  );
  console.log(`${score.scenario}: also caught by ${list.join(", ")}`);
}
console.log(`\n${summaryLine(result.summary)}`);

writeFileSync(
  args.out,
  `${JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      shape: options,
      simulatedStart: new Date(result.startMs).toISOString(),
      injectedAt: new Date(result.injectedAtMs).toISOString(),
      rulesLeftOut: result.rulesLeftOut,
      seconds: result.seconds,
      summary: result.summary,
      scenarios: Object.fromEntries(
        result.results.map(({ score, data }) => [
          score.scenario,
          { ...score, spans: data.simulation.spans, timingsMs: data.timings },
        ]),
      ),
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`wrote ${args.out}\n`);
