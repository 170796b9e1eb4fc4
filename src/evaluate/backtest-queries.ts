/** The SQL of backtests: the outputs and traces of a past time range, oldest first. */

import {
  outputsOfTraces,
  SPAN_JOIN_SETTINGS,
  withSpanAttributes,
  type AgentOutputRow,
} from "../store/tables/agent-outputs.ts";
import { UNIX_TIMESTAMPS } from "../store/read-settings.ts";
import type { Store } from "../store/store.ts";
import type { BacktestSource } from "./backtest.ts";
import { conversationsOfTraces, outputsOfConversations } from "./conversation-queries.ts";

/** The outputs a backtest reads from the store, of one service or (undefined) all. */
export function backtestSource(store: Store, service: string | undefined): BacktestSource {
  return {
    outputsInWindow: (from, to) => outputsInWindow(store, from, to, service),
    tracesStartingInWindow: (from, to) => tracesStartingInWindow(store, from, to, service),
    outputsOfTraces: (ids) => outputsOfTraces(store, ids),
    conversationsOfTraces: (ids) => conversationsOfTraces(store, ids),
    outputsOfConversations: (ids) => outputsOfConversations(store, ids, false),
  };
}

/** Outputs with Timestamp in [fromMs, toMs), oldest first (backtest pages). */
export async function outputsInWindow(
  store: Store,
  fromMs: number,
  toMs: number,
  service?: string,
): Promise<AgentOutputRow[]> {
  const result = await store.client.query({
    query: `${withSpanAttributes(
      store,
      `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
WHERE Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
  AND ({service:String} = '' OR ServiceName = {service:String})`,
    )} ORDER BY Timestamp`,
    query_params: { from: fromMs, to: toMs, service: service ?? "" },
    format: "JSONEachRow",
    clickhouse_settings: { ...UNIX_TIMESTAMPS, ...SPAN_JOIN_SETTINGS },
  });
  return result.json<AgentOutputRow>();
}

/** Ids of traces whose first output falls in [fromMs, toMs). */
export async function tracesStartingInWindow(
  store: Store,
  fromMs: number,
  toMs: number,
  service?: string,
): Promise<string[]> {
  const result = await store.client.query({
    query: `SELECT TraceId FROM ${store.tables.outputs}
WHERE ({service:String} = '' OR ServiceName = {service:String})
GROUP BY TraceId
HAVING min(Timestamp) >= fromUnixTimestamp64Milli({from:Int64}) AND min(Timestamp) < fromUnixTimestamp64Milli({to:Int64})`,
    query_params: { from: fromMs, to: toMs, service: service ?? "" },
    format: "JSONEachRow",
  });
  return (await result.json<{ TraceId: string }>()).map((r) => r.TraceId);
}
