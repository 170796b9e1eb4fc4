/**
 * The SQL behind the overview (GET /api/overview, /api/activity/rules, /api/windows): what
 * came in per service and agent, how each rule is doing over time, and the latest evaluation of
 * every window rule. Aggregated by ClickHouse into at most a few hundred buckets, so a week of
 * 40 runs a minute is answered in milliseconds; the web UI draws the same answers.
 */

import type { Store } from "../store/store.ts";

/** A period and the width of its buckets, all in unix milliseconds. */
export interface Period {
  sinceMs: number;
  untilMs: number;
  stepMs: number;
}

/** Bucket widths, so that buckets fall on round times: 1m … 1d. */
const STEPS_MS = [1, 5, 10, 15, 30, 60, 180, 360, 720, 1440].map((minutes) => minutes * 60_000);

/** A period cut into at most `maxBuckets` round buckets (96: every 15 minutes of a day). */
export function periodOf(sinceMs: number, untilMs: number, maxBuckets = 96): Period {
  const span = Math.max(untilMs - sinceMs, 60_000);
  const stepMs = STEPS_MS.find((step) => span / step <= maxBuckets) ?? 86_400_000;
  return { sinceMs, untilMs, stepMs };
}

/** The bucket starts of a period, oldest first. */
export function bucketsOf(period: Period): number[] {
  const first = Math.floor(period.sinceMs / period.stepMs) * period.stepMs;
  const starts: number[] = [];
  for (let t = first; t < period.untilMs; t += period.stepMs) starts.push(t);
  return starts;
}

const periodParams = (p: Period) => ({ since: p.sinceMs, until: p.untilMs, step: p.stepMs / 1000 });

// Bucket starts by arithmetic on unix seconds, not toStartOfInterval: the same in every
// session time zone.
const bucket = (column: string) =>
  `intDiv(toUnixTimestamp(${column}), {step:UInt32}) * {step:UInt32} * 1000`;

export interface OutputVolume {
  service: string;
  agent: string;
  outputs: number;
  /** Outputs per bucket, in the order of bucketsOf(period). */
  perBucket: number[];
}

/**
 * Outputs per service and agent over the period, busiest first, from the per-minute counts of
 * output_counts (migration 11): exact per minute (FINAL merges each minute's states; a re-sent
 * span is one hash), then summed per bucket, since an output lands in one minute. A pending
 * output counts once it is completed.
 */
export async function outputVolumes(store: Store, period: Period): Promise<OutputVolume[]> {
  const result = await store.client.query({
    query: `SELECT ServiceName AS service, AgentName AS agent, ${bucket("Minute")} AS t,
  sum(finalizeAggregation(Outputs)) AS n
FROM ${store.tables.outputCounts} FINAL
WHERE Minute >= toStartOfMinute(fromUnixTimestamp64Milli({since:Int64}))
  AND Minute < fromUnixTimestamp64Milli({until:Int64})
GROUP BY service, agent, t`,
    query_params: periodParams(period),
    format: "JSONEachRow",
  });
  const rows = await result.json<{ service: string; agent: string; t: string; n: string }>();
  const index = bucketIndex(period);
  const byKey = new Map<string, OutputVolume>();
  for (const row of rows) {
    const key = JSON.stringify([row.service, row.agent]);
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = { service: row.service, agent: row.agent, outputs: 0, perBucket: index.zeros() };
      byKey.set(key, entry);
    }
    const n = Number(row.n);
    entry.outputs += n;
    const i = index.of(Number(row.t));
    if (i !== undefined) entry.perBucket[i] = (entry.perBucket[i] ?? 0) + n;
  }
  return [...byKey.values()].sort((a, b) => b.outputs - a.outputs);
}

export interface IngestSeries {
  received: number[];
  rejected: number[];
  outputs: number[];
  unrecognised: number[];
  totals: { received: number; rejected: number; outputs: number; unrecognised: number };
}

