/**
 * `npm run demo` (or `plumbline demo`): the first minute. Sends a simulated agent application —
 * the detection benchmark's orders and research agents (bench/detect/simulator.ts), through the
 * real OpenTelemetry SDK and OTLP/HTTP exporter — to the running service: a few back-dated days
 * of healthy traffic, then one silent failure of each main kind, one after the other:
 *
 *   broken JSON (parse outputs missing a field, of the wrong type, cut short)
 *   a tool error returned as data (check_stock answers 401 in its result, span status OK)
 *   a duplicate side effect (create_order called twice with the same arguments)
 *   a drifting output (order totals ×100 for the last hour)
 *
 * The built-in detectors catch the first three; the benchmark's suggested rules for these agents
 * (a JSON schema of the parse output, a drift rule on the totals) are copied into the rules
 * directory under `plumbline-demo/`. The drift rule is copied after the traffic: a window rule
 * seen for the first time evaluates the latest window at once, which now holds the drift.
 *
 * Outside src/ on purpose: it needs the OTel SDK and the benchmark's simulator, which shipped
 * code must not import (docs/architecture.md).
 */

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { loadConfig } from "../src/config/index.ts";
import { simulate, type ScenarioId } from "../bench/detect/simulator.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const SUGGESTED = fileURLToPath(new URL("../bench/detect/suggested-rules/", import.meta.url));
/** The output rule goes in before the traffic, the drift rule after it (see the header). */
const OUTPUT_RULE = "orders-parse-complete.json";
const DRIFT_RULE = "orders-total-drift.json";
const DRIFT_RULE_ID = "orders-total-drift";

/**
 * The failures, in the order they happen, each for its slice of the last two hours; the drift
 * last, so that the latest hour-long window holds nothing else. With the default seed each
 * slice has several affected runs (the simulator is deterministic: 6, 16 and 12 runs).
 */
const FAILURES: { scenario: ScenarioId; minutes: number; what: string }[] = [
  { scenario: "broken-json", minutes: 25, what: "broken JSON from the order parser" },
  { scenario: "auth-error-as-data", minutes: 10, what: "check_stock returning a 401 as data" },
  { scenario: "duplicate-side-effect", minutes: 20, what: "create_order called twice" },
  { scenario: "unit-error", minutes: 70, what: "order totals in cents (×100): drift" },
];

export interface DemoOptions {
  /** The running service, e.g. http://127.0.0.1:4318. */
  url: string;
  /** Days of healthy history before the failures. */
  days: number;
  /** The service's rules directory, where the demo's two rules are copied. */
  rulesDir: string;
  apiKey?: string | undefined;
  ingestKey?: string | undefined;
  /** Runs per hour and service: healthy history (40), and the last two hours (240). */
  historyRate?: number;
  failureRate?: number;
  seed?: number;
  /** How long to wait for findings, alerts and the drift evaluation. */
  waitMs?: number;
  log?: (line: string) => void;
  now?: number;
}

export interface DemoResult {
  spans: number;
  runs: number;
  findings: number;
  firingAlerts: number;
  drift: string | undefined;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.url.replace(/\/+$/, "");
  const headers: Record<string, string> =
    options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
  const api = async <T>(path: string): Promise<T | undefined> => {
    const response = await fetch(`${base}${path}`, { headers }).catch(() => undefined);
    return response?.ok === true ? ((await response.json()) as T) : undefined;
  };
  const ready = await fetch(`${base}/readyz`).catch(() => undefined);
  if (ready?.ok !== true) {
    throw new Error(
      `Plumbline is not running (ready) at ${base}: start it with npm start, then run the demo again`,
    );
  }

  const demoRules = resolve(options.rulesDir, "plumbline-demo");
  mkdirSync(demoRules, { recursive: true });
  copyFileSync(join(SUGGESTED, OUTPUT_RULE), join(demoRules, OUTPUT_RULE));
  log(`rules: copied ${OUTPUT_RULE} into ${demoRules}`);
  const waitMs = options.waitMs ?? 60_000;
  const loaded = await poll(waitMs, async () => {
    const rules = await api<{ rules: { id?: string; status: string }[] }>("/api/rules");
    return rules?.rules.some((r) => r.id === "orders-parse-complete" && r.status === "loaded");
  });
  if (!loaded)
    log(
      `rules: the service at ${base} did not load them; is its rules directory ${options.rulesDir}? (--rules-dir)`,
    );

