import type { Migration } from "./types.ts";
import { createMaterializedView, createTable, ttl } from "./ddl.ts";

// The pending version of an output (store/tables/agent-outputs.ts PENDING_ATTRIBUTE) is not an
// output yet: it is counted when its completed row is written.
const COMPLETED = "NOT mapContains(SpanAttributes, 'plumbline.pending')";

export const migration11: Migration = {
  version: 11,
  name: "output_counts",
  // Outputs per minute, service and agent: what the overview draws, without reading every
  // output of the period. A state of the outputs' (trace, span) hashes rather than a count, so
  // a span a client re-sends, or a row the backfill below and the view both saw, counts once.
  statements: (ctx) => {
    const { tables, retentionDays } = ctx;
    const select = (
      from: string,
    ) => `SELECT toStartOfMinute(Timestamp) AS Minute, ServiceName, AgentName,
  uniqExactState(cityHash64(TraceId, SpanId)) AS Outputs
FROM ${from}
WHERE ${COMPLETED}
GROUP BY Minute, ServiceName, AgentName`;
    return [
      ...createTable(ctx, {
        name: tables.outputCounts,
        columns: `  Minute DateTime,
  ServiceName LowCardinality(String),
  AgentName LowCardinality(String),
  Outputs AggregateFunction(uniqExact, UInt64)`,
        engine: { kind: "AggregatingMergeTree" },
        partitionBy: "toYYYYMM(Minute)",
        orderBy: "(ServiceName, AgentName, Minute)",
        ttl: ttl("Minute", retentionDays),
        // An output is on its trace's shard, and so are its counts (the view writes locally):
        // the shards' counts add up.
        placement: { shardBy: "rand()" },
      }),
      createMaterializedView(ctx, {
        name: `${tables.outputCounts}_mv`,
        to: tables.outputCounts,
        from: tables.outputs,
        select,
      }),
      // The outputs stored before this migration, counted once (the view counts the rest; an
      // output both saw is one hash in the state). On a cluster it runs through the Distributed
      // tables from the node that migrates.
      `INSERT INTO ${tables.outputCounts} (Minute, ServiceName, AgentName, Outputs)\n${select(tables.outputs)}`,
    ];
  },
};
