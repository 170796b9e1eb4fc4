export { createStore, type Store, type StoreOptions, type PingResult } from "./store.ts";
export { createClickHouseClient, type ClientOptions } from "./client.ts";
export {
  runMigrations,
  tableNames,
  MIGRATIONS,
  type TableNames,
  type Migration,
} from "./migrations.ts";
export {
  createGroupCommitter,
  type GroupCommitter,
  type CommitResult,
  type CommitTarget,
  type StoreHealth,
} from "./group-commit.ts";
export { isRetryableStoreError } from "./is-retryable-error.ts";
export { listOutputs, getTrace, unrecognisedStats, type OutputFilter } from "./queries.ts";
export type { WriteBatch, IngestStatRow } from "./write-batch.ts";
export type { OtelTracesRow } from "./tables/otel-traces.ts";
export type { AgentOutputRow } from "./tables/agent-outputs.ts";
export { ensureSchema, type SchemaState } from "./ensure-schema.ts";
