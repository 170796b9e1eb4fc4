/**
 * The SQL of window rules (drift and rate): every count, quantile, histogram and category
 * frequency is computed by ClickHouse where the rows are; Node receives aggregates of at most
 * a few thousand numbers, whatever the number of rows. The caller supplies the rule's match
 * and field as SQL built from the closed field grammar, with its parameters; time bounds are
 * parameters too. Rows of agent_outputs are read with FINAL: a span a client re-sent counts once.
 */

import type { Store } from "../../store/store.ts";
import { EVALUATION_ATTRIBUTE_PREFIX } from "../../rules/field-grammar.ts";
import { SPAN_JOIN_SETTINGS } from "../../store/tables/agent-outputs.ts";
import { JUDGED_ATTRIBUTES, SPAN_ATTRIBUTES_OF_SPAN } from "./sql-fields.ts";
import type { SqlParamsLike } from "./sql-params.ts";

export interface TimeRangeMs {
  fromMs: number;
  toMs: number;
}

/** Which rows are the current and which the reference window. */
export interface WindowSides {
  current: TimeRangeMs;
  reference: TimeRangeMs;
  /** Time ranges left out of the reference. */
  exclude: readonly TimeRangeMs[];
  /** previous_version: each side holds only rows of its version of this column. */
  version?: { column: "ServiceVersion" | "Model"; current: string; reference: string };
}

/** The rows a window rule reads: its match (SQL, "1" for all) and the parameters so far. */
export interface WindowSource {
  match: string;
  params: SqlParamsLike;
}

function rangeSql(range: TimeRangeMs, params: SqlParamsLike): string {
  const from = params.add(range.fromMs, "Int64");
  const to = params.add(range.toMs, "Int64");
  return `(Timestamp >= fromUnixTimestamp64Milli(${from}) AND Timestamp < fromUnixTimestamp64Milli(${to}))`;
}

/**
 * k, side and value x of every matching row whose field is present, for each window k
 * (1-based) of `windows` it falls in: 'c' in window k's current range, else 'r' in its
 * reference (outside the exclusions; previous_version: of the window's version on each side).
 * A row in several windows (a trailing reference is shared by neighbours) is counted in each:
 * the rows are read, filtered and their field extracted once, then paired with their windows
 * (ARRAY JOIN). One window needs no pairing: its side is a plain expression, which on millions
 * of rows is much cheaper.
 */
function windowsSource(
  store: Store,
  source: WindowSource,
  windows: readonly WindowSides[],
  value: string,
): string {
  const params = source.params;
  const first = windows[0];
  if (first === undefined) throw new Error("windowsSource: no windows");
  const single = windows.length === 1;
  // One window: its bounds are parameters compared with Timestamp. Several: arrays of bounds
  // indexed by the window `w`, compared with the row's time in milliseconds, t.
  const inRange = (from: readonly number[], to: readonly number[]) =>
    single
      ? rangeSql({ fromMs: from[0] ?? 0, toMs: to[0] ?? 0 }, params)
      : `(t >= ${params.add(from, "Array(Int64)")}[w] AND t < ${params.add(to, "Array(Int64)")}[w])`;
  const excluded = first.exclude.map((range) =>
    single
      ? rangeSql(range, params)
      : `(t >= ${params.add(range.fromMs, "Int64")} AND t < ${params.add(range.toMs, "Int64")})`,
  );
  let inCurrent = inRange(
    windows.map((w) => w.current.fromMs),
    windows.map((w) => w.current.toMs),
  );
  let inReference = `${inRange(
    windows.map((w) => w.reference.fromMs),
    windows.map((w) => w.reference.toMs),
  )}${excluded.length > 0 ? " AND NOT excluded" : ""}`;
  let version = "";
  if (first.version !== undefined) {
    const each = (values: readonly string[]) =>
      single ? params.add(values[0] ?? "", "String") : `${params.add(values, "Array(String)")}[w]`;
    const vc = each(windows.map((w) => w.version?.current ?? ""));
    const vr = each(windows.map((w) => w.version?.reference ?? ""));
    version = `, ${first.version.column} AS version`;
    inCurrent += ` AND version = ${vc}`;
    inReference += ` AND version = ${vr}`;
  }
  // Rows are read once: from the earliest to the latest current, and the same for references.
  const span = (ranges: readonly TimeRangeMs[]) =>
    rangeSql(
      {
        fromMs: Math.min(...ranges.map((r) => r.fromMs)),
        toMs: Math.max(...ranges.map((r) => r.toMs)),
      },
      params,
    );
  const bounds = `(${span(windows.map((w) => w.current))} OR ${span(windows.map((w) => w.reference))})`;
  const side = `multiIf(${inCurrent}, 'c', ${inReference}, 'r', '')`;
  const rows = `SELECT ${value} AS raw${single ? ", Timestamp" : ", toUnixTimestamp64Milli(Timestamp) AS t"}${
    excluded.length > 0 ? `, (${excluded.join(" OR ")}) AS excluded` : ""
  }${version}
  FROM ${outputsWithScores(store, `${value} ${source.match}`, bounds, params)}
  WHERE ${bounds} AND (${source.match})`;
  if (single) {
    return `SELECT 1 AS k, side, assumeNotNull(raw) AS x FROM (
  SELECT raw, ${side} AS side FROM (${rows})
) WHERE side != '' AND raw IS NOT NULL`;
  }
  return `SELECT pair.1 AS k, pair.2 AS side, assumeNotNull(raw) AS x FROM (${rows})
ARRAY JOIN arrayFilter(p -> p.2 != '', arrayMap(w -> (w, ${side}), range(1, ${windows.length + 1}))) AS pair
WHERE raw IS NOT NULL`;
}

