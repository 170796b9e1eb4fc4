import type { Migration } from "./types.ts";
import { addIndex, createMaterializedView, createTable, ttl } from "./ddl.ts";

export const migration4: Migration = {
  version: 4,
  name: "check_results, check_counts, cursors",
  statements: (ctx) => {
    const { tables, retentionDays } = ctx;
    return [
      // One row per failing evaluation. Replacing on the finding's identity: evaluating the
      // same output (or trace) again leaves one row per finding. On a cluster, sharded by trace
      // like the outputs it judges, so a finding and its repeats meet on one shard.
      ...createTable(ctx, {
        name: tables.checkResults,
        columns: `  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
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
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1`,
        engine: { kind: "ReplacingMergeTree", args: ["EvaluatedAt"] },
        partitionBy: "toDate(Timestamp)",
        orderBy: "(RuleId, ServiceName, Timestamp, TraceId, SpanId, Code, Field)",
        ttl: ttl("toDateTime(Timestamp)", retentionDays),
        settings: "ttl_only_drop_parts = 1",
        placement: { shardBy: "cityHash64(TraceId)" },
      }),
      // Evaluations pass through a Null table into per-minute unique counts: the denominators
      // of failure rates. uniqExact over the output's key makes re-evaluation count once. On a
      // cluster, evaluations of a rule go to one shard, whose view counts them there; reads
      // merge the states of every shard (uniqExactMerge is exact across shards too).
      ...createTable(ctx, {
        name: tables.checkEvaluations,
        columns: `  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  OutputKey String,
  Failed UInt8`,
        engine: { kind: "Null" },
        placement: { shardBy: "cityHash64(RuleId)" },
      }),
      ...createTable(ctx, {
        name: tables.checkCounts,
        columns: `  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Evaluated AggregateFunction(uniqExact, String),
  Failed AggregateFunction(uniqExact, String)`,
        engine: { kind: "AggregatingMergeTree" },
        partitionBy: "toYYYYMM(Minute)",
        orderBy: "(RuleId, ServiceName, AgentName, Minute)",
        ttl: ttl("Minute", retentionDays),
        placement: { shardBy: "cityHash64(RuleId)" },
      }),
      createMaterializedView(ctx, {
        name: `${tables.checkCounts}_mv`,
        to: tables.checkCounts,
        from: tables.checkEvaluations,
        select: (from) => `SELECT Minute, RuleId, ServiceName, AgentName,
  uniqExactState(OutputKey) AS Evaluated,
  uniqExactStateIf(OutputKey, Failed = 1) AS Failed
FROM ${from}
GROUP BY Minute, RuleId, ServiceName, AgentName`,
      }),
      // Durable positions of background jobs (the quiet-trace evaluator, …).
      ...createTable(ctx, {
        name: tables.cursors,
        columns: `  Name String,
  Value Int64,
  UpdatedAt DateTime64(3) DEFAULT now64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["UpdatedAt"] },
        orderBy: "Name",
        placement: "every node",
      }),
      // The quiet-trace evaluator scans recent inserts; parts arrive in insert order, so a
      // minmax index on InsertedAt skips everything older.
      addIndex(ctx, tables.outputs, "idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1"),
    ];
  },
};
