/**
 * The evaluation tables (migration 4): check_results (one row per finding, and per rule
 * problem: Outcome, migration 7), check_evaluations and its per-minute counters check_counts. Findings and evaluation records come in as domain
 * values and are mapped to rows here. Values are bound as parameters; only table names from
 * the validated config are part of the SQL text.
 */

import { isRuleProblem, type CheckEvaluation, type Finding } from "../../rules/findings.ts";
import type { Store } from "../store.ts";
import { insertRows } from "../insert-json-rows.ts";

export interface CheckResultRow {
  /** The output's (or trace's) time, DateTime64(9) text. */
  Timestamp: string;
  RuleId: string;
  RuleVersion: string;
  Severity: string;
  /** "output" or "trace". */
  Scope: string;
  ServiceName: string;
  AgentName: string;
  Operation: string;
  Model: string;
  ToolName: string;
  TraceId: string;
  SpanId: string;
  Code: string;
  /**
   * "failed": a finding, the output failed the check. "rule_error": a rule problem (migration
   * 7), the rule could not judge the output: never a failure (RuleProblem).
   */
  Outcome: "failed" | "rule_error";
  Field: string;
  Message: string;
  Observed: string;
  Expected: string;
}

export interface CheckEvaluationRow {
  /** Unix seconds at the start of the output's minute. */
  Minute: number;
  RuleId: string;
  ServiceName: string;
  AgentName: string;
  /** traceId/spanId for output rules, traceId for trace rules: counted once however often evaluated. */
  OutputKey: string;
  Failed: 0 | 1;
}

export function checkResultRow(finding: Finding): CheckResultRow {
  return {
    Timestamp: finding.time,
    RuleId: finding.ruleId,
    RuleVersion: finding.ruleVersion,
    Severity: finding.severity,
    Scope: finding.scope,
    ServiceName: finding.labels.service,
    AgentName: finding.labels.agent,
    Operation: finding.labels.operation,
    Model: finding.labels.model,
    ToolName: finding.labels.tool,
    TraceId: finding.traceId,
    SpanId: finding.spanId,
    Code: finding.code,
    Outcome: isRuleProblem(finding) ? "rule_error" : "failed",
    Field: finding.path,
    Message: finding.message,
    Observed: finding.observed,
    Expected: finding.expected,
  };
}

export function checkEvaluationRow(evaluation: CheckEvaluation): CheckEvaluationRow {
  return {
    Minute: minuteOf(evaluation.time),
    RuleId: evaluation.ruleId,
    ServiceName: evaluation.service,
    AgentName: evaluation.agent,
    OutputKey: evaluation.outputKey,
    Failed: evaluation.failed ? 1 : 0,
  };
}

/** Unix seconds at the start of the minute of a "<unix seconds>.<fraction>" time (0 if not one). */
function minuteOf(time: string): number {
  const seconds = Number(time.split(".")[0]);
  return Number.isFinite(seconds) ? Math.floor(seconds / 60) * 60 : 0;
}

export async function writeFindings(store: Store, findings: readonly Finding[]): Promise<void> {
  if (findings.length === 0) return;
  await insertRows(store.client, store.tables.checkResults, findings.map(checkResultRow));
}

export async function writeCheckEvaluations(
  store: Store,
  evaluations: readonly CheckEvaluation[],
): Promise<void> {
  if (evaluations.length === 0) return;
  // One row per evaluated output and rule: as many rows as ingest writes, the same insert path.
  await insertRows(
    store.client,
    store.tables.checkEvaluations,
    evaluations.map(checkEvaluationRow),
  );
}

export type CheckOrder = "asc" | "desc";

/**
 * A position in the findings' order: the sort key of one check_results row. The table's
 * ORDER BY (RuleId, ServiceName, Timestamp, TraceId, SpanId, Code, Field) is what
 * ReplacingMergeTree dedupes on, so under FINAL these seven values name exactly one row, and
 * a page that ends on many findings of the same nanosecond still continues after the right one.
 */
export interface CheckCursor {
  /** "<unix seconds>.<9 digits>": how a DateTime64(9) parameter reads it, in any time zone. */
  time: string;
  ruleId: string;
  service: string;
  traceId: string;
  spanId: string;
  code: string;
  field: string;
}

export interface CheckFilter {
  rule?: string | undefined;
  service?: string | undefined;
  trace?: string | undefined;
  /** Only failed checks, or only rule problems (a timeout or error inside the rule); both unless told. */
  outcome?: "failed" | "rule_error" | undefined;
  /** Unix ms, inclusive. */
  since?: number | undefined;
  /** Unix ms, exclusive: [since, until) periods tile without overlap. */
  until?: number | undefined;
  /** By time, then the rest of the sort key; "desc" (newest first) unless told. */
  order?: CheckOrder | undefined;
  /** Only findings strictly after this position in `order`. */
  cursor?: CheckCursor | undefined;
  limit: number;
}

