import type { Migration } from "./types.ts";
import { createTable, ttl } from "./ddl.ts";

export const migration3: Migration = {
  version: 3,
  name: "ingest_stats",
  // Per minute, service and span name: what was received, rejected, understood. Summed by
  // ClickHouse at merge time; queries still sum() because merges are eventual. On a cluster,
  // one series stays on one shard so that merges keep summing it.
  statements: (ctx) =>
    createTable(ctx, {
      name: ctx.tables.ingestStats,
      columns: `  Minute DateTime,
  ServiceName LowCardinality(String),
  SpanName LowCardinality(String),
  Received UInt64,
  Rejected UInt64,
  Outputs UInt64,
  Unrecognised UInt64`,
      engine: { kind: "SummingMergeTree" },
      partitionBy: "toYYYYMM(Minute)",
      orderBy: "(ServiceName, SpanName, Minute)",
      ttl: ttl("Minute", ctx.retentionDays),
      placement: { shardBy: "cityHash64(ServiceName, SpanName)" },
    }),
};
