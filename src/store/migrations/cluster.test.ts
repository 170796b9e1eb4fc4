/**
 * The DDL the migrations generate, in both modes. There is no ClickHouse cluster in the test
 * environment (and chDB cannot run ON CLUSTER), so cluster mode is checked as text; single
 * mode also runs for real in every store test.
 */

import type { ClickHouseClient } from "@clickhouse/client";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, bootstrapStatements, runMigrations, tableNames } from "../migrations.ts";
import type { MigrationContext } from "./types.ts";

const tables = tableNames("plumbline", "otel_traces");
const single: MigrationContext = { tables, retentionDays: 30 };
// A name with "-", which only a quoted identifier allows.
const cluster: MigrationContext = { tables, retentionDays: 30, cluster: "prod-cluster" };
const ON_CLUSTER = " ON CLUSTER `prod-cluster`";

const SHARD = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'";
const EVERY_NODE = "'/clickhouse/tables/all/{database}/{table}', '{replica}'";

// table, local engine, sharding key of its Distributed table
const SHARDED: [string, string, string][] = [
  ["otel_traces", `ReplicatedMergeTree(${SHARD})`, "cityHash64(TraceId)"],
  ["agent_outputs", `ReplicatedReplacingMergeTree(${SHARD}, InsertedAt)`, "cityHash64(TraceId)"],
  ["ingest_stats", `ReplicatedSummingMergeTree(${SHARD})`, "cityHash64(ServiceName, SpanName)"],
  ["check_results", `ReplicatedReplacingMergeTree(${SHARD}, EvaluatedAt)`, "cityHash64(TraceId)"],
  ["check_evaluations", "Null", "cityHash64(RuleId)"],
  ["check_counts", `ReplicatedAggregatingMergeTree(${SHARD})`, "cityHash64(RuleId)"],
  ["alert_events", `ReplicatedMergeTree(${SHARD})`, "cityHash64(Fingerprint)"],
  ["alert_deliveries", `ReplicatedMergeTree(${SHARD})`, "cityHash64(Fingerprint)"],
  ["drift_results", `ReplicatedReplacingMergeTree(${SHARD}, EvaluatedAt)`, "cityHash64(RuleId)"],
  // The judge (migration 10): an item's states meet on its output's shard, a verdict on its
  // input's, the scores beside the outputs they are about.
  ["judge_queue", `ReplicatedReplacingMergeTree(${SHARD}, Seq)`, "cityHash64(TraceId, SpanId)"],
  ["judge_cache", `ReplicatedReplacingMergeTree(${SHARD}, JudgedAt)`, "cityHash64(InputHash)"],
  [
    "evaluation_scores",
    `ReplicatedReplacingMergeTree(${SHARD}, InsertedAt)`,
    "cityHash64(TraceId)",
  ],
  // Outputs per minute (migration 11): the view writes each node's counts locally.
  ["output_counts", `ReplicatedAggregatingMergeTree(${SHARD})`, "rand()"],
  // Log records need not have a trace to keep them with; a metric series stays on one shard.
  ["otel_logs", `ReplicatedMergeTree(${SHARD})`, "rand()"],
  ...[
    "otel_metrics_gauge",
    "otel_metrics_sum",
    "otel_metrics_histogram",
    "otel_metrics_exponential_histogram",
    "otel_metrics_summary",
  ].map((t): [string, string, string] => [
    t,
    `ReplicatedMergeTree(${SHARD})`,
    "cityHash64(ServiceName, MetricName, Attributes)",
  ]),
];

// table, engine of its one replicated table (a full copy on every node)
const REPLICATED_EVERYWHERE: [string, string][] = [
  ["plumbline_migrations", `ReplicatedReplacingMergeTree(${EVERY_NODE})`],
  ["plumbline_cursors", `ReplicatedReplacingMergeTree(${EVERY_NODE}, UpdatedAt)`],
  ["alerts", `ReplicatedReplacingMergeTree(${EVERY_NODE}, UpdatedAt)`],
  ["alert_outbox", `ReplicatedReplacingMergeTree(${EVERY_NODE}, UpdatedAt)`],
  ["silences", `ReplicatedReplacingMergeTree(${EVERY_NODE}, UpdatedAt)`],
];

