/**
 * The three OTLP signals as the receivers see them: where each is posted (OTLP/HTTP path,
 * OTLP/gRPC method), how a body is decoded and ingested, and how success is answered. The
 * HTTP and gRPC receivers apply one set of response rules to all of them.
 */

import { decodeJsonRequest } from "../decode/decode-json-request.ts";
import { decodeLogsJson } from "../decode/decode-logs-json.ts";
import { decodeLogsProtobuf } from "../decode/decode-logs-protobuf.ts";
import { decodeMetricsJson } from "../decode/decode-metrics-json.ts";
import { decodeMetricsProtobuf } from "../decode/decode-metrics-protobuf.ts";
import { decodeProtobufRequest } from "../decode/decode-protobuf-request.ts";
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
} from "../decode/encode-response.ts";
import {
  encodeSignalResponseJson,
  encodeSignalResponseProtobuf,
} from "../decode/encode-signal-response.ts";
import type { PlumblineError } from "../errors.ts";
import type { Ingest } from "./ingest.ts";
import type { LogsIngest } from "./ingest-logs.ts";
import type { MetricsIngest } from "./ingest-metrics.ts";

export type Encoding = "protobuf" | "json";

/** What became of one export request. */
export type ExportOutcome =
  | { kind: "invalid"; message: string }
  | { kind: "failed"; error: PlumblineError }
  | { kind: "stored"; rejected: number; errorMessage: string };

export interface OtlpSignal {
  name: "traces" | "logs" | "metrics";
  httpPath: string;
  grpcPath: string;
  /** Decodes one request body and ingests it; resolves once it is committed, or is not. */
  export(encoding: Encoding, body: Uint8Array): Promise<ExportOutcome>;
  /** The success (full or partial) response body. */
  response(encoding: Encoding, rejected: number, errorMessage: string): Uint8Array | string;
}

/** The ingest of each signal; a signal without one is not received. */
export interface SignalIngests {
  ingest: Ingest;
  ingestLogs?: LogsIngest | undefined;
  ingestMetrics?: MetricsIngest | undefined;
}

/** The signals the receivers answer for. */
export function otlpSignals(ingests: SignalIngests): OtlpSignal[] {
  const signals: OtlpSignal[] = [
    {
      name: "traces",
      httpPath: "/v1/traces",
      grpcPath: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
      async export(encoding, body) {
        const decoded =
          encoding === "protobuf" ? decodeProtobufRequest(body) : decodeJsonRequest(body);
        if (!decoded.ok) return { kind: "invalid", message: decoded.message };
        const result = await ingests.ingest(decoded.spans, decoded.rejected);
        return result.ok
          ? { kind: "stored", rejected: result.rejectedSpans, errorMessage: result.errorMessage }
          : { kind: "failed", error: result.error };
      },
      response: (encoding, rejected, errorMessage) =>
        encoding === "protobuf"
          ? encodeExportResponseProtobuf(rejected, errorMessage)
          : encodeExportResponseJson(rejected, errorMessage),
    },
  ];
  const { ingestLogs, ingestMetrics } = ingests;
  if (ingestLogs !== undefined) {
    signals.push({
      name: "logs",
      httpPath: "/v1/logs",
      grpcPath: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
      async export(encoding, body) {
        const decoded = encoding === "protobuf" ? decodeLogsProtobuf(body) : decodeLogsJson(body);
        if (!decoded.ok) return { kind: "invalid", message: decoded.message };
        return outcome(await ingestLogs(decoded.records, decoded.rejected));
      },
      response: (encoding, rejected, errorMessage) =>
        signalResponse("logs", encoding, rejected, errorMessage),
    });
  }
  if (ingestMetrics !== undefined) {
    signals.push({
      name: "metrics",
      httpPath: "/v1/metrics",
      grpcPath: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
      async export(encoding, body) {
        const decoded =
          encoding === "protobuf" ? decodeMetricsProtobuf(body) : decodeMetricsJson(body);
        if (!decoded.ok) return { kind: "invalid", message: decoded.message };
        return outcome(await ingestMetrics(decoded.points, decoded.rejected));
      },
      response: (encoding, rejected, errorMessage) =>
        signalResponse("metrics", encoding, rejected, errorMessage),
    });
  }
  return signals;
}

function outcome(result: Awaited<ReturnType<LogsIngest>>): ExportOutcome {
  return result.ok
    ? { kind: "stored", rejected: result.rejected, errorMessage: result.errorMessage }
    : { kind: "failed", error: result.error };
}

function signalResponse(
  signal: "logs" | "metrics",
  encoding: Encoding,
  rejected: number,
  errorMessage: string,
): Uint8Array | string {
  return encoding === "protobuf"
    ? encodeSignalResponseProtobuf(signal, rejected, errorMessage)
    : encodeSignalResponseJson(signal, rejected, errorMessage);
}