/**
 * agent_outputs (FINAL unless told), and, when `reads` (the query's field and match SQL) names
 * the judge's results, each row's judge verdicts beside it: evaluation_scores rows of Source
 * judge within `bounds`, as a map keyed like the evaluation span attributes
 * (`plumbline.evaluation.<name>.score|label|explanation`), so that sql-fields.ts reads a judge
 * score exactly as it reads an evaluation event's. Rows without a verdict get an empty map.
 * Likewise, when `reads` names a span attribute or resource attribute, the span's maps from
 * otel_traces within `bounds` (agent_outputs stores only the keys Plumbline derives).
 */
export function outputsWithScores(
  store: Store,
  reads: string,
  bounds: string,
  params: SqlParamsLike,
  final = true,
): string {
  let outputs = `${store.tables.outputs}${final ? " FINAL" : ""}`;
  if (
    reads.includes(SPAN_ATTRIBUTES_OF_SPAN.attributes) ||
    reads.includes(SPAN_ATTRIBUTES_OF_SPAN.resource)
  ) {
    // One copy per span: a span a client sent twice is in otel_traces twice.
    outputs += ` LEFT ANY JOIN (
    SELECT TraceId, SpanId, SpanAttributes AS ${SPAN_ATTRIBUTES_OF_SPAN.attributes},
      ResourceAttributes AS ${SPAN_ATTRIBUTES_OF_SPAN.resource}
    FROM ${store.tables.traces}
    WHERE ${bounds}
  ) AS spans USING (TraceId, SpanId)`;
  }
  if (!reads.includes(JUDGED_ATTRIBUTES)) return outputs;
  const prefix = params.add(EVALUATION_ATTRIBUTE_PREFIX, "String");
  const keys = ["score", "label", "explanation"].map(
    (part) => `concat(${prefix}, Name, '.${part}')`,
  );
  return `${outputs} LEFT ANY JOIN (
    SELECT TraceId, SpanId, mapFromArrays(
      arrayFlatten(groupArray([${keys.join(", ")}])),
      arrayFlatten(groupArray([ifNull(toString(Score), ''), toString(Label), Explanation]))
    ) AS ${JUDGED_ATTRIBUTES}
    FROM ${store.tables.evaluationScores} FINAL
    WHERE Source = 'judge' AND ${bounds}
    GROUP BY TraceId, SpanId
  ) AS judged USING (TraceId, SpanId)`;
}

/**
 * How a query groups by window: by k, or, for one window, not at all (k is 1): a constant key
 * would still cost a hash table, and next to a LowCardinality column it loses that column's
 * fast grouping.
 */
