/**
 * A rule as the engine uses it, after its file was validated against rules/rule.schema.json.
 * The file format is documented in docs/rules.md; this is its typed, loaded form.
 */

import type { ParsedAlertSpec } from "./alert-spec.ts";
import type { WindowSpec } from "./window-spec.ts";

export type Severity = "info" | "warning" | "critical";

/** A string compared exactly, or as a glob when it contains `*` or `?`; a list means any of. */
export type Pattern = string | string[];

/** One condition on a field (see docs/rules.md "Fields"). */
export interface Condition {
  field: string;
  equals?: unknown;
  not_equals?: unknown;
  in?: unknown[];
  not_in?: unknown[];
  contains?: string;
  not_contains?: string;
  matches?: string;
  not_matches?: string;
  min?: number;
  max?: number;
  between?: [number, number];
  length_between?: [number, number];
  exists?: boolean;
  not_empty?: boolean;
  is_json?: boolean;
  /** True when the value looks like an error envelope or an error message (built-in heuristic). */
  error_payload?: boolean;
  /** Regex and contains comparisons ignore case. */
  ignore_case?: boolean;
  /** Shown instead of the generated message when the condition fails. */
  message?: string;
}

/** `where` entries: a condition, or a group that holds when any of its conditions holds. */
export type WhereClause = Condition | { any: Condition[] };

/**
 * The kinds of agent output a row can be (docs/conventions.md "Kind and Operation"): what
 * `match.kind` and the `kind` field name. llm (one model call), agent (one agent run), tool
 * (one tool call), workflow (one run of a workflow orchestrating agents), plan (an agent's
 * planning step), retrieval (a search of a data source), memory (a memory operation),
 * definition (an agent being created, which answers nothing).
 */
export const OUTPUT_KINDS = [
  "llm",
  "agent",
  "tool",
  "workflow",
  "plan",
  "retrieval",
  "memory",
  "definition",
] as const;

export type OutputKind = (typeof OUTPUT_KINDS)[number];

export interface MatchSpec {
  service?: Pattern;
  agent?: Pattern;
  operation?: Pattern;
  /** A pattern over OUTPUT_KINDS; an exact name outside them is an issue at load. */
  kind?: Pattern;
  model?: Pattern;
  tool?: Pattern;
  where?: WhereClause[];
}

export interface JsonSchemaCheck {
  type: "json_schema";
  field: string;
  /** The schema itself (already resolved when the file used `$ref` to a file beside it). */
  schema: Record<string, unknown> | boolean;
}

export interface AssertCheck {
  type: "assert";
  assertions: Condition[];
  /** JSONata expressions over the output (see docs/rules.md); each must evaluate to true. */
  expr?: { expression: string; message?: string }[];
}

/**
 * An LLM-as-judge check (docs/judge.md): a model reads `prompt` (placeholders of the field
 * grammar, rendered per output) with the criteria and rubric, and answers a verdict, a score in
 * 0..1 and an explanation. Judged off the ingest path, from a durable queue.
 */
export interface JudgeCheck {
  type: "judge";
  /** The evaluation name its scores are stored under (`evaluation.<name>.score`); default: the rule id. */
  name?: string;
  prompt: string;
  criteria: string;
  rubric?: string;
  /** Passes when the verdict is pass and, with min_score, the score is at least that. */
  pass?: { min_score?: number };
  /** Overrides the configured judge model. */
  model?: string;
  /** Share of matching outputs judged, 0..1 (default 1). */
  sample?: number;
  limits?: { calls_per_minute?: number; tokens_per_day?: number };
  /** Each placeholder's value is cut to this many characters (default 4000). */
  max_input_chars?: number;
}

export interface TraceUniqueCheck {
  type: "trace";
  kind: "unique";
  /** Fields whose values together form the key no two matching outputs may share. */
  key: string[];
}

export interface TraceErrorPropagationCheck {
  type: "trace";
  kind: "error_propagation";
}

export interface TraceCountCheck {
  type: "trace";
  kind: "count";
  min?: number;
  max?: number;
}

export interface TraceSequenceCheck {
  type: "trace";
  kind: "sequence";
  /** The output matching `before` must start before any output matching `after`. */
  before: MatchSpec;
  after: MatchSpec;
}

export type TraceCheck =
  TraceUniqueCheck | TraceErrorPropagationCheck | TraceCountCheck | TraceSequenceCheck;

/**
 * A check over every output of a conversation so far (docs/conversations.md): evaluated as
 * each of its traces goes quiet (the new trace against the turns before it, read from the
 * store), and once more when the whole conversation has gone quiet.
 */
export interface ConversationUniqueCheck {
  type: "conversation";
  kind: "unique";
  /** Fields whose values together form the key no two matching outputs may share. */
  key: string[];
}

export interface ConversationConsistentCheck {
  type: "conversation";
  kind: "consistent";
  /** The field that keeps its first value across the conversation once it has one. */
  field: string;
}

