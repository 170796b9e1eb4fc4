import { loadTestRuleFile } from "./helpers/rules.ts";
// The rate and drift rules shipped in rules/examples, run against traffic they were written
// for: each catches its planted silent failure, and stays quiet on the same traffic without it.

import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backtest } from "../src/evaluate/backtest.ts";
import { createRandom, normalSample } from "../src/evaluate/drift/seeded-random.ts";

import { makeRow } from "./helpers/make-row.ts";
import {
  evaluateWindowRule,
  evaluateWindowRules,
} from "../src/evaluate/windows/evaluate-window.ts";
import { parseWindowCheck } from "../src/rules/window-spec.ts";
import { writeCheckEvaluations } from "../src/store/tables/checks.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import type { Store } from "../src/store/store.ts";
import { openTestStore } from "./helpers/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EXAMPLES = path.resolve("rules/examples");
/** The failure is planted before BROKEN; CONTROL, a month later, sees the same traffic without it. */
const BROKEN = Date.UTC(2026, 8, 7, 12, 0, 0);
const CONTROL = BROKEN + 30 * DAY;

let store: Store;
let serial = 0;

function row(ms: number, overrides: Partial<AgentOutputRow>): AgentOutputRow {
  serial += 1;
  return makeRow({
    Timestamp: `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, "0")}`,
    TraceId: serial.toString(16).padStart(32, "0"),
    SpanId: serial.toString(16).padStart(16, "0"),
    ...overrides,
  });
}

/** n outputs spread evenly over [from, to), each made by `make(i)`. */
function over(n: number, from: number, to: number, make: (i: number) => Partial<AgentOutputRow>) {
  return Array.from({ length: n }, (_, i) =>
    row(from + Math.floor((i * (to - from)) / n), make(i)),
  );
}

async function evaluate(file: string, atMs: number) {
  const loaded = loadTestRuleFile(path.join(EXAMPLES, file), EXAMPLES);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const check = loaded.rule.check;
  if (check.type !== "rate" && check.type !== "drift") throw new Error(`${file} is not windowed`);
  const parsed = parseWindowCheck(check);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return evaluateWindowRule(store, loaded.rule, parsed.spec, atMs);
}

/** Week-long reference traffic before `at` and an hour of current traffic, broken or not. */
function traffic(at: number, broken: boolean): AgentOutputRow[] {
  const random = createRandom(broken ? 1 : 2);
  const week = { from: at - 7 * DAY, to: at - 2 * HOUR };
  const hour = { from: at - HOUR, to: at };
  const invoice = (total: number): Partial<AgentOutputRow> => ({
    ServiceName: "billing-agent",
    AgentName: "invoice-extractor",
    Kind: "llm",
    OutputText: JSON.stringify({ total: Math.round(total * 100) / 100 }),
  });
  const refTotals = normalSample(random, 1400, 240, 60);
  const curTotals = normalSample(random, 60, 240, 60).map((t) => (broken ? t * 100 : t));
  const intents = ["billing", "refund", "shipping", "account", "technical", "other"];
  const intent = (i: number, refundShare: number): Partial<AgentOutputRow> => ({
    ServiceName: "support-agent",
    AgentName: "support-triage",
    Kind: "llm",
    Model: "gpt-4o-2024-08-06",
    OutputText: JSON.stringify({
      intent: random() < refundShare ? "refund" : intents[i % intents.length],
    }),
    FinishReason: random() < (broken && i >= 2000 ? 0.12 : 0.01) ? "length" : "stop",
  });
  const toolCall = (ms: number): Partial<AgentOutputRow> => ({
    ServiceName: "research-agent",
    Kind: "tool",
    Operation: "execute_tool",
    ToolName: "web_search",
    DurationNs: String(Math.round(Math.max(50, ms) * 1e6)),
  });
  const answer = (model: string, length: number): Partial<AgentOutputRow> => ({
    ServiceName: "support-agent",
    AgentName: "support-writer",
    Kind: "llm",
    Operation: "chat",
    Model: model,
    OutputText: "a".repeat(Math.max(1, Math.round(length))),
  });
  return [
    ...refTotals.map((t, i) =>
      row(week.from + Math.floor((i * (week.to - week.from)) / 1400), invoice(t)),
    ),
    ...curTotals.map((t, i) => row(hour.from + i * MINUTE, invoice(t))),
    ...over(2000, week.from, week.to, (i) => intent(i, 0.12)),
    ...over(200, at - 2 * HOUR, at, (i) => intent(2000 + i, broken ? 0.38 : 0.12)),
    ...over(600, week.from, week.to, () => toolCall(normalSample(random, 1, 2000, 800)[0] ?? 0)),
    ...over(60, at - 15 * MINUTE, at, () =>
      toolCall(normalSample(random, 1, broken ? 12_000 : 2000, 800)[0] ?? 0),
    ),
    // The model changes 2 hours before `at`; the broken new model answers in half the length.
    ...over(600, at - 3 * DAY, at - 2 * HOUR, () =>
      answer("gpt-4o-2024-08-06", normalSample(random, 1, 800, 200)[0] ?? 0),
    ),
    ...over(100, at - 2 * HOUR + MINUTE, at, () =>
      answer("gpt-4.1-2025-04-14", normalSample(random, 1, broken ? 400 : 800, 200)[0] ?? 0),
    ),
  ];
}

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: [],
    outputs: [...traffic(BROKEN, true), ...traffic(CONTROL, false)],
  });
  // Schema check results of the invoice extractor: 10% failing before BROKEN, 1% before CONTROL.
  for (const [at, failing] of [
    [BROKEN, 0.1],
    [CONTROL, 0.01],
  ] as const) {
    const minute = Math.floor((at - 10 * MINUTE) / 60_000) * 60;
    await writeCheckEvaluations(
      store,
      Array.from({ length: 200 }, (_, i) => ({
        time: `${minute}.000000000`,
        ruleId: "invoice-extraction-complete",
        service: "billing-agent",
        agent: "invoice-extractor",
        outputKey: `${at}/${i}`,
        failed: i < 200 * failing,
      })),
    );
  }
});

