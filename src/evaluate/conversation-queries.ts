/**
 * The SQL of the conversation evaluator: which conversations the quiet traces belong to, the
 * outputs of a conversation so far, and which conversations have gone quiet. A trace belongs
 * to the conversation any of its outputs names (inherit-agent.ts gives the others the id at
 * ingest when their spans came together; this covers those that did not).
 */

import type { Store } from "../store/store.ts";
import { outputsOfTraces, type AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { readCursor, writeCursor } from "../store/tables/cursors.ts";
import type { ConversationStore } from "./conversations.ts";

/**
 * Most turns of one conversation read at once: the latest. A workflow id that names thousands
 * of runs is checked over its recent ones; a chat rarely has a hundred turns.
 */
export const MAX_TURNS_READ = 500;

/** The conversation evaluator's reads and its cursor, in the store. */
export function conversationStore(store: Store): ConversationStore {
  return {
    readCursor: (name) => readCursor(store, name),
    writeCursor: (name, value) => writeCursor(store, name, value),
    conversationsOfTraces: (traceIds) => conversationsOfTraces(store, traceIds),
    outputsOfConversation: (id, lean) => outputsOfConversation(store, id, lean),
    quietConversationIds: (after, upto) => quietConversationIds(store, after, upto),
  };
}

/** Trace id → the conversation id its outputs name (the first, when they differ). */
export async function conversationsOfTraces(
  store: Store,
  traceIds: readonly string[],
): Promise<Map<string, string>> {
  if (traceIds.length === 0) return new Map();
  const result = await store.client.query({
    query: `SELECT TraceId, argMin(ConversationId, Timestamp) AS ConversationId
FROM ${store.tables.outputs}
WHERE TraceId IN {traceIds:Array(String)} AND ConversationId != ''
GROUP BY TraceId`,
    query_params: { traceIds },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ TraceId: string; ConversationId: string }>();
  return new Map(rows.map((r) => [r.TraceId, r.ConversationId]));
}

/** The traces of a conversation (its latest MAX_TURNS_READ), oldest first. */
export async function tracesOfConversation(
  store: Store,
  conversationId: string,
  limit = MAX_TURNS_READ,
): Promise<{ traceId: string; startMs: number; lastMs: number }[]> {
  const result = await store.client.query({
    query: `SELECT TraceId, toUnixTimestamp64Milli(min(Timestamp)) AS start,
  toUnixTimestamp64Milli(max(Timestamp)) AS last
FROM ${store.tables.outputs}
WHERE ConversationId = {id:String}
GROUP BY TraceId
ORDER BY start DESC, TraceId
LIMIT {limit:UInt32}`,
    query_params: { id: conversationId, limit },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ TraceId: string; start: string; last: string }>();
  return rows
    .map((r) => ({ traceId: r.TraceId, startMs: Number(r.start), lastMs: Number(r.last) }))
    .reverse();
}

/**
 * Every output of a conversation's traces (outputs of those traces that name no conversation
 * themselves included, given the conversation's id), in trace and time order.
 */
export async function outputsOfConversation(
  store: Store,
  conversationId: string,
  lean: boolean,
): Promise<AgentOutputRow[]> {
  const traces = await tracesOfConversation(store, conversationId);
  const rows = await outputsOfTraces(
    store,
    traces.map((t) => t.traceId),
    lean,
  );
  for (const row of rows) if (row.ConversationId === "") row.ConversationId = conversationId;
  return rows;
}

/**
 * Conversations with outputs inserted in (afterMs, uptoMs] and none after uptoMs: quiet since
 * uptoMs. Insert times, as for quiet traces, so a late turn counts as new.
 */
export async function quietConversationIds(
  store: Store,
  afterMs: number,
  uptoMs: number,
): Promise<{ conversationId: string; lastInsertMs: number }[]> {
  const { outputs } = store.tables;
  const result = await store.client.query({
    query: `SELECT ConversationId, toUnixTimestamp64Milli(max(InsertedAt)) AS last FROM ${outputs}
WHERE ConversationId IN (
  SELECT DISTINCT ConversationId FROM ${outputs}
  WHERE ConversationId != ''
    AND InsertedAt > fromUnixTimestamp64Milli({after:Int64})
    AND InsertedAt <= fromUnixTimestamp64Milli({upto:Int64})
)
GROUP BY ConversationId
HAVING max(InsertedAt) <= fromUnixTimestamp64Milli({upto:Int64})`,
    query_params: { after: afterMs, upto: uptoMs },
    format: "JSONEachRow",
  });
  return (await result.json<{ ConversationId: string; last: string }>()).map((r) => ({
    conversationId: r.ConversationId,
    lastInsertMs: Number(r.last),
  }));
}
