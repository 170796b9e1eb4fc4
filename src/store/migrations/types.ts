/** Shapes shared by the numbered migrations. */

export interface TableNames {
  database: string;
  /** Fully qualified names, ready for SQL text. */
  traces: string;
  /** The exporter's logs table (migration 8). */
  logs: string;
  /** The exporter's metrics tables, one per point type (migration 9). */
  metricsGauge: string;
  metricsSum: string;
  metricsHistogram: string;
  metricsExponentialHistogram: string;
  metricsSummary: string;
  outputs: string;
  ingestStats: string;
  checkResults: string;
  checkEvaluations: string;
  checkCounts: string;
  cursors: string;
  alerts: string;
  alertEvents: string;
  outbox: string;
  deliveries: string;
  silences: string;
  driftResults: string;
  /** The judge's queue, its verdict cache, and every evaluation score (migration 10). */
  judgeQueue: string;
  judgeCache: string;
  evaluationScores: string;
  /** Outputs per minute, service and agent (migration 11). */
  outputCounts: string;
  migrations: string;
}

export interface MigrationContext {
  tables: TableNames;
  retentionDays: number;
  /**
   * A ClickHouse cluster (config `clickhouse.cluster`): statements run ON CLUSTER, with
   * replicated local tables and Distributed tables over them (ddl.ts, docs/scaling.md).
   * Unset: one server or embedded chDB, statements as they always were.
   */
  cluster?: string | undefined;
}

export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}
