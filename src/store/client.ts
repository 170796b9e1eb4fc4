/**
 * The ClickHouse client, embedded or remote: the same `@clickhouse/client` API either over
 * chDB's in-process connection (the default, data in `dataDir`) or over HTTP to a server.
 */

import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection, type ChdbConnection } from "chdb/connection";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

export interface ClientOptions {
  dataDir: string;
  url?: string | undefined;
  user: string;
  password: string;
  /** A ClickHouse cluster: inserts into Distributed tables are then synchronous. */
  cluster?: string | undefined;
}

type ChdbClientConnection = NonNullable<
  NonNullable<Parameters<typeof createClient>[0]>["connection"]
>;

// Settings every query runs with, in both modes. Embedded, chDB applies a query's settings as
// session SETs that outlive the query: a setting any query overrides (UNIX_TIMESTAMPS of
// read-settings.ts reads DateTimes as unix timestamps) must be listed here with its default, so
// that every other query sets it back (client.test.ts).
const SETTINGS = {
  date_time_output_format: "simple",
  // 64-bit integers as JSON strings: nanosecond counts exceed 2^53.
  output_format_json_quote_64bit_integers: 1,
  // A JSON string read as Dynamic stays a string (sql-fields.ts): with these on, ClickHouse
  // would read "2026-01-01" as a Date and "10:00:00" as today at ten.
  input_format_try_infer_dates: 0,
  input_format_try_infer_datetimes: 0,
  input_format_json_try_infer_numbers_from_strings: 0,
} as const;

// The chDB connection under each embedded client: inserts hand it their bytes directly
// (insert-json-rows.ts), which the client's insert API cannot.
const embeddedConnections = new WeakMap<ClickHouseClient, ChdbConnection>();

/** The chDB connection of an embedded client; undefined for a server. */
export function embeddedConnectionOf(client: ClickHouseClient): ChdbConnection | undefined {
  return embeddedConnections.get(client);
}

/** Creates the client for the configured mode. chDB allows one data directory per process. */
export function createClickHouseClient(options: ClientOptions): ClickHouseClient {
  if (options.url !== undefined) {
    return createClient({
      url: options.url,
      username: options.user,
      password: options.password,
      // On a cluster an insert is acknowledged only once every shard has its rows, so that
      // "acknowledged" still means "stored" and insert times move forward (docs/scaling.md).
      clickhouse_settings:
        options.cluster === undefined
          ? SETTINGS
          : { ...SETTINGS, distributed_foreground_insert: 1 },
      request_timeout: 30_000,
      // Failures reach our own log through the errors they raise; the client's own warnings
      // would repeat each one with a stack trace.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }
  const path = resolve(options.dataDir);
  mkdirSync(path, { recursive: true });
  // chdb types its connection against @clickhouse/client-common, which the client now bundles
  // under its own declarations; the shapes are the same, the nominal types are not.
  const connection = createChdbConnection({ path });
  const client = createClient({
    connection: connection as unknown as ChdbClientConnection,
    clickhouse_settings: SETTINGS,
  });
  embeddedConnections.set(client, connection);
  return client;
}
