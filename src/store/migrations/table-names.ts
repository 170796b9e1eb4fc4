import type { TableNames } from "./types.ts";

/** The tables of the collector exporter's layout whose names are configurable. */
export interface SignalTables {
  /** The logs table; default `otel_logs`. */
  logsTable?: string;
  /**
   * The metrics tables' prefix, as the exporter's `metrics_table_name`: `<prefix>_gauge`,
   * `_sum`, `_histogram`, `_exponential_histogram`, `_summary`; default `otel_metrics`.
   */
  metricsTable?: string;
}

/** Table names for a database and span table already validated by the config schema. */
export function tableNames(
  database: string,
  tracesTable: string,
  { logsTable = "otel_logs", metricsTable = "otel_metrics" }: SignalTables = {},
): TableNames {
  return {
    database,
    traces: `${database}.${tracesTable}`,
    logs: `${database}.${logsTable}`,
    metricsGauge: `${database}.${metricsTable}_gauge`,
    metricsSum: `${database}.${metricsTable}_sum`,
    metricsHistogram: `${database}.${metricsTable}_histogram`,
    metricsExponentialHistogram: `${database}.${metricsTable}_exponential_histogram`,
    metricsSummary: `${database}.${metricsTable}_summary`,
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
    judgeQueue: `${database}.judge_queue`,
    judgeCache: `${database}.judge_cache`,
    evaluationScores: `${database}.evaluation_scores`,
    outputCounts: `${database}.output_counts`,
    migrations: `${database}.plumbline_migrations`,
  };
}
