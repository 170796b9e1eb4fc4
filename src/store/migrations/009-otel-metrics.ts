import type { MetricTable } from "../tables/otel-metrics.ts";
import type { Migration } from "./types.ts";
import { MERGE_SETTINGS, createTable, ttl } from "./ddl.ts";

// Column names, types, codecs, indexes, partition, order key and TTL as the OpenTelemetry
// Collector contrib clickhouseexporter creates them (exporter/clickhouseexporter/internal/
// sqltemplates/metrics_{gauge,sum,histogram,exp_histogram,summary}_table.sql of v0.160.0 and
// later: DateTime times, LowCardinality MetricName, the hour bucket and the attribute hash in
// the order key, a minmax index on TimeUnix), so tables the exporter already wrote can be shared
// unchanged; test/exporter-layouts.test.ts compares them column by column.

/** The columns every metrics table starts with. */
const COMMON = `  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ResourceSchemaUrl String CODEC(ZSTD(1)),
  ScopeName String CODEC(ZSTD(1)),
  ScopeVersion String CODEC(ZSTD(1)),
  ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
  ScopeSchemaUrl String CODEC(ZSTD(1)),
  ServiceName LowCardinality(String) CODEC(ZSTD(1)),
  MetricName LowCardinality(String) CODEC(ZSTD(1)),
  MetricDescription String CODEC(ZSTD(1)),
  MetricUnit String CODEC(ZSTD(1)),
  Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  StartTimeUnix DateTime CODEC(Delta, ZSTD(1)),
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),`;

const EXEMPLARS = `  Exemplars Nested (
    FilteredAttributes Map(LowCardinality(String), String),
    TimeUnix DateTime,
    Value Float64,
    SpanId String,
    TraceId String
  ) CODEC(ZSTD(1)),`;

const INDEXES = `  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1`;

/** Each table's own columns, between the common ones and the indexes, in the exporter's order. */
const TABLES: [MetricTable, string][] = [
  [
    "metricsGauge",
    `  Value Float64 CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
${EXEMPLARS}`,
  ],
  [
    "metricsSum",
    `  Value Float64 CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
${EXEMPLARS}
  AggregationTemporality Int32 CODEC(ZSTD(1)),
  IsMonotonic Boolean CODEC(Delta, ZSTD(1)),`,
  ],
  [
    "metricsHistogram",
    `  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  BucketCounts Array(UInt64) CODEC(ZSTD(1)),
  ExplicitBounds Array(Float64) CODEC(ZSTD(1)),
${EXEMPLARS}
  Flags UInt32 CODEC(ZSTD(1)),
  Min Float64 CODEC(ZSTD(1)),
  Max Float64 CODEC(ZSTD(1)),
  AggregationTemporality Int32 CODEC(ZSTD(1)),`,
  ],
  [
    "metricsExponentialHistogram",
    `  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  Scale Int32 CODEC(ZSTD(1)),
  ZeroCount UInt64 CODEC(ZSTD(1)),
  PositiveOffset Int32 CODEC(ZSTD(1)),
  PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
  NegativeOffset Int32 CODEC(ZSTD(1)),
  NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),
${EXEMPLARS}
  Flags UInt32 CODEC(ZSTD(1)),
  Min Float64 CODEC(ZSTD(1)),
  Max Float64 CODEC(ZSTD(1)),
  AggregationTemporality Int32 CODEC(ZSTD(1)),`,
  ],
  [
    "metricsSummary",
    `  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  ValueAtQuantiles Nested (
    Quantile Float64,
    Value Float64
  ) CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),`,
  ],
];

export const migration9: Migration = {
  version: 9,
  name: "otel_metrics_* in the clickhouseexporter layout",
  // On a cluster a series (service, metric, attributes) stays on one shard.
  statements: (ctx) =>
    TABLES.flatMap(([table, columns]) =>
      createTable(ctx, {
        name: ctx.tables[table],
        columns: `${COMMON}\n${columns}\n${INDEXES}`,
        engine: { kind: "MergeTree" },
        partitionBy: "toDate(TimeUnix)",
        orderBy:
          "(ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)",
        ttl: ttl("toDateTime(TimeUnix)", ctx.retentionDays),
        settings: `index_granularity = 8192, ttl_only_drop_parts = 1, ${MERGE_SETTINGS}`,
        placement: { shardBy: "cityHash64(ServiceName, MetricName, Attributes)" },
      }),
    ),
};
