import type { Migration } from "./types.ts";
import { MERGE_SETTINGS, createTable, ttl } from "./ddl.ts";

/** The exporter's materialized hot keys: resource attributes read without the Map subscript. */
const MATERIALIZED_RESOURCE_KEYS = [
  "k8s.cluster.name",
  "k8s.container.name",
  "k8s.deployment.name",
  "k8s.namespace.name",
  "k8s.node.name",
  "k8s.pod.name",
  "k8s.pod.uid",
  "deployment.environment.name",
];

export const migration8: Migration = {
  version: 8,
  name: "otel_logs in the clickhouseexporter layout",
  // Column names, types, codecs, indexes, partition, order key and TTL as the OpenTelemetry
  // Collector contrib clickhouseexporter creates them (exporter/clickhouseexporter/internal/
  // sqltemplates/logs_table.sql of v0.161.0 and later: no TimestampTime, a five-minute bucket
  // first in the order key, eight materialized resource keys), so a table the exporter already
  // wrote can be shared unchanged; test/exporter-layouts.test.ts compares the two tables column
  // by column. The index branch is the exporter's for ClickHouse before 26.2 (bloom_filter,
  // tokenbf_v1), which every version takes; from 26.2 the exporter creates text(...) indexes
  // instead, which change cost and speed, not results. The exporter's column COMMENTs are left
  // out. On a cluster, rows are spread at random: many records have no trace to keep them with.
  statements: (ctx) =>
    createTable(ctx, {
      name: ctx.tables.logs,
      columns: `  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  TraceFlags UInt8,
  SeverityText LowCardinality(String) CODEC(ZSTD(1)),
  SeverityNumber UInt8,
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  Body String CODEC(ZSTD(1)),
  ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
  ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  EventName String CODEC(ZSTD(1)),
${MATERIALIZED_RESOURCE_KEYS.map(
  (key) =>
    `  \`__otel_materialized_${key}\` LowCardinality(String) MATERIALIZED ResourceAttributes['${key}'] CODEC(ZSTD(1)),`,
).join("\n")}
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8`,
      engine: { kind: "MergeTree" },
      partitionBy: "toDate(Timestamp)",
      orderBy: "(toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)",
      ttl: ttl("toDateTime(Timestamp)", ctx.retentionDays),
      settings: `index_granularity = 8192, ttl_only_drop_parts = 1, ${MERGE_SETTINGS}`,
      placement: { shardBy: "rand()" },
    }),
};