/** Spans received, rejected, outputs and unrecognised spans per bucket (ingest_stats). */
export async function ingestSeries(store: Store, period: Period): Promise<IngestSeries> {
  const result = await store.client.query({
    query: `SELECT ${bucket("Minute")} AS t, sum(Received) AS received, sum(Rejected) AS rejected,
  sum(Outputs) AS outputs, sum(Unrecognised) AS unrecognised
FROM ${store.tables.ingestStats}
WHERE Minute >= toDateTime(intDiv({since:Int64}, 1000)) AND Minute < toDateTime(intDiv({until:Int64}, 1000))
GROUP BY t`,
    query_params: periodParams(period),
    format: "JSONEachRow",
  });
  type Row = {
    t: string;
    received: string;
    rejected: string;
    outputs: string;
    unrecognised: string;
  };
  const index = bucketIndex(period);
  const series: IngestSeries = {
    received: index.zeros(),
    rejected: index.zeros(),
    outputs: index.zeros(),
    unrecognised: index.zeros(),
    totals: { received: 0, rejected: 0, outputs: 0, unrecognised: 0 },
  };
  for (const row of await result.json<Row>()) {
    const i = index.of(Number(row.t));
    for (const key of ["received", "rejected", "outputs", "unrecognised"] as const) {
      const n = Number(row[key]);
      series.totals[key] += n;
      if (i !== undefined) series[key][i] = n;
    }
  }
  return series;
}

export interface RuleActivitySeries {
  ruleId: string;
  /** Distinct outputs (trace rules: traces) evaluated and failed in the period. */
  evaluated: number;
  failed: number;
  evaluatedPerBucket: number[];
  failedPerBucket: number[];
}

/**
 * Per rule (or one rule): outputs evaluated and failed per bucket, from the per-minute
 * counters of check_counts (an output lands in one minute, so the buckets add up).
 */
