/**
 * The composition root: opens the store, wires receive → decode → store, starts the HTTP and
 * gRPC listeners, and shuts down in order (stop accepting, flush what was acknowledged, close).
 */

import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createApp } from "../api/app.ts";
import type { Config } from "../config/index.ts";
import type { Logger } from "./log.ts";
import { createIngest, type CommittedListener, type Ingest } from "../receive/ingest.ts";
import { createLogsIngest } from "../receive/ingest-logs.ts";
import { createMetricsIngest } from "../receive/ingest-metrics.ts";
import { startOtlpGrpc, type GrpcReceiver } from "../receive/otlp-grpc.ts";
import { createGroupCommitter } from "../store/group-commit.ts";
import { createClickHouseClient } from "../store/client.ts";
import { ensureSchema } from "../store/ensure-schema.ts";
import { tableNames } from "../store/migrations.ts";
import { ruleHealthOf, startAlerting, type Alerting } from "./alerting.ts";
import type { AlertsApiDeps } from "../api/alerts-routes.ts";
import { startEvaluation, type Evaluation } from "./evaluation.ts";
import { createTableSource, TABLE_SOURCE_DEFAULTS } from "../receive/table-source.ts";
import { newSpansOfMinutes, spanCountsPerMinute } from "../receive/table-source-queries.ts";
import { createStatsRecorder } from "../store/stats-recorder.ts";
import { createStore, type Store } from "../store/store.ts";
import { storeUnavailable } from "../errors.ts";
import { isPending, type AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { ingestMetrics, startOwnTelemetry } from "./telemetry.ts";

const STATS_INTERVAL_MS = 5_000;

export interface RunningService {
  httpPort: number;
  grpcPort: number;
  store: Store;
  /** Writes the ingest counters summed so far (they are otherwise written every few seconds). */
  flushStats(): Promise<void>;
  /** Finishes evaluating what was ingested and writes the findings. */
  flushEvaluations(): Promise<void>;
  /** Evaluates the window rules (rate, drift) that are due now. */
  evaluateWindows(): Promise<void>;
  /** Table source mode: reads new spans from the span table now; resolves with new outputs. */
  readTableSource(): Promise<number>;
  /** Stops accepting, writes everything acknowledged, closes the store. Idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Called after each request's rows are committed. */
  onCommitted?: CommittedListener[];
}

export async function startService(
  config: Config,
  log: Logger,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const telemetry = startOwnTelemetry(config, log);
  const { clickhouse } = config;
  const client = createClickHouseClient({ dataDir: config.dataDir, ...clickhouse });
  const store = createStore(
    client,
    tableNames(clickhouse.database, clickhouse.tracesTable, {
      logsTable: clickhouse.logsTable,
      metricsTable: clickhouse.metricsTable,
    }),
  );
  const schema = await ensureSchema(
    store,
    { tables: store.tables, retentionDays: clickhouse.retentionDays, cluster: clickhouse.cluster },
    (error) => log.warn("store not reachable yet; retrying", { error: String(error) }),
  ).catch(async (error: unknown) => {
    await client.close().catch(() => undefined);
    throw error;
  });
  const committer = createGroupCommitter(
    {
      write: async (batch) => {
        const started = performance.now();
        await store.write(batch);
        log.debug("flushed", {
          spans: batch.traces.length + (batch.encoded?.traces.rows ?? 0),
          outputs: batch.outputs.length + (batch.encoded?.outputs.rows ?? 0),
          ms: Math.round(performance.now() - started),
        });
      },
      ping: async () => schema.ready() && (await store.ping()).ok,
      probeWrite: async () => {
        await store.probeWrite();
        return true;
      },
    },
    config.ingest,
  );
  if (!schema.ready()) committer.markFailing("store unreachable; schema not yet created");
  const stats = createStatsRecorder(
    (rows) => store.writeStats(rows),
    STATS_INTERVAL_MS,
    (error) =>
      log.warn("could not write ingest stats; keeping them for the next try", {
        error: String(error),
      }),
  );
  // role: all does everything; ingest only receives and stores; evaluate receives nothing.
  const evaluating = config.role !== "ingest";
  const receiving = config.role !== "evaluate";
  const evaluation = evaluating ? startEvaluation(config, store, log) : undefined;
  // The alerts API needs the HTTP port for its links, so it is filled in once the server listens.
  const alertsApi: { current?: AlertsApiDeps } = {};
  const listeners: CommittedListener[] = [
    ...(evaluation === undefined
      ? []
      : [
          // Outputs still pending are evaluated once their trace is quiet, completed.
          (outputs: AgentOutputRow[]) =>
            evaluation.engine.onCommitted(outputs.filter((o) => !isPending(o))),
          (outputs: AgentOutputRow[]) => evaluation.noteCommitted(outputs),
        ]),
    ...(options.onCommitted ?? []),
  ];
  const ingest = withMetrics(
    createIngest(committer, stats, {
      listeners,
      retentionDays: config.clickhouse.retentionDays,
      conversationAttributes: config.ingest.conversationAttributes,
    }),
  );
  const tableSource =
    config.source === "table"
      ? createTableSource({
          store: {
            spanCountsPerMinute: (from, to) => spanCountsPerMinute(store, from, to),
            newSpansOfMinutes: (minutes) => newSpansOfMinutes(store, minutes),
            writeOutputs: (outputs) => store.write({ traces: [], outputs }),
          },
          listeners,
          conversationAttributes: config.ingest.conversationAttributes,
          stats: (rows) => stats.add(rows),
          ...TABLE_SOURCE_DEFAULTS,
          onError: (error) =>
            log.warn("reading new spans from the table failed; retrying", { error: String(error) }),
        })
      : undefined;
  // Logs and metrics are stored as they come; GenAI log records join their span's output when
  // its trace is quiet (receive/complete-pending.ts), read back from the logs table.
  const signalOptions = { retentionDays: config.clickhouse.retentionDays };
  const receiverOptions = {
    ingest,
    ingestLogs: createLogsIngest(committer, signalOptions),
    ingestMetrics: createMetricsIngest(committer, signalOptions),
    maxBodyBytes: config.ingest.maxBodyBytes,
    ingestKeys: config.ingestKeys,
  };
  const app = createApp({
    ...receiverOptions,
    store,
    committer,
    stats,
    apiKey: config.apiKey,
    receiveOtlp: receiving,
    ...(evaluation !== undefined && {
      rules: evaluation.api,
      alerts: lateAlertsApi(alertsApi),
    }),
  });

  const http = await listen(app.fetch, config.host, config.port);
  let grpc: GrpcReceiver | undefined;
  if (config.grpcPort !== 0 && receiving) {
    grpc = await startOtlpGrpc(receiverOptions, grpcHost(config.host), config.grpcPort);
  }
  const httpPort = (http.address() as AddressInfo).port;
  const localHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  // Alert state lives in the store: alerting starts once the schema is there (at once, unless
  // the store was unreachable at start).
  let alerting: Alerting | undefined;
  const startAlertingFor = async (evaluation: Evaluation) => {
    const started = await startAlerting(
      config,
      store,
      () => evaluation.rules(),
      log,
      config.alerts.externalUrl ??
        `http://${localHost.includes(":") ? `[${localHost}]` : localHost}:${httpPort}`,
      () => ruleHealthOf(evaluation.api.activity()),
    );
    alerting = started;
    evaluation.listen((results, evaluations) => started.manager.onEvaluated(results, evaluations));
    evaluation.listenWindows((row) => started.manager.onWindowResult(row));
    alertsApi.current = started.api;
  };
  const alertingStarted = schema.done.then(async () => {
    if (evaluation === undefined) return;
    tableSource?.start();
    await startAlertingFor(evaluation);
    // Not awaited: start-up does not wait for a catch-up evaluation.
    evaluation.recoverOutputs().catch((error: unknown) =>
      log.error("could not evaluate again what a crash left unevaluated", {
        error: String(error),
      }),
    );
  });
  alertingStarted.catch((error: unknown) =>
    log.error("alerting did not start", { error: String(error) }),
  );
  if (schema.ready()) await alertingStarted;
  log.info("plumbline listening", {
    otlpHttp: `http://${config.host}:${httpPort}`,
    otlpGrpc: grpc ? `${config.host}:${grpc.port}` : "off",
    storage: config.clickhouse.url ?? `embedded (${config.dataDir})`,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop accepting first; requests already in progress still get their answer.
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections?.();
      schema.stop();
      await Promise.all([grpc?.close(), committer.close()]);
      await tableSource?.stop();
      await stats.close();
      await evaluation?.close();
      await alerting?.close();
      await httpClosed;
      await store.close();
      await telemetry.shutdown().catch(() => undefined);
    })());

  return {
    httpPort,
    grpcPort: grpc?.port ?? 0,
    store,
    flushStats: () => stats.flush(),
    flushEvaluations: async () => {
      await evaluation?.flush();
    },
    evaluateWindows: async () => {
      await evaluation?.evaluateWindows();
    },
    readTableSource: async () => (await tableSource?.readNow()) ?? 0,
    close,
  };
}

