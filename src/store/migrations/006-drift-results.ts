import type { Migration } from "./types.ts";
import { ttl } from "./ddl.ts";

export const migration6: Migration = {
  version: 6,
  name: "drift_results",
  // One row per evaluation of a window rule (drift and rate): what was compared, the
  // statistic against its threshold, and both histograms, for dashboards and the scheduler.
  // Replacing on (rule, window end, version): an evaluation repeated after a crash, or by a
  // catch-up that overlaps, leaves one row. The scheduler's cursor is max(WindowEnd).
  statements: ({ tables, retentionDays }) => [
    `CREATE TABLE IF NOT EXISTS ${tables.driftResults} (
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
${ttl("toDateTime(WindowEnd)", retentionDays)}`,
  ],
};