function allStatements(ctx: MigrationContext): string[] {
  return [...bootstrapStatements(ctx), ...MIGRATIONS.flatMap((m) => m.statements(ctx))];
}

/** CREATE TABLE statements by the table they create. */
function createdTables(statements: string[]): Map<string, string> {
  const created = new Map<string, string>();
  for (const statement of statements) {
    const name = /^CREATE TABLE IF NOT EXISTS ([\w.]+)/.exec(statement)?.[1];
    if (name !== undefined) created.set(name, statement);
  }
  return created;
}

function engineOf(statement: string | undefined): string | undefined {
  return /^\) ENGINE = (.*?)(?: ORDER BY .*)?$/m.exec(statement ?? "")?.[1];
}

describe("migrations on a single server", () => {
  it("render the statements existing deployments ran, byte for byte", () => {
    expect(allStatements(single).join("\n;\n")).toBe(SINGLE_SERVER_DDL);
  });

  it("leave the TTL line empty when retention is 0", () => {
    const kept = allStatements({ tables, retentionDays: 0 });
    const expected = allStatements(single).map((s) => s.replace(/^TTL .*$/m, ""));
    expect(kept).toEqual(expected);
  });

  it("hold no cluster DDL", () => {
    for (const statement of allStatements(single))
      expect(statement).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local/);
  });
});

