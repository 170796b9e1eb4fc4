/**
 * Numbered, idempotent migrations. Every statement is `IF NOT EXISTS`, so running them twice,
 * or from two processes at once, is harmless; `plumbline_migrations` records what ran.
 *
 * Identifiers (database, table names) come from the config, which only accepts
 * `[A-Za-z_][A-Za-z0-9_]*`; numbers are validated integers. Nothing else is interpolated.
 */

import type { ClickHouseClient } from "@clickhouse/client";

export interface TableNames {
  database: string;
  /** Fully qualified names, ready for SQL text. */
  traces: string;
  outputs: string;
  ingestStats: string;
  checkResults: string;
  checkEvaluations: string;
  checkCounts: string;
  cursors: string;
  alerts: string;
  alertEvents: string;
  outbox: string;
  deliveries: string;
  silences: string;
  migrations: string;
}

export interface MigrationContext {
  tables: TableNames;
  retentionDays: number;
}

export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}

/** Table names for a database and span table already validated by the config schema. */
export function tableNames(database: string, tracesTable: string): TableNames {
  return {
    database,
    traces: `${database}.${tracesTable}`,
    outputs: `${database}.agent_outputs`,
    ingestStats: `${database}.ingest_stats`,
    checkResults: `${database}.check_results`,
    checkEvaluations: `${database}.check_evaluations`,
    checkCounts: `${database}.check_counts`,
    cursors: `${database}.plumbline_cursors`,
    alerts: `${database}.alerts`,
    alertEvents: `${database}.alert_events`,
    outbox: `${database}.alert_outbox`,
    deliveries: `${database}.alert_deliveries`,
    silences: `${database}.silences`,
    migrations: `${database}.plumbline_migrations`,
  };
}

// Merge settings for wide tables fed by frequent small inserts: vertical merges read one column
// at a time instead of every column of every part at once, which keeps a merge of a dozen
// small parts from allocating ~1 MiB of read buffer per column per part (measured: 170 MiB for
// one otel_traces merge with horizontal merges, under 35 MiB with vertical ones).
const MERGE_SETTINGS =
  "vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048";

function ttl(column: string, days: number): string {
  return days > 0 ? `TTL ${column} + toIntervalDay(${Math.trunc(days)})` : "";
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "otel_traces in the clickhouseexporter layout",
    // Column names, types and order as the OpenTelemetry Collector contrib clickhouseexporter
    // creates them (exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql), so a
    // table the exporter already wrote can be shared unchanged.
    statements: ({ tables, retentionDays }) => [
      `CREATE TABLE IF NOT EXISTS ${tables.traces} (
  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
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
  INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
${ttl("toDateTime(Timestamp)", retentionDays)}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, ${MERGE_SETTINGS}`,
    ],
  },
  {
    version: 2,
    name: "agent_outputs",
    // ReplacingMergeTree on a key that ends in the span's identity: a span a client re-sends
    // after a lost acknowledgement collapses into one row at merge time (FINAL for exact counts).
    statements: ({ tables, retentionDays }) => [
      `CREATE TABLE IF NOT EXISTS ${tables.outputs} (
  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  ParentSpanId String CODEC(ZSTD(1)),
  ServiceName LowCardinality(String),
  ServiceVersion LowCardinality(String),
  SpanName LowCardinality(String),
  Convention LowCardinality(String),
  Kind LowCardinality(String),
  Operation LowCardinality(String),
  AgentName LowCardinality(String),
  AgentId String CODEC(ZSTD(1)),
  ConversationId String CODEC(ZSTD(1)),
  Provider LowCardinality(String),
  RequestModel LowCardinality(String),
  ResponseModel LowCardinality(String),
  Model LowCardinality(String),
  InputText String CODEC(ZSTD(3)),
  OutputText String CODEC(ZSTD(3)),
  OutputJson String CODEC(ZSTD(3)),
  OutputIsJson Bool,
  OutputType LowCardinality(String),
  FinishReason LowCardinality(String),
  ToolName LowCardinality(String),
  ToolCallId String CODEC(ZSTD(1)),
  ToolArguments String CODEC(ZSTD(3)),
  ToolResult String CODEC(ZSTD(3)),
  InputTokens Nullable(UInt64),
  OutputTokens Nullable(UInt64),
  DurationNs UInt64 CODEC(ZSTD(1)),
  StatusCode LowCardinality(String),
  StatusMessage String CODEC(ZSTD(1)),
  ErrorType LowCardinality(String),
  SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  InsertedAt DateTime64(3) DEFAULT now64(3),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_model Model TYPE set(100) GRANULARITY 4,
  INDEX idx_tool ToolName TYPE set(100) GRANULARITY 4
) ENGINE = ReplacingMergeTree(InsertedAt)
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, AgentName, Operation, Timestamp, SpanId, TraceId)
${ttl("toDateTime(Timestamp)", retentionDays)}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, ${MERGE_SETTINGS}`,
    ],
  },
  {
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
  },
];

