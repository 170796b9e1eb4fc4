import { parseTestRule } from "./helpers/rules.ts";
// Window rules over a real embedded store: the aggregates ClickHouse computes give the same
// statistics as the Node definitions (aggregate-samples.ts, themselves checked against scipy),
// and windows, baselines, exclusions, minSamples and the rate measures behave as documented.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { aggregateCategorical, aggregateNumeric } from "../src/evaluate/drift/aggregate-samples.ts";
import {
  evaluateDrift,
  twoProportionZTest,
  type DriftMethod,
} from "../src/evaluate/drift/index.ts";
import { createRandom, normalSample } from "../src/evaluate/drift/seeded-random.ts";

import { makeRow } from "./helpers/make-row.ts";
import type { Rule } from "../src/rules/rule.ts";
import {
  evaluateWindowRule,
  evaluateWindowRules,
} from "../src/evaluate/windows/evaluate-window.ts";
import { defaultSignificance } from "../src/rules/significance.ts";
import { parseWindowCheck, type WindowSpec } from "../src/rules/window-spec.ts";
import { writeCheckEvaluations } from "../src/store/tables/checks.ts";
import type { WindowEvaluation } from "../src/rules/findings.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import type { Store } from "../src/store/store.ts";
import { openTestStore } from "./helpers/store.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Evaluations happen at T; the current window is the hour before it. */
const T = Date.UTC(2026, 9, 10, 12, 0, 0);

let store: Store;
let serial = 0;

function at(ms: number, overrides: Partial<AgentOutputRow>): AgentOutputRow {
  serial += 1;
  return makeRow({
    Timestamp: `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, "0")}`,
    TraceId: serial.toString(16).padStart(32, "0"),
    SpanId: serial.toString(16).padStart(16, "0"),
    ...overrides,
  });
}

/** Spreads values evenly over [from, to). */
function spread(
  values: readonly (number | string)[],
  from: number,
  to: number,
  make: (value: number | string) => Partial<AgentOutputRow>,
): AgentOutputRow[] {
  const step = (to - from) / values.length;
  return values.map((value, i) => at(from + Math.floor(i * step), make(value)));
}

function load(json: Record<string, unknown>): { rule: Rule; spec: WindowSpec } {
  const loaded = parseTestRule({ id: "test.window", ...json }, "test.json");
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const check = loaded.rule.check;
  if (check.type !== "rate" && check.type !== "drift") throw new Error("not a window rule");
  const parsed = parseWindowCheck(check);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return { rule: loaded.rule, spec: parsed.spec };
}

async function run(json: Record<string, unknown>, atMs = T) {
  const { rule, spec } = load(json);
  return evaluateWindowRule(store, rule, spec, atMs);
}

const random = createRandom(7);
// Invoice totals: 1,500 reference outputs over the week before the current hour, 800 current.
const refTotals = normalSample(random, 1500, 100, 15).map((v) => Math.round(v * 100) / 100);
const curTotals = normalSample(random, 1200, 104, 15).map((v) => Math.round(v * 100) / 100);
// Few distinct values (token counts): the exact value → count support.
const refTokens = normalSample(random, 400, 200, 20).map((v) => Math.round(v / 10) * 10);
const curTokens = normalSample(random, 300, 230, 20).map((v) => Math.round(v / 10) * 10);
/** An incident in the reference, and the reference totals outside it. */
const INCIDENT = { fromMs: T - 3 * DAY, toMs: T - 3 * DAY + 60_000 };
const REF_FROM = T - HOUR - 7 * DAY;
const keptTotals = refTotals.filter((_, i) => {
  const time = REF_FROM + Math.floor((i * 7 * DAY) / refTotals.length);
  return time < INCIDENT.fromMs || time >= INCIDENT.toMs;
});
const INTENTS = ["refund", "shipping", "billing", "other-question", "cancel"];
const refIntents = Array.from({ length: 600 }, (_, i) => INTENTS[i % 5] as string);
const curIntents = Array.from({ length: 300 }, (_, i) =>
  i % 3 === 0 ? "refund" : (INTENTS[i % 5] as string),
);