function perWindowSql(windows: readonly WindowSides[]): { key: string; groupBy: string } {
  return windows.length === 1
    ? { key: "toUInt64(1) AS k", groupBy: "" }
    : { key: "k", groupBy: "GROUP BY k" };
}

async function rowsOf<T>(store: Store, query: string, params: SqlParamsLike): Promise<T[]> {
  const result = await store.client.query({
    query,
    query_params: params.values,
    format: "JSONEachRow",
    clickhouse_settings: SPAN_JOIN_SETTINGS,
  });
  return result.json<T>();
}

const toNumber = (value: unknown): number => Number(value);

export interface NumericQueryOptions {
  /** Reference-quantile bins (coarse histogram). */
  bins: number;
  /** Also the fine distribution (KS, Wasserstein): up to `fineBins` points. */
  fine: boolean;
  fineBins?: number;
}

/** What the numeric queries return: sizes, coarse cuts and counts, fine points. */
export interface NumericWindowAggregates {
  nReference: number;
  nCurrent: number;
  referenceStd: number;
  /** Coarse bins: bin 0 holds x ≤ cuts[0], bin i holds cuts[i−1] < x ≤ cuts[i], the last x > the last cut. */
  cuts: number[];
  reference: number[];
  current: number[];
  points?: { values: number[]; reference: number[]; current: number[] };
}

/**
 * SQL: the order statistics of the `n` ascending values in `sorted` that the 1/levels
 * quantiles need, as two columns `kv<name>` (values) and `kp<name>` (1-based positions). The
 * quantiles are computed from these few thousand values, not from `sorted` itself: a lambda
 * that reads an array column gets a copy of it per element it maps (1,000 levels over two
 * million values would be 16 GB).
 */
function keptSql(sorted: string, n: string, levels: number, name: string): string {
  const m = `greatest(toFloat64(${n}) - 1, 1)`;
  const keep = `ceil(${levels} * (p - 2) / ${m}) < ${levels} * (p + 1) / ${m}`;
  return `arrayFilter((v, p) -> ${keep}, ${sorted}, arrayEnumerate(${sorted})) AS kv${name},
  arrayFilter(p -> ${keep}, arrayEnumerate(${sorted})) AS kp${name}`;
}

/**
 * SQL: the i/levels quantiles, i = 1 … levels − 1, of `n` sorted values from the order
 * statistics keptSql kept, by linear interpolation (as quantileExactInclusive and numpy),
 * repeated cut points merged.
 */
function quantileCutsSql(name: string, n: string, levels: number): string {
  const at = (position: string) => `kv${name}[indexOf(kp${name}, ${position})]`;
  const low = at("toInt64(floor(h)) + 1");
  const high = at(`least(toInt64(floor(h)) + 2, toInt64(${n}))`);
  return `arrayDistinct(arrayMap(h -> ${low} + (${high} - ${low}) * (h - floor(h)),
    arrayMap(i -> (i / ${levels}) * (toFloat64(${n}) - 1), range(1, ${levels}))))`;
}

/**
 * SQL: as quantileCutsSql, for many levels over more than `levels` sorted values (n − 1 ≥
 * levels), where each level's lower order statistic has a position of its own. The positions
 * (as numpy and quantileCutsSql place them) become a 0/1 mask over `sorted` — runs of zeros
 * each closed by a one, flattened — and the lower and upper values are picked by the mask and
 * the mask shifted by one. No lambda here reads an array: ClickHouse copies an array a lambda
 * reads once per element mapped (quantileCutsSql over 1,000 levels copies its kept arrays
 * 1,000 times, tens of milliseconds per window). Where the caller's `if` does not take this
 * branch it must still evaluate without error: gaps are at least 1, lengths are fixed.
 */
function manyQuantileCutsSql(sorted: string, n: string, levels: number): string {
  const h = `(i / ${levels}) * (toFloat64(${n}) - 1)`;
  const lows = `arrayMap(i -> toInt64(floor(${h})) + 1, range(1, ${levels}))`;
  const gaps = `arrayPopFront(arrayDifference(arrayPushFront(${lows}, 0)))`;
  const mask = `arrayResize(arrayFlatten(arrayMap(g -> arrayPushBack(arrayWithConstant(greatest(g, 1) - 1, 0), 1), ${gaps})), length(${sorted}), 0)`;
  const pick = (m: string) =>
    `arrayResize(arrayFilter((v, b) -> b = 1, ${sorted}, ${m}), ${levels - 1}, 0)`;
  return `arrayDistinct(arrayMap((lo, hi, f) -> lo + (hi - lo) * f,
    ${pick(mask)}, ${pick(`arrayPushFront(arrayPopBack(${mask}), 0)`)},
    arrayMap(i -> ${h} - floor(${h}), range(1, ${levels}))))`;
}

