/** ingest_stats (migration 3): per-minute counts of what ingest saw, and their reads. */

import type { Store } from "../store.ts";

/** Per minute, service and span name: what ingest saw. Summed by ClickHouse. */
export interface IngestStatRow {
  /** Unix seconds at the start of the minute. */
  Minute: number;
  ServiceName: string;
  SpanName: string;
  Received: number;
  Rejected: number;
  Outputs: number;
  Unrecognised: number;
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
