/**
 * judge_queue (migration 10): the judge's durable queue, one row per (rule, output), replaced
 * as the item moves from queued to done, error or budget. Seq orders an item's states
 * (ReplacingMergeTree keeps the highest): a queued state is written with the Seq it had plus
 * one, a final one with FINAL_SEQ, and a new item with 0, so queueing an output again never
 * undoes its verdict.
 */

import { UNIX_TIMESTAMPS } from "../read-settings.ts";
import type { Store } from "../store.ts";

/** queued: waiting (or waiting again, after a retryable failure); the others are final. */
export type JudgeQueueState = "queued" | "done" | "error" | "budget" | "dropped";

export interface JudgeQueueItem {
  ruleId: string;
  ruleVersion: string;
  traceId: string;
  spanId: string;
  /** The output's time, "<unix seconds>.<9 digits>". */
  outputTime: string;
  /** Unix ms. */
  enqueuedAt: number;
  state: JudgeQueueState;
  attempts: number;
  /** Unix ms: not taken before. */
  nextAttemptAt: number;
  seq: number;
  message: string;
}

/** The Seq of a final state: above any number of retries. */
export const FINAL_SEQ = 2 ** 62;

interface JudgeQueueRow {
  RuleId: string;
  RuleVersion: string;
  TraceId: string;
  SpanId: string;
  OutputTime: string;
  EnqueuedAt: string;
  State: string;
  Attempts: number;
  NextAttemptAt: string;
  Seq: number | string;
  Message: string;
}

const msText = (ms: number): string => (ms / 1000).toFixed(3);

function toRow(item: JudgeQueueItem): JudgeQueueRow {
  return {
    RuleId: item.ruleId,
    RuleVersion: item.ruleVersion,
    TraceId: item.traceId,
    SpanId: item.spanId,
    OutputTime: item.outputTime,
    EnqueuedAt: msText(item.enqueuedAt),
    State: item.state,
    Attempts: item.attempts,
    NextAttemptAt: msText(item.nextAttemptAt),
    Seq: item.seq,
    Message: item.message,
  };
}

function fromRow(row: JudgeQueueRow): JudgeQueueItem {
  return {
    ruleId: row.RuleId,
    ruleVersion: row.RuleVersion,
    traceId: row.TraceId,
    spanId: row.SpanId,
    outputTime: row.OutputTime,
    enqueuedAt: Math.round(Number(row.EnqueuedAt) * 1000),
    state: row.State as JudgeQueueState,
    attempts: Number(row.Attempts),
    nextAttemptAt: Math.round(Number(row.NextAttemptAt) * 1000),
    seq: Number(row.Seq),
    message: row.Message,
  };
}

/** Writes items (new ones, or new states of taken ones). */
export async function writeJudgeQueue(
  store: Store,
  items: readonly JudgeQueueItem[],
): Promise<void> {
  if (items.length === 0) return;
  await store.client.insert({
    table: store.tables.judgeQueue,
    values: items.map(toRow),
    format: "JSONEachRow",
  });
}

/** Queued items due at `nowMs`, oldest first. */
export async function dueJudgeItems(
  store: Store,
  nowMs: number,
  limit: number,
): Promise<JudgeQueueItem[]> {
  const result = await store.client.query({
    query: `SELECT * FROM ${store.tables.judgeQueue} FINAL
WHERE State = 'queued' AND NextAttemptAt <= fromUnixTimestamp64Milli({now:Int64})
ORDER BY EnqueuedAt, TraceId, SpanId LIMIT {limit:UInt32}`,
    query_params: { now: nowMs, limit },
    format: "JSONEachRow",
    clickhouse_settings: UNIX_TIMESTAMPS,
  });
  return (await result.json<JudgeQueueRow>()).map(fromRow);
}

/** Queued items per rule (due or not): the backlog /api/rules shows. */
export async function queuedJudgeItems(store: Store): Promise<Map<string, number>> {
  const result = await store.client.query({
    query: `SELECT RuleId, count() AS n FROM ${store.tables.judgeQueue} FINAL
WHERE State = 'queued' GROUP BY RuleId`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ RuleId: string; n: string | number }>();
  return new Map(rows.map((row) => [row.RuleId, Number(row.n)]));
}

/** Every item of one output, any state (tests and the API). */
export async function judgeItemsOf(store: Store, traceId: string): Promise<JudgeQueueItem[]> {
  const result = await store.client.query({
    query: `SELECT * FROM ${store.tables.judgeQueue} FINAL WHERE TraceId = {trace:String}
ORDER BY RuleId, SpanId`,
    query_params: { trace: traceId },
    format: "JSONEachRow",
    clickhouse_settings: UNIX_TIMESTAMPS,
  });
  return (await result.json<JudgeQueueRow>()).map(fromRow);
}
