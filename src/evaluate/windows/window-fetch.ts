/**
 * How a window evaluation reads its aggregates: one query per window (directFetch, the
 * scheduler's live path), or batched (batchedFetch): the requests the evaluations of one rule
 * make in the same turn of the event loop become one query over all their windows
 * (src/store/window-queries.ts reads the rows once and pairs them with each window).
 * Either way each evaluation gets the same aggregates; the batched one pays the per-query
 * cost (analysis, FINAL, reading the parts) once.
 */

import type { Store } from "../../store/store.ts";
import {
  categoricalWindowsAggregates,
  numericWindowsAggregates,
  previousVersions,
  windowsAggregate,
  windowsShareCounts,
  type AggregateFunction,
  type CategoricalWindowAggregates,
  type NumericQueryOptions,
  type NumericWindowAggregates,
  type ShareCounts,
  type TimeRangeMs,
  type WindowSides,
  type WindowSource,
} from "../../store/window-queries.ts";

type Enough = (nReference: number, nCurrent: number) => boolean;

export interface WindowFetch {
  numeric(
    source: WindowSource,
    sides: WindowSides,
    value: string,
    options: NumericQueryOptions,
    enough: Enough,
  ): Promise<NumericWindowAggregates>;
  categorical(
    source: WindowSource,
    sides: WindowSides,
    value: string,
    topK: number,
    always: string | undefined,
  ): Promise<CategoricalWindowAggregates>;
  share(source: WindowSource, sides: WindowSides, condition: string): Promise<ShareCounts>;
  aggregate(
    source: WindowSource,
    range: TimeRangeMs,
    value: string,
    fn: AggregateFunction,
    q: number,
  ): Promise<{ value: number | null; samples: number }>;
  /** previous_version: the current and the previous version before `atMs`. */
  version(
    source: WindowSource,
    column: VersionColumn,
    atMs: number,
  ): Promise<PreviousVersion | undefined>;
}

type VersionColumn = "ServiceVersion" | "Model";
type PreviousVersion = { current: string; previous: string; previousLastMs: number };

/** One query per window. */
export function directFetch(store: Store): WindowFetch {
  return {
    numeric: async (source, sides, value, options, enough) =>
      first(await numericWindowsAggregates(store, source, [sides], value, options, enough)),
    categorical: async (source, sides, value, topK, always) =>
      first(await categoricalWindowsAggregates(store, source, [sides], value, topK, always)),
    share: async (source, sides, condition) =>
      first(await windowsShareCounts(store, source, [sides], condition)),
    aggregate: async (source, range, value, fn, q) =>
      first(await windowsAggregate(store, source, [range], value, fn, q)),
    version: async (source, column, atMs) =>
      (await previousVersions(store, source, column, [atMs]))[0],
  };
}

/**
 * Batches the requests of the evaluations of ONE rule: they share the match, the field and
 * the options (the SQL text and parameters of the first request are used for all), and differ
 * only in their windows.
 */
export function batchedFetch(store: Store): WindowFetch {
  const numeric = batcher<
    [WindowSource, WindowSides, string, NumericQueryOptions, Enough],
    NumericWindowAggregates
  >((calls) => {
    const [source, , value, options, enough] = calls[0] ?? unreachable();
    return numericWindowsAggregates(
      store,
      source,
      calls.map((call) => call[1]),
      value,
      options,
      enough,
    );
  });
  const categorical = batcher<
    [WindowSource, WindowSides, string, number, string | undefined],
    CategoricalWindowAggregates
  >((calls) => {
    const [source, , value, topK, always] = calls[0] ?? unreachable();
    return categoricalWindowsAggregates(
      store,
      source,
      calls.map((call) => call[1]),
      value,
      topK,
      always,
    );
  });
  const share = batcher<[WindowSource, WindowSides, string], ShareCounts>((calls) => {
    const [source, , condition] = calls[0] ?? unreachable();
    return windowsShareCounts(
      store,
      source,
      calls.map((call) => call[1]),
      condition,
    );
  });
  const aggregate = batcher<
    [WindowSource, TimeRangeMs, string, AggregateFunction, number],
    { value: number | null; samples: number }
  >((calls) => {
    const [source, , value, fn, q] = calls[0] ?? unreachable();
    return windowsAggregate(
      store,
      source,
      calls.map((call) => call[1]),
      value,
      fn,
      q,
    );
  });
  const version = batcher<[WindowSource, VersionColumn, number], PreviousVersion | undefined>(
    (calls) => {
      const [source, column] = calls[0] ?? unreachable();
      return previousVersions(
        store,
        source,
        column,
        calls.map((call) => call[2]),
      );
    },
  );
  return {
    version: (...args) => version(args),
    numeric: (...args) => numeric(args),
    categorical: (...args) => categorical(args),
    share: (...args) => share(args),
    aggregate: (...args) => aggregate(args),
  };
}

/** Collects calls until the event loop turns, then runs them as one batch. */
function batcher<Args, Result>(
  run: (calls: Args[]) => Promise<Result[]>,
): (args: Args) => Promise<Result> {
  let pending: { args: Args; resolve: (r: Result) => void; reject: (e: unknown) => void }[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    run(batch.map((call) => call.args)).then(
      (results) => batch.forEach((call, i) => call.resolve(results[i] as Result)),
      (error: unknown) => batch.forEach((call) => call.reject(error)),
    );
  };
  return (args) =>
    new Promise<Result>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ args, resolve, reject });
    });
}

function first<T>(list: readonly T[]): T {
  const [value] = list;
  if (value === undefined) throw new Error("window query: no result");
  return value;
}

function unreachable(): never {
  throw new Error("window fetch: an empty batch");
}