MIGRATIONS.push({
  version: 4,
  name: "check_results, check_counts, cursors",
  statements: ({ tables, retentionDays }) => [
    // One row per failing evaluation. Replacing on the finding's identity: evaluating the same
    // output (or trace) again leaves one row per finding.
    `CREATE TABLE IF NOT EXISTS ${tables.checkResults} (
  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
  EvaluatedAt DateTime64(3) DEFAULT now64(3),
  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  Severity LowCardinality(String),
  Scope LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Operation LowCardinality(String),
  Model LowCardinality(String),
  ToolName LowCardinality(String),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  Code LowCardinality(String),
  Field String CODEC(ZSTD(1)),
  Message String CODEC(ZSTD(1)),
  Observed String CODEC(ZSTD(1)),
  Expected String CODEC(ZSTD(1)),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(EvaluatedAt)
PARTITION BY toDate(Timestamp)
ORDER BY (RuleId, ServiceName, Timestamp, TraceId, SpanId, Code, Field)
${ttl("toDateTime(Timestamp)", retentionDays)}
SETTINGS ttl_only_drop_parts = 1`,
    // Evaluations pass through a Null table into per-minute unique counts: the denominators
    // of failure rates. uniqExact over the output's key makes re-evaluation count once.
    `CREATE TABLE IF NOT EXISTS ${tables.checkEvaluations} (
  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  OutputKey String,
  Failed UInt8
) ENGINE = Null`,
    `CREATE TABLE IF NOT EXISTS ${tables.checkCounts} (
  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Evaluated AggregateFunction(uniqExact, String),
  Failed AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (RuleId, ServiceName, AgentName, Minute)
${ttl("Minute", retentionDays)}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${tables.checkCounts}_mv TO ${tables.checkCounts} AS
SELECT Minute, RuleId, ServiceName, AgentName,
  uniqExactState(OutputKey) AS Evaluated,
  uniqExactStateIf(OutputKey, Failed = 1) AS Failed
FROM ${tables.checkEvaluations}
GROUP BY Minute, RuleId, ServiceName, AgentName`,
    // Durable positions of background jobs (the quiet-trace evaluator, …).
    `CREATE TABLE IF NOT EXISTS ${tables.cursors} (
  Name String,
  Value Int64,
  UpdatedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Name`,
    // The quiet-trace evaluator scans recent inserts; parts arrive in insert order, so a
    // minmax index on InsertedAt skips everything older.
    `ALTER TABLE ${tables.outputs} ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1`,
  ],
});

MIGRATIONS.push({
  version: 5,
  name: "alerts, alert_events, alert_outbox, alert_deliveries, silences",
  statements: ({ tables, retentionDays }) => [
    // The current state of every alert, one version per change; the newest wins.
    `CREATE TABLE IF NOT EXISTS ${tables.alerts} (
  Fingerprint String,
  RuleId LowCardinality(String),
  State LowCardinality(String),
  Record String CODEC(ZSTD(3)),
  UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Fingerprint`,
    // Every state change, append-only: the history the API shows.
    `CREATE TABLE IF NOT EXISTS ${tables.alertEvents} (
  Time DateTime64(3),
  Fingerprint String,
  RuleId LowCardinality(String),
  FromState LowCardinality(String),
  ToState LowCardinality(String),
  Notification LowCardinality(String),
  Failed UInt64,
  Evaluated UInt64
) ENGINE = MergeTree ORDER BY (Fingerprint, Time)
${ttl("toDateTime(Time)", retentionDays)}`,
    // The durable outbox: a notification is written here before any attempt; each change of
    // its status is a new version. Pending rows are what a restart resumes.
    `CREATE TABLE IF NOT EXISTS ${tables.outbox} (
  Id String,
  Channel LowCardinality(String),
  Fingerprint String,
  Kind LowCardinality(String),
  CreatedAt DateTime64(3),
  Notification String CODEC(ZSTD(3)),
  Status LowCardinality(String),
  Attempts UInt32,
  NextAttemptAt DateTime64(3),
  LastError String,
  UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Id
${ttl("toDateTime(CreatedAt)", retentionDays)}`,
    `CREATE TABLE IF NOT EXISTS ${tables.deliveries} (
  Time DateTime64(3),
  NotificationId String,
  Channel LowCardinality(String),
  Fingerprint String,
  Attempt UInt32,
  Outcome LowCardinality(String),
  StatusCode UInt16,
  Error String,
  LatencyMs UInt32
) ENGINE = MergeTree ORDER BY (Channel, Time)
${ttl("toDateTime(Time)", retentionDays)}`,
    `CREATE TABLE IF NOT EXISTS ${tables.silences} (
  Id String,
  Silence String,
  Deleted UInt8,
  UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Id`,
  ],
});

/** Creates the database and applies every migration not yet recorded. Returns what ran. */
export async function runMigrations(
  client: ClickHouseClient,
  ctx: MigrationContext,
  migrations: Migration[] = MIGRATIONS,
): Promise<number[]> {
  const { tables } = ctx;
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${tables.database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${tables.migrations} (
  Version UInt32, Name String, AppliedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree ORDER BY Version`,
  });
  const result = await client.query({
    query: `SELECT DISTINCT Version FROM ${tables.migrations}`,
    format: "JSONEachRow",
  });
  const applied = new Set((await result.json<{ Version: number }>()).map((r) => r.Version));
  const ran: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(ctx)) await client.command({ query: statement });
    await client.insert({
      table: tables.migrations,
      values: [{ Version: migration.version, Name: migration.name }],
      format: "JSONEachRow",
    });
    ran.push(migration.version);
  }
  return ran;
}