beforeAll(async () => {
  store = await openTestStore();
  const invoice = (value: number | string) => ({
    ServiceName: "billing",
    OutputText: JSON.stringify({ total: value, currency: "USD" }),
  });
  const tokens = (value: number | string) => ({
    ServiceName: "tokens",
    OutputTokens: Number(value),
  });
  const intents = (value: number | string) => ({
    ServiceName: "support",
    OutputText: JSON.stringify({ intent: value }),
  });
  const outputs = [
    ...spread(refTotals, T - HOUR - 7 * DAY, T - HOUR, invoice),
    ...spread(curTotals, T - HOUR, T, invoice),
    ...spread(refTokens, T - HOUR - 7 * DAY, T - HOUR, tokens),
    ...spread(curTokens, T - HOUR, T, tokens),
    ...spread(refIntents, T - HOUR - 7 * DAY, T - HOUR, intents),
    ...spread(curIntents, T - HOUR, T, intents),
    // An incident in the reference: huge totals that an exclusion must leave out.
    ...spread([9e6, 9e6, 9e6], INCIDENT.fromMs, INCIDENT.toMs, invoice),
    // Outside both windows: never read.
    ...spread([1e9], T + HOUR, T + 2 * HOUR, invoice),
  ];
  await store.write({ traces: [], outputs });
});

afterAll(async () => {
  await store.close();
});

const invoiceDrift = (method: DriftMethod, extra: Record<string, unknown> = {}) => ({
  match: { service: "billing" },
  check: {
    type: "drift",
    field: "output.json.total",
    kind: "numeric",
    method,
    exclude: [
      { from: new Date(INCIDENT.fromMs).toISOString(), to: new Date(INCIDENT.toMs).toISOString() },
    ],
    ...extra,
  },
});

