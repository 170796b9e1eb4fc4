import type { Migration } from "./types.ts";
import { MERGE_SETTINGS, ttl } from "./ddl.ts";

export const migration2: Migration = {
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
};