afterAll(async () => {
  await store.close();
});

describe("the shipped rate and drift examples", () => {
  it.each([
    ["invoice-total-drift.json", "invoice totals in cents"],
    ["support-intent-mix.json", "refund intents from 12% to 38%"],
    ["answer-length-after-deploy.json", "answers half as long after a model change"],
    ["truncated-answers-rate.json", "finish_reason length from 1% to 12%"],
    ["tool-latency-p95.json", "web_search p95 at 12 s"],
    ["invoice-schema-failure-rate.json", "10% of invoices failing their schema"],
  ])("%s catches %s and is quiet without it", async (file) => {
    const broken = await evaluate(file, BROKEN);
    expect(broken.status, broken.message).toBe("drift");
    const control = await evaluate(file, CONTROL);
    expect(control.status, control.message).toBe("ok");
  });
});

describe("backtests of window rules", () => {
  it("evaluate each scheduled window as it was then", async () => {
    const loaded = loadTestRuleFile(path.join(EXAMPLES, "invoice-total-drift.json"), EXAMPLES);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const [summary] = await backtest({
      rules: [loaded.rule],
      source: {
        outputsInWindow: () => Promise.resolve([]),
        tracesStartingInWindow: () => Promise.resolve([]),
        outputsOfTraces: () => Promise.resolve([]),
      },
      sinceMs: BROKEN - 90 * MINUTE,
      untilMs: BROKEN,
      evaluateWindows: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
    });
    const windows = summary?.windows ?? [];
    // Every 5 minutes from 85 minutes before the failure's end up to it.
    expect(windows.map((w) => w.at)).toEqual(
      Array.from({ length: 18 }, (_, i) =>
        new Date(BROKEN - 85 * MINUTE + i * 5 * MINUTE).toISOString(),
      ),
    );
    // The ×100 totals start an hour before BROKEN, one a minute: the window needs 30 of them.
    const firstDrift = windows.findIndex((w) => w.status === "drift");
    expect(windows[firstDrift]?.at).toBe(new Date(BROKEN - 30 * MINUTE).toISOString());
    expect(windows.slice(0, firstDrift).every((w) => w.status !== "drift")).toBe(true);
    expect(windows.slice(firstDrift).every((w) => w.status === "drift")).toBe(true);
    expect(summary).toMatchObject({ failed: 7, firstAt: windows[firstDrift]?.at });
  });
});
