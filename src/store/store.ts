/**
 * The store: owns the ClickHouse client, runs migrations at start, writes batches, answers
 * health probes. Per-table reads and writes are in src/store/tables/, one file per table.
 */

import { drainPending } from "chdb";
import type { ClickHouseClient } from "@clickhouse/client";
import type { TableNames } from "./migrations.ts";
import type { IngestStatRow } from "./tables/ingest-stats.ts";
import { METRIC_TABLES } from "./tables/otel-metrics.ts";
import type { WriteBatch } from "./write-batch.ts";

export type PingResult = { ok: true } | { ok: false; reason: string };

export interface Store {
  readonly client: ClickHouseClient;
  readonly tables: TableNames;
  /** Inserts every row of the batch; throws the client's error on failure. */
  write(batch: WriteBatch): Promise<void>;
  writeStats(rows: IngestStatRow[]): Promise<void>;
  /** Inserts one small row (a cursor of its own): proof that inserts work again. */
  probeWrite(): Promise<void>;
  ping(): Promise<PingResult>;
  close(): Promise<void>;
}

/** Wraps a client in a Store. The schema is ensure-schema.ts's job. */
export function createStore(client: ClickHouseClient, tables: TableNames): Store {
  return {
    client,
    tables,
    async write(batch) {
      // Every insert at once: each pays a fixed cost per new part, and they overlap.
      const inserts: [string, readonly object[]][] = [
        [tables.traces, batch.traces],
        [tables.outputs, batch.outputs],
        [tables.logs, batch.logs ?? []],
        ...METRIC_TABLES.map((t): [string, readonly object[]] => [
          tables[t],
          batch.metrics?.[t] ?? [],
        ]),
      ];
      await Promise.all(
        inserts.map(
          ([table, values]) =>
            values.length > 0 && client.insert({ table, values, format: "JSONEachRow" }),
        ),
      );
    },
    async writeStats(rows) {
      await client.insert({ table: tables.ingestStats, values: rows, format: "JSONEachRow" });
    },
    async probeWrite() {
      // A cursor nobody reads, "when a write last worked". Not ingest_stats: an all-zero row
      // there is summed away before any part is written, so it succeeds on a full disk.
      await client.insert({
        table: tables.cursors,
        values: [{ Name: "store.write-probe", Value: Date.now() }],
        format: "JSONEachRow",
      });
    },
    async ping() {
      try {
        const result = await client.ping();
        if (result.success) return { ok: true };
        return { ok: false, reason: describe(result.error) };
      } catch (error) {
        return { ok: false, reason: describe(error) };
      }
    },
    close: async () => {
      await client.close();
      // Embedded: a query whose caller gave up (a timeout) still runs on a libuv thread, and
      // closing releases the connection only once it is done. Exiting before that tears the
      // engine down under the running query. (No-op in server mode.)
      await drainPending();
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code ? `${error.message} (${String(code)})` : error.message;
  }
  return String(error);
}
