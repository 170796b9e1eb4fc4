/**
 * Plumbline's own telemetry, through @opentelemetry/sdk-node. Off unless the user sets the
 * usual OTEL_* variables; the SDK reads them itself. Never exports to this very instance, which
 * would feed every flush back into itself forever.
 */

import { metrics, type Counter, type Histogram } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { Config } from "../config/index.ts";
import type { Logger } from "./log.ts";

export interface OwnTelemetry {
  shutdown(): Promise<void>;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "::", "[::]"]);

/** True when `endpoint` points at this instance's own OTLP ports. */
export function pointsAtSelf(
  endpoint: string,
  config: Pick<Config, "host" | "port" | "grpcPort">,
): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.toLowerCase();
  const local = LOCAL_HOSTS.has(host) || host === config.host.toLowerCase();
  return local && (port === config.port || port === config.grpcPort);
}

/** Starts the SDK when configured; returns a handle to flush it on shutdown. */
export function startOwnTelemetry(config: Config, log: Logger): OwnTelemetry {
  const { telemetry } = config;
  if (!telemetry.enabled) return { shutdown: async () => undefined };
  if (telemetry.endpoint !== undefined && pointsAtSelf(telemetry.endpoint, config)) {
    log.warn("own telemetry not started: OTEL_EXPORTER_OTLP_ENDPOINT points at this Plumbline", {
      endpoint: telemetry.endpoint,
    });
    return { shutdown: async () => undefined };
  }
  const sdk = new NodeSDK({ serviceName: "plumbline", instrumentations: [] });
  sdk.start();
  log.info("own telemetry started", { endpoint: telemetry.endpoint ?? "(SDK default)" });
  return { shutdown: () => sdk.shutdown() };
}

export interface IngestMetrics {
  spansReceived: Counter;
  spansRejected: Counter;
  outputs: Counter;
  requestsFailed: Counter;
  ingestDuration: Histogram;
}

/** Instruments on the global meter; no-ops until the SDK is started. */
export function ingestMetrics(): IngestMetrics {
  const meter = metrics.getMeter("plumbline");
  return {
    spansReceived: meter.createCounter("plumbline.ingest.spans", { description: "Spans received" }),
    spansRejected: meter.createCounter("plumbline.ingest.spans_rejected", {
      description: "Spans rejected as invalid (partial success)",
    }),
    outputs: meter.createCounter("plumbline.ingest.outputs", {
      description: "Agent outputs stored",
    }),
    requestsFailed: meter.createCounter("plumbline.ingest.requests_failed", {
      description: "Export requests answered with a retryable or internal error",
    }),
    ingestDuration: meter.createHistogram("plumbline.ingest.duration", {
      description: "Time from decoded request to committed rows",
      unit: "ms",
    }),
  };
}