/**
 * SQL stages: how many values of each side are at or below each cut, for every kind of cut at
 * once. The values of both sides (`R`, `C`) and the cuts (each `cuts` array with its kind,
 * 2, 3 …) are sorted together by value alone: a plain Float64 key, which ClickHouse sorts many
 * times faster than a (value, kind) tuple. Ties between a cut and the values equal to it may
 * then fall in any order, so each position reads the running counts at the end of its run of
 * equal values (arrayReverseFill), which counts every value equal to the cut. `columns` are
 * carried through; the result names one array per cut kind and side: `le<kind>R`, `le<kind>C`.
 */
function countAtMostSql(from: string, columns: string, cuts: readonly [string, number][]): string {
  const all = `arrayConcat(R, C, ${cuts.map(([name]) => name).join(", ")})`;
  const kinds = `arrayConcat(arrayWithConstant(nR, 0), arrayWithConstant(nC, 1), ${cuts
    .map(([name, kind]) => `arrayWithConstant(length(${name}), ${kind})`)
    .join(", ")})`;
  const sorted = `SELECT ${columns}, arraySort(${all}) AS K, arraySort((t, v) -> v, ${kinds}, ${all}) AS Tk
  FROM (${from})`;
  const runs = `SELECT ${columns}, Tk,
    arrayResize(arrayConcat(arrayMap((a, b) -> a != b, arrayPopBack(K), arrayPopFront(K)), [1]), length(K)) AS runEnd
  FROM (${sorted})`;
  const atRunEnd = (side: number) =>
    `arrayReverseFill((x, e) -> e, arrayCumSum(arrayMap(t -> t = ${side}, Tk)), runEnd)`;
  const filled = `SELECT ${columns}, Tk, ${atRunEnd(0)} AS FR, ${atRunEnd(1)} AS FC FROM (${runs})`;
  return `SELECT ${columns}, ${cuts
    .map(
      ([, kind]) =>
        `arrayFilter((x, t) -> t = ${kind}, FR, Tk) AS le${kind}R, arrayFilter((x, t) -> t = ${kind}, FC, Tk) AS le${kind}C`,
    )
    .join(", ")}
  FROM (${filled})`;
}

/** Counts per bin from cumulative counts at the cuts: ≤ c₀, (c₀, c₁] …, and > the last cut. */
function binsOf(atMost: readonly number[], total: number): number[] {
  const counts = atMost.map((value, i) => value - (atMost[i - 1] ?? 0));
  counts.push(total - (atMost[atMost.length - 1] ?? 0));
  return counts;
}

/**
 * The numeric aggregates of each of several windows of one rule, in one query, in their order.
 * One pass over the rows, whatever the method: the field is read once (from JSON text that is
 * most of the cost) into two arrays per window, and everything else happens on them inside
 * ClickHouse — a sort per window, the reference quantile cuts and the pooled fine cuts (order
 * statistics interpolated), and the number of values at or below each cut (countAtMostSql: one
 * sort of values and cuts together, by a plain Float64 key). Each step is a subquery over one
 * row that names its results as columns, so no expression is repeated inside another:
 * ClickHouse's analysis of the query, which grew with the expanded expression (half of the
 * time on small windows), stays small. Node receives the cuts and cumulative
 * counts: a few thousand numbers per window.
 */
