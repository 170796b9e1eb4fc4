import type { Migration } from "./types.ts";
import { ttl } from "./ddl.ts";

export const migration5: Migration = {
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
};
