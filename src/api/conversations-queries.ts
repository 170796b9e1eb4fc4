/**
 * The SQL of the conversations API: recent conversations with their turns, outputs and
 * findings counted, a page at a time, and one conversation's turns in order with their outputs
 * and findings. A conversation is the outputs that name its id and the other outputs of their
 * traces (evaluate/conversation-queries.ts reads it the same way).
 */

import type { Store } from "../store/store.ts";
import {
  SPAN_JOIN_SETTINGS,
  withSpanAttributes,
  type AgentOutputRow,
} from "../store/tables/agent-outputs.ts";

export interface ConversationSummary {
  conversationId: string;
  /** ISO 8601: the first output's start, the last output's start. */
  firstAt: string;
  lastAt: string;
  turns: number;
  outputs: number;
  services: string[];
  agents: string[];
  /** Findings (not rule problems) on the conversation's traces, of every rule scope. */
  findings: number;
}

export interface ConversationsPage {
  conversations: ConversationSummary[];
  /** Passed back as `cursor`, the next (older) page; null on the last. */
  nextCursor: string | null;
}

export interface ConversationFilter {
  since: number;
  until: number;
  service?: string | undefined;
  limit: number;
  cursor?: { lastMs: number; id: string } | undefined;
}

/** Conversations active in [since, until), the most recently active first. */
export async function listConversations(
  store: Store,
  filter: ConversationFilter,
): Promise<ConversationsPage> {
  const { outputs } = store.tables;
  const params: Record<string, unknown> = {
    since: filter.since,
    until: filter.until,
    limit: filter.limit + 1,
  };
  const having: string[] = [];
  if (filter.cursor !== undefined) {
    having.push("(last, ConversationId) < ({afterLast:Int64}, {afterId:String})");
    params["afterLast"] = filter.cursor.lastMs;
    params["afterId"] = filter.cursor.id;
  }
  let service = "";
  if (filter.service !== undefined) {
    service = "AND ServiceName = {service:String}";
    params["service"] = filter.service;
  }
  const result = await store.client.query({
    // A trace belongs to the conversation its outputs name; its other outputs count too.
    query: `WITH turns AS (
  SELECT TraceId, argMin(ConversationId, Timestamp) AS conversation
  FROM ${outputs}
  WHERE ConversationId != ''
    AND Timestamp >= fromUnixTimestamp64Milli({since:Int64})
    AND Timestamp < fromUnixTimestamp64Milli({until:Int64}) ${service}
  GROUP BY TraceId
)
SELECT turns.conversation AS ConversationId,
  toUnixTimestamp64Milli(min(o.Timestamp)) AS first,
  toUnixTimestamp64Milli(max(o.Timestamp)) AS last,
  uniqExact(o.TraceId) AS turns,
  count() AS outputs,
  arraySort(groupUniqArray(10)(o.ServiceName)) AS services,
  arraySort(arrayFilter(a -> a != '', groupUniqArray(10)(o.AgentName))) AS agents
FROM ${outputs} AS o FINAL
INNER JOIN turns ON turns.TraceId = o.TraceId
WHERE o.TraceId IN (SELECT TraceId FROM turns)
GROUP BY ConversationId
${having.length > 0 ? `HAVING ${having.join(" AND ")}` : ""}
ORDER BY last DESC, ConversationId DESC
LIMIT {limit:UInt32}`,
    query_params: params,
    format: "JSONEachRow",
  });
  const rows = await result.json<{
    ConversationId: string;
    first: string;
    last: string;
    turns: string | number;
    outputs: string | number;
    services: string[];
    agents: string[];
  }>();
  const page = rows.slice(0, filter.limit);
  const findings = await findingCounts(
    store,
    page.map((r) => r.ConversationId),
  );
  const last = page[page.length - 1];
  return {
    conversations: page.map((r) => ({
      conversationId: r.ConversationId,
      firstAt: new Date(Number(r.first)).toISOString(),
      lastAt: new Date(Number(r.last)).toISOString(),
      turns: Number(r.turns),
      outputs: Number(r.outputs),
      services: r.services,
      agents: r.agents,
      findings: findings.get(r.ConversationId) ?? 0,
    })),
    nextCursor:
      rows.length > filter.limit && last !== undefined
        ? encodeConversationCursor({ lastMs: Number(last.last), id: last.ConversationId })
        : null,
  };
}