/** The alerts API, answering 503 until alerting has started. */
function lateAlertsApi(holder: { current?: AlertsApiDeps }): AlertsApiDeps {
  const get = (): AlertsApiDeps => {
    if (holder.current === undefined) throw storeUnavailable("alerting is starting", 1_000);
    return holder.current;
  };
  return {
    alerts: (state) => get().alerts(state),
    alert: (fingerprint) => get().alert(fingerprint),
    channels: () => get().channels(),
    testChannel: (name) => get().testChannel(name),
    silences: () => get().silences(),
    addSilence: (silence) => get().addSilence(silence),
    deleteSilence: (id) => get().deleteSilence(id),
    newId: () => get().newId(),
  };
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  hostname: string,
  port: number,
) {
  return new Promise<ServerType & { closeIdleConnections?: () => void }>((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}

// gRPC wants brackets around IPv6 literals.
function grpcHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function withMetrics(ingest: Ingest): Ingest {
  const m = ingestMetrics();
  return async (spans, rejected) => {
    const started = performance.now();
    const result = await ingest(spans, rejected);
    m.ingestDuration.record(performance.now() - started);
    m.spansReceived.add(spans.length + rejected.length);
    if (rejected.length > 0) m.spansRejected.add(rejected.length);
    if (!result.ok) m.requestsFailed.add(1, { code: result.error.code });
    return result;
  };
}
