import type { Migration } from "./types.ts";
import { ttl } from "./ddl.ts";

export const migration4: Migration = {
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
};
