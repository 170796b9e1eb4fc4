import type { Migration } from "./types.ts";
import { MERGE_SETTINGS, createTable, ttl } from "./ddl.ts";

export const migration1: Migration = {
  version: 1,
  name: "otel_traces in the clickhouseexporter layout",
  // Column names, types and order as the OpenTelemetry Collector contrib clickhouseexporter
  // creates them (exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql), so a
  // table the exporter already wrote can be shared unchanged. On a cluster, a trace's spans
  // stay on one shard.
  statements: (ctx) =>
    createTable(ctx, {
      name: ctx.tables.traces,
      columns: `  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  ParentSpanId String CODEC(ZSTD(1)),
  TraceState String CODEC(ZSTD(1)),
  SpanName LowCardinality(String) CODEC(ZSTD(1)),
  SpanKind LowCardinality(String) CODEC(ZSTD(1)),
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion String CODEC(ZSTD(1)),
  SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  Duration UInt64 CODEC(ZSTD(1)),
  StatusCode LowCardinality(String) CODEC(ZSTD(1)),
  StatusMessage String CODEC(ZSTD(1)),
  Events Nested (
    Timestamp DateTime64(9),
    Name LowCardinality(String),
    Attributes Map(LowCardinality(String), String)
  ) CODEC(ZSTD(1)),
  Links Nested (
    TraceId String,
    SpanId String,
    TraceState String,
    Attributes Map(LowCardinality(String), String)
  ) CODEC(ZSTD(1)),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration Duration TYPE minmax GRANULARITY 1`,
      engine: { kind: "MergeTree" },
      partitionBy: "toDate(Timestamp)",
      orderBy: "(ServiceName, SpanName, toDateTime(Timestamp))",
      ttl: ttl("toDateTime(Timestamp)", ctx.retentionDays),
      settings: `index_granularity = 8192, ttl_only_drop_parts = 1, ${MERGE_SETTINGS}`,
      placement: { shardBy: "cityHash64(TraceId)" },
    }),
};