describe("drift rules computed in ClickHouse", () => {
  const methods: DriftMethod[] = ["ks", "wasserstein", "psi", "chi2", "jensen_shannon"];
  for (const method of methods) {
    it(`${method}: ClickHouse aggregates give the statistic of the raw values`, async () => {
      const result = await run(invoiceDrift(method));
      // The rule runs every 5m: its tests' default level is 0.05 / 288 (significance.ts).
      const expected = evaluateDrift(method, aggregateNumeric(keptTotals, curTotals), {
        significance: defaultSignificance(5 * 60_000),
      });
      expect(result.status).toBe(expected.drifted ? "drift" : "ok");
      expect(result.referenceSize).toBe(keptTotals.length);
      expect(result.currentSize).toBe(curTotals.length);
      expect(result.statistic).toBeCloseTo(expected.statistic, 9);
      if (expected.pValue !== null) expect(result.pValue).toBeCloseTo(expected.pValue, 9);
      expect(result.threshold).toBeCloseTo(expected.threshold, 12);
      expect(result.bins).toHaveLength(10);
      expect(result.referenceCounts.reduce((a, b) => a + b, 0)).toBe(keptTotals.length);
      expect(result.currentCounts.reduce((a, b) => a + b, 0)).toBe(curTotals.length);
    });
  }

  it("reads few distinct values exactly (token counts) and detects the shift", async () => {
    const json = {
      match: { service: "tokens" },
      check: { type: "drift", field: "usage.output_tokens", method: "ks" },
    };
    const result = await run(json);
    const expected = evaluateDrift("ks", aggregateNumeric(refTokens, curTokens));
    expect(result.statistic).toBeCloseTo(expected.statistic, 12);
    expect(result.pValue).toBeCloseTo(expected.pValue ?? NaN, 12);
    expect(result.status).toBe("drift");
  });

  it("auto picks wasserstein when both windows are large, the exclusion keeps the incident out", async () => {
    const result = await run(invoiceDrift("auto"));
    expect(result.method).toBe("wasserstein");
    // A small current window (300) against the same large reference: a test, at 0.05 / 288.
    const small = await run({
      match: { service: "billing" },
      check: { type: "drift", field: "output.json.total", kind: "numeric", window: "15m" },
    });
    expect(small.currentSize).toBe(300);
    expect(small.method).toBe("ks");
    expect(small.threshold).toBeCloseTo(0.05 / 288, 15);
    expect(result.referenceSize).toBe(keptTotals.length);
    const withIncident = await run({
      ...invoiceDrift("auto"),
      check: { ...invoiceDrift("auto").check, exclude: [] },
    });
    expect(withIncident.referenceSize).toBe(refTotals.length + 3);
  });

  it("categorical: top-K of the reference plus other, chi2 and jensen_shannon", async () => {
    const index = (v: string) => INTENTS.indexOf(v);
    for (const method of ["chi2", "jensen_shannon", "psi"] as const) {
      const result = await run({
        match: { service: "support" },
        check: { type: "drift", field: "output.json.intent", kind: "categorical", method },
      });
      const expected = evaluateDrift(
        method,
        aggregateCategorical(refIntents.map(index), curIntents.map(index), INTENTS.length),
      );
      expect(result.statistic).toBeCloseTo(expected.statistic, 9);
      expect(result.status).toBe(expected.drifted ? "drift" : "ok");
      expect(result.bins.slice(0, -1).sort()).toEqual([...INTENTS].sort());
      expect(result.bins.at(-1)).toBe("(other)");
    }
  });

  it("z compares the share of one category", async () => {
    const result = await run({
      match: { service: "support" },
      check: {
        type: "drift",
        field: "output.json.intent",
        kind: "categorical",
        method: "z",
        category: "refund",
      },
    });
    const refund = (list: string[]) => list.filter((v) => v === "refund").length;
    const expected = twoProportionZTest({
      currentSuccesses: refund(curIntents),
      currentTotal: curIntents.length,
      referenceSuccesses: refund(refIntents),
      referenceTotal: refIntents.length,
    });
    expect(result.statistic).toBeCloseTo(expected.statistic, 9);
    expect(result.pValue).toBeCloseTo(expected.pValue, 9);
    expect(result.bins).toEqual(["refund", "(other)"]);
    expect(result.status).toBe("drift");
  });

  it("too few samples is insufficient, never no drift", async () => {
    const result = await run(invoiceDrift("ks", { minSamples: { current: 1201 } }));
    expect(result.status).toBe("insufficient");
    expect(result.statistic).toBeNull();
    expect(result.currentSize).toBe(1200);
    expect(result.message).toMatch(/too few samples: current 1200 \(needs 1201\)/);
    const empty = await run(invoiceDrift("ks"), T - 30 * DAY);
    expect(empty.status).toBe("insufficient");
  });

  it("a pinned reference reads its own range", async () => {
    const result = await run(
      invoiceDrift("ks", {
        reference: {
          from: new Date(T - HOUR - 7 * DAY).toISOString(),
          to: new Date(T - HOUR - 6 * DAY).toISOString(),
        },
      }),
    );
    const first = refTotals.filter((_, i) => i < Math.ceil(refTotals.length / 7));
    expect(result.referenceSize).toBe(first.length);
    expect(result.referenceStart).toBe(T - HOUR - 7 * DAY);
  });
});

