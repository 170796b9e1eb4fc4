// `plumbline backtest` replays absence rules over history as the live scheduler would have run
// them (every 5 minutes, each window settled), and says when each entity's alert would have
// fired and resolved: here a service silent for two hours on its fourth day, beside one that
// never stops and one too sparse to tell.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.ts";
import type { BacktestReport } from "../src/api/rules-routes.ts";
import { runBacktest } from "../src/service/backtest.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import type { Store } from "../src/store/store.ts";
import { makeRow } from "./helpers/make-row.ts";
import { loadedRule } from "./helpers/rules.ts";
import { openTestStore } from "./helpers/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.UTC(2026, 9, 10, 0, 0, 0);
/** The silence: two hours on the fourth day. */
const SILENT = {
  fromMs: START + 3 * DAY + 10 * HOUR + 7 * MINUTE,
  toMs: START + 3 * DAY + 12 * HOUR + 7 * MINUTE,
};

let store: Store;
let report: BacktestReport;
let serial = 0;

function outputs(service: string, stepMs: number, skip: (ms: number) => boolean): AgentOutputRow[] {
  const rows: AgentOutputRow[] = [];
  for (let ms = START; ms < START + 3 * DAY + 14 * HOUR; ms += stepMs) {
    if (skip(ms)) continue;
    serial += 1;
    rows.push(
      makeRow({
        Timestamp: `${Math.floor(ms / 1000)}.000000000`,
        TraceId: serial.toString(16).padStart(32, "0"),
        SpanId: serial.toString(16).padStart(16, "0"),
        ServiceName: service,
      }),
    );
  }
  return rows;
}

const rule = loadedRule({
  id: "team.silent",
  match: { kind: "llm" },
  check: { type: "absent", days: 3 },
});

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: [],
    outputs: [
      ...outputs("checkout", MINUTE, (ms) => ms >= SILENT.fromMs && ms < SILENT.toMs),
      ...outputs("support", MINUTE, () => false),
      ...outputs("rare", 15 * MINUTE, (ms) => ms >= SILENT.fromMs && ms < SILENT.toMs),
    ],
  });
  report = await runBacktest(store, loadConfig({}), {
    rules: [rule],
    sinceMs: START + 3 * DAY + 8 * HOUR,
    untilMs: START + 3 * DAY + 14 * HOUR,
    service: undefined,
    silences: false,
  });
}, 120_000);

afterAll(async () => {
  await store.close();
});

describe("backtest of an absence rule", () => {
  it("evaluates every 5 minutes and counts the evaluations that found a silence", () => {
    const [summary] = report.rules;
    expect(summary?.windows).toHaveLength(72);
    // Silent from 18 minutes into the silence (at most 2 outputs in the window) to the first window after
    // it with enough outputs again: about 1 h 45 min of 5-minute evaluations.
    expect(summary?.failed).toBeGreaterThanOrEqual(19);
    expect(summary?.failed).toBeLessThanOrEqual(23);
  });

  it("fires one alert, for the silent service, within 30 minutes, and resolves it when traffic returns", () => {
    const [summary] = report.rules;
    expect(summary?.alerts.map((a) => a.group)).toEqual([{ service: "checkout" }]);
    const episode = summary?.alerts[0];
    const firing = Date.parse(episode?.firingAt ?? "");
    const resolved = Date.parse(episode?.resolvedAt ?? "");
    // At most a tenth of the expected 20 (maxShare): from 18 minutes into the silence on.
    expect(firing - SILENT.fromMs).toBeGreaterThanOrEqual(18 * MINUTE);
    expect(firing - SILENT.fromMs).toBeLessThanOrEqual(30 * MINUTE);
    expect(resolved - SILENT.toMs).toBeGreaterThanOrEqual(0);
    expect(resolved - SILENT.toMs).toBeLessThanOrEqual(10 * MINUTE);
    expect(episode?.peak.measurement?.message).toMatch(
      /^silent: service=checkout: 0 outputs in 20m, expected 20/,
    );
  });
});
