import type { TableNames } from "./types.ts";

/** Table names for a database and span table already validated by the config schema. */
export function tableNames(database: string, tracesTable: string): TableNames {
  return {
    database,
    traces: `${database}.${tracesTable}`,
    outputs: `${database}.agent_outputs`,
    ingestStats: `${database}.ingest_stats`,
    checkResults: `${database}.check_results`,
    checkEvaluations: `${database}.check_evaluations`,
    checkCounts: `${database}.check_counts`,
    cursors: `${database}.plumbline_cursors`,
    alerts: `${database}.alerts`,
    alertEvents: `${database}.alert_events`,
    outbox: `${database}.alert_outbox`,
    deliveries: `${database}.alert_deliveries`,
    silences: `${database}.silences`,
    driftResults: `${database}.drift_results`,
    migrations: `${database}.plumbline_migrations`,
  };
}
