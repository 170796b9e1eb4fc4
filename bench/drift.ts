/**
 * `npm run bench:drift`: one full drift evaluation of a window rule over `--rows` reference and
 * `--rows` current outputs (default 1,000,000 each), for every method, the way the scheduler
 * runs it (evaluateWindowRule: aggregates computed by ClickHouse, a few thousand numbers to
 * Node), side by side in the same run with the naive approach: fetch the raw values of both
 * windows into Node and compute the same aggregates there (aggregate-samples.ts).
 *
 *   fields  — output.json.total (numeric, in JSON), output.json.intent (categorical, in JSON),
 *             and the plain columns usage.output_tokens (numeric) and model (categorical), so
 *             that the cost of extracting from JSON is visible;
 *   memory  — peak Node heap and RSS while the SQL path runs at --rows / 5 and at --rows per
 *             side, and while the naive path runs at --rows;
 *   rounds  — every evaluation `--rounds` times (default 5), SQL and naive alternating which
 *             goes first; medians and their ratio are printed.
 * A method's naive time is the fetch plus the aggregates that method reads plus its test; its
 * SQL time is one evaluateWindowRule, each of its queries also timed. Aims (issue): under 1 s
 * per evaluation at 1M + 1M embedded, ≥ 10× faster than naive, Node memory independent of the
 * row count.
 *
 * Options: --rows N per side (default 1000000), --rounds N (default 5).
 */

import type { ClickHouseClient } from "@clickhouse/client";
import { rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  aggregateCategorical,
  aggregateNumeric,
  countInBins,
  quantileCuts,
} from "../src/evaluate/drift/aggregate-samples.ts";
import {
  evaluateDrift,
  type DriftAggregates,
  type DriftMethod,
  type DriftOutcome,
} from "../src/evaluate/drift/index.ts";
import { parseRule } from "../src/rules/load-rule.ts";
import type { Rule } from "../src/rules/rule.ts";
import { evaluateWindowRule } from "../src/evaluate/windows/evaluate-window.ts";
import { fieldSql } from "../src/evaluate/windows/sql-fields.ts";
import { SqlParams } from "../src/evaluate/windows/sql-params.ts";
import { matchSql } from "../src/evaluate/windows/sql-match.ts";
import type { DriftSpec } from "../src/rules/window-spec.ts";
import { compileRule } from "../src/evaluate/compile-rule.ts";
import type { WindowEvaluation } from "../src/rules/findings.ts";
import { createClickHouseClient } from "../src/store/client.ts";
import { runMigrations, tableNames } from "../src/store/migrations.ts";
import { createStore, type Store } from "../src/store/store.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "5" },
  },
});
const ROWS = Number(args.rows.replaceAll("_", ""));
const ROUNDS = Number(args.rounds);
const SMALL_ROWS = Math.floor(ROWS / 5);
const AIM_MS = 1000;
const AIM_RATIO = 10;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Evaluations happen at T: the current window is the hour before it, the reference the 7 days
// before that (a drift check's defaults).
const T = Date.UTC(2026, 9, 10, 12, 0, 0);
const SERVICE = "bench-drift";
const SMALL_SERVICE = "bench-drift-small";

const NUMERIC_METHODS: DriftMethod[] = [
  "ks",
  "wasserstein",
  "psi",
  "chi2",
  "jensen_shannon",
  "auto",
];
const CATEGORICAL_METHODS: DriftMethod[] = ["chi2", "psi", "jensen_shannon", "z", "auto"];

interface FieldCase {
  field: string;
  kind: "numeric" | "categorical";
  methods: DriftMethod[];
  /** For z: the category whose share is compared (else the reference's most frequent). */
  category?: string;
}

