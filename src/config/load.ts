/**
 * Resolves the configuration once, at start: defaults, overridden by the config file
 * (`plumbline.config.json`, or the path in PLUMBLINE_CONFIG), overridden by environment
 * variables. Environment wins so that one file can serve several deployments.
 */

import { readFileSync, existsSync } from "node:fs";
import { maskChannels } from "../alert/channels/mask-channels.ts";
import { configSchema, type Config } from "./schema.ts";

/** Environment variable → config path. The only place that names them. */
export const ENV_KEYS: Record<string, string> = {
  PLUMBLINE_DATA_DIR: "dataDir",
  PLUMBLINE_HOST: "host",
  PLUMBLINE_PORT: "port",
  PLUMBLINE_GRPC_PORT: "grpcPort",
  PLUMBLINE_CLICKHOUSE_URL: "clickhouse.url",
  PLUMBLINE_CLICKHOUSE_USER: "clickhouse.user",
  PLUMBLINE_CLICKHOUSE_PASSWORD: "clickhouse.password",
  PLUMBLINE_CLICKHOUSE_DATABASE: "clickhouse.database",
  PLUMBLINE_TRACES_TABLE: "clickhouse.tracesTable",
  PLUMBLINE_LOGS_TABLE: "clickhouse.logsTable",
  PLUMBLINE_METRICS_TABLE: "clickhouse.metricsTable",
  PLUMBLINE_RETENTION_DAYS: "clickhouse.retentionDays",
  PLUMBLINE_CLICKHOUSE_CLUSTER: "clickhouse.cluster",
  PLUMBLINE_SOURCE: "source",
  PLUMBLINE_ROLE: "role",
  PLUMBLINE_RULES_DIR: "rulesDir",
  PLUMBLINE_INGEST_KEYS: "ingestKeys",
  PLUMBLINE_API_KEY: "apiKey",
  PLUMBLINE_MAX_BODY_BYTES: "ingest.maxBodyBytes",
  PLUMBLINE_FLUSH_INTERVAL_MS: "ingest.flushIntervalMs",
  PLUMBLINE_FLUSH_MAX_SPANS: "ingest.flushMaxSpans",
  PLUMBLINE_MAX_QUEUED_SPANS: "ingest.maxQueuedSpans",
  PLUMBLINE_CONVERSATION_ATTRIBUTES: "ingest.conversationAttributes",
  PLUMBLINE_LOG_LEVEL: "logLevel",
  PLUMBLINE_BUILTIN_RULES: "evaluate.builtinRules",
  PLUMBLINE_RULES_POLL_MS: "evaluate.rulesPollMs",
  PLUMBLINE_TRACE_QUIET_MS: "evaluate.traceQuietMs",
  PLUMBLINE_TRACE_INTERVAL_MS: "evaluate.traceIntervalMs",
  PLUMBLINE_CONVERSATION_QUIET_MS: "evaluate.conversationQuietMs",
  PLUMBLINE_RESULTS_FLUSH_MS: "evaluate.resultsFlushMs",
  PLUMBLINE_WINDOW_TICK_MS: "evaluate.windowTickMs",
  PLUMBLINE_WINDOW_SETTLE_MS: "evaluate.windowSettleMs",
  PLUMBLINE_WINDOW_MAX_CATCH_UP: "evaluate.windowMaxCatchUp",
  PLUMBLINE_EXTERNAL_URL: "alerts.externalUrl",
  PLUMBLINE_ALERT_TICK_MS: "alerts.tickMs",
  PLUMBLINE_ALERT_RULE_HEALTH: "alerts.ruleHealth",
  PLUMBLINE_JUDGE_BASE_URL: "judge.baseUrl",
  PLUMBLINE_JUDGE_API_KEY: "judge.apiKey",
  PLUMBLINE_JUDGE_MODEL: "judge.model",
  PLUMBLINE_JUDGE_CONCURRENCY: "judge.concurrency",
  PLUMBLINE_JUDGE_CALLS_PER_MINUTE: "judge.callsPerMinute",
  PLUMBLINE_JUDGE_TOKENS_PER_DAY: "judge.tokensPerDay",
  PLUMBLINE_JUDGE_TIMEOUT_MS: "judge.timeoutMs",
};

/** Paths whose values are never printed. */
export const SECRET_PATHS = ["clickhouse.password", "ingestKeys", "apiKey", "judge.apiKey"];

export const DEFAULT_CONFIG_FILE = "plumbline.config.json";

/** A configuration that could not be resolved; the message names each bad key and value. */
export class ConfigError extends Error {
  readonly code = "config_invalid";
}

type Env = Record<string, string | undefined>;

/** Reads file and environment and returns the validated config, or throws ConfigError. */
export function loadConfig(env: Env, cwd = process.cwd()): Config {
  const explicitFile = env["PLUMBLINE_CONFIG"];
  const filePath = explicitFile ?? `${cwd}/${DEFAULT_CONFIG_FILE}`;
  const fromFile = explicitFile || existsSync(filePath) ? readConfigFile(filePath) : {};
  const sources = new Map<string, string>();
  for (const path of leafPaths(fromFile)) sources.set(path, `${filePath}: ${path}`);

  const merged = structuredClone(fromFile);
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    setPath(merged, path, value);
    sources.set(path, name);
  }
  setPath(merged, "telemetry", ownTelemetryFromEnv(env));

  const parsed = configSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.join(".");
    const source = sources.get(path) ?? path;
    const secret =
      SECRET_PATHS.includes(path) || /^alerts\.channels\.[^.]+\.(secret|headers|url)/.test(path);
    const value = secret ? "***" : JSON.stringify(getPath(merged, path));
    return `${source}=${value}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
}

/** The config with secrets replaced by "***", for printing. */
export function maskSecrets(config: Config): unknown {
  const copy = structuredClone(config) as Record<string, unknown>;
  (copy["alerts"] as Record<string, unknown>)["channels"] = maskChannels(config.alerts.channels);
  for (const path of SECRET_PATHS) {
    const value = getPath(copy, path);
    if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0))
      continue;
    setPath(copy, path, Array.isArray(value) ? value.map(() => "***") : "***");
  }
  return copy;
}

function ownTelemetryFromEnv(env: Env): { enabled: boolean; endpoint?: string } {
  // The OTel SDK reads its own OTEL_* variables; we only decide whether to start it at all.
  if (env["OTEL_SDK_DISABLED"] === "true") return { enabled: false };
  const endpoint =
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_ENDPOINT"] || undefined;
  const exporter = env["OTEL_TRACES_EXPORTER"];
  const enabled = endpoint !== undefined || (exporter !== undefined && exporter !== "none");
  return endpoint === undefined ? { enabled } : { enabled, endpoint };
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function leafPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

function getPath(target: unknown, path: string): unknown {
  let node = target;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}
