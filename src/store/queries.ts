/**
 * Read queries for the API. Every value is bound as a parameter ({name:Type}); only table
 * names, which come from the validated config, are part of the SQL text.
 */

import type { Store } from "./store.ts";

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
  const result = await store.client.query({
    query: `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
ORDER BY Timestamp DESC LIMIT {limit:UInt32}`,
    query_params: params,
    format: "JSONEachRow",
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
        query: `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL WHERE TraceId = {traceId:String} ORDER BY Timestamp`,
        query_params: { traceId },
        format: "JSONEachRow",
      })
      .then((r) => r.json()),
  ]);
  return { spans, outputs };
}

export interface UnrecognisedByService {
  service: string;
  received: number;
  unrecognised: number;
  rejected: number;
  /** The span names not understood, most frequent first (at most 20). */
  spanNames: { name: string; count: number }[];
}

/** Per service: spans received, spans that matched no convention, spans rejected. */
export async function unrecognisedStats(
  store: Store,
  sinceMs: number,
): Promise<UnrecognisedByService[]> {
  const result = await store.client.query({
    query: `SELECT ServiceName, SpanName,
  sum(Received) AS received, sum(Unrecognised) AS unrecognised, sum(Rejected) AS rejected
FROM ${store.tables.ingestStats}
WHERE Minute >= toDateTime(intDiv({since:Int64}, 1000))
GROUP BY ServiceName, SpanName`,
    query_params: { since: sinceMs },
    format: "JSONEachRow",
  });
  type Row = {
    ServiceName: string;
    SpanName: string;
    received: string;
    unrecognised: string;
    rejected: string;
  };
  const byService = new Map<string, UnrecognisedByService>();
  for (const row of await result.json<Row>()) {
    let entry = byService.get(row.ServiceName);
    if (entry === undefined) {
      entry = {
        service: row.ServiceName,
        received: 0,
        unrecognised: 0,
        rejected: 0,
        spanNames: [],
      };
      byService.set(row.ServiceName, entry);
    }
    entry.received += Number(row.received);
    entry.rejected += Number(row.rejected);
    const unrecognised = Number(row.unrecognised);
    entry.unrecognised += unrecognised;
    if (unrecognised > 0) entry.spanNames.push({ name: row.SpanName, count: unrecognised });
  }
  const list = [...byService.values()];
  for (const entry of list) {
    entry.spanNames.sort((a, b) => b.count - a.count);
    entry.spanNames = entry.spanNames.slice(0, 20);
  }
  return list.sort((a, b) => b.unrecognised - a.unrecognised);
}