export interface ChecksPage {
  checks: Record<string, unknown>[];
  /** Where the next page starts (encodeCheckCursor), or null when this page is the last. */
  nextCursor: string | null;
}

const CURSOR_TIME = /^\d{1,12}\.\d{9}$/;

/** The opaque text of a cursor: base64url of its values as a JSON array. */
export function encodeCheckCursor(cursor: CheckCursor): string {
  const { time, ruleId, service, traceId, spanId, code, field } = cursor;
  const values = [time, ruleId, service, traceId, spanId, code, field];
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

/** The cursor of an encodeCheckCursor text, or undefined when the text is not one. */
export function decodeCheckCursor(text: string): CheckCursor | undefined {
  // Node's base64url decoder skips characters outside the alphabet; a cursor has none.
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!Array.isArray(values) || values.length !== 7) return undefined;
  if (!values.every((v): v is string => typeof v === "string")) return undefined;
  const [time, ruleId, service, traceId, spanId, code, field] = values as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!CURSOR_TIME.test(time)) return undefined;
  const cursor = { time, ruleId, service, traceId, spanId, code, field };
  // Only the text encodeCheckCursor makes: no second spelling of one position.
  return encodeCheckCursor(cursor) === text ? cursor : undefined;
}

/** Fixed SQL per order (never user text): the direction, and "after" in that direction. */
const DIRECTION = {
  asc: { sort: "ASC", after: ">", notBefore: ">=" },
  desc: { sort: "DESC", after: "<", notBefore: "<=" },
} as const;

const SORT_KEY = ["Timestamp", "RuleId", "ServiceName", "TraceId", "SpanId", "Code", "Field"];

/** Findings, newest first. */
export async function listChecks(store: Store, filter: CheckFilter): Promise<unknown[]> {
  return (await listChecksPage(store, filter)).checks;
}

/**
 * One page of findings in a stable order (time, then the rest of the sort key), with the
 * cursor of the next page: following nextCursor with the same filters reads a period whole,
 * every finding exactly once.
 */
export async function listChecksPage(store: Store, filter: CheckFilter): Promise<ChecksPage> {
  const direction = DIRECTION[filter.order ?? "desc"];
  const where: string[] = [];
  // One row more than asked for: whether there is a next page, without a second query.
  const params: Record<string, unknown> = { limit: filter.limit + 1 };
  if (filter.rule !== undefined) {
    where.push("RuleId = {rule:String}");
    params["rule"] = filter.rule;
  }
  if (filter.service !== undefined) {
    where.push("ServiceName = {service:String}");
    params["service"] = filter.service;
  }
  if (filter.trace !== undefined) {
    where.push("TraceId = {trace:String}");
    params["trace"] = filter.trace;
  }
  if (filter.outcome !== undefined) {
    where.push("Outcome = {outcome:String}");
    params["outcome"] = filter.outcome;
  }
  if (filter.since !== undefined) {
    where.push("Timestamp >= fromUnixTimestamp64Milli({since:Int64})");
    params["since"] = filter.since;
  }
  if (filter.until !== undefined) {
    where.push("Timestamp < fromUnixTimestamp64Milli({until:Int64})");
    params["until"] = filter.until;
  }
  if (filter.cursor !== undefined) {
    const c = filter.cursor;
    // The plain bound on Timestamp lets ClickHouse skip partitions and granules; the tuple
    // comparison alone would be evaluated row by row.
    where.push(
      `Timestamp ${direction.notBefore} {afterTime:DateTime64(9)}`,
      `(${SORT_KEY.join(", ")}) ${direction.after} ({afterTime:DateTime64(9)}, {afterRule:String}, {afterService:String}, {afterTrace:String}, {afterSpan:String}, {afterCode:String}, {afterField:String})`,
    );
    Object.assign(params, {
      afterTime: c.time,
      afterRule: c.ruleId,
      afterService: c.service,
      afterTrace: c.traceId,
      afterSpan: c.spanId,
      afterCode: c.code,
      afterField: c.field,
    });
  }
  const result = await store.client.query({
    // CursorNanos: the exact time of a row, whatever the session's time zone (the Timestamp
    // text is local time, ambiguous in the hour a clock goes back).
    query: `SELECT *, toUnixTimestamp64Nano(Timestamp) AS CursorNanos
FROM ${store.tables.checkResults} FINAL
${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
ORDER BY ${SORT_KEY.map((column) => `${column} ${direction.sort}`).join(", ")}
LIMIT {limit:UInt32}`,
    query_params: params,
    format: "JSONEachRow",
  });
  const rows = await result.json<CheckResultRow & { CursorNanos: string }>();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    checks: page.map(({ CursorNanos: _cursorNanos, ...row }) => row),
    nextCursor:
      rows.length > filter.limit && last !== undefined
        ? encodeCheckCursor({
            time: secondsText(last.CursorNanos),
            ruleId: last.RuleId,
            service: last.ServiceName,
            traceId: last.TraceId,
            spanId: last.SpanId,
            code: last.Code,
            field: last.Field,
          })
        : null,
  };
}

