/**
 * OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, and
 * `logs.v1.LogsService/Export` and `metrics.v1.MetricsService/Export` of the same package tree.
 * Status codes after the OTLP specification ("OTLP/gRPC Response"): INVALID_ARGUMENT for bad
 * data (not retryable), UNAVAILABLE while the store is failing and RESOURCE_EXHAUSTED when the
 * queue is full, both with google.rpc.RetryInfo so that clients retry and know when.
 * gzip request compression is handled by grpc-js, which also enforces the size limit after
 * decompression.
 */

import * as grpc from "@grpc/grpc-js";
import { encodeStatusProtobuf } from "../decode/encode-response.ts";
import { keyChecker, presentedKey } from "./auth.ts";
import { otlpSignals, type OtlpSignal, type SignalIngests } from "./otlp-signals.ts";

/** Logs and metrics are received when their ingest is given (the service always gives it). */
export interface OtlpGrpcOptions extends SignalIngests {
  maxBodyBytes: number;
  ingestKeys: readonly string[];
}

const identity = (bytes: Buffer) => bytes;

// Raw bytes both ways: decoding happens in the handler, so a bad body is INVALID_ARGUMENT with
// our message rather than a generic deserialisation failure.
function exportService(path: string): grpc.ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export interface GrpcReceiver {
  port: number;
  /** Stops accepting calls and waits for those under way. */
  close(): Promise<void>;
}

/** Starts the gRPC server on host:port (port 0 picks a free one). */
export async function startOtlpGrpc(
  options: OtlpGrpcOptions,
  host: string,
  port: number,
): Promise<GrpcReceiver> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxBodyBytes,
  });
  const isValidKey = options.ingestKeys.length > 0 ? keyChecker(options.ingestKeys) : undefined;

  const exportHandler =
    (signal: OtlpSignal): grpc.handleUnaryCall<Buffer, Buffer> =>
    (call, callback) => {
      if (isValidKey !== undefined) {
        const key = presentedKey((h) => {
          const value = call.metadata.get(h)[0];
          return typeof value === "string" ? value : undefined;
        });
        if (!isValidKey(key)) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: "missing or invalid ingest key" });
          return;
        }
      }
      signal.export("protobuf", call.request).then(
        (outcome) => {
          if (outcome.kind === "invalid") {
            callback({ code: grpc.status.INVALID_ARGUMENT, details: outcome.message });
            return;
          }
          if (outcome.kind === "stored") {
            const reply = signal.response("protobuf", outcome.rejected, outcome.errorMessage);
            callback(null, Buffer.from(reply as Uint8Array));
            return;
          }
          const { error } = outcome;
          const code =
            error.httpStatus === 429
              ? grpc.status.RESOURCE_EXHAUSTED
              : error.httpStatus === 503
                ? grpc.status.UNAVAILABLE
                : grpc.status.INTERNAL;
          const metadata = new grpc.Metadata();
          if (error.retryable && error.retryAfterMs !== undefined) {
            metadata.set(
              "grpc-status-details-bin",
              Buffer.from(encodeStatusProtobuf(code, error.message, error.retryAfterMs)),
            );
          }
          callback({ code, details: error.message, metadata });
        },
        (error: unknown) => {
          callback({ code: grpc.status.INTERNAL, details: String(error) });
        },
      );
    };

  for (const signal of otlpSignals(options)) {
    server.addService(exportService(signal.grpcPath), { Export: exportHandler(signal) });
  }
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    );
  });
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