export async function numericWindowsAggregates(
  store: Store,
  source: WindowSource,
  windows: readonly WindowSides[],
  value: string,
  options: NumericQueryOptions,
  enough: (nReference: number, nCurrent: number) => boolean,
): Promise<NumericWindowAggregates[]> {
  const L = options.fineBins ?? 1000;
  const B = options.bins;
  const fine = options.fine;
  type Row = NumericRow & { k: number | string };
  // Innermost first: read; collect per window; sort; keep order statistics; cut; merge; count.
  const perWindow = perWindowSql(windows);
  const collected = `SELECT ${perWindow.key}, groupArrayIf(x, side = 'r') AS R, groupArrayIf(x, side = 'c') AS C,
    stddevPopIf(x, side = 'r') AS refStd${fine ? `, groupUniqArray(${L + 1})(x) AS U` : ""}
  FROM (${windowsSource(store, source, windows, value)}) ${perWindow.groupBy}`;
  const sorted = `SELECT k, R, C, refStd, length(R) AS nR, length(C) AS nC, arraySort(R) AS Rs${
    fine ? ", U, arraySort(arrayConcat(R, C)) AS P, length(P) AS nP" : ""
  }
  FROM (${collected})`;
  const kept = `SELECT k, R, C, refStd, nR, nC, ${keptSql("Rs", "nR", B, "R")}${
    fine ? `, U, P, nP, P[nP] AS maximum` : ""
  }
  FROM (${sorted})`;
  const cut = `SELECT k, R, C, refStd, nR, nC, ${quantileCutsSql("R", "nR", B)} AS coarseCuts${
    fine
      ? `, if(length(U) <= ${L}, arraySort(U), ${manyQuantileCutsSql("P", "nP", L)}) AS fineCuts,
    maximum, length(U) <= ${L} AS exact`
      : ""
  }
  FROM (${kept})`;
  const columns = `k, nR, nC, refStd, coarseCuts${fine ? ", fineCuts, maximum, exact" : ""}`;
  const counted = countAtMostSql(
    cut,
    columns,
    fine
      ? [
          ["coarseCuts", 2],
          ["fineCuts", 3],
        ]
      : [["coarseCuts", 2]],
  );
  const rows = await rowsOf<Row>(
    store,
    `SELECT ${columns}, le2R AS coarseR, le2C AS coarseC${fine ? ", le3R AS fineR, le3C AS fineC" : ""}
FROM (${counted})`,
    source.params,
  );
  const byWindow = new Map(rows.map((row) => [toNumber(row.k), row]));
  return windows.map((_, i) => numericResult(byWindow.get(i + 1), fine, enough));
}

/** One window's row of numericWindowsAggregates. */
interface NumericRow {
  nR: string;
  nC: string;
  refStd: number | null;
  coarseCuts: number[];
  coarseR: (string | number)[];
  coarseC: (string | number)[];
  fineCuts?: number[];
  fineR?: (string | number)[];
  fineC?: (string | number)[];
  maximum?: number;
  exact?: number | boolean;
}

/** One window's row as aggregates; no row: no samples. */
function numericResult(
  row: NumericRow | undefined,
  fine: boolean,
  enough: (nReference: number, nCurrent: number) => boolean,
): NumericWindowAggregates {
  const nReference = toNumber(row?.nR ?? 0);
  const nCurrent = toNumber(row?.nC ?? 0);
  const empty: NumericWindowAggregates = {
    nReference,
    nCurrent,
    referenceStd: Number(row?.refStd ?? NaN),
    cuts: [],
    reference: [],
    current: [],
  };
  if (row === undefined || !enough(nReference, nCurrent)) return empty;
  const cuts = row.coarseCuts.map(toNumber);
  const result: NumericWindowAggregates = {
    ...empty,
    cuts,
    reference: binsOf(row.coarseR.map(toNumber), nReference),
    current: binsOf(row.coarseC.map(toNumber), nCurrent),
  };
  if (!fine) return result;
  const values = (row.fineCuts ?? []).map(toNumber);
  const reference = binsOf((row.fineR ?? []).map(toNumber), nReference);
  const current = binsOf((row.fineC ?? []).map(toNumber), nCurrent);
  // Exact values: every value is a cut, nothing lies above the last. Quantile cuts: the open
  // last bin's mass sits on the maximum (unless the maximum is a cut itself).
  const maximum = toNumber(row.maximum);
  const open = !(row.exact === true || row.exact === 1) && maximum > (values.at(-1) ?? -Infinity);
  if (open) values.push(maximum);
  else {
    reference.pop();
    current.pop();
  }
  return { ...result, points: { values, reference, current } };
}