describe("previous_version", () => {
  it("compares the current version's outputs with the last window of the previous one", async () => {
    const base = T + 20 * DAY;
    const old = normalSample(createRandom(3), 300, 500, 50);
    const fresh = normalSample(createRandom(4), 200, 300, 50);
    const answer = (version: string) => (value: number | string) => ({
      ServiceName: "writer",
      ServiceVersion: version,
      OutputText: "x".repeat(Math.max(1, Math.round(Number(value)))),
    });
    await store.write({
      traces: [],
      outputs: [
        ...spread(old, base - 2 * DAY, base - 30 * 60_000, answer("1.0.0")),
        ...spread(fresh, base - 30 * 60_000, base, answer("1.1.0")),
      ],
    });
    const result = await run(
      {
        match: { service: "writer" },
        check: {
          type: "drift",
          field: "output.length",
          method: "ks",
          reference: { previous_version: "service.version" },
        },
      },
      base,
    );
    expect(result.currentSize).toBe(200);
    expect(result.referenceSize).toBe(300);
    expect(result.status).toBe("drift");
    const none = await run(
      {
        match: { service: "billing" },
        check: { type: "drift", field: "output.length", reference: { previous_version: "model" } },
      },
      T,
    );
    expect(none.status).toBe("insufficient");
    expect(none.message).toMatch(/no earlier model/);
  });
});

describe("rate rules", () => {
  it("share against a threshold", async () => {
    const result = await run({
      match: { service: "support" },
      check: {
        type: "rate",
        window: "1h",
        share: [{ field: "output.json.intent", equals: "refund" }],
        above: 0.3,
      },
    });
    const share = curIntents.filter((v) => v === "refund").length / curIntents.length;
    expect(result.statistic).toBeCloseTo(share, 12);
    expect(result.status).toBe(share >= 0.3 ? "drift" : "ok");
    expect(result.currentSize).toBe(300);
  });

  it("share against a baseline: one-sided two-proportion z-test", async () => {
    const result = await run({
      match: { service: "support" },
      check: {
        type: "rate",
        window: "1h",
        share: [{ field: "output.json.intent", equals: "refund" }],
        baseline: { reference: { trailing: "7d" }, alpha: 0.01 },
      },
    });
    const refund = (list: string[]) => list.filter((v) => v === "refund").length;
    const z = twoProportionZTest({
      currentSuccesses: refund(curIntents),
      currentTotal: 300,
      referenceSuccesses: refund(refIntents),
      referenceTotal: 600,
    });
    expect(result.statistic).toBeCloseTo(z.statistic, 9);
    expect(result.pValue).toBeCloseTo(z.pValue / 2, 9);
    expect(result.status).toBe("drift");
    const below = await run({
      match: { service: "support" },
      check: {
        type: "rate",
        window: "1h",
        share: [{ field: "output.json.intent", equals: "refund" }],
        baseline: { direction: "below" },
      },
    });
    expect(below.status).toBe("ok");
  });

  it("a percentile of a field against a threshold", async () => {
    const result = await run({
      match: { service: "billing" },
      check: {
        type: "rate",
        window: "1h",
        aggregate: "p95",
        field: "output.json.total",
        above: 50,
      },
    });
    const sorted = [...curTotals].sort((a, b) => a - b);
    const position = 0.95 * (sorted.length - 1);
    const low = sorted[Math.floor(position)] ?? NaN;
    const high = sorted[Math.ceil(position)] ?? NaN;
    expect(result.statistic).toBeCloseTo(low + (high - low) * (position - Math.floor(position)), 9);
    expect(result.status).toBe("drift");
  });

  it("the failure ratio of another rule, from its per-minute counts", async () => {
    const minute = Math.floor((T - 10 * 60_000) / 1000 / 60) * 60;
    await writeCheckEvaluations(
      store,
      Array.from({ length: 50 }, (_, i) => ({
        time: `${minute}.000000000`,
        ruleId: "invoice-schema",
        service: "billing",
        agent: "",
        outputKey: `k${i}`,
        failed: i < 5,
      })),
    );
    const result = await run({
      check: { type: "rate", window: "15m", failures: "invoice-schema", above: 0.02 },
    });
    expect(result.statistic).toBeCloseTo(0.1, 12);
    expect(result.currentSize).toBe(50);
    expect(result.status).toBe("drift");
    const quiet = await run({
      check: { type: "rate", window: "15m", failures: "no-such-rule", above: 0.02 },
    });
    expect(quiet.status).toBe("insufficient");
  });
});

