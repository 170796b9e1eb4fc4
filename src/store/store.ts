/**
 * The store: owns the ClickHouse client, runs migrations at start, writes batches, answers
 * health probes. Per-table reads and writes are in src/store/tables/, one file per table.
 */

import { drainPending } from "chdb";
import type { ClickHouseClient } from "@clickhouse/client";
import { insertJsonEachRow, insertRows } from "./insert-json-rows.ts";
import {
  concatRows,
  encodeJsonRows,
  NO_ROWS,
  recycleRows,
  type EncodedRows,
} from "./json-each-row.ts";
import type { TableNames } from "./migrations.ts";
import { storedOutputRow } from "./tables/agent-outputs.ts";
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
      // Every insert at once: each pays a fixed cost per new part, and they overlap. Rows that
      // come as objects are encoded here; encoded ones (ingest's) are the committer's to reuse.
      const inserts: [string, readonly object[], EncodedRows?][] = [
        [tables.traces, batch.traces, batch.encoded?.traces ?? NO_ROWS],
        [tables.outputs, batch.outputs.map(storedOutputRow), batch.encoded?.outputs ?? NO_ROWS],
        [tables.logs, batch.logs ?? []],
        ...METRIC_TABLES.map((t): [string, readonly object[]] => [
          tables[t],
          batch.metrics?.[t] ?? [],
        ]),
      ];
      await Promise.all(
        inserts.map(([table, objects, encoded]) => insertTable(client, table, objects, encoded)),
      );
    },
    async writeStats(rows) {
      await insertRows(client, tables.ingestStats, rows);
    },
    async probeWrite() {
      // A cursor nobody reads, "when a write last worked". Not ingest_stats: an all-zero row
      // there is summed away before any part is written, so it succeeds on a full disk. The
      // same insert path as the rows it stands for.
      await insertRows(client, tables.cursors, [{ Name: "store.write-probe", Value: Date.now() }]);
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

/** A table's rows of a batch in one insert: the row objects, encoded now, then `encoded`. */
async function insertTable(
  client: ClickHouseClient,
  table: string,
  objects: readonly object[],
  encoded: EncodedRows = NO_ROWS,
): Promise<void> {
  if (objects.length === 0) return insertJsonEachRow(client, table, encoded);
  const fromObjects = encodeJsonRows(objects);
  try {
    await insertJsonEachRow(client, table, concatRows([fromObjects, encoded]));
  } finally {
    recycleRows(fromObjects);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code ? `${error.message} (${String(code)})` : error.message;
  }
  return String(error);
}
