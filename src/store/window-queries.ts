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

/** Levels i/bins for i = 1 … bins − 1, as SQL literals (numbers we make, never user text). */
function levelsSql(bins: number): string {
  return Array.from({ length: bins - 1 }, (_, i) => String((i + 1) / bins)).join(", ");
}

/** Distinct cut points, ascending (quantiles of tied values repeat). */
function distinctCuts(cuts: readonly number[]): number[] {
  const out: number[] = [];
  for (const cut of cuts)
    if (out.length === 0 || cut > (out[out.length - 1] ?? -Infinity)) out.push(cut);
  return out;
}

/**
 * The i/levels quantiles (i = 1 … levels − 1) of n sorted values, from the order statistics
 * at the given 1-based positions: quantileExactInclusive's linear interpolation between the
 * values at ⌊h⌋ and ⌊h⌋ + 1 (0-based) for h = q·(n − 1).
 */
export function pooledQuantiles(
  positions: readonly number[],
  values: readonly number[],
  n: number,
  levels: number,
): number[] {
  const at = new Map<number, number>();
  positions.forEach((p, i) => at.set(p - 1, values[i] ?? NaN));
  const cuts: number[] = [];
  for (let i = 1; i < levels; i++) {
    const h = (i / levels) * (n - 1);
    const low = Math.floor(h);
    const lowValue = at.get(low) ?? NaN;
    const highValue = at.get(Math.min(low + 1, n - 1)) ?? NaN;
    cuts.push(lowValue + (highValue - lowValue) * (h - low));
  }
  return cuts;
}

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

const SENTINEL = -Number.MAX_VALUE;

/**
 * Sizes first (one pass: counts, reference quantiles and standard deviation, and for the fine
 * distribution the pooled quantiles, maximum and whether there are few distinct values); then,
 * when both windows have enough rows, one GROUP BY that bins every row (binary search in
 * `roundDown` over the negated cuts, so a bin is closed on its upper cut point).
 */
export async function numericWindowAggregates(
  store: Store,
  source: WindowSource,
  sides: WindowSides,
  value: string,
  options: NumericQueryOptions,
  enough: (nReference: number, nCurrent: number) => boolean,
): Promise<NumericWindowAggregates> {
  const fineBins = options.fineBins ?? 1000;
  const rows = sidesSource(store, source, sides, value);
  // The pooled quantiles at 1/fineBins … : one sort of the pooled values, keeping only the
  // order statistics the levels interpolate between (quantilesExactInclusive with a thousand
  // levels partially sorts once per level: seconds at a million rows). Node interpolates the
  // way quantileExactInclusive does (pooledQuantiles below).
  const L = fineBins;
  const fineWith = options.fine
    ? `WITH arraySort(groupArray(x)) AS sorted, length(sorted) AS pooled, greatest(pooled - 1, 1) AS m
`
    : "";
  const keep = `ceil(${L} * (p - 2) / m) < ${L} * (p + 1) / m`;
  const fineSql = options.fine
    ? `, arrayFilter((v, p) -> ${keep}, sorted, arrayEnumerate(sorted)) AS fineValues,
  arrayFilter(p -> ${keep}, arrayEnumerate(sorted)) AS finePositions, pooled,
  sorted[pooled] AS maximum, length(groupUniqArray(${fineBins + 1})(x)) AS distinct`
    : "";
  type Sizes = {
    nRef: string;
    nCur: string;
    refCuts: number[];
    refStd: number | null;
    fineValues?: number[];
    finePositions?: (number | string)[];
    pooled?: string;
    maximum?: number;
    distinct?: string;
  };
  const [sizes] = await rowsOf<Sizes>(
    store,
    `${fineWith}SELECT countIf(side = 'r') AS nRef, countIf(side = 'c') AS nCur,
  quantilesExactInclusiveIf(${levelsSql(options.bins)})(x, side = 'r') AS refCuts,
  stddevPopIf(x, side = 'r') AS refStd${fineSql}
FROM (${rows})`,
    source.params,
  );
  const nReference = toNumber(sizes?.nRef ?? 0);
  const nCurrent = toNumber(sizes?.nCur ?? 0);
  const empty: NumericWindowAggregates = {
    nReference,
    nCurrent,
    referenceStd: Number(sizes?.refStd ?? NaN),
    cuts: [],
    reference: [],
    current: [],
  };
  if (sizes === undefined || !enough(nReference, nCurrent)) return empty;

  const cuts = distinctCuts(sizes.refCuts.map(toNumber));
  const exact = options.fine && toNumber(sizes.distinct ?? 0) <= fineBins;
  const fineCuts =
    options.fine && !exact
      ? distinctCuts(
          pooledQuantiles(
            (sizes.finePositions ?? []).map(toNumber),
            (sizes.fineValues ?? []).map(toNumber),
            toNumber(sizes.pooled ?? 0),
            fineBins,
          ),
        )
      : [];
  const negated = (list: readonly number[]) => [SENTINEL, ...[...list].reverse().map((c) => -c)];
  const coarse = source.params.add(negated(cuts), "Array(Float64)");
  const fine = source.params.add(negated(fineCuts), "Array(Float64)");
  const fineKey = !options.fine ? "0" : exact ? "x" : `roundDown(-x, ${fine})`;
  type Cell = { side: string; cb: string; fb: number; n: string };
  const cells = await rowsOf<Cell>(
    store,
    `SELECT side, indexOf(${coarse}, cb) AS cb, fb, n FROM (
  SELECT side, roundDown(-x, ${coarse}) AS cb, ${fineKey} AS fb, count() AS n
  FROM (${sidesSource(store, source, sides, value)})
  GROUP BY side, cb, fb
)`,
    source.params,
  );
  const binCount = cuts.length + 1;
  const reference = new Array<number>(binCount).fill(0);
  const current = new Array<number>(binCount).fill(0);
  // indexOf is 1-based over [SENTINEL, −c_last … −c_0]: 1 is the open last bin, k ≥ 2 is c_(last+2−k).
  const fineByValue = new Map<number, { reference: number; current: number }>();
  for (const cell of cells) {
    const n = toNumber(cell.n);
    const bin = binCount - toNumber(cell.cb);
    const counts = cell.side === "r" ? reference : current;
    counts[bin] = (counts[bin] ?? 0) + n;
    if (!options.fine) continue;
    const key = exact
      ? Number(cell.fb)
      : Number(cell.fb) === SENTINEL
        ? Infinity
        : -Number(cell.fb);
    const entry = fineByValue.get(key) ?? { reference: 0, current: 0 };
    if (cell.side === "r") entry.reference += n;
    else entry.current += n;
    fineByValue.set(key, entry);
  }
  const result: NumericWindowAggregates = { ...empty, cuts, reference, current };
  if (!options.fine) return result;
  const maximum = toNumber(sizes.maximum);
  const values = [...fineByValue.keys()].sort((a, b) => a - b);
  return {
    ...result,
    points: {
      // The open last bin's mass sits on the maximum.
      values: values.map((v) => (v === Infinity ? maximum : v)),
      reference: values.map((v) => fineByValue.get(v)?.reference ?? 0),
      current: values.map((v) => fineByValue.get(v)?.current ?? 0),
    },
  };
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
