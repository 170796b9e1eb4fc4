/**
 * drift_results (migration 6): one row per evaluation of a window rule (a WindowEvaluation,
 * mapped to its columns here), and the scheduler's durable position, max(WindowEnd) per rule
 * version.
 */

import type { WindowEvaluation } from "../../rules/findings.ts";
import { countsByRule, type RuleCounts } from "./checks.ts";
import type { Store } from "../store.ts";

function msText(ms: number): string {
  return (ms / 1000).toFixed(3);
}

const finite = (value: number | null): number | null =>
  value === null || !Number.isFinite(value) ? null : value;

/** The columns of drift_results. */
export interface DriftResultRow {
  RuleId: string;
  RuleVersion: string;
  CheckType: string;
  /** DateTime64(3) as "<unix seconds>.<3 digits>". */
  EvaluatedAt: string;
  WindowStart: string;
  WindowEnd: string;
  ReferenceStart: string | null;
  ReferenceEnd: string | null;
  Field: string;
  Method: string;
  Status: string;
  Statistic: number | null;
  PValue: number | null;
  Threshold: number | null;
  Direction: string;
  Drifted: 0 | 1;
  CurrentSize: number;
  ReferenceSize: number;
  Bins: string[];
  CurrentCounts: number[];
  ReferenceCounts: number[];
  Message: string;
}

export function driftResultRow(r: WindowEvaluation): DriftResultRow {
  return {
    RuleId: r.ruleId,
    RuleVersion: r.ruleVersion,
    CheckType: r.checkType,
    EvaluatedAt: msText(r.evaluatedAt),
    WindowStart: msText(r.windowStart),
    WindowEnd: msText(r.windowEnd),
    ReferenceStart: r.referenceStart === null ? null : msText(r.referenceStart),
    ReferenceEnd: r.referenceEnd === null ? null : msText(r.referenceEnd),
    Field: r.field,
    Method: r.method,
    Status: r.status,
    Statistic: finite(r.statistic),
    PValue: finite(r.pValue),
    Threshold: finite(r.threshold),
    Direction: r.direction,
    Drifted: r.status === "drift" ? 1 : 0,
    CurrentSize: r.currentSize,
    ReferenceSize: r.referenceSize,
    Bins: r.bins,
    CurrentCounts: r.currentCounts,
    ReferenceCounts: r.referenceCounts,
    Message: r.message,
  };
}

export async function saveWindowEvaluations(
  store: Store,
  evaluations: readonly WindowEvaluation[],
): Promise<void> {
  if (evaluations.length === 0) return;
  await store.client.insert({
    table: store.tables.driftResults,
    values: evaluations.map(driftResultRow),
    format: "JSONEachRow",
  });
}

/** The end of the last evaluated window of each (rule, version), unix ms. */
export async function lastWindowEnds(store: Store): Promise<Map<string, number>> {
  const result = await store.client.query({
    query: `SELECT RuleId, RuleVersion, toUnixTimestamp64Milli(max(WindowEnd)) AS last
FROM ${store.tables.driftResults} GROUP BY RuleId, RuleVersion`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ RuleId: string; RuleVersion: string; last: string }>();
  return new Map(rows.map((r) => [`${r.RuleId}@${r.RuleVersion}`, Number(r.last)]));
}

/**
 * Stored evaluations of one rule (newest first, at most `limit`), for the API and tests; with a
 * period, those whose window ends in it (after `sinceMs`, at or before `untilMs`).
 */
export async function windowResultsOf(
  store: Store,
  ruleId: string,
  limit = 100,
  period: { sinceMs?: number | undefined; untilMs?: number | undefined } = {},
): Promise<WindowEvaluation[]> {
  const result = await store.client.query({
    query: `SELECT RuleId, RuleVersion, CheckType,
  toUnixTimestamp64Milli(EvaluatedAt) AS evaluatedAt,
  toUnixTimestamp64Milli(WindowStart) AS windowStart,
  toUnixTimestamp64Milli(WindowEnd) AS windowEnd,
  toUnixTimestamp64Milli(ReferenceStart) AS referenceStart,
  toUnixTimestamp64Milli(ReferenceEnd) AS referenceEnd,
  Field, Method, Status, Statistic, PValue, Threshold, Direction, CurrentSize, ReferenceSize,
  Bins, CurrentCounts, ReferenceCounts, Message
FROM ${store.tables.driftResults} FINAL
WHERE RuleId = {rule:String}
  AND WindowEnd > fromUnixTimestamp64Milli({since:Int64})
  AND WindowEnd <= fromUnixTimestamp64Milli({until:Int64})
ORDER BY WindowEnd DESC LIMIT {limit:UInt32}`,
    query_params: {
      rule: ruleId,
      limit,
      since: period.sinceMs ?? 0,
      // Far enough for any window end; DateTime64(3) reaches 2299.
      until: period.untilMs ?? 9_000_000_000_000,
    },
    format: "JSONEachRow",
  });
  type Row = Record<string, unknown>;
  const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return (await result.json<Row>()).map((r) => ({
    ruleId: String(r["RuleId"]),
    ruleVersion: String(r["RuleVersion"]),
    checkType: r["CheckType"] === "rate" || r["CheckType"] === "absent" ? r["CheckType"] : "drift",
    evaluatedAt: Number(r["evaluatedAt"]),
    windowStart: Number(r["windowStart"]),
    windowEnd: Number(r["windowEnd"]),
    referenceStart: num(r["referenceStart"]),
    referenceEnd: num(r["referenceEnd"]),
    field: String(r["Field"]),
    method: String(r["Method"]),
    status: String(r["Status"]) as WindowEvaluation["status"],
    statistic: num(r["Statistic"]),
    pValue: num(r["PValue"]),
    threshold: num(r["Threshold"]),
    direction: String(r["Direction"]),
    currentSize: Number(r["CurrentSize"]),
    referenceSize: Number(r["ReferenceSize"]),
    bins: r["Bins"] as string[],
    currentCounts: (r["CurrentCounts"] as unknown[]).map(Number),
    referenceCounts: (r["ReferenceCounts"] as unknown[]).map(Number),
    message: String(r["Message"]),
  }));
}

/**
 * Per rule since `sinceMs`: evaluations with enough samples, those that drifted, and the
 * latest window end (unix ms) — what /api/rules shows for window rules.
 */
export async function windowCounts(
  store: Store,
  sinceMs: number,
): Promise<Map<string, RuleCounts>> {
  return countsByRule(
    store,
    `SELECT RuleId, countIf(Status IN ('ok', 'drift')) AS evaluated,
  countIf(Status = 'drift') AS failed, toUnixTimestamp64Milli(max(WindowEnd)) AS last
FROM ${store.tables.driftResults} FINAL
WHERE WindowEnd >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY RuleId`,
    sinceMs,
  );
}
