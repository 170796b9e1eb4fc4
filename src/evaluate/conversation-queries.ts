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
    outputsOfConversations: (ids, lean) => outputsOfConversations(store, ids, lean),
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
    query: `SELECT TraceId, argMin(ConversationId, Timestamp) AS conversation
FROM ${store.tables.outputs}
WHERE TraceId IN {traceIds:Array(String)} AND ConversationId != ''
GROUP BY TraceId`,
    query_params: { traceIds },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ TraceId: string; conversation: string }>();
  return new Map(rows.map((r) => [r.TraceId, r.conversation]));
}

/**
 * Every output of these conversations' traces (their latest MAX_TURNS_READ each), outputs of
 * those traces that name no conversation themselves included and given the conversation's
 * id: three queries whatever the number of conversations, so a pass over hundreds of quiet
 * traces, each a turn of its own conversation, costs what one does.
 */
export async function outputsOfConversations(
  store: Store,
  conversationIds: readonly string[],
  lean: boolean,
): Promise<Map<string, AgentOutputRow[]>> {
  const byConversation = new Map<string, AgentOutputRow[]>();
  if (conversationIds.length === 0) return byConversation;
  const result = await store.client.query({
    query: `SELECT ConversationId, TraceId, min(Timestamp) AS start
FROM ${store.tables.outputs}
WHERE ConversationId IN {ids:Array(String)}
GROUP BY ConversationId, TraceId
ORDER BY ConversationId, start DESC, TraceId
LIMIT {limit:UInt32} BY ConversationId`,
    query_params: { ids: conversationIds, limit: MAX_TURNS_READ },
    format: "JSONEachRow",
  });
  const conversationOf = new Map<string, string>();
  for (const r of await result.json<{ ConversationId: string; TraceId: string }>()) {
    if (!conversationOf.has(r.TraceId)) conversationOf.set(r.TraceId, r.ConversationId);
  }
  const rows = await outputsOfTraces(store, [...conversationOf.keys()], lean);
  for (const row of rows) {
    const id = conversationOf.get(row.TraceId);
    if (id === undefined) continue;
    if (row.ConversationId === "") row.ConversationId = id;
    const list = byConversation.get(id) ?? [];
    list.push(row);
    byConversation.set(id, list);
  }
  return byConversation;
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
