import type { Migration } from "./types.ts";
import { createTable, ttl } from "./ddl.ts";

export const migration5: Migration = {
  version: 5,
  name: "alerts, alert_events, alert_outbox, alert_deliveries, silences",
  // On a cluster, the state tables (alerts, alert_outbox, silences) are small and read whole:
  // a full replica on every node. The append-only histories are sharded by fingerprint.
  statements: (ctx) => {
    const { tables, retentionDays } = ctx;
    return [
      // The current state of every alert, one version per change; the newest wins.
      ...createTable(ctx, {
        name: tables.alerts,
        columns: `  Fingerprint String,
  RuleId LowCardinality(String),
  State LowCardinality(String),
  Record String CODEC(ZSTD(3)),
  UpdatedAt DateTime64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["UpdatedAt"] },
        orderBy: "Fingerprint",
        placement: "every node",
      }),
      // Every state change, append-only: the history the API shows.
      ...createTable(ctx, {
        name: tables.alertEvents,
        columns: `  Time DateTime64(3),
  Fingerprint String,
  RuleId LowCardinality(String),
  FromState LowCardinality(String),
  ToState LowCardinality(String),
  Notification LowCardinality(String),
  Failed UInt64,
  Evaluated UInt64`,
        engine: { kind: "MergeTree" },
        orderBy: "(Fingerprint, Time)",
        ttl: ttl("toDateTime(Time)", retentionDays),
        placement: { shardBy: "cityHash64(Fingerprint)" },
      }),
      // The durable outbox: a notification is written here before any attempt; each change of
      // its status is a new version. Pending rows are what a restart resumes.
      ...createTable(ctx, {
        name: tables.outbox,
        columns: `  Id String,
  Channel LowCardinality(String),
  Fingerprint String,
  Kind LowCardinality(String),
  CreatedAt DateTime64(3),
  Notification String CODEC(ZSTD(3)),
  Status LowCardinality(String),
  Attempts UInt32,
  NextAttemptAt DateTime64(3),
  LastError String,
  UpdatedAt DateTime64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["UpdatedAt"] },
        orderBy: "Id",
        ttl: ttl("toDateTime(CreatedAt)", retentionDays),
        placement: "every node",
      }),
      ...createTable(ctx, {
        name: tables.deliveries,
        columns: `  Time DateTime64(3),
  NotificationId String,
  Channel LowCardinality(String),
  Fingerprint String,
  Attempt UInt32,
  Outcome LowCardinality(String),
  StatusCode UInt16,
  Error String,
  LatencyMs UInt32`,
        engine: { kind: "MergeTree" },
        orderBy: "(Channel, Time)",
        ttl: ttl("toDateTime(Time)", retentionDays),
        placement: { shardBy: "cityHash64(Fingerprint)" },
      }),
      ...createTable(ctx, {
        name: tables.silences,
        columns: `  Id String,
  Silence String,
  Deleted UInt8,
  UpdatedAt DateTime64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["UpdatedAt"] },
        orderBy: "Id",
        placement: "every node",
      }),
    ];
  },
};
