/**
 * agent_outputs (migration 2): one row per agent output, keyed by column name as JSONEachRow
 * wants it, and its per-table reads. DateTime64(9) values are written as
 * "<unix seconds>.<9 digits>" text, which ClickHouse parses without loss.
 */

import { createLineWriter, type EncodedRows } from "../json-each-row.ts";
import { localName } from "../migrations/ddl.ts";
import { UNIX_TIMESTAMPS } from "../read-settings.ts";
import type { Store } from "../store.ts";

/** One row of `agent_outputs`. */
export interface AgentOutputRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  ServiceName: string;
  ServiceVersion: string;
  SpanName: string;
  Convention: string;
  Kind: string;
  Operation: string;
  AgentName: string;
  AgentId: string;
  ConversationId: string;
  Provider: string;
  RequestModel: string;
  ResponseModel: string;
  /** ResponseModel when known, else RequestModel: the one rules match on. */
  Model: string;
  InputText: string;
  OutputText: string;
  /** The output as JSON text when it parses as JSON, "" otherwise. */
  OutputJson: string;
  OutputIsJson: boolean;
  OutputType: string;
  FinishReason: string;
  ToolName: string;
  ToolCallId: string;
  ToolArguments: string;
  ToolResult: string;
  InputTokens: number | null;
  OutputTokens: number | null;
  /** Nanoseconds, as a decimal string (UInt64). */
  DurationNs: string;
  /** Unset | Ok | Error */
  StatusCode: string;
  StatusMessage: string;
  ErrorType: string;
  SpanAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
}

/**
 * Attribute keys Plumbline derives itself: the evaluation results read from span events
 * (`plumbline.evaluation.*`) and the pending mark. They are the only attributes an
 * agent_outputs row stores: the span's own attribute maps are in otel_traces already, and a
 * second copy made the outputs table larger than the spans table (2.4 KB against 1.6 KB of
 * JSON per row on the bench's traffic). Reads that need the maps join them back
 * (withSpanAttributes here, sql-fields.ts for window rules).
 */
export const DERIVED_ATTRIBUTE_PREFIX = "plumbline.";

const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The row as agent_outputs stores it: its attribute maps cut down to the derived keys. */
export function storedOutputRow(row: AgentOutputRow): AgentOutputRow {
  let derived: Record<string, string> | undefined;
  for (const key in row.SpanAttributes) {
    if (key.startsWith(DERIVED_ATTRIBUTE_PREFIX)) {
      (derived ??= {})[key] = row.SpanAttributes[key] as string;
    }
  }
  return { ...row, SpanAttributes: derived ?? NO_ATTRIBUTES, ResourceAttributes: NO_ATTRIBUTES };
}

/** Output rows as the JSONEachRow text of their insert, as agent_outputs stores them. */
export function encodeAgentOutputRows(rows: readonly AgentOutputRow[]): EncodedRows {
  const writer = createLineWriter();
  for (const row of rows) writer.line(JSON.stringify(storedOutputRow(row)));
  return writer.done();
}

/**
 * Query settings of reads that join otel_traces to agent_outputs. On a cluster both tables are
 * sharded by cityHash64(TraceId) (migrations 1 and 2), so each shard joins its own local
 * tables: "local" says so, where the default would refuse the Distributed table inside the
 * join as a double-distributed subquery. Without Distributed tables it changes nothing.
 */
export const SPAN_JOIN_SETTINGS = { distributed_product_mode: "local" } as const;

/**
 * The rows of `outputs` (a query of agent_outputs columns, InsertedAt left out) with their
 * span's attribute maps from otel_traces: the span's SpanAttributes updated with the row's own
 * derived keys, and its ResourceAttributes. Rows stored before outputs stopped copying the maps
 * keep their own; a row whose span is not (or no longer) stored reads its derived keys alone.
 * Rows come in no particular order.
 */
export function withSpanAttributes(store: Store, outputs: string): string {
  return `SELECT o.* EXCEPT (SpanAttributes, ResourceAttributes),
  mapUpdate(s.SpanAttributes, o.SpanAttributes) AS SpanAttributes,
  if(empty(o.ResourceAttributes), s.ResourceAttributes, o.ResourceAttributes) AS ResourceAttributes
FROM (${outputs}) AS o
LEFT ANY JOIN (
  SELECT TraceId, SpanId, SpanAttributes, ResourceAttributes FROM ${store.tables.traces}
  WHERE TraceId IN (SELECT TraceId FROM (${outputs}))
) AS s USING (TraceId, SpanId)`;
}

// The bulky columns, left out when the rules reading the rows never look at them; they then
// read as empty (no attributes, no input text).
const BULKY = "InputText, SpanAttributes, ResourceAttributes";

/**
 * Every output of these traces (duplicates from client retries collapsed), oldest first.
 * `lean` leaves the input text and the attribute maps out.
 */