/** Conversation id → findings on its traces. */
async function findingCounts(store: Store, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const result = await store.client.query({
    query: `SELECT c.ConversationId AS id, count() AS n
FROM (
  SELECT DISTINCT TraceId, ConversationId FROM ${store.tables.outputs}
  WHERE ConversationId IN {ids:Array(String)}
) AS c
INNER JOIN (
  SELECT TraceId FROM ${store.tables.checkResults} FINAL
  WHERE Outcome = 'failed' AND TraceId IN (
    SELECT TraceId FROM ${store.tables.outputs} WHERE ConversationId IN {ids:Array(String)}
  )
) AS r ON r.TraceId = c.TraceId
GROUP BY id`,
    query_params: { ids },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ id: string; n: string | number }>();
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

export interface ConversationTurn {
  traceId: string;
  startedAt: string;
  endedAt: string;
  outputs: AgentOutputRow[];
  findings: unknown[];
}

export interface ConversationDetail {
  conversationId: string;
  turns: ConversationTurn[];
  /** Every finding on its traces, conversation findings included, oldest first. */
  findings: unknown[];
}

/** Most turns a conversation's page shows: its latest. */
export const MAX_TURNS_SHOWN = 200;

/** One conversation: its turns (traces) in the order they started, each with outputs and findings. */
export async function getConversation(
  store: Store,
  conversationId: string,
): Promise<ConversationDetail | undefined> {
  const { outputs } = store.tables;
  const tracesResult = await store.client.query({
    query: `SELECT TraceId, toUnixTimestamp64Milli(min(Timestamp)) AS start,
  max(toUnixTimestamp64Milli(Timestamp) + intDiv(DurationNs, 1000000)) AS end
FROM ${outputs}
WHERE TraceId IN (SELECT TraceId FROM ${outputs} WHERE ConversationId = {id:String})
GROUP BY TraceId
ORDER BY start DESC, TraceId
LIMIT {limit:UInt32}`,
    query_params: { id: conversationId, limit: MAX_TURNS_SHOWN },
    format: "JSONEachRow",
  });
  const traces = (
    await tracesResult.json<{ TraceId: string; start: string; end: string }>()
  ).reverse();
  if (traces.length === 0) return undefined;
  const traceIds = traces.map((t) => t.TraceId);
  const [rows, findings] = await Promise.all([
    outputsOfTracesAsShown(store, traceIds),
    findingsOfTraces(store, traceIds),
  ]);
  const turns = traces.map((t): ConversationTurn => ({
    traceId: t.TraceId,
    startedAt: new Date(Number(t.start)).toISOString(),
    endedAt: new Date(Number(t.end)).toISOString(),
    outputs: rows
      .filter((row) => row.TraceId === t.TraceId)
      .map((row) => (row.ConversationId === "" ? { ...row, ConversationId: conversationId } : row)),
    findings: findings.filter((f) => f.TraceId === t.TraceId),
  }));
  return { conversationId, turns, findings };
}

/** The outputs of these traces as GET /api/traces/:id answers them (times as stored text). */
async function outputsOfTracesAsShown(
  store: Store,
  traceIds: readonly string[],
): Promise<AgentOutputRow[]> {
  const result = await store.client.query({
    query: `${withSpanAttributes(
      store,
      `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL WHERE TraceId IN {traceIds:Array(String)}`,
    )} ORDER BY Timestamp, SpanId`,
    query_params: { traceIds },
    format: "JSONEachRow",
    clickhouse_settings: SPAN_JOIN_SETTINGS,
  });
  return result.json<AgentOutputRow>();
}

/** Findings (and rule problems, marked by Outcome) on these traces, oldest first. */
async function findingsOfTraces(
  store: Store,
  traceIds: readonly string[],
): Promise<({ TraceId: string } & Record<string, unknown>)[]> {
  const result = await store.client.query({
    query: `SELECT * EXCEPT EvaluatedAt FROM ${store.tables.checkResults} FINAL
WHERE TraceId IN {traceIds:Array(String)}
ORDER BY Timestamp, RuleId, SpanId, Code`,
    query_params: { traceIds },
    format: "JSONEachRow",
  });
  return result.json();
}

/** The opaque cursor of the next page. */
export function encodeConversationCursor(cursor: { lastMs: number; id: string }): string {
  return Buffer.from(JSON.stringify([cursor.lastMs, cursor.id])).toString("base64url");
}

/** A cursor's position, or undefined when it is not one this API gave. */
export function decodeConversationCursor(text: string): { lastMs: number; id: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === "string"
    ) {
      return { lastMs: value[0] as number, id: value[1] };
    }
  } catch {
    // not base64url JSON
  }
  return undefined;
}