/** Category counts: the top K of the reference (plus `always`, if given) and "other". */
export interface CategoricalWindowAggregates {
  nReference: number;
  nCurrent: number;
  categories: string[];
  /** One count per category, then the count of every other category. */
  reference: number[];
  current: number[];
}

/** The category counts of each of several windows of one rule, in one query, in their order. */
export async function categoricalWindowsAggregates(
  store: Store,
  source: WindowSource,
  windows: readonly WindowSides[],
  value: string,
  topK: number,
  always: string | undefined,
): Promise<CategoricalWindowAggregates[]> {
  const rows = windowsSource(store, source, windows, value);
  const perWindow = perWindowSql(windows);
  const keep = source.params.add(always ?? "", "String");
  const limit = source.params.add(topK, "UInt32");
  type Row = {
    k: number | string;
    x: string;
    r: string;
    c: string;
    totalR: string;
    totalC: string;
  };
  const found = await rowsOf<Row>(
    store,
    `SELECT k, x, r, c, sum(r) OVER (PARTITION BY k) AS totalR, sum(c) OVER (PARTITION BY k) AS totalC FROM (
  SELECT ${perWindow.key}, x, countIf(side = 'r') AS r, countIf(side = 'c') AS c FROM (${rows}) GROUP BY ${windows.length === 1 ? "x" : "k, x"}
) ORDER BY k, (x = ${keep}) DESC, r DESC, c DESC, x LIMIT ${limit} BY k`,
    source.params,
  );
  const byWindow = new Map<number, Row[]>();
  for (const row of found) {
    const k = toNumber(row.k);
    byWindow.set(k, [...(byWindow.get(k) ?? []), row]);
  }
  return windows.map((_, i) => {
    const mine = byWindow.get(i + 1) ?? [];
    const nReference = toNumber(mine[0]?.totalR ?? 0);
    const nCurrent = toNumber(mine[0]?.totalC ?? 0);
    const kept = mine.filter((row) => toNumber(row.r) > 0 || row.x === always);
    const reference = kept.map((row) => toNumber(row.r));
    const current = kept.map((row) => toNumber(row.c));
    const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
    return {
      nReference,
      nCurrent,
      categories: kept.map((row) => row.x),
      reference: [...reference, nReference - sum(reference)],
      current: [...current, nCurrent - sum(current)],
    };
  });
}

/** Matching rows of each window, and of those, the rows where `condition` holds. */
export interface ShareCounts {
  currentTotal: number;
  currentHits: number;
  referenceTotal: number;
  referenceHits: number;
}

/** The share counts of each of several windows of one rule, in one query, in their order. */
export async function windowsShareCounts(
  store: Store,
  source: WindowSource,
  windows: readonly WindowSides[],
  condition: string,
): Promise<ShareCounts[]> {
  type Row = { k: number | string; ct: string; ch: string; rt: string; rh: string };
  const perWindow = perWindowSql(windows);
  const rows = await rowsOf<Row>(
    store,
    `SELECT ${perWindow.key}, countIf(side = 'c') AS ct, countIf(side = 'c' AND x) AS ch,
  countIf(side = 'r') AS rt, countIf(side = 'r' AND x) AS rh
FROM (${windowsSource(store, source, windows, `toUInt8(${condition})`)}) ${perWindow.groupBy}`,
    source.params,
  );
  const byWindow = new Map(rows.map((row) => [toNumber(row.k), row]));
  return windows.map((_, i) => {
    const row = byWindow.get(i + 1);
    return {
      currentTotal: toNumber(row?.ct ?? 0),
      currentHits: toNumber(row?.ch ?? 0),
      referenceTotal: toNumber(row?.rt ?? 0),
      referenceHits: toNumber(row?.rh ?? 0),
    };
  });
}

export type AggregateFunction = "count" | "avg" | "min" | "max" | "sum" | "quantile";

/** One aggregate of `value` over each of several current windows (the value and the rows it
 * covers), in one query, in their order. */
