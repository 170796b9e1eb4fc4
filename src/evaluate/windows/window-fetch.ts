/**
 * How a window evaluation reads its aggregates: one query per window (directFetch, the
 * scheduler's live path), or batched (batchedFetch): the requests the evaluations of one rule
 * make in the same turn of the event loop become one query over all their windows
 * (window-queries.ts reads the rows once and pairs them with each window).
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
} from "./window-queries.ts";

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

type Calls<F extends (...args: never[]) => unknown> = Parameters<F>[];
type Runners = {
  [K in keyof WindowFetch]: (
    calls: Calls<WindowFetch[K]>,
  ) => Promise<Awaited<ReturnType<WindowFetch[K]>>[]>;
};

/**
 * Each request as one query over the windows of several calls: they share the match, the field
 * and the options (the SQL text and parameters of the first call are used for all), and differ
 * only in their windows.
 */
function runners(store: Store): Runners {
  const head = <T>(calls: readonly T[]): T => calls[0] ?? unreachable();
  return {
    numeric: (calls) => {
      const [source, , value, options, enough] = head(calls);
      const windows = calls.map((call) => call[1]);
      return numericWindowsAggregates(store, source, windows, value, options, enough);
    },
    categorical: (calls) => {
      const [source, , value, topK, always] = head(calls);
      const windows = calls.map((call) => call[1]);
      return categoricalWindowsAggregates(store, source, windows, value, topK, always);
    },
    share: (calls) => {
      const [source, , condition] = head(calls);
      const windows = calls.map((call) => call[1]);
      return windowsShareCounts(store, source, windows, condition);
    },
    aggregate: (calls) => {
      const [source, , value, fn, q] = head(calls);
      const ranges = calls.map((call) => call[1]);
      return windowsAggregate(store, source, ranges, value, fn, q);
    },
    version: (calls) => {
      const [source, column] = head(calls);
      const ats = calls.map((call) => call[2]);
      return previousVersions(store, source, column, ats);
    },
  };
}

/** One query per window. */
export function directFetch(store: Store): WindowFetch {
  return fetchWith(runners(store), (run) => async (...args) => {
    const [result] = await run([args]);
    return result;
  });
}

/** The requests of the evaluations of ONE rule made in the same turn become one query. */
export function batchedFetch(store: Store): WindowFetch {
  return fetchWith(runners(store), (run) => {
    const collect = batcher(run);
    return (...args) => collect(args);
  });
}

/** Each request of `run` wrapped by `wrap`. */
function fetchWith(
  run: Runners,
  wrap: <Args extends unknown[], Result>(
    run: (calls: Args[]) => Promise<Result[]>,
  ) => (...args: Args) => Promise<Result | undefined>,
): WindowFetch {
  // Every runner answers one result per call (version: undefined is an answer), so the
  // wrapped functions resolve to what WindowFetch promises.
  return {
    numeric: wrap(run.numeric),
    categorical: wrap(run.categorical),
    share: wrap(run.share),
    aggregate: wrap(run.aggregate),
    version: wrap(run.version),
  } as WindowFetch;
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

function unreachable(): never {
  throw new Error("window fetch: an empty batch");
}
