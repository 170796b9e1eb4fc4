/**
 * The SQL of window rules (drift and rate): every count, quantile, histogram and category
 * frequency is computed by ClickHouse where the rows are; Node receives aggregates of at most
 * a few thousand numbers, whatever the number of rows. The caller supplies the rule's match
 * and field as SQL built from the closed field grammar, with its parameters; time bounds are
 * parameters too. Rows of agent_outputs are read with FINAL: a span a client re-sent counts once.
 */

import type { Store } from "./store.ts";

/** Parameters collected while building a query: add() returns the placeholder. */
export interface QueryParams {
  add(value: string | number | readonly string[] | readonly number[], type: string): string;
  readonly values: Record<string, unknown>;
}

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
  params: QueryParams;
}

function rangeSql(range: TimeRangeMs, params: QueryParams): string {
  const from = params.add(range.fromMs, "Int64");
  const to = params.add(range.toMs, "Int64");
  return `(Timestamp >= fromUnixTimestamp64Milli(${from}) AND Timestamp < fromUnixTimestamp64Milli(${to}))`;
}

/** 'c' for the current window, 'r' for the reference (current wins where they overlap). */
function sideSql(sides: WindowSides, params: QueryParams): { side: string; bounds: string } {
  const current = [rangeSql(sides.current, params)];
  const reference = [rangeSql(sides.reference, params)];
  for (const range of sides.exclude) reference.push(`NOT ${rangeSql(range, params)}`);
  if (sides.version !== undefined) {
    const column = sides.version.column;
    current.push(`${column} = ${params.add(sides.version.current, "String")}`);
    reference.push(`${column} = ${params.add(sides.version.reference, "String")}`);
  }
  return {
    side: `multiIf(${current.join(" AND ")}, 'c', ${reference.join(" AND ")}, 'r', '')`,
    bounds: `(${rangeSql(sides.current, params)} OR ${rangeSql(sides.reference, params)})`,
  };
}

/** side and value x of every matching row of either window whose field is present. */
function sidesSource(
  store: Store,
  source: WindowSource,
  sides: WindowSides,
  value: string,
): string {
  const { side, bounds } = sideSql(sides, source.params);
  return `SELECT side, assumeNotNull(raw) AS x FROM (
  SELECT ${side} AS side, ${value} AS raw
  FROM ${store.tables.outputs} FINAL
  WHERE ${bounds} AND (${source.match})
) WHERE side != '' AND raw IS NOT NULL`;
}