/** Unix nanoseconds as "<seconds>.<9 digits>". */
function secondsText(nanos: string): string {
  const digits = nanos.padStart(10, "0");
  return `${digits.slice(0, -9)}.${digits.slice(-9)}`;
}

export interface RuleCounts {
  evaluated: number;
  failed: number;
  /** Unix ms of the last minute with an evaluation, or undefined. */
  lastEvaluatedAt: number | undefined;
}

/** Per rule: outputs (or traces) evaluated and failed since `sinceMs`. */
export async function ruleCounts(store: Store, sinceMs: number): Promise<Map<string, RuleCounts>> {
  return countsByRule(
    store,
    `SELECT RuleId, uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed,
  toUnixTimestamp(max(Minute)) * 1000 AS last
FROM ${store.tables.checkCounts}
WHERE Minute >= toStartOfMinute(fromUnixTimestamp64Milli({since:Int64}))
GROUP BY RuleId`,
    sinceMs,
  );
}

export interface RuleProblemCounts {
  /** Outputs (or traces) whose evaluation hit a rule problem. */
  problems: number;
  /** The latest of them; `at` is when it was written (Unix ms). */
  last: { code: string; message: string; at: number };
}

/** Per rule: the outputs (or traces) of the rule problems since `sinceMs`, and the latest. */
export async function ruleProblemCounts(
  store: Store,
  sinceMs: number,
): Promise<Map<string, RuleProblemCounts>> {
  // No FINAL: uniqExact counts a row written twice once, and argMax does not care.
  const result = await store.client.query({
    query: `SELECT RuleId, uniqExact(TraceId, SpanId) AS problems,
  argMax(Code, EvaluatedAt) AS code, argMax(Message, EvaluatedAt) AS message,
  toUnixTimestamp64Milli(max(EvaluatedAt)) AS at
FROM ${store.tables.checkResults}
WHERE Outcome = 'rule_error' AND Timestamp >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY RuleId`,
    query_params: { since: sinceMs },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    RuleId: string;
    problems: string;
    code: string;
    message: string;
    at: string;
  }>();
  return new Map(
    rows.map((r) => [
      r.RuleId,
      {
        problems: Number(r.problems),
        last: { code: r.code, message: r.message, at: Number(r.at) },
      },
    ]),
  );
}

/**
 * Runs a per-rule count query (columns RuleId, evaluated, failed, last in Unix ms; parameter
 * `since`) into RuleCounts by rule id.
 */
export async function countsByRule(
  store: Store,
  query: string,
  sinceMs: number,
): Promise<Map<string, RuleCounts>> {
  const result = await store.client.query({
    query,
    query_params: { since: sinceMs },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    RuleId: string;
    evaluated: string;
    failed: string;
    last: string;
  }>();
  return new Map(
    rows.map((r) => [
      r.RuleId,
      { evaluated: Number(r.evaluated), failed: Number(r.failed), lastEvaluatedAt: Number(r.last) },
    ]),
  );
}

/** Per (service, agent): failed / evaluated outputs of one rule over a window, by SQL. */
export async function rateCounts(
  store: Store,
  ruleId: string,
  windowMs: number,
): Promise<{ service: string; agent: string; evaluated: number; failed: number }[]> {
  const result = await store.client.query({
    query: `SELECT ServiceName, AgentName, uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed
FROM ${store.tables.checkCounts}
WHERE RuleId = {rule:String} AND Minute >= toStartOfMinute(now() - toIntervalSecond({window:UInt32}))
GROUP BY ServiceName, AgentName`,
    query_params: { rule: ruleId, window: Math.ceil(windowMs / 1000) },
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    ServiceName: string;
    AgentName: string;
    evaluated: string;
    failed: string;
  }>();
  return rows.map((r) => ({
    service: r.ServiceName,
    agent: r.AgentName,
    evaluated: Number(r.evaluated),
    failed: Number(r.failed),
  }));
}