const FIELDS: FieldCase[] = [
  { field: "output.json.total", kind: "numeric", methods: NUMERIC_METHODS },
  {
    field: "output.json.intent",
    kind: "categorical",
    methods: CATEGORICAL_METHODS,
    category: "refund",
  },
  { field: "usage.output_tokens", kind: "numeric", methods: NUMERIC_METHODS },
  { field: "model", kind: "categorical", methods: CATEGORICAL_METHODS },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

// ---------------------------------------------------------------------------------------------
// Seeding: one INSERT … SELECT executed by ClickHouse, no rows built in Node.

const INTENTS = [
  "refund",
  "replacement",
  "delivery_status",
  "product_question",
  "billing",
  "cancel",
  "complaint",
  "other",
];
/** Cumulative shares of the intents: the current mix has more refunds and complaints. */
const INTENT_MIX = {
  reference: [0.25, 0.45, 0.6, 0.72, 0.82, 0.9, 0.96, 1],
  current: [0.3, 0.47, 0.6, 0.7, 0.79, 0.86, 0.96, 1],
};
const MODELS = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4"];
const MODEL_MIX = { reference: [0.6, 0.9, 1], current: [0.55, 0.87, 1] };

const list = (values: readonly (string | number)[]) =>
  `[${values.map((v) => (typeof v === "string" ? `'${v}'` : String(v))).join(", ")}]`;

/**
 * Reference rows evenly over the 7 days before the current hour, current rows over the hour
 * before T. Values come from hashes of the row number (Box–Muller for the normals), so every
 * run seeds the same data: totals N(100, 15) → N(102, 16), output tokens N(300, 60) → N(310,
 * 60), the intent and model mixes above. Only numbers and names we make go into the SQL text.
 */
async function seed(store: Store, service: string, rows: number): Promise<void> {
  const referenceFrom = T - HOUR - 7 * DAY;
  const currentFrom = T - HOUR;
  const uniform = (salt: number) => `((cityHash64(number, ${salt}) % 1000000000) + 0.5) / 1e9`;
  const normal = (a: number, b: number) =>
    `(sqrt(-2 * log(${uniform(a)})) * cos(2 * pi() * ${uniform(b)}))`;
  const pick = (
    names: readonly string[],
    mix: { reference: number[]; current: number[] },
    salt: number,
  ) =>
    `arrayElement(${list(names)}, arrayFirstIndex(c -> ${uniform(salt)} < c, if(cur, ${list(mix.current)}, ${list(mix.reference)})))`;
  await store.client.command({
    query: `INSERT INTO ${store.tables.outputs}
  (Timestamp, TraceId, SpanId, ServiceName, ServiceVersion, SpanName, Convention, Kind, Operation,
   AgentName, Provider, RequestModel, ResponseModel, Model, InputText, OutputText, OutputJson,
   OutputIsJson, FinishReason, InputTokens, OutputTokens, DurationNs, StatusCode)
SELECT
  fromUnixTimestamp64Nano(if(cur, ${currentFrom}, ${referenceFrom}) * 1000000
    + toInt64(i * if(cur, ${(HOUR * 1e6) / rows}, ${(7 * DAY * 1e6) / rows}))) AS Timestamp,
  leftPad(lower(hex(cityHash64(number, '${service}'))), 32, '0') AS TraceId,
  leftPad(lower(hex(number)), 16, '0') AS SpanId,
  '${service}', '2.3.1', concat('chat ', model), 'genai', 'llm', 'chat',
  'support-triage', 'openai', model, model, model,
  concat('user: Customer #', toString(number), ' writes: my order arrived damaged, can you help?'),
  json, json, true, 'stop', toUInt64(400 + number % 200), tokens,
  toUInt64(800000000 + cityHash64(number, 9) % 2000000000), 'Unset'
FROM (
  SELECT number, number >= ${rows} AS cur, if(cur, number - ${rows}, number) AS i,
    round(if(cur, 102, 100) + if(cur, 16, 15) * ${normal(1, 2)}, 2) AS total,
    toUInt64(greatest(1, round(if(cur, 310, 300) + 60 * ${normal(3, 4)}))) AS tokens,
    ${pick(INTENTS, INTENT_MIX, 5)} AS intent,
    ${pick(MODELS, MODEL_MIX, 6)} AS model,
    concat('{"intent":"', intent, '","order_id":"ORD-', toString(number * 7),
      '","priority":"', if(number % 5 = 0, 'high', 'normal'), '","total":', toString(total),
      ',"currency":"EUR","reply":"I am sorry your order arrived damaged. I have arranged a replacement that ships today by express delivery."}') AS json
  FROM numbers(${2 * rows})
)`,
  });
}

// ---------------------------------------------------------------------------------------------
// The SQL path: evaluateWindowRule, with each of its queries timed.

function load(
  fieldCase: FieldCase,
  method: DriftMethod,
  service: string,
): { rule: Rule; spec: DriftSpec } {
  const loaded = parseRule(
    {
      id: `bench.${fieldCase.field}.${method}`,
      match: { service },
      check: {
        type: "drift",
        field: fieldCase.field,
        kind: fieldCase.kind,
        method,
        ...(method === "z" && fieldCase.category !== undefined && { category: fieldCase.category }),
      },
    },
    "bench.json",
    { compile: compileRule },
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const spec = loaded.rule.window;
  if (spec?.type !== "drift") throw new Error("not a drift rule");
  return { rule: loaded.rule, spec };
}

/** The store with `client.query` timed: which of an evaluation's queries costs what. */
function timedStore(store: Store, queryMs: number[]): Store {
  const target = store.client;
  const client = new Proxy(target, {
    get(_, property) {
      if (property === "query") {
        return async (params: Parameters<ClickHouseClient["query"]>[0]) => {
          const started = performance.now();
          try {
            return await target.query(params);
          } finally {
            queryMs.push(performance.now() - started);
          }
        };
      }
      const value: unknown = Reflect.get(target, property);
      // Methods run on the client itself: it keeps its state in private fields.
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { ...store, client };
}

interface SqlRun {
  ms: number;
  queryMs: number[];
  result: WindowEvaluation;
}

async function runSql(store: Store, rule: Rule, spec: DriftSpec): Promise<SqlRun> {
  const queryMs: number[] = [];
  const timed = timedStore(store, queryMs);
  const started = performance.now();
  const result = await evaluateWindowRule(timed, rule, spec, T);
  const ms = performance.now() - started;
  if (result.status === "error" || result.status === "insufficient") {
    throw new Error(`${rule.id}: ${result.status}: ${result.message}`);
  }
  return { ms, queryMs, result };
}

// ---------------------------------------------------------------------------------------------
// The naive path: the raw values of both windows into Node, aggregates and tests there.

/**
 * The same rows as the SQL path (same windows, match and FINAL, and the same field expression,
 * so that extracting from JSON costs both sides the same), as one row holding each window's
 * raw values in an array: measured faster to fetch and parse than TabSeparated lines or
 * JSONCompactEachRow rows (2M numbers on a shared 2-CPU machine: 1.0–1.5 s, against 1.4–2.5 s
 * and 9–13 s).
 */
async function fetchSides<T>(store: Store, rule: Rule, spec: DriftSpec): Promise<Sides<T>> {
  if (spec.reference.type !== "trailing") throw new Error("the bench uses a trailing reference");
  const params = new SqlParams();
  const match = matchSql(rule.match, params);
  const value = fieldSql(spec.field, spec.kind, params);
  const currentFrom = params.add(T - spec.windowMs, "Int64");
  const referenceFrom = params.add(T - spec.windowMs - spec.reference.lengthMs, "Int64");
  const to = params.add(T, "Int64");
  const query = `SELECT groupArrayIf(x, NOT isCurrent) AS reference, groupArrayIf(x, isCurrent) AS current FROM (
  SELECT Timestamp >= fromUnixTimestamp64Milli(${currentFrom}) AS isCurrent, assumeNotNull(raw) AS x FROM (
    SELECT Timestamp, ${value} AS raw FROM ${store.tables.outputs} FINAL
    WHERE Timestamp >= fromUnixTimestamp64Milli(${referenceFrom}) AND Timestamp < fromUnixTimestamp64Milli(${to})
      AND (${match})
  ) WHERE raw IS NOT NULL
)`;
  const result = await store.client.query({
    query,
    query_params: params.values,
    format: "JSONEachRow",
  });
  const [row] = await result.json<Sides<T>>();
  return row ?? { reference: [], current: [] };
}

interface Sides<T> {
  reference: T[];
  current: T[];
}

/**
 * Category counts as categoricalWindowsAggregates chooses them: the top K of the reference
 * (ordered by the preferred category first, then reference count, current count, name), those
 * with reference count > 0 or the preferred one kept, every other category pooled in "other",
 * and "other" dropped when it is empty on both sides (except for z). Categories become indices
 * in that order, so aggregateCategorical counts exactly what the SQL counts.
 */
function categoricalAggregates(values: Sides<string>, spec: DriftSpec): DriftAggregates {
  const counts = new Map<string, { r: number; c: number }>();
  for (const x of values.reference) {
    const entry = counts.get(x) ?? { r: 0, c: 0 };
    entry.r += 1;
    counts.set(x, entry);
  }
  for (const x of values.current) {
    const entry = counts.get(x) ?? { r: 0, c: 0 };
    entry.c += 1;
    counts.set(x, entry);
  }
  const topK = spec.method === "z" ? 1 : spec.topK;
  const preferred = spec.category ?? "";
  const kept = [...counts]
    .sort(
      ([x, a], [y, b]) =>
        Number(y === preferred) - Number(x === preferred) ||
        b.r - a.r ||
        b.c - a.c ||
        (x < y ? -1 : x > y ? 1 : 0),
    )
    .slice(0, topK)
    .filter(([x, { r }]) => r > 0 || x === spec.category)
    .map(([x]) => x);
  const index = new Map(kept.map((x, i) => [x, i]));
  const other = kept.length;
  const toIndex = (x: string) => index.get(x) ?? other;
  const aggregates = aggregateCategorical(
    values.reference.map(toIndex),
    values.current.map(toIndex),
    other + 1,
  );
  const { reference, current } = aggregates.counts;
  if (spec.method === "z" || reference.at(-1) !== 0 || current.at(-1) !== 0) return aggregates;
  return {
    kind: "categorical",
    counts: { reference: reference.slice(0, -1), current: current.slice(0, -1) },
  };
}

/**
 * The coarse bins alone (PSI, chi-square, Jensen–Shannon need nothing else), built as
 * aggregateNumeric builds them — cut points at the reference's i/bins quantiles (numpy's linear
 * interpolation), bin 0 holding x ≤ c₀ — but sorting only the reference, in a Float64Array:
 * the naive side does no more work than these methods need.
 */
function coarseBins(
  reference: readonly number[],
  current: readonly number[],
  bins: number,
): DriftAggregates {
  const cuts = quantileCuts(Float64Array.from(reference).sort(), bins);
  return {
    kind: "numeric",
    bins: { reference: countInBins(cuts, reference), current: countInBins(cuts, current) },
  };
}

interface NaiveRun {
  /** Query, transfer and parse of the raw values. */
  fetchMs: number;
  /** Per method: its aggregates (built once, counted in every method that reads them) and test. */
  methodMs: Map<DriftMethod, number>;
  outcomes: Map<DriftMethod, DriftOutcome>;
  values: number;
}

async function runNaive(
  store: Store,
  fieldCase: FieldCase,
  loaded: Map<DriftMethod, { rule: Rule; spec: DriftSpec }>,
  sample: () => void,
): Promise<NaiveRun> {
  const first = loaded.get(fieldCase.methods[0] as DriftMethod);
  if (first === undefined) throw new Error("no rule");
  const methodMs = new Map<DriftMethod, number>();
  const outcomes = new Map<DriftMethod, DriftOutcome>();
  let started = performance.now();
  if (fieldCase.kind === "numeric") {
    const values = await fetchSides<number>(store, first.rule, first.spec);
    const fetchMs = performance.now() - started;
    sample();
    // Each method gets only the aggregates it reads: the full set (fine points: sorting both
    // windows pooled) for KS and Wasserstein, the reference-quantile bins for the others.
    started = performance.now();
    const full = aggregateNumeric(values.reference, values.current, {
      coarseBins: first.spec.bins,
    });
    const fullMs = performance.now() - started;
    sample();
    started = performance.now();
    const binsOnly = coarseBins(values.reference, values.current, first.spec.bins);
    const binsOnlyMs = performance.now() - started;
    sample();
    for (const method of fieldCase.methods) {
      const needsPoints = method === "ks" || method === "wasserstein" || method === "auto";
      started = performance.now();
      outcomes.set(method, evaluateDrift(method, needsPoints ? full : binsOnly));
      methodMs.set(method, (needsPoints ? fullMs : binsOnlyMs) + performance.now() - started);
    }
    return { fetchMs, methodMs, outcomes, values: values.reference.length + values.current.length };
  }
  const values = await fetchSides<string>(store, first.rule, first.spec);
  const fetchMs = performance.now() - started;
  sample();
  for (const method of fieldCase.methods) {
    const spec = loaded.get(method)?.spec;
    if (spec === undefined) throw new Error("no rule");
    started = performance.now();
    outcomes.set(method, evaluateDrift(method, categoricalAggregates(values, spec)));
    methodMs.set(method, performance.now() - started);
    sample();
  }
  return { fetchMs, methodMs, outcomes, values: values.reference.length + values.current.length };
}

// ---------------------------------------------------------------------------------------------
// Memory: peak heap and RSS of this process while a phase runs (chDB runs ClickHouse in this
// process, so RSS also holds ClickHouse's working memory; the heap is Node's alone).

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Peak {
  heapMb: number;
  rssStartMb: number;
  rssMb: number;
}

async function peakDuring(phase: (sample: () => void) => Promise<void>): Promise<Peak> {
  gc();
  const base = process.memoryUsage();
  let heap = base.heapUsed;
  let rss = base.rss;
  const sample = () => {
    const now = process.memoryUsage();
    heap = Math.max(heap, now.heapUsed);
    rss = Math.max(rss, now.rss);
  };
  const timer = setInterval(sample, 5);
  try {
    await phase(sample);
    sample();
  } finally {
    clearInterval(timer);
  }
  return {
    heapMb: (heap - base.heapUsed) / 2 ** 20,
    rssStartMb: base.rss / 2 ** 20,
    rssMb: rss / 2 ** 20,
  };
}

// ---------------------------------------------------------------------------------------------

function relativeDifference(a: number | null, b: number | null): number {
  if (a === null || b === null) return a === b ? 0 : Infinity;
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

const ms = (x: number) => x.toFixed(0);
const pad = (text: string, width: number) =>
  text.length >= width ? text : text + " ".repeat(width - text.length);
const padLeft = (text: string, width: number) =>
  text.length >= width ? text : " ".repeat(width - text.length) + text;

type LoadedRules = Map<string, Map<DriftMethod, { rule: Rule; spec: DriftSpec }>>;

function loadAll(service: string): LoadedRules {
  return new Map(
    FIELDS.map((fieldCase) => [
      fieldCase.field,
      new Map(fieldCase.methods.map((method) => [method, load(fieldCase, method, service)])),
    ]),
  );
}

function ruleOf(rules: LoadedRules, field: string, method: DriftMethod) {
  const loaded = rules.get(field)?.get(method);
  if (loaded === undefined) throw new Error(`no rule for ${field} ${method}`);
  return loaded;
}

/** Per "field|method": the rounds' times and the last outcome of each side. */
interface Measurements {
  sqlMs: Map<string, number[]>;
  sqlQueryMs: Map<string, number[][]>;
  naiveMs: Map<string, number[]>;
  fetchMs: Map<string, number[]>;
  lastSql: Map<string, WindowEvaluation>;
  lastNaive: Map<string, DriftOutcome>;
  naiveValues: Map<string, number>;
}

async function measure(store: Store, rules: LoadedRules): Promise<Measurements> {
  const m: Measurements = {
    sqlMs: new Map(),
    sqlQueryMs: new Map(),
    naiveMs: new Map(),
    fetchMs: new Map(),
    lastSql: new Map(),
    lastNaive: new Map(),
    naiveValues: new Map(),
  };
  const push = <V>(map: Map<string, V[]>, key: string, value: V) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const fieldCase of FIELDS) {
      const sqlSide = async () => {
        for (const method of fieldCase.methods) {
          const { rule, spec } = ruleOf(rules, fieldCase.field, method);
          const run = await runSql(store, rule, spec);
          const key = `${fieldCase.field}|${method}`;
          push(m.sqlMs, key, run.ms);
          push(m.sqlQueryMs, key, run.queryMs);
          m.lastSql.set(key, run.result);
        }
      };
      const naiveSide = async () => {
        const run = await runNaive(
          store,
          fieldCase,
          rules.get(fieldCase.field) ?? new Map(),
          () => {},
        );
        push(m.fetchMs, fieldCase.field, run.fetchMs);
        m.naiveValues.set(fieldCase.field, run.values);
        for (const method of fieldCase.methods) {
          const key = `${fieldCase.field}|${method}`;
          push(m.naiveMs, key, run.fetchMs + (run.methodMs.get(method) ?? NaN));
          const outcome = run.outcomes.get(method);
          if (outcome !== undefined) m.lastNaive.set(key, outcome);
        }
      };
      // Alternate which side goes first: neither always meets a warm (or cold) cache.
      if (round % 2 === 0) {
        await sqlSide();
        await naiveSide();
      } else {
        await naiveSide();
        await sqlSide();
      }
    }
    console.log(`round ${round + 1}/${ROUNDS} done`);
  }
  return m;
}

function report(m: Measurements, peaks: { sqlSmall: Peak; sqlFull: Peak; naiveFull: Peak }): void {
  console.log("");
  console.log(
    `rows: ${ROWS} reference + ${ROWS} current, rounds: ${ROUNDS}, medians; ${availableParallelism()} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    [
      pad("field", 20),
      pad("kind", 12),
      pad("method", 21),
      padLeft("sql ms", 8),
      pad("  (per query)", 18),
      padLeft("naive ms", 9),
      padLeft("ratio", 7),
      "  status  statistic",
    ].join(""),
  );
  const mismatches: string[] = [];
  let maxSql = 0;
  let maxSqlKey = "";
  let minRatio = Infinity;
  let minRatioKey = "";
  for (const fieldCase of FIELDS) {
    for (const method of fieldCase.methods) {
      const key = `${fieldCase.field}|${method}`;
      const sql = median(m.sqlMs.get(key) ?? []);
      const naive = median(m.naiveMs.get(key) ?? []);
      const perQuery = m.sqlQueryMs.get(key) ?? [];
      const queries = Array.from({ length: perQuery[0]?.length ?? 0 }, (_, i) =>
        ms(median(perQuery.map((round) => round[i] ?? NaN))),
      ).join(" + ");
      const ratio = naive / sql;
      if (sql > maxSql) [maxSql, maxSqlKey] = [sql, key];
      if (ratio < minRatio) [minRatio, minRatioKey] = [ratio, key];
      const result = m.lastSql.get(key);
      const outcome = m.lastNaive.get(key);
      const shown = result?.method === method ? method : `${method}→${result?.method ?? "?"}`;
      console.log(
        [
          pad(fieldCase.field, 20),
          pad(fieldCase.kind, 12),
          pad(shown, 21),
          padLeft(ms(sql), 8),
          pad(`  (${queries})`, 18),
          padLeft(ms(naive), 9),
          padLeft(`${ratio.toFixed(1)}×`, 7),
          `  ${pad(result?.status ?? "?", 7)} ${result?.statistic?.toPrecision(6) ?? "null"}`,
        ].join(""),
      );
      // The SQL mirrors aggregate-samples.ts (quantiles interpolated alike, bins closed on the
      // upper cut, categories in the same top-K order), so both should agree to rounding.
      const statistic = relativeDifference(result?.statistic ?? null, outcome?.statistic ?? null);
      const pValue = relativeDifference(result?.pValue ?? null, outcome?.pValue ?? null);
      const sameSizes =
        result?.referenceSize === outcome?.referenceSize &&
        result?.currentSize === outcome?.currentSize;
      const sameDecision = (result?.status === "drift") === outcome?.drifted;
      if (statistic > 1e-6 || pValue > 1e-6 || !sameSizes || !sameDecision) {
        mismatches.push(
          `${key}: sql ${result?.statistic} (p ${result?.pValue}, n ${result?.referenceSize}/${result?.currentSize}, ${result?.status}) vs naive ${outcome?.statistic} (p ${outcome?.pValue}, n ${outcome?.referenceSize}/${outcome?.currentSize}, ${outcome?.drifted ? "drift" : "ok"})`,
        );
      }
    }
  }
  console.log("");
  for (const fieldCase of FIELDS) {
    console.log(
      `naive fetch + parse of ${m.naiveValues.get(fieldCase.field)} values of ${pad(fieldCase.field, 20)} ${ms(median(m.fetchMs.get(fieldCase.field) ?? []))} ms`,
    );
  }
  console.log("");
  const memory = (label: string, peak: Peak) =>
    console.log(
      `${pad(label, 40)} peak heap +${peak.heapMb.toFixed(1)} MB, RSS ${peak.rssStartMb.toFixed(0)} MB at start, peak ${peak.rssMb.toFixed(0)} MB`,
    );
  memory(`SQL path, ${SMALL_ROWS} + ${SMALL_ROWS} rows`, peaks.sqlSmall);
  memory(`SQL path, ${ROWS} + ${ROWS} rows`, peaks.sqlFull);
  memory(`naive path, ${ROWS} + ${ROWS} rows`, peaks.naiveFull);
  console.log(
    "(RSS includes the embedded ClickHouse's own working memory and what seeding left; the heap is Node's alone)",
  );
  console.log("");
  for (const line of mismatches) console.log(`MISMATCH ${line}`);
  if (mismatches.length === 0) {
    console.log("SQL and naive agree on every statistic, p-value, size and decision (≤ 1e-6)");
  }
  console.log(
    `max SQL evaluation ${ms(maxSql)} ms (${maxSqlKey}): ${maxSql < AIM_MS ? "under" : "OVER"} the ${AIM_MS} ms aim`,
  );
  console.log(
    `min ratio naive / SQL ${minRatio.toFixed(1)}× (${minRatioKey}): ${minRatio >= AIM_RATIO ? "meets" : "MISSES"} the ${AIM_RATIO}× aim`,
  );
}

async function main(): Promise<void> {
  const dir = join(".bench", `drift-data-${process.pid}`);
  const client = createClickHouseClient({ dataDir: dir, user: "default", password: "" });
  const tables = tableNames("plumbline", "otel_traces");
  const store = createStore(client, tables);
  try {
    await runMigrations(client, { tables, retentionDays: 0 });
    let started = performance.now();
    await seed(store, SERVICE, ROWS);
    await seed(store, SMALL_SERVICE, SMALL_ROWS);
    const [parts] = await (
      await client.query({
        query: `SELECT count() AS parts FROM system.parts WHERE active AND database = {db:String} AND table = 'agent_outputs'`,
        query_params: { db: tables.database },
        format: "JSONEachRow",
      })
    ).json<{ parts: string }>();
    console.log(
      `seeded ${ROWS} + ${ROWS} rows (service ${SERVICE}) and ${SMALL_ROWS} + ${SMALL_ROWS} (${SMALL_SERVICE}) in ${ms(performance.now() - started)} ms, ${parts?.parts ?? "?"} active parts`,
    );
    const rules = loadAll(SERVICE);
    const smallRules = loadAll(SMALL_SERVICE);
    const everySql = async (byField: LoadedRules, sample: () => void) => {
      for (const methods of byField.values()) {
        for (const { rule, spec } of methods.values()) {
          await runSql(store, rule, spec);
          sample();
        }
      }
    };

    // Memory first, before the naive path has grown the heap and RSS; it also warms up.
    started = performance.now();
    const sqlSmall = await peakDuring((sample) => everySql(smallRules, sample));
    const sqlFull = await peakDuring((sample) => everySql(rules, sample));
    const naiveFull = await peakDuring(async (sample) => {
      for (const fieldCase of FIELDS) {
        await runNaive(store, fieldCase, rules.get(fieldCase.field) ?? new Map(), sample);
      }
    });
    console.log(`memory phase (also the warm-up) took ${ms(performance.now() - started)} ms`);

    report(await measure(store, rules), { sqlSmall, sqlFull, naiveFull });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