export async function windowsAggregate(
  store: Store,
  source: WindowSource,
  ranges: readonly TimeRangeMs[],
  value: string,
  fn: AggregateFunction,
  q: number,
): Promise<{ value: number | null; samples: number }[]> {
  // Every row in a range is current: the reference is the range itself.
  const windows = ranges.map((range) => ({ current: range, reference: range, exclude: [] }));
  const aggregate =
    fn === "quantile"
      ? `quantileExactInclusive(${source.params.add(q, "Float64")})(x)`
      : fn === "count"
        ? "count()"
        : `${fn}(x)`;
  type Row = { k: number | string; value: number | string | null; samples: string };
  const perWindow = perWindowSql(windows);
  const rows = await rowsOf<Row>(
    store,
    `SELECT ${perWindow.key}, toFloat64(${aggregate}) AS value, count() AS samples FROM (${windowsSource(store, source, windows, value)}) ${perWindow.groupBy}`,
    source.params,
  );
  const byWindow = new Map(rows.map((row) => [toNumber(row.k), row]));
  return ranges.map((_, i) => {
    const row = byWindow.get(i + 1);
    const samples = toNumber(row?.samples ?? 0);
    return { value: samples === 0 || row?.value == null ? null : Number(row.value), samples };
  });
}

/** failed / evaluated outputs of a rule in a time range, from the per-minute counters. */
export async function failureCounts(
  store: Store,
  ruleId: string,
  range: TimeRangeMs,
): Promise<{ failed: number; evaluated: number }> {
  type Row = { failed: string; evaluated: string };
  const [row] = await store.client
    .query({
      query: `SELECT uniqExactMerge(Failed) AS failed, uniqExactMerge(Evaluated) AS evaluated
FROM ${store.tables.checkCounts}
WHERE RuleId = {rule:String}
  AND Minute >= toStartOfMinute(fromUnixTimestamp64Milli({from:Int64}))
  AND Minute < toStartOfMinute(fromUnixTimestamp64Milli({to:Int64}))`,
      query_params: { rule: ruleId, from: range.fromMs, to: range.toMs },
      format: "JSONEachRow",
    })
    .then((result) => result.json<Row>());
  return { failed: toNumber(row?.failed ?? 0), evaluated: toNumber(row?.evaluated ?? 0) };
}

/**
 * previous_version, for each of `atsMs`: the version (or model) of the newest matching output
 * before it, and the newest other non-empty version before it, with the time of its last
 * output; undefined when there is none. The rows before the latest time are read once and
 * paired with each time they precede.
 */
export async function previousVersions(
  store: Store,
  source: WindowSource,
  column: "ServiceVersion" | "Model",
  atsMs: readonly number[],
): Promise<({ current: string; previous: string; previousLastMs: number } | undefined)[]> {
  const ats = source.params.add(atsMs, "Array(Int64)");
  const latest = source.params.add(Math.max(...atsMs), "Int64");
  type Row = { k: number | string; current: string; previous: string; last: string; n: string };
  const rows = await rowsOf<Row>(
    store,
    `SELECT k, current, argMaxIf(v, lastTs, v != current AND v != '') AS previous,
  toUnixTimestamp64Milli(maxIf(lastTs, v != current AND v != '')) AS last,
  countIf(v != current AND v != '') AS n
FROM (
  SELECT k, v, lastTs, argMax(v, lastTs) OVER (PARTITION BY k) AS current FROM (
    SELECT k, v, max(ts) AS lastTs FROM (
      SELECT ${column} AS v, Timestamp AS ts, toUnixTimestamp64Milli(Timestamp) AS t
      FROM ${outputsWithScores(store, source.match, `Timestamp < fromUnixTimestamp64Milli(${latest})`, source.params, false)}
      WHERE Timestamp < fromUnixTimestamp64Milli(${latest}) AND (${source.match})
    ) ARRAY JOIN arrayFilter(w -> t < ${ats}[w], range(1, ${atsMs.length + 1})) AS k
    GROUP BY k, v
  )
) GROUP BY k, current`,
    source.params,
  );
  const byWindow = new Map(rows.map((row) => [toNumber(row.k), row]));
  return atsMs.map((_, i) => {
    const row = byWindow.get(i + 1);
    if (row === undefined || toNumber(row.n) === 0) return undefined;
    return { current: row.current, previous: row.previous, previousLastMs: toNumber(row.last) };
  });
}