describe("batched evaluation (backtests, catch-up)", () => {
  // One query for many windows must give each window exactly what its own query gives.
  const rules: [string, Record<string, unknown>][] = [
    ["ks, excluded incident", invoiceDrift("ks")],
    ["wasserstein", invoiceDrift("wasserstein")],
    ["psi", invoiceDrift("psi", { exclude: [] })],
    ["auto, 15m", invoiceDrift("auto", { window: "15m" })],
    [
      "pinned reference",
      invoiceDrift("chi2", {
        reference: {
          from: new Date(T - HOUR - 7 * DAY).toISOString(),
          to: new Date(T - HOUR - 6 * DAY).toISOString(),
        },
      }),
    ],
    [
      "exact token counts",
      { match: { service: "tokens" }, check: { type: "drift", field: "usage.output_tokens" } },
    ],
    [
      "categorical chi2",
      {
        match: { service: "support" },
        check: { type: "drift", field: "output.json.intent", kind: "categorical", method: "chi2" },
      },
    ],
    [
      "z on refund",
      {
        match: { service: "support" },
        check: {
          type: "drift",
          field: "output.json.intent",
          kind: "categorical",
          method: "z",
          category: "refund",
        },
      },
    ],
    [
      "previous model",
      {
        match: { service: "writer" },
        check: {
          type: "drift",
          field: "output.length",
          reference: { previous_version: "service.version" },
          minSamples: 10,
        },
      },
    ],
    [
      "share baseline",
      {
        match: { service: "support" },
        check: {
          type: "rate",
          window: "1h",
          share: [{ field: "output.json.intent", equals: "refund" }],
          baseline: { reference: { trailing: "7d" } },
        },
      },
    ],
    [
      "p95",
      {
        match: { service: "billing" },
        check: { type: "rate", aggregate: "p95", field: "output.json.total", above: 120 },
      },
    ],
  ];
  // Windows over the data (some overlapping the current hour, some the week before), one
  // with nothing in it, and two after the writer's version change (written by the
  // previous_version test above, which runs first).
  const times = [
    T,
    T - 5 * 60_000,
    T - 20 * 60_000,
    T - HOUR,
    T - 3 * DAY,
    T - 30 * DAY,
    T + 20 * DAY,
    T + 20 * DAY - 10 * 60_000,
  ];

  it.each(rules)("%s: each window as its own evaluation gives", async (_name, json) => {
    const { rule, spec } = load(json);
    const now = T + DAY;
    const queries = vi.spyOn(store.client, "query");
    const batched = await evaluateWindowRules(store, rule, spec, times, now);
    // One query for all the windows (previous_version: one more, for the version changes).
    const perBatch =
      "previous_version" in ((json["check"] as { reference?: object }).reference ?? {}) ? 2 : 1;
    expect(queries).toHaveBeenCalledTimes(perBatch);
    queries.mockRestore();
    const single: WindowEvaluation[] = [];
    for (const at of times) single.push(await evaluateWindowRule(store, rule, spec, at, now));
    // Equal, up to the last bits of sums a grouped aggregation adds in another order.
    const close = (a: number | null, b: number | null) =>
      a === null || b === null ? a === b : Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
    expect(batched).toHaveLength(single.length);
    batched.forEach((row, i) => {
      const one = single[i];
      if (one === undefined) throw new Error("no single evaluation");
      expect({ ...row, statistic: 0, pValue: 0 }).toEqual({ ...one, statistic: 0, pValue: 0 });
      expect(close(row.statistic, one.statistic), `${row.statistic} vs ${one.statistic}`).toBe(
        true,
      );
      expect(close(row.pValue, one.pValue), `${row.pValue} vs ${one.pValue}`).toBe(true);
    });
    // The comparison is not vacuous: the batch has evaluated windows, and insufficient ones.
    expect(single.map((row) => row.status)).toContain("insufficient");
    expect(single.some((row) => row.status === "ok" || row.status === "drift")).toBe(true);
  });
});