async function rowsOf<T>(store: Store, query: string, params: QueryParams): Promise<T[]> {
  const result = await store.client.query({
    query,
    query_params: params.values,
    format: "JSONEachRow",
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

/** SQL: `data` and the ascending `cuts` merged in one sort, a cut after the values equal to it. */
function mergedSql(data: string, cuts: string): string {
  return `arraySort((t, v) -> (v, t), arrayConcat(arrayWithConstant(length(${data}), 0), arrayWithConstant(length(${cuts}), 1)), arrayConcat(${data}, ${cuts}))`;
}

/** SQL: from a merge by mergedSql, how many values are ≤ each cut. */
function atMostSql(merged: string): string {
  return `arrayFilter((c, t) -> t = 1, arrayCumSum(arrayMap(t -> 1 - t, ${merged})), ${merged})`;
}

/** Counts per bin from cumulative counts at the cuts: ≤ c₀, (c₀, c₁] …, and > the last cut. */
function binsOf(atMost: readonly number[], total: number): number[] {
  const counts = atMost.map((value, i) => value - (atMost[i - 1] ?? 0));
  counts.push(total - (atMost[atMost.length - 1] ?? 0));
  return counts;
}

/**
 * One pass over the rows, whatever the method: the field is read once (from JSON text that is
 * most of the cost) into two arrays, and everything else happens on them inside ClickHouse —
 * a sort per window, the reference quantile cuts and the pooled fine cuts (order statistics
 * interpolated), and the number of values at or below each cut (a merge by sort). Each step is
 * a subquery over one row that names its results as columns, so no expression is repeated
 * inside another: ClickHouse's analysis of the query, which grew with the expanded expression
 * (half of the time on small windows), stays small. Node receives the cuts and cumulative
 * counts: a few thousand numbers.
 */
export async function numericWindowAggregates(
  store: Store,
  source: WindowSource,
  sides: WindowSides,
  value: string,
  options: NumericQueryOptions,
  enough: (nReference: number, nCurrent: number) => boolean,
): Promise<NumericWindowAggregates> {
  const L = options.fineBins ?? 1000;
  const B = options.bins;
  const fine = options.fine;
  type Row = {
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
  };
  // Innermost first: read; collect; sort; keep order statistics; cut; merge; count.
  const collected = `SELECT groupArrayIf(x, side = 'r') AS R, groupArrayIf(x, side = 'c') AS C,
    stddevPopIf(x, side = 'r') AS refStd${fine ? `, groupUniqArray(${L + 1})(x) AS U` : ""}
  FROM (${sidesSource(store, source, sides, value)})`;
  const sorted = `SELECT R, C, refStd, length(R) AS nR, length(C) AS nC, arraySort(R) AS Rs${
    fine ? ", U, arraySort(arrayConcat(R, C)) AS P, length(P) AS nP" : ""
  }
  FROM (${collected})`;
  const kept = `SELECT R, C, refStd, nR, nC, ${keptSql("Rs", "nR", B, "R")}${
    fine ? `, U, nP, P[nP] AS maximum, ${keptSql("P", "nP", L, "P")}` : ""
  }
  FROM (${sorted})`;
  const cut = `SELECT R, C, refStd, nR, nC, ${quantileCutsSql("R", "nR", B)} AS coarseCuts${
    fine
      ? `, if(length(U) <= ${L}, arraySort(U), ${quantileCutsSql("P", "nP", L)}) AS fineCuts,
    maximum, length(U) <= ${L} AS exact`
      : ""
  }
  FROM (${kept})`;
  const merged = `SELECT *, ${mergedSql("R", "coarseCuts")} AS mRc, ${mergedSql("C", "coarseCuts")} AS mCc${
    fine ? `, ${mergedSql("R", "fineCuts")} AS mRf, ${mergedSql("C", "fineCuts")} AS mCf` : ""
  }
  FROM (${cut})`;
  const [row] = await rowsOf<Row>(
    store,
    `SELECT nR, nC, refStd, coarseCuts, ${atMostSql("mRc")} AS coarseR, ${atMostSql("mCc")} AS coarseC${
      fine
        ? `, fineCuts, ${atMostSql("mRf")} AS fineR, ${atMostSql("mCf")} AS fineC, maximum, exact`
        : ""
    }
FROM (${merged})`,
    source.params,
  );
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
  if (!options.fine) return result;
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

export async function categoricalWindowAggregates(
  store: Store,
  source: WindowSource,
  sides: WindowSides,
  value: string,
  topK: number,
  always: string | undefined,
): Promise<CategoricalWindowAggregates> {
  const rows = sidesSource(store, source, sides, value);
  const keep = source.params.add(always ?? "", "String");
  const limit = source.params.add(topK, "UInt32");
  type Row = { x: string; r: string; c: string; totalR: string; totalC: string };
  const found = await rowsOf<Row>(
    store,
    `SELECT x, r, c, sum(r) OVER () AS totalR, sum(c) OVER () AS totalC FROM (
  SELECT x, countIf(side = 'r') AS r, countIf(side = 'c') AS c FROM (${rows}) GROUP BY x
) ORDER BY (x = ${keep}) DESC, r DESC, c DESC, x LIMIT ${limit}`,
    source.params,
  );
  const nReference = toNumber(found[0]?.totalR ?? 0);
  const nCurrent = toNumber(found[0]?.totalC ?? 0);
  const kept = found.filter((row) => toNumber(row.r) > 0 || row.x === always);
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
}

/** Matching rows of each window, and of those, the rows where `condition` holds. */
export interface ShareCounts {
  currentTotal: number;
  currentHits: number;
  referenceTotal: number;
  referenceHits: number;
}

export async function shareCounts(
  store: Store,
  source: WindowSource,
  sides: WindowSides,
  condition: string,
): Promise<ShareCounts> {
  type Row = { ct: string; ch: string; rt: string; rh: string };
  const [row] = await rowsOf<Row>(
    store,
    `SELECT countIf(side = 'c') AS ct, countIf(side = 'c' AND x) AS ch,
  countIf(side = 'r') AS rt, countIf(side = 'r' AND x) AS rh
FROM (${sidesSource(store, source, sides, `toUInt8(${condition})`)})`,
    source.params,
  );
  return {
    currentTotal: toNumber(row?.ct ?? 0),
    currentHits: toNumber(row?.ch ?? 0),
    referenceTotal: toNumber(row?.rt ?? 0),
    referenceHits: toNumber(row?.rh ?? 0),
  };
}

export type AggregateFunction = "count" | "avg" | "min" | "max" | "sum" | "quantile";

/** One aggregate of `value` over the current window: the value and the rows it covers. */
export async function windowAggregate(
  store: Store,
  source: WindowSource,
  range: TimeRangeMs,
  value: string,
  fn: AggregateFunction,
  q: number,
): Promise<{ value: number | null; samples: number }> {
  const sides: WindowSides = { current: range, reference: range, exclude: [] };
  const aggregate =
    fn === "quantile"
      ? `quantileExactInclusive(${source.params.add(q, "Float64")})(x)`
      : fn === "count"
        ? "count()"
        : `${fn}(x)`;
  type Row = { value: number | string | null; samples: string };
  const [row] = await rowsOf<Row>(
    store,
    `SELECT toFloat64(${aggregate}) AS value, count() AS samples FROM (${sidesSource(store, source, sides, value)})`,
    source.params,
  );
  const samples = toNumber(row?.samples ?? 0);
  return { value: samples === 0 || row?.value == null ? null : Number(row.value), samples };
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
 * previous_version: the version (or model) of the newest matching output before `atMs`, and
 * the newest other non-empty version before it, with the time of its last output.
 */
export async function previousVersion(
  store: Store,
  source: WindowSource,
  column: "ServiceVersion" | "Model",
  atMs: number,
): Promise<{ current: string; previous: string; previousLastMs: number } | undefined> {
  const at = source.params.add(atMs, "Int64");
  type Row = { current: string; previous: string; last: string };
  const [row] = await rowsOf<Row>(
    store,
    `WITH (SELECT argMax(${column}, Timestamp) FROM ${store.tables.outputs}
       WHERE Timestamp < fromUnixTimestamp64Milli(${at}) AND (${source.match})) AS cur
SELECT cur AS current, ${column} AS previous, toUnixTimestamp64Milli(max(Timestamp)) AS last
FROM ${store.tables.outputs}
WHERE Timestamp < fromUnixTimestamp64Milli(${at}) AND (${source.match})
  AND ${column} != cur AND ${column} != ''
GROUP BY ${column} ORDER BY last DESC LIMIT 1`,
    source.params,
  );
  if (row === undefined) return undefined;
  return { current: row.current, previous: row.previous, previousLastMs: toNumber(row.last) };
}
