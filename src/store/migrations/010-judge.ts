import type { Migration } from "./types.ts";
import { createTable, ttl } from "./ddl.ts";

export const migration10: Migration = {
  version: 10,
  name: "judge_queue, judge_cache, evaluation_scores",
  statements: (ctx) => {
    const { tables, retentionDays } = ctx;
    return [
      // The judge's durable queue (docs/judge.md): one row per (rule, output) to judge, its
      // state replaced as it moves. Seq is the version: a state written later in the item's
      // life has a higher Seq, and a done, error or budget state the highest (2^62), so an
      // output queued again (by the output recovery after a crash) never brings back an item
      // already judged. On a cluster, sharded by output, so an item's states meet.
      ...createTable(ctx, {
        name: tables.judgeQueue,
        columns: `  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  TraceId String CODEC(ZSTD(1)),
  SpanId String CODEC(ZSTD(1)),
  OutputTime DateTime64(9),
  EnqueuedAt DateTime64(3),
  State LowCardinality(String),
  Attempts UInt32,
  NextAttemptAt DateTime64(3),
  Seq UInt64,
  Message String CODEC(ZSTD(1))`,
        engine: { kind: "ReplacingMergeTree", args: ["Seq"] },
        partitionBy: "toYYYYMM(EnqueuedAt)",
        orderBy: "(RuleId, TraceId, SpanId)",
        ttl: ttl("toDateTime(EnqueuedAt)", retentionDays),
        placement: { shardBy: "cityHash64(TraceId, SpanId)" },
      }),
      // Every verdict the judge gave, by rule version and the hash of exactly what it read
      // (model, prompt): the same input is judged once, also across restarts. The tokens are
      // what the budget of the day is counted from again at start.
      ...createTable(ctx, {
        name: tables.judgeCache,
        columns: `  RuleId LowCardinality(String),
  RuleVersion LowCardinality(String),
  InputHash String,
  Model LowCardinality(String),
  Verdict LowCardinality(String),
  Score Float64,
  Explanation String CODEC(ZSTD(1)),
  InputTokens UInt64,
  OutputTokens UInt64,
  JudgedAt DateTime64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["JudgedAt"] },
        partitionBy: "toYYYYMM(JudgedAt)",
        orderBy: "(RuleId, RuleVersion, InputHash)",
        ttl: ttl("toDateTime(JudgedAt)", retentionDays),
        placement: { shardBy: "cityHash64(InputHash)" },
      }),
      // One row per evaluation result of an output, whoever evaluated it: the judge (Source
      // judge, the rule's verdict) or the user's own evaluators (Source event, from
      // gen_ai.evaluation.result). Window rules read the judge's as evaluation.<name>.* fields.
      // Replacing on (name, output): a verdict written again after a crash is one row.
      ...createTable(ctx, {
        name: tables.evaluationScores,
        columns: `  Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
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
  InsertedAt DateTime64(3) DEFAULT now64(3)`,
        engine: { kind: "ReplacingMergeTree", args: ["InsertedAt"] },
        partitionBy: "toDate(Timestamp)",
        orderBy: "(Name, Timestamp, TraceId, SpanId)",
        ttl: ttl("toDateTime(Timestamp)", retentionDays),
        settings: "ttl_only_drop_parts = 1",
        placement: { shardBy: "cityHash64(TraceId)" },
      }),
    ];
  },
};