export async function outputsOfTraces(
  store: Store,
  traceIds: string[],
  lean = false,
): Promise<AgentOutputRow[]> {
  if (traceIds.length === 0) return [];
  const of = `FROM ${store.tables.outputs} FINAL WHERE TraceId IN {traceIds:Array(String)}`;
  const query = lean
    ? `SELECT * EXCEPT (InsertedAt, ${BULKY}), '' AS InputText, map() AS SpanAttributes, map() AS ResourceAttributes ${of}`
    : withSpanAttributes(store, `SELECT * EXCEPT InsertedAt ${of}`);
  const result = await store.client.query({
    query: `${query} ORDER BY TraceId, Timestamp`,
    query_params: { traceIds },
    format: "JSONEachRow",
    clickhouse_settings: { ...UNIX_TIMESTAMPS, ...SPAN_JOIN_SETTINGS },
  });
  return result.json<AgentOutputRow>();
}

export interface OutputFilter {
  service?: string | undefined;
  agent?: string | undefined;
  operation?: string | undefined;
  /** Unix milliseconds. */
  since?: number | undefined;
  until?: number | undefined;
  limit: number;
}

/** Agent outputs, newest first. Duplicates from client retries are collapsed (FINAL). */
export async function listOutputs(store: Store, filter: OutputFilter): Promise<unknown[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit };
  if (filter.service !== undefined) {
    where.push("ServiceName = {service:String}");
    params["service"] = filter.service;
  }
  if (filter.agent !== undefined) {
    where.push("AgentName = {agent:String}");
    params["agent"] = filter.agent;
  }
  if (filter.operation !== undefined) {
    where.push("Operation = {operation:String}");
    params["operation"] = filter.operation;
  }
  if (filter.since !== undefined) {
    where.push("Timestamp >= fromUnixTimestamp64Milli({since:Int64})");
    params["since"] = filter.since;
  }
  if (filter.until !== undefined) {
    where.push("Timestamp < fromUnixTimestamp64Milli({until:Int64})");
    params["until"] = filter.until;
  }
  const newest = `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
ORDER BY Timestamp DESC LIMIT {limit:UInt32}`;
  const result = await store.client.query({
    query: `${withSpanAttributes(store, newest)} ORDER BY Timestamp DESC`,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: SPAN_JOIN_SETTINGS,
  });
  return result.json();
}

/** Every span and output of one trace, oldest first. */
export async function getTrace(
  store: Store,
  traceId: string,
): Promise<{ spans: unknown[]; outputs: unknown[] }> {
  const [spans, outputs] = await Promise.all([
    store.client
      .query({
        query: `SELECT * FROM ${store.tables.traces} WHERE TraceId = {traceId:String} ORDER BY Timestamp`,
        query_params: { traceId },
        format: "JSONEachRow",
      })
      .then((r) => r.json()),
    store.client
      .query({
        query: `${withSpanAttributes(
          store,
          `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL WHERE TraceId = {traceId:String}`,
        )} ORDER BY Timestamp`,
        query_params: { traceId },
        format: "JSONEachRow",
        clickhouse_settings: SPAN_JOIN_SETTINGS,
      })
      .then((r) => r.json()),
  ]);
  return { spans, outputs };
}

/**
 * The span attribute of an output row stored before its trace had all it needs (an ancestor
 * that names the agent, content sent as log events): "agent", "content" or both. Such a row is
 * completed and evaluated once its trace is quiet (receive/complete-pending.ts), and the
 * completed row, without the attribute, replaces it.
 */
export const PENDING_ATTRIBUTE = "plumbline.pending";

export function isPending(row: Pick<AgentOutputRow, "SpanAttributes">): boolean {
  return row.SpanAttributes[PENDING_ATTRIBUTE] !== undefined;
}

/** The latest version of the pending outputs of these traces. */
export async function pendingOutputsOf(
  store: Store,
  traceIds: readonly string[],
): Promise<AgentOutputRow[]> {
  if (traceIds.length === 0) return [];
  const result = await store.client.query({
    query: `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
WHERE TraceId IN {traceIds:Array(String)} AND mapContains(SpanAttributes, {key:String})`,
    query_params: { traceIds: [...traceIds], key: PENDING_ATTRIBUTE },
    format: "JSONEachRow",
    clickhouse_settings: UNIX_TIMESTAMPS,
  });
  return result.json<AgentOutputRow>();
}

/**
 * Deletes the pending versions of these outputs (lightweight DELETE) once their completed rows
 * are written. Needed because AgentName is in the sort key: a row that gained its agent name
 * does not replace the unnamed one at merge time. On a cluster the delete runs on every
 * node's local table.
 */
export async function deletePendingOutputs(
  store: Store,
  rows: readonly Pick<AgentOutputRow, "TraceId" | "SpanId">[],
  cluster?: string,
): Promise<void> {
  if (rows.length === 0) return;
  const table = cluster === undefined ? store.tables.outputs : localName(store.tables.outputs);
  const onCluster = cluster === undefined ? "" : ` ON CLUSTER \`${cluster}\``;
  await store.client.command({
    query: `DELETE FROM ${table}${onCluster}
WHERE TraceId IN {traceIds:Array(String)} AND concat(TraceId, '/', SpanId) IN {keys:Array(String)}
  AND mapContains(SpanAttributes, {key:String})`,
    query_params: {
      traceIds: [...new Set(rows.map((r) => r.TraceId))],
      keys: rows.map((r) => `${r.TraceId}/${r.SpanId}`),
      key: PENDING_ATTRIBUTE,
    },
  });
}
