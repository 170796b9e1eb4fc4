import type { Migration } from "./types.ts";
import { createTable, ttl } from "./ddl.ts";

export const migration6: Migration = {
  version: 6,
  name: "drift_results",
  // One row per evaluation of a window rule (drift and rate): what was compared, the
  // statistic against its threshold, and both histograms, for dashboards and the scheduler.
  // Replacing on (rule, window end, version): an evaluation repeated after a crash, or by a
  // catch-up that overlaps, leaves one row. The scheduler's cursor is max(WindowEnd). On a
  // cluster, sharded by rule, so a repeated evaluation meets its first copy.
  statements: (ctx) =>
    createTable(ctx, {
      name: ctx.tables.driftResults,
      columns: `  RuleId LowCardinality(String),
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
  Message String`,
      engine: { kind: "ReplacingMergeTree", args: ["EvaluatedAt"] },
      partitionBy: "toYYYYMM(WindowEnd)",
      orderBy: "(RuleId, WindowEnd, RuleVersion)",
      ttl: ttl("toDateTime(WindowEnd)", ctx.retentionDays),
      placement: { shardBy: "cityHash64(RuleId)" },
    }),
};