export async function ruleActivity(
  store: Store,
  period: Period,
  ruleId?: string,
): Promise<RuleActivitySeries[]> {
  const result = await store.client.query({
    // Exact per minute (FINAL merges each minute's states), then summed per bucket: an output
    // lands in one minute, so the sums are exact too, and a week is merged in a third of the
    // time uniqExactMerge over whole buckets takes (bench/ui.ts).
    query: `SELECT RuleId, ${bucket("Minute")} AS t,
  sum(finalizeAggregation(Evaluated)) AS evaluated, sum(finalizeAggregation(Failed)) AS failed
FROM ${store.tables.checkCounts} FINAL
WHERE Minute >= toStartOfMinute(fromUnixTimestamp64Milli({since:Int64}))
  AND Minute < fromUnixTimestamp64Milli({until:Int64})
  AND ({rule:String} = '' OR RuleId = {rule:String})
GROUP BY RuleId, t`,
    query_params: { ...periodParams(period), rule: ruleId ?? "" },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    RuleId: string;
    t: string;
    evaluated: string;
    failed: string;
  }>();
  const index = bucketIndex(period);
  const byRule = new Map<string, RuleActivitySeries>();
  for (const row of rows) {
    let entry = byRule.get(row.RuleId);
    if (entry === undefined) {
      entry = {
        ruleId: row.RuleId,
        evaluated: 0,
        failed: 0,
        evaluatedPerBucket: index.zeros(),
        failedPerBucket: index.zeros(),
      };
      byRule.set(row.RuleId, entry);
    }
    const evaluated = Number(row.evaluated);
    const failed = Number(row.failed);
    entry.evaluated += evaluated;
    entry.failed += failed;
    const i = index.of(Number(row.t));
    if (i !== undefined) {
      entry.evaluatedPerBucket[i] = (entry.evaluatedPerBucket[i] ?? 0) + evaluated;
      entry.failedPerBucket[i] = (entry.failedPerBucket[i] ?? 0) + failed;
    }
  }
  // Failing most first: by failure ratio, then by failures.
  const ratio = (r: RuleActivitySeries) => (r.evaluated > 0 ? r.failed / r.evaluated : 0);
  return [...byRule.values()].sort((a, b) => ratio(b) - ratio(a) || b.failed - a.failed);
}

/** The newest evaluation of a window rule, and how its evaluations went in the period. */
export interface LatestWindowEvaluation {
  ruleId: string;
  ruleVersion: string;
  checkType: string;
  field: string;
  method: string;
  status: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  direction: string;
  currentSize: number;
  referenceSize: number;
  /** ISO 8601. */
  windowStart: string;
  windowEnd: string;
  message: string;
  /** In the period: evaluations, those that drifted (or breached), those with too few samples. */
  inPeriod: { evaluations: number; drifted: number; insufficient: number };
}

/** The newest stored evaluation of every window rule (rate, drift) that has one. */
export async function latestWindowEvaluations(
  store: Store,
  sinceMs: number,
): Promise<LatestWindowEvaluation[]> {
  // drift_results holds one row per window (a few hundred a day per rule): FINAL is cheap.
  const [latest, counts] = await Promise.all([
    store.client
      .query({
        query: `SELECT RuleId, RuleVersion, CheckType, Field, Method, Status, Statistic, PValue,
  Threshold, Direction, CurrentSize, ReferenceSize, Message,
  toUnixTimestamp64Milli(WindowStart) AS windowStart, toUnixTimestamp64Milli(WindowEnd) AS windowEnd
FROM ${store.tables.driftResults} FINAL
ORDER BY RuleId, WindowEnd DESC, EvaluatedAt DESC
LIMIT 1 BY RuleId`,
        format: "JSONEachRow",
      })
      .then((r) => r.json<Record<string, unknown>>()),
    store.client
      .query({
        query: `SELECT RuleId, count() AS evaluations, countIf(Status = 'drift') AS drifted,
  countIf(Status = 'insufficient') AS insufficient
FROM ${store.tables.driftResults} FINAL
WHERE WindowEnd >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY RuleId`,
        query_params: { since: sinceMs },
        format: "JSONEachRow",
      })
      .then((r) =>
        r.json<{ RuleId: string; evaluations: string; drifted: string; insufficient: string }>(),
      ),
  ]);
  const countsByRule = new Map(counts.map((c) => [c.RuleId, c]));
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return latest.map((r) => {
    const ruleId = String(r["RuleId"]);
    const c = countsByRule.get(ruleId);
    return {
      ruleId,
      ruleVersion: String(r["RuleVersion"]),
      checkType: String(r["CheckType"]),
      field: String(r["Field"]),
      method: String(r["Method"]),
      status: String(r["Status"]),
      statistic: num(r["Statistic"]),
      pValue: num(r["PValue"]),
      threshold: num(r["Threshold"]),
      direction: String(r["Direction"]),
      currentSize: Number(r["CurrentSize"]),
      referenceSize: Number(r["ReferenceSize"]),
      windowStart: new Date(Number(r["windowStart"])).toISOString(),
      windowEnd: new Date(Number(r["windowEnd"])).toISOString(),
      message: String(r["Message"]),
      inPeriod: {
        evaluations: Number(c?.evaluations ?? 0),
        drifted: Number(c?.drifted ?? 0),
        insufficient: Number(c?.insufficient ?? 0),
      },
    };
  });
}

/** Maps a bucket start (unix ms) to its index in bucketsOf(period). */
function bucketIndex(period: Period): { zeros(): number[]; of(t: number): number | undefined } {
  const starts = bucketsOf(period);
  const first = starts[0] ?? 0;
  return {
    zeros: () => starts.map(() => 0),
    of: (t) => {
      const i = Math.round((t - first) / period.stepMs);
      return i >= 0 && i < starts.length ? i : undefined;
    },
  };
}
