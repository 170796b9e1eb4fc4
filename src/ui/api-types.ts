/**
 * What the UI reads of the API's JSON answers: the fields it shows, as the routes in src/api/
 * send them (the UI sits below the API and imports none of its code; page tests compare the
 * pages with the API's answers).
 */

export interface RuleFileError {
  file: string;
  pointer: string;
  message: string;
}

/** One entry of GET /api/rules. */
export interface RuleView {
  id: string | undefined;
  file: string;
  status: string;
  version: string | undefined;
  description: string | undefined;
  severity: string | undefined;
  checkType: string | undefined;
  errors: RuleFileError[];
  last24h: { evaluated: number; failed: number };
  sinceStart: { matched: number; failed: number };
  lastMatchedAt: string | undefined;
  ruleErrors: {
    last24h: number;
    sinceStart: number;
    lastError?: { code: string; message: string; at: string } | undefined;
  };
  health: string;
  idle: boolean;
}

interface PeriodAnswer {
  since: string;
  until: string;
  stepMs: number;
  buckets: number[];
}

/** GET /api/overview. */
export interface OverviewAnswer extends PeriodAnswer {
  outputs: { service: string; agent: string; outputs: number; perBucket: number[] }[];
  ingest: {
    received: number[];
    rejected: number[];
    outputs: number[];
    unrecognised: number[];
    totals: { received: number; rejected: number; outputs: number; unrecognised: number };
  };
  unrecognised: {
    service: string;
    received: number;
    unrecognised: number;
    rejected: number;
    spanNames: { name: string; count: number }[];
  }[];
}

/** GET /api/activity/rules. */
export interface ActivityAnswer extends PeriodAnswer {
  rules: {
    ruleId: string;
    evaluated: number;
    failed: number;
    evaluatedPerBucket: number[];
    failedPerBucket: number[];
  }[];
}

/** One entry of GET /api/windows. */
export interface LatestWindow {
  ruleId: string;
  ruleVersion: string;
  checkType: string;
  field: string;
  method: string;
  status: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  direction: string;
  currentSize: number;
  referenceSize: number;
  windowStart: string;
  windowEnd: string;
  message: string;
  inPeriod: { evaluations: number; drifted: number; insufficient: number };
}

/** One entry of GET /api/rules/:id/evaluations. */
export interface WindowEvaluationView {
  ruleId: string;
  ruleVersion: string;
  checkType: string;
  evaluatedAt: string;
  windowStart: string;
  windowEnd: string;
  referenceStart: string | null;
  referenceEnd: string | null;
  field: string;
  method: string;
  status: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  direction: string;
  currentSize: number;
  referenceSize: number;
  bins: string[];
  currentCounts: number[];
  referenceCounts: number[];
  message: string;
}

/** A finding or rule problem, one row of GET /api/checks. */
export interface CheckRow {
  Timestamp: string;
  RuleId: string;
  RuleVersion: string;
  Severity: string;
  Scope: string;
  ServiceName: string;
  AgentName: string;
  Operation: string;
  Model: string;
  ToolName: string;
  TraceId: string;
  SpanId: string;
  Code: string;
  Outcome: string;
  Field: string;
  Message: string;
  Observed: string;
  Expected: string;
}

export interface AlertExample {
  traceId: string;
  spanId: string;
  field: string;
  observed: string;
  message: string;
  at: string;
}

export interface Measurement {
  checkType: string;
  method: string;
  field: string;
  statistic: number | null;
  pValue: number | null;
  threshold: number | null;
  direction: string;
  windowStart: string;
  windowEnd: string;
  currentSize: number;
  referenceSize: number;
  message: string;
}

/** One alert of GET /api/alerts. */
export interface AlertView {
  fingerprint: string;
  ruleId: string;
  ruleVersion: string;
  description: string;
  severity: string;
  runbook?: string | undefined;
  labels: Record<string, string>;
  state: string;
  counts: { failed: number; evaluated: number };
  firstSeen: string;
  lastSeen: string;
  startsAt?: string | undefined;
  endsAt?: string | undefined;
  examples: AlertExample[];
  links: Record<string, string>;
  measurement?: Measurement | undefined;
}

/** GET /api/alerts/:fingerprint. */
export interface AlertDetail {
  alert: AlertView;
  history: {
    Time: string;
    FromState: string;
    ToState: string;
    Notification: string;
    Failed: number | string;
    Evaluated: number | string;
  }[];
  deliveries: {
    notifications: {
      Id: string;
      Channel: string;
      Kind: string;
      CreatedAt: string;
      Status: string;
      Attempts: number | string;
      NextAttemptAt: string;
      LastError: string;
    }[];
    attempts: {
      Time: string;
      NotificationId: string;
      Channel: string;
      Attempt: number | string;
      Outcome: string;
      StatusCode: number | string;
      Error: string;
      LatencyMs: number | string;
    }[];
  };
  silencedBy: string[];
}

export interface SilenceView {
  id: string;
  matchers: { name: string; value: string; isRegex?: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
  state: string;
}

/** A span of GET /api/traces/:id (the otel_traces row). */
export interface SpanView {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  SpanAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
  "Events.Name"?: string[];
}

/** An output of GET /api/traces/:id (the agent_outputs row). */
export interface OutputView {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ServiceName: string;
  SpanName: string;
  Convention: string;
  Kind: string;
  Operation: string;
  AgentName: string;
  ConversationId: string;
  Provider: string;
  Model: string;
  InputText: string;
  OutputText: string;
  OutputJson: string;
  OutputIsJson: boolean | number;
  OutputType: string;
  FinishReason: string;
  ToolName: string;
  ToolCallId: string;
  ToolArguments: string;
  ToolResult: string;
  InputTokens: number | null;
  OutputTokens: number | null;
  DurationNs: string;
  StatusCode: string;
  StatusMessage: string;
  ErrorType: string;
}

export interface TraceAnswer {
  traceId: string;
  spans: SpanView[];
  outputs: OutputView[];
}

/** A conversation of GET /api/conversations. */
export interface ConversationSummaryView {
  conversationId: string;
  firstAt: string;
  lastAt: string;
  turns: number;
  outputs: number;
  services: string[];
  agents: string[];
  findings: number;
}

export interface ConversationsAnswer {
  since: string;
  until: string;
  conversations: ConversationSummaryView[];
  nextCursor: string | null;
}

/** GET /api/conversations/:id: its turns in order, with their outputs and findings. */
export interface ConversationAnswer {
  conversationId: string;
  turns: {
    traceId: string;
    startedAt: string;
    endedAt: string;
    outputs: OutputView[];
    findings: CheckRow[];
  }[];
  findings: CheckRow[];
}