describe("migrations on a cluster", () => {
  const statements = allStatements(cluster);
  const created = createdTables(statements);

  it("run every statement ON CLUSTER, right after the name, but the one backfill", () => {
    const [backfill, ...others] = statements.filter((s) => s.startsWith("INSERT"));
    expect(others).toEqual([]);
    // An INSERT goes through the Distributed tables, from the node that migrates.
    expect(backfill).toMatch(
      /^INSERT INTO plumbline\.output_counts \(Minute, ServiceName, AgentName, Outputs\)\nSELECT [^]*\nFROM plumbline\.agent_outputs\n/,
    );
    for (const statement of statements.filter((s) => !s.startsWith("INSERT"))) {
      expect(statement).toMatch(
        /^(CREATE DATABASE IF NOT EXISTS \w+|CREATE TABLE IF NOT EXISTS [\w.]+|CREATE MATERIALIZED VIEW IF NOT EXISTS [\w.]+|ALTER TABLE [\w.]+) ON CLUSTER `prod-cluster`( |\n|$)/,
      );
      expect(statement.split(" ON CLUSTER ")).toHaveLength(2);
    }
    expect(statements[0]).toBe("CREATE DATABASE IF NOT EXISTS plumbline ON CLUSTER `prod-cluster`");
  });

  it("create exactly the local, Distributed and replicated tables", () => {
    expect([...created.keys()].sort()).toEqual(
      [
        ...SHARDED.flatMap(([t]) => [`plumbline.${t}`, `plumbline.${t}_local`]),
        ...REPLICATED_EVERYWHERE.map(([t]) => `plumbline.${t}`),
      ].sort(),
    );
  });

  it.each(SHARDED)("%s: a local table with %s, Distributed by %s", (table, engine, key) => {
    expect(engineOf(created.get(`plumbline.${table}_local`))).toBe(engine);
    expect(created.get(`plumbline.${table}`)).toBe(
      `CREATE TABLE IF NOT EXISTS plumbline.${table}${ON_CLUSTER} AS plumbline.${table}_local
ENGINE = Distributed('prod-cluster', 'plumbline', '${table}_local', ${key})`,
    );
  });

  it.each(REPLICATED_EVERYWHERE)("%s: one table on every node with %s", (table, engine) => {
    expect(engineOf(created.get(`plumbline.${table}`))).toBe(engine);
    expect(created.has(`plumbline.${table}_local`)).toBe(false);
  });

  it("keep columns, codecs, indexes, PARTITION BY, ORDER BY, TTL and SETTINGS as they were", () => {
    // Each table of the single-server schema, with only its name, ON CLUSTER and engine changed.
    for (const [name, statement] of createdTables(allStatements(single))) {
      const clustered = created.get(`${name}_local`) ?? created.get(name) ?? "";
      const unclustered = clustered
        .replace(ON_CLUSTER, "")
        .replace(`${name}_local (`, `${name} (`)
        .replace(
          /ENGINE = Replicated(\w+)\('[^']*', '\{replica\}'(?:, ([^)]*))?\)/,
          (_, kind: string, args?: string) => `ENGINE = ${kind}${args ? `(${args})` : ""}`,
        );
      expect(unclustered).toBe(statement);
    }
  });

  it("count check evaluations and outputs with views between the local tables of every node", () => {
    const [view, outputsView] = statements.filter((s) => s.startsWith("CREATE MATERIALIZED VIEW"));
    expect(view).toMatch(
      /^CREATE MATERIALIZED VIEW IF NOT EXISTS plumbline\.check_counts_mv ON CLUSTER `prod-cluster` TO plumbline\.check_counts_local AS\n/,
    );
    expect(view).toContain("\nFROM plumbline.check_evaluations_local\n");
    expect(view).toContain("uniqExactState(OutputKey) AS Evaluated");
    expect(outputsView).toMatch(
      /^CREATE MATERIALIZED VIEW IF NOT EXISTS plumbline\.output_counts_mv ON CLUSTER `prod-cluster` TO plumbline\.output_counts_local AS\n/,
    );
    expect(outputsView).toContain("\nFROM plumbline.agent_outputs_local\n");
  });

  it("add indexes to the local table", () => {
    expect(statements).toContain(
      "ALTER TABLE plumbline.agent_outputs_local ON CLUSTER `prod-cluster` ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1",
    );
    expect(statements).toContain(
      "ALTER TABLE plumbline.agent_outputs_local ON CLUSTER `prod-cluster` ADD INDEX IF NOT EXISTS idx_conversation_id ConversationId TYPE bloom_filter(0.001) GRANULARITY 1",
    );
  });

  it("add columns to the local table and to the Distributed one over it", () => {
    const column =
      "ADD COLUMN IF NOT EXISTS Outcome LowCardinality(String) DEFAULT 'failed' AFTER Code";
    expect(statements.filter((s) => s.includes(" ADD COLUMN "))).toEqual([
      `ALTER TABLE plumbline.check_results_local${ON_CLUSTER} ${column}`,
      `ALTER TABLE plumbline.check_results${ON_CLUSTER} ${column}`,
    ]);
  });

  it("point every other ALTER and view at tables that hold data on the node, never a Distributed one", () => {
    const targets = statements.flatMap((s) => [
      ...(s.includes(" ADD COLUMN ") ? [] : (/^ALTER TABLE ([\w.]+)/.exec(s)?.slice(1) ?? [])),
      ...(/ TO ([\w.]+) AS\n/.exec(s)?.slice(1) ?? []),
      ...(/^CREATE MATERIALIZED VIEW[^]*\nFROM ([\w.]+)/.exec(s)?.slice(1) ?? []),
    ]);
    expect(targets).toHaveLength(6);
    for (const target of targets)
      expect(engineOf(created.get(target))).toMatch(/^(Replicated\w*MergeTree\(|Null$)/);
  });

  it("leave the TTL line empty when retention is 0", () => {
    const kept = allStatements({ ...cluster, retentionDays: 0 });
    expect(kept).toEqual(statements.map((s) => s.replace(/^TTL .*$/m, "")));
  });

  it("name the local span table after a configured one", () => {
    const spans = allStatements({ ...cluster, tables: tableNames("obs", "spans") });
    expect(spans).toContain(
      "CREATE TABLE IF NOT EXISTS obs.spans ON CLUSTER `prod-cluster` AS obs.spans_local\nENGINE = Distributed('prod-cluster', 'obs', 'spans_local', cityHash64(TraceId))",
    );
    expect(spans[0]).toBe("CREATE DATABASE IF NOT EXISTS obs ON CLUSTER `prod-cluster`");
  });

  it("refuse names outside the identifier grammar instead of pasting them into SQL", () => {
    for (const name of ["a b", "x`; DROP DATABASE plumbline", "1st", "c'"])
      expect(() => allStatements({ ...cluster, cluster: name })).toThrow(/not a cluster name/);
    expect(() => allStatements({ ...single, tables: tableNames("plumb line", "t") })).toThrow(
      /not an identifier|not a database\.table name/,
    );
    expect(() => allStatements({ ...single, tables: tableNames("p", "t; DROP") })).toThrow(
      /not a database\.table name/,
    );
  });
});

describe("runMigrations on a cluster", () => {
  it("runs each statement once from this node and records it in the replicated table", async () => {
    const commands: string[] = [];
    const inserts: { table: string; values: unknown }[] = [];
    const client = {
      command: async ({ query }: { query: string }) => void commands.push(query),
      query: async () => ({ json: async () => [{ Version: 1 }] }),
      insert: async ({ table, values }: { table: string; values: unknown }) =>
        void inserts.push({ table, values }),
    } as unknown as ClickHouseClient;

    expect(await runMigrations(client, cluster)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(commands).toEqual([
      ...bootstrapStatements(cluster),
      ...MIGRATIONS.filter((m) => m.version > 1).flatMap((m) => m.statements(cluster)),
    ]);
    expect(new Set(inserts.map((i) => i.table))).toEqual(
      new Set(["plumbline.plumbline_migrations"]),
    );
  });
});

// What every migration runs on a single server (retention 30 days): migrations 1–7 as they ran
// before clusters existed, then 8 and 9 (the exporter's logs and metrics tables), then 10 (the
// judge's queue and cache, and evaluation scores), 11 (outputs per minute, and their backfill),
// then 12 (the conversation index).
// A change here changes the schema of existing deployments: add a migration instead.
const SINGLE_SERVER_DDL = `CREATE DATABASE IF NOT EXISTS plumbline
;
CREATE TABLE IF NOT EXISTS plumbline.plumbline_migrations (
  Version UInt32, Name String, AppliedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree ORDER BY Version
;
CREATE TABLE IF NOT EXISTS plumbline.otel_traces (
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
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.agent_outputs (
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
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.ingest_stats (
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
TTL Minute + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.check_results (
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
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS ttl_only_drop_parts = 1
;
CREATE TABLE IF NOT EXISTS plumbline.check_evaluations (
  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  OutputKey String,
  Failed UInt8
) ENGINE = Null
;
CREATE TABLE IF NOT EXISTS plumbline.check_counts (
  Minute DateTime,
  RuleId LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Evaluated AggregateFunction(uniqExact, String),
  Failed AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (RuleId, ServiceName, AgentName, Minute)
TTL Minute + toIntervalDay(30)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS plumbline.check_counts_mv TO plumbline.check_counts AS
SELECT Minute, RuleId, ServiceName, AgentName,
  uniqExactState(OutputKey) AS Evaluated,
  uniqExactStateIf(OutputKey, Failed = 1) AS Failed
FROM plumbline.check_evaluations
GROUP BY Minute, RuleId, ServiceName, AgentName
;
CREATE TABLE IF NOT EXISTS plumbline.plumbline_cursors (
  Name String,
  Value Int64,
  UpdatedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Name
;
ALTER TABLE plumbline.agent_outputs ADD INDEX IF NOT EXISTS idx_inserted_at InsertedAt TYPE minmax GRANULARITY 1
;
CREATE TABLE IF NOT EXISTS plumbline.alerts (
  Fingerprint String,
  RuleId LowCardinality(String),
  State LowCardinality(String),
  Record String CODEC(ZSTD(3)),
  UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Fingerprint
;
CREATE TABLE IF NOT EXISTS plumbline.alert_events (
  Time DateTime64(3),
  Fingerprint String,
  RuleId LowCardinality(String),
  FromState LowCardinality(String),
  ToState LowCardinality(String),
  Notification LowCardinality(String),
  Failed UInt64,
  Evaluated UInt64
) ENGINE = MergeTree ORDER BY (Fingerprint, Time)
TTL toDateTime(Time) + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.alert_outbox (
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
TTL toDateTime(CreatedAt) + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.alert_deliveries (
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
TTL toDateTime(Time) + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.silences (
  Id String,
  Silence String,
  Deleted UInt8,
  UpdatedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(UpdatedAt) ORDER BY Id
;
CREATE TABLE IF NOT EXISTS plumbline.drift_results (
  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  CheckType LowCardinality(String),
  EvaluatedAt DateTime64(3),
  WindowStart DateTime64(3),
  WindowEnd DateTime64(3),
  ReferenceStart Nullable(DateTime64(3)),
  ReferenceEnd Nullable(DateTime64(3)),
  Field String,
  Method LowCardinality(String),
  Status LowCardinality(String),
  Statistic Nullable(Float64),
  PValue Nullable(Float64),
  Threshold Nullable(Float64),
  Direction LowCardinality(String),
  Drifted UInt8,
  CurrentSize UInt64,
  ReferenceSize UInt64,
  Bins Array(String),
  CurrentCounts Array(UInt64),
  ReferenceCounts Array(UInt64),
  Message String
) ENGINE = ReplacingMergeTree(EvaluatedAt)
PARTITION BY toYYYYMM(WindowEnd)
ORDER BY (RuleId, WindowEnd, RuleVersion)
TTL toDateTime(WindowEnd) + toIntervalDay(30)
;
ALTER TABLE plumbline.check_results ADD COLUMN IF NOT EXISTS Outcome LowCardinality(String) DEFAULT 'failed' AFTER Code
;
CREATE TABLE IF NOT EXISTS plumbline.otel_logs (
  Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
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
  \`__otel_materialized_k8s.cluster.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.cluster.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.container.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.container.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.deployment.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.deployment.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.namespace.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.namespace.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.node.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.node.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.pod.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.name'] CODEC(ZSTD(1)),
  \`__otel_materialized_k8s.pod.uid\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.uid'] CODEC(ZSTD(1)),
  \`__otel_materialized_deployment.environment.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['deployment.environment.name'] CODEC(ZSTD(1)),
  INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.otel_metrics_gauge (
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),
  Value Float64 CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
  Exemplars Nested (
    FilteredAttributes Map(LowCardinality(String), String),
    TimeUnix DateTime,
    Value Float64,
    SpanId String,
    TraceId String
  ) CODEC(ZSTD(1)),
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.otel_metrics_sum (
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),
  Value Float64 CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
  Exemplars Nested (
    FilteredAttributes Map(LowCardinality(String), String),
    TimeUnix DateTime,
    Value Float64,
    SpanId String,
    TraceId String
  ) CODEC(ZSTD(1)),
  AggregationTemporality Int32 CODEC(ZSTD(1)),
  IsMonotonic Boolean CODEC(Delta, ZSTD(1)),
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.otel_metrics_histogram (
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),
  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  BucketCounts Array(UInt64) CODEC(ZSTD(1)),
  ExplicitBounds Array(Float64) CODEC(ZSTD(1)),
  Exemplars Nested (
    FilteredAttributes Map(LowCardinality(String), String),
    TimeUnix DateTime,
    Value Float64,
    SpanId String,
    TraceId String
  ) CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
  Min Float64 CODEC(ZSTD(1)),
  Max Float64 CODEC(ZSTD(1)),
  AggregationTemporality Int32 CODEC(ZSTD(1)),
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.otel_metrics_exponential_histogram (
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),
  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  Scale Int32 CODEC(ZSTD(1)),
  ZeroCount UInt64 CODEC(ZSTD(1)),
  PositiveOffset Int32 CODEC(ZSTD(1)),
  PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
  NegativeOffset Int32 CODEC(ZSTD(1)),
  NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),
  Exemplars Nested (
    FilteredAttributes Map(LowCardinality(String), String),
    TimeUnix DateTime,
    Value Float64,
    SpanId String,
    TraceId String
  ) CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
  Min Float64 CODEC(ZSTD(1)),
  Max Float64 CODEC(ZSTD(1)),
  AggregationTemporality Int32 CODEC(ZSTD(1)),
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.otel_metrics_summary (
  ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  TimeUnix DateTime CODEC(Delta, ZSTD(1)),
  Count UInt64 CODEC(Delta, ZSTD(1)),
  Sum Float64 CODEC(ZSTD(1)),
  ValueAtQuantiles Nested (
    Quantile Float64,
    Value Float64
  ) CODEC(ZSTD(1)),
  Flags UInt32 CODEC(ZSTD(1)),
  INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)
TTL toDateTime(TimeUnix) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048
;
CREATE TABLE IF NOT EXISTS plumbline.judge_queue (
  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  OutputTime DateTime64(9),
  EnqueuedAt DateTime64(3),
  State LowCardinality(String),
  Attempts UInt32,
  NextAttemptAt DateTime64(3),
  Seq UInt64,
  Message String CODEC(ZSTD(1))
) ENGINE = ReplacingMergeTree(Seq)
PARTITION BY toYYYYMM(EnqueuedAt)
ORDER BY (RuleId, TraceId, SpanId)
TTL toDateTime(EnqueuedAt) + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.judge_cache (
  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  InputHash String,
  Model LowCardinality(String),
  Verdict LowCardinality(String),
  Score Float64,
  Explanation String CODEC(ZSTD(1)),
  InputTokens UInt64,
  OutputTokens UInt64,
  JudgedAt DateTime64(3)
) ENGINE = ReplacingMergeTree(JudgedAt)
PARTITION BY toYYYYMM(JudgedAt)
ORDER BY (RuleId, RuleVersion, InputHash)
TTL toDateTime(JudgedAt) + toIntervalDay(30)
;
CREATE TABLE IF NOT EXISTS plumbline.evaluation_scores (
  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  Name LowCardinality(String),
  Source LowCardinality(String),
  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Model LowCardinality(String),
  Score Nullable(Float64),
  Label LowCardinality(String),
  Explanation String CODEC(ZSTD(1)),
  InsertedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(InsertedAt)
PARTITION BY toDate(Timestamp)
ORDER BY (Name, Timestamp, TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS ttl_only_drop_parts = 1
;
CREATE TABLE IF NOT EXISTS plumbline.output_counts (
  Minute DateTime,
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Outputs AggregateFunction(uniqExact, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(Minute)
ORDER BY (ServiceName, AgentName, Minute)
TTL Minute + toIntervalDay(30)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS plumbline.output_counts_mv TO plumbline.output_counts AS
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, AgentName,
  uniqExactState(cityHash64(TraceId, SpanId)) AS Outputs
FROM plumbline.agent_outputs
WHERE NOT mapContains(SpanAttributes, 'plumbline.pending')
GROUP BY Minute, ServiceName, AgentName
;
INSERT INTO plumbline.output_counts (Minute, ServiceName, AgentName, Outputs)
SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, AgentName,
  uniqExactState(cityHash64(TraceId, SpanId)) AS Outputs
FROM plumbline.agent_outputs
WHERE NOT mapContains(SpanAttributes, 'plumbline.pending')
GROUP BY Minute, ServiceName, AgentName
;
ALTER TABLE plumbline.agent_outputs ADD INDEX IF NOT EXISTS idx_conversation_id ConversationId TYPE bloom_filter(0.001) GRANULARITY 1`;