  const now = options.now ?? Date.now();
  const failureMinutes = FAILURES.reduce((sum, f) => sum + f.minutes, 0);
  const historyStart = now - options.days * 24 * HOUR;
  const failuresStart = now - failureMinutes * MINUTE;
  const exporters = () =>
    new OTLPTraceExporter({
      url: `${base}/v1/traces`,
      timeoutMillis: 30_000,
      ...(options.ingestKey !== undefined && {
        headers: { authorization: `Bearer ${options.ingestKey}` },
      }),
    });
  const seed = options.seed ?? 8;
  let spans = 0;
  let runs = 0;
  const started = performance.now();
  // The healthy days: the simulator's stable period (control changes nothing after it either).
  const history = await simulate(exporters, {
    scenario: "control",
    startMs: historyStart,
    stableHours: (failuresStart - historyStart) / HOUR - 0.01,
    failureHours: 0.01,
    runsPerHour: options.historyRate ?? 40,
    seed,
  });
  spans += history.spans;
  runs += history.runs;
  log(
    `sent ${options.days} days of healthy traffic: ${history.runs} agent runs, ${history.spans} spans (${seconds(started)})`,
  );
  let sliceStart = failuresStart;
  for (const [i, failure] of FAILURES.entries()) {
    // The simulator injects from stableHours on: a moment of stable traffic, then the failure.
    const sim = await simulate(exporters, {
      scenario: failure.scenario,
      startMs: sliceStart,
      stableHours: 0.001,
      failureHours: failure.minutes / 60 - 0.001,
      runsPerHour: options.failureRate ?? 240,
      seed: seed + i + 1,
    });
    spans += sim.spans;
    runs += sim.runs;
    log(`sent ${failure.what}: ${sim.affected.runs} of ${sim.runs} runs affected`);
    sliceStart += failure.minutes * MINUTE;
  }

  copyFileSync(join(SUGGESTED, DRIFT_RULE), join(demoRules, DRIFT_RULE));
  log(
    `rules: copied ${DRIFT_RULE} into ${demoRules}; waiting for findings, alerts and the drift evaluation…`,
  );
  let findings = 0;
  let firing = 0;
  let drift: string | undefined;
  await poll(waitMs, async () => {
    const [checks, alerts, evaluations] = await Promise.all([
      api<{ checks: unknown[] }>("/api/checks?since=3h&limit=1000&outcome=failed"),
      api<{ alerts: unknown[] }>("/api/alerts?state=firing"),
      api<{ evaluations: { status: string }[] }>(`/api/rules/${DRIFT_RULE_ID}/evaluations?limit=1`),
    ]);
    findings = checks?.checks.length ?? 0;
    firing = alerts?.alerts.length ?? 0;
    drift = evaluations?.evaluations[0]?.status;
    // Duplicate side effects are trace findings: they come once a trace has been quiet (30 s).
    return findings > 0 && firing > 0 && drift !== undefined && drift !== "insufficient";
  });
  log(
    `found: ${findings} failing outputs and traces in the last 3 hours, ${firing} alerts firing, drift rule: ${drift ?? "not evaluated yet"}`,
  );
  log("");
  log(`Open the UI: ${base}/`);
  log(`  alerts:       ${base}/alerts`);
  log(`  drift chart:  ${base}/windows/${DRIFT_RULE_ID}`);
  log(`Remove the demo's rules with: rm -r ${demoRules}`);
  return { spans, runs, findings, firingAlerts: firing, drift };
}

async function poll(
  timeoutMs: number,
  probe: () => Promise<boolean | undefined>,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probe()) === true) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

const USAGE = `usage: npm run demo -- [--url http://127.0.0.1:4318] [--days 3] [--rules-dir ./rules]

Sends a simulated agent application to the running Plumbline (start it first: npm start):
days of healthy traffic, then broken JSON, a tool error returned as data, a duplicate side
effect and a drifting output. Copies two rules for these agents into <rules-dir>/plumbline-demo.`;

/** The command line: options from the same configuration as `plumbline serve`. */
export async function demoMain(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        url: { type: "string" },
        days: { type: "string", default: "3" },
        "rules-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const days = Number(values.days);
  if (!(Number.isFinite(days) && days >= 1 && days <= 14)) {
    process.stderr.write(`demo: --days "${values.days}" is not a number of days from 1 to 14\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = values.url ?? `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
  try {
    await runDemo({
      url,
      days,
      rulesDir: values["rules-dir"] ?? config.rulesDir,
      apiKey: config.apiKey,
      ingestKey: config.ingestKeys[0],
    });
    return 0;
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    return 1;
  }
}

if (
  process.argv[1] !== undefined &&
  existsSync(process.argv[1]) &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  process.exitCode = await demoMain(process.argv.slice(2));
}
