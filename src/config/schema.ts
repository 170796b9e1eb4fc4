/**
 * The one schema every setting goes through. Defaults live here and nowhere else.
 */

import { z } from "zod";
import { checkRouteChannels, notificationConfigShape } from "../alert/channels/channel-config.ts";
import { linkTemplatesSchema } from "../alert/links.ts";

const port = z.coerce.number().int().min(0).max(65535);

const keyList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(",")).map((k) => k.trim()).filter(Boolean));

export const configSchema = z
  .object({
    /** Where embedded ClickHouse (chDB) keeps its files. Ignored in server mode. */
    dataDir: z.string().min(1).default("./data"),
    /** Interface to listen on; 0.0.0.0 for every IPv4 interface, :: for every interface. */
    host: z.string().min(1).default("127.0.0.1"),
    /** OTLP/HTTP and the API. */
    port: port.default(4318),
    /** OTLP/gRPC. 0 turns the gRPC receiver off. */
    grpcPort: port.default(4317),
    clickhouse: z
      .object({
        /** Unset: embedded chDB in dataDir. Set: a ClickHouse server over HTTP(S). */
        url: z.url({ protocol: /^https?$/ }).optional(),
        user: z.string().default("default"),
        password: z.string().default(""),
        database: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a database name: letters, digits and _")
          .default("plumbline"),
        /**
         * The span table. Point it at a table the collector's clickhouseexporter already writes
         * (same layout) to share it.
         */
        tracesTable: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a table name: letters, digits and _")
          .default("otel_traces"),
        /** The log record table, the exporter's `logs_table_name`. */
        logsTable: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a table name: letters, digits and _")
          .default("otel_logs"),
        /**
         * The metrics tables' prefix, the exporter's `metrics_table_name`: `<prefix>_gauge`,
         * `_sum`, `_histogram`, `_exponential_histogram` and `_summary`.
         */
        metricsTable: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a table name: letters, digits and _")
          .default("otel_metrics"),
        /** Days kept in otel_traces and agent_outputs (TTL). 0 keeps everything. */
        retentionDays: z.coerce.number().int().min(0).max(36500).default(30),
        /**
         * A ClickHouse cluster (server mode): migrations run ON CLUSTER with replicated engines
         * and distributed tables over them (docs/scaling.md).
         */
        cluster: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "a cluster name: letters, digits, _ and -")
          .optional(),
      })
      .refine((clickhouse) => clickhouse.cluster === undefined || clickhouse.url !== undefined, {
        path: ["cluster"],
        message:
          "a cluster needs a ClickHouse server: set clickhouse.url (PLUMBLINE_CLICKHOUSE_URL)",
      })
      .prefault({}),
    /**
     * Where spans come from: `otlp` (agents export to Plumbline) or `table` (an OpenTelemetry
     * Collector's clickhouse exporter writes clickhouse.tracesTable; Plumbline reads new spans).
     */
    source: z.enum(["otlp", "table"]).default("otlp"),
    /**
     * all: everything in one process. ingest: receive and store only (stateless, scale out).
     * evaluate: no receivers; trace, window and drift evaluation and alert delivery (run one).
     */
    role: z.enum(["all", "ingest", "evaluate"]).default("all"),
    /** Where rule files live. */
    rulesDir: z.string().min(1).default("./rules"),
    /** When non-empty, OTLP requests must carry one of these keys. */
    ingestKeys: keyList.default([]),
    /** When set, /api/* requests must carry it. */
    apiKey: z.string().min(1).optional(),
    ingest: z
      .object({
        /** Largest request body, checked before and after decompression. */
        maxBodyBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(16 * 1024 * 1024),
        /** A batch is written at least this often… */
        flushIntervalMs: z.coerce.number().int().min(1).max(10_000).default(100),
        /** …or as soon as it holds this many spans. */
        flushMaxSpans: z.coerce.number().int().min(1).default(10_000),
        /** Spans waiting for the store beyond which requests get 429 + Retry-After. */
        maxQueuedSpans: z.coerce.number().int().min(1).default(50_000),
        /**
         * Span attributes that hold a conversation (session, thread, workflow) id, read before
         * the well-known ones (docs/conversations.md "Conversation ids").
         */
        conversationAttributes: keyList.default([]),
      })
      .prefault({}),
    evaluate: z
      .object({
        /** Load the built-in detectors (rules/builtin) before the user's rules. */
        builtinRules: z
          .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
          .default(true),
        /** How often rule files are checked for changes. */
        rulesPollMs: z.coerce.number().int().min(50).default(1_000),
        /** A trace is checked by trace rules once no output arrived for this long. */
        traceQuietMs: z.coerce.number().int().min(0).default(30_000),
        /** How often quiet traces are looked for. */
        traceIntervalMs: z.coerce.number().int().min(50).default(5_000),
        /**
         * A conversation is checked once more, as a whole, once no output of it arrived for this
         * long (docs/conversations.md); its traces are checked as each goes quiet.
         */
        conversationQuietMs: z.coerce
          .number()
          .int()
          .min(0)
          .default(30 * 60_000),
        /** How often findings and evaluation counts are written. */
        resultsFlushMs: z.coerce.number().int().min(10).default(1_000),
        /** How often window rules (rate, drift) are checked for due evaluations. */
        windowTickMs: z.coerce.number().int().min(50).default(5_000),
        /** A window is evaluated this long after it ends, so late spans still count. */
        windowSettleMs: z.coerce.number().int().min(0).default(15_000),
        /** After downtime, at most this many missed windows per rule are evaluated (the latest). */
        windowMaxCatchUp: z.coerce.number().int().min(1).default(288),
      })
      .prefault({}),
    alerts: z
      .object({
        ...notificationConfigShape,
        /** Where people reach this Plumbline; alert links point here. Default: http://host:port. */
        externalUrl: z.url({ protocol: /^https?$/ }).optional(),
        /**
         * Links added to every alert, by name: URL templates with {traceId}, {spanId}, {ruleId},
         * {fingerprint}, {service}, {startsAtMs}, {endsAtMs}.
         */
        linkTemplates: linkTemplatesSchema.default({}),
        /** A notification still failing after this long is given up (failed). */
        maxAgeMs: z.coerce
          .number()
          .int()
          .min(1_000)
          .default(24 * 3_600_000),
        /** How often rate windows are computed and time-based transitions checked. */
        tickMs: z.coerce.number().int().min(50).default(10_000),
        /**
         * A rule that cannot do its job (a judge rule out of budget, rate limited, unreachable
         * or erring; a rule whose evaluations all hit rule problems) raises an
         * alert="rule_health" alert, checked every tick. Never a failure of an output.
         */
        ruleHealth: z
          .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
          .default(true),
      })
      .check(checkRouteChannels)
      .prefault({}),
    /**
     * The LLM judge of `judge` rules (docs/judge.md): any OpenAI-compatible chat-completions
     * endpoint. Without baseUrl, judge rules load and queue their outputs, but nothing is sent.
     */
    judge: z
      .object({
        /** The API base, e.g. https://api.openai.com/v1 (`/chat/completions` is appended). */
        baseUrl: z.url({ protocol: /^https?$/ }).optional(),
        /** Sent as `Authorization: Bearer …`; a secret, never printed. */
        apiKey: z.string().min(1).optional(),
        /** The model, unless a rule names its own; a rule with neither cannot be judged. */
        model: z.string().min(1).optional(),
        /** Calls in flight at once. */
        concurrency: z.coerce.number().int().min(1).max(256).default(4),
        /** Overall calls per minute, across every judge rule. */
        callsPerMinute: z.coerce.number().int().min(1).default(60),
        /** Overall tokens per UTC day (prompt and reply), across every judge rule. */
        tokensPerDay: z.coerce.number().int().min(1).default(2_000_000),
        /** A call that has not answered by then is retried later. */
        timeoutMs: z.coerce.number().int().min(10).default(30_000),
        /** max_tokens of each reply: a verdict is short. */
        maxTokens: z.coerce.number().int().min(16).default(300),
        /** How often the queue is looked at. */
        pollMs: z.coerce.number().int().min(10).default(1_000),
        /** Items taken from the queue per pass. */
        batch: z.coerce.number().int().min(1).max(10_000).default(100),
        /** First retry after 429, 5xx, a timeout or the network; doubled per attempt up to maxBackoffMs. */
        backoffMs: z.coerce.number().int().min(1).default(1_000),
        maxBackoffMs: z.coerce.number().int().min(1).default(300_000),
        /**
         * A prompt that reads the trace's tool results or the conversation waits this long after
         * its output arrived, for the rest of the trace (as evaluate.traceQuietMs for trace rules).
         */
        contextDelayMs: z.coerce.number().int().min(0).default(30_000),
        /** An output still not judged this long after it was queued is a judge_error. */
        giveUpAfterMs: z.coerce
          .number()
          .int()
          .min(1_000)
          .default(24 * 3_600_000),
      })
      .prefault({}),
    /** Plumbline's own OpenTelemetry: on only when the user sets the usual OTEL_* variables. */
    telemetry: z
      .object({
        enabled: z.boolean().default(false),
        /** The endpoint from OTEL_EXPORTER_OTLP(_TRACES)_ENDPOINT, to refuse exporting to ourselves. */
        endpoint: z.string().optional(),
      })
      .prefault({}),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
  })
  // The table source runs in the evaluate (or all) process: an ingest process reading a
  // collector's table would do nothing at all.
  .refine((config) => !(config.role === "ingest" && config.source === "table"), {
    path: ["source"],
    message:
      "role ingest with source table has nothing to do: the table source runs in the evaluate (or all) process",
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
