import type { Migration } from "./types.ts";
import { ttl } from "./ddl.ts";

export const migration3: Migration = {
  version: 3,
  name: "ingest_stats",
  // Per minute, service and span name: what was received, rejected, understood. Summed by
  // ClickHouse at merge time; queries still sum() because merges are eventual.
  statements: ({ tables, retentionDays }) => [
    `CREATE TABLE IF NOT EXISTS ${tables.ingestStats} (
  Minute DateTime,
  ServiceName LowCardinality(String),
  SpanName LowCardinality(String),
  Received UInt64,
  Rejected UInt64,
  Outputs UInt64,
  Unrecognised UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, SpanName, Minute)
${ttl("Minute", retentionDays)}`,
  ],
};
