/**
 * Replies to an OTLP trace export: the `ExportTraceServiceResponse` (full or partial success) and
 * the `google.rpc.Status` of a failure, in protobuf and in OTLP/JSON. See the OTLP spec, "Full
 * Success", "Partial Success" and "Failures" (OTLP/HTTP bodies, OTLP/gRPC status details).
 */

import { otlpTypes } from "./otlp-schema.ts";

/** The Any type URL of a `google.rpc.RetryInfo` detail. */
export const RETRY_INFO_TYPE_URL = "type.googleapis.com/google.rpc.RetryInfo";

/**
 * `ExportTraceServiceResponse` bytes. Empty (full success) when nothing was rejected and there
 * is no message; otherwise `partial_success` with the count and the message.
 */
export function encodeExportResponseProtobuf(rejected: number, errorMessage: string): Uint8Array {
  const partialSuccess: Record<string, number | string> = {};
  if (rejected !== 0) partialSuccess["rejectedSpans"] = rejected;
  if (errorMessage !== "") partialSuccess["errorMessage"] = errorMessage;
  const response = Object.keys(partialSuccess).length === 0 ? {} : { partialSuccess };
  return otlpTypes.exportTraceServiceResponse.encode(response).finish();
}

/** OTLP/JSON `ExportTraceServiceResponse`: `{}`, or `partialSuccess` with int64 as a string. */
export function encodeExportResponseJson(rejected: number, errorMessage: string): string {
  if (rejected === 0 && errorMessage === "") return "{}";
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage } });
}

/**
 * `google.rpc.Status` bytes: the OTLP/HTTP failure body, and the gRPC `grpc-status-details-bin`
 * trailer. With `retryDelayMs`, details hold one `google.rpc.RetryInfo`, which OTLP clients
 * honour as the wait before retrying (OTLP spec, "Throttling").
 */
export function encodeStatusProtobuf(
  code: number,
  message: string,
  retryDelayMs?: number,
): Uint8Array {
  const details =
    retryDelayMs === undefined
      ? []
      : [{ typeUrl: RETRY_INFO_TYPE_URL, value: encodeRetryInfo(retryDelayMs) }];
  return otlpTypes.rpcStatus.encode({ code, message, details }).finish();
}

/** OTLP/JSON `google.rpc.Status`; a RetryInfo detail is an Any with "@type" (proto3 JSON). */
export function encodeStatusJson(code: number, message: string, retryDelayMs?: number): string {
  if (retryDelayMs === undefined) return JSON.stringify({ code, message });
  const { seconds, nanos } = toDuration(retryDelayMs);
  const details = [{ "@type": RETRY_INFO_TYPE_URL, retryDelay: durationJson(seconds, nanos) }];
  return JSON.stringify({ code, message, details });
}

/** `google.rpc.RetryInfo` bytes for a delay in milliseconds (negative or NaN counts as 0). */
export function encodeRetryInfo(retryDelayMs: number): Uint8Array {
  return otlpTypes.retryInfo.encode({ retryDelay: toDuration(retryDelayMs) }).finish();
}

/** A `google.protobuf.Duration` from milliseconds, to the nanosecond. */
function toDuration(ms: number): { seconds: number; nanos: number } {
  const totalNanos = Number.isFinite(ms) && ms > 0 ? Math.round(ms * 1e6) : 0;
  return { seconds: Math.floor(totalNanos / 1e9), nanos: totalNanos % 1e9 };
}

/** proto3 JSON Duration: seconds with 0, 3, 6 or 9 fraction digits and an "s" suffix. */
function durationJson(seconds: number, nanos: number): string {
  if (nanos === 0) return `${seconds}s`;
  const digits = nanos % 1e6 === 0 ? 3 : nanos % 1e3 === 0 ? 6 : 9;
  return `${seconds}.${String(nanos).padStart(9, "0").slice(0, digits)}s`;
}