export interface ConversationContextResetCheck {
  type: "conversation";
  kind: "context_reset";
  /** What a turn's input is measured by: its message count, its input tokens, or either (auto). */
  measure?: "messages" | "input_tokens" | "auto";
  /** A later turn within this share above the first turn's size has lost its history (0.2). */
  tolerance?: number;
}

export interface ConversationRepeatedCheck {
  type: "conversation";
  kind: "repeated";
  /** Answers shorter than this (normalised) are not compared (default 20 characters). */
  min_length?: number;
  /**
   * Asking again: an answer matching `question` (a regex) after an earlier turn's input matched
   * `given`, e.g. the agent asks for the e-mail address the user already gave.
   */
  asks?: { question: string; given: string; ignore_case?: boolean; name?: string }[];
  /** Leave out the normalised-answer comparison, keep only `asks`. */
  answers?: boolean;
}

export interface ConversationCountCheck {
  type: "conversation";
  kind: "count";
  min?: number;
  max?: number;
  /** Count matching outputs (default) or turns (traces) with a matching output. */
  per?: "output" | "turn";
}

export interface ConversationSequenceCheck {
  type: "conversation";
  kind: "sequence";
  before: MatchSpec;
  after: MatchSpec;
}

export type ConversationCheck =
  | ConversationUniqueCheck
  | ConversationConsistentCheck
  | ConversationContextResetCheck
  | ConversationRepeatedCheck
  | ConversationCountCheck
  | ConversationSequenceCheck;

/** A time range of a rule file: RFC 3339 times, from inclusive, to exclusive. */
export interface TimeRange {
  from: string;
  to: string;
  reason?: string;
}

/** What a window is compared with (docs/drift.md "Windows and baselines"). */
export interface ReferenceSpec {
  trailing?: string;
  from?: string;
  to?: string;
  previous_version?: "service.version" | "model";
  window?: string;
}

/** A windowed measure against a threshold or a baseline (docs/drift.md "Rate rules"). */
export interface RateCheck {
  type: "rate";
  share?: WhereClause[];
  failures?: string;
  aggregate?: string;
  field?: string;
  above?: number;
  below?: number;
  baseline?: {
    reference?: ReferenceSpec;
    exclude?: TimeRange[];
    alpha?: number;
    direction?: "above" | "below" | "both";
    minDelta?: number;
  };
  window?: string;
  every?: string;
  minSamples?: number;
}

/** The distribution of a field in a window against a reference (docs/drift.md). */
export interface DriftCheck {
  type: "drift";
  field: string;
  kind?: "numeric" | "categorical";
  method?: "auto" | "ks" | "chi2" | "psi" | "jensen_shannon" | "wasserstein" | "z";
  threshold?: number;
  reference?: ReferenceSpec;
  exclude?: TimeRange[];
  window?: string;
  every?: string;
  minSamples?: number | { current?: number; reference?: number };
  bins?: number;
  topK?: number;
  category?: string;
}

/** The statistical test of a drift check (`auto` picks one by sample size and kind). */
export type DriftMethod = NonNullable<DriftCheck["method"]>;

/**
 * Silence (docs/silence.md): each entity (by `groupBy`) whose outputs stopped arriving when
 * its own traffic at this time of day makes that unlikely (a Poisson test).
 */
export interface AbsentCheck {
  type: "absent";
  groupBy?: ("service" | "agent" | "operation" | "model" | "tool")[];
  window?: string;
  every?: string;
  days?: number;
  minExpected?: number;
  maxShare?: number;
  alpha?: number;
}

/** Checks evaluated over time windows by the window scheduler, not per output. */
export type WindowCheck = RateCheck | DriftCheck | AbsentCheck;

export type Check =
  JsonSchemaCheck | AssertCheck | JudgeCheck | TraceCheck | ConversationCheck | WindowCheck;

/** A rule's `alert` block as the file writes it (see ParsedAlertSpec for the parsed form). */
export interface AlertSpec {
  mode?: "each" | "rate" | "window";
  [key: string]: unknown;
}

export interface Rule {
  id: string;
  description: string;
  severity: Severity;
  enabled: boolean;
  labels: Record<string, string>;
  runbook?: string;
  owner?: string;
  match: MatchSpec;
  check: Check;
  alert?: AlertSpec;
  /** The alert block, parsed once at load with every default applied. */
  alertSpec: ParsedAlertSpec;
  /** Rate and drift checks: their window, schedule and baseline, parsed once at load. */
  window: WindowSpec | undefined;
  /** sha256 of the rule's canonical content (first 12 hex digits): which rule produced a result. */
  version: string;
  /** Path of the file it came from, relative to the rules directory. */
  file: string;
}

/** A problem with a rule file: which file, where in it (JSON pointer), and what. */
export interface RuleFileError {
  file: string;
  pointer: string;
  message: string;
}
