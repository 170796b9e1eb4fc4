/** Row shapes of the evaluation tables (see migrations.ts, migration 4). */

export interface CheckResultRow {
  /** The output's (or trace's) time, DateTime64(9) text. */
  Timestamp: string;
  RuleId: string;
  RuleVersion: string;
  Severity: string;
  /** "output" or "trace". */
  Scope: string;
  ServiceName: string;
  AgentName: string;
  Operation: string;
  Model: string;
  ToolName: string;
  TraceId: string;
  SpanId: string;
  Code: string;
  Field: string;
  Message: string;
  Observed: string;
  Expected: string;
}

export interface CheckEvaluationRow {
  /** Unix seconds at the start of the output's minute. */
  Minute: number;
  RuleId: string;
  ServiceName: string;
  AgentName: string;
  /** traceId/spanId for output rules, traceId for trace rules: counted once however often evaluated. */
  OutputKey: string;
  Failed: 0 | 1;
}
