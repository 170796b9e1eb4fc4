/**
 * Replies to an OTLP logs or metrics export: `ExportLogsServiceResponse` and
 * `ExportMetricsServiceResponse`, full or partial success, in protobuf and in OTLP/JSON (the
 * OTLP spec, "Full Success", "Partial Success"). Failures are the same google.rpc.Status for
 * every signal (encode-response.ts).
 */

import { otlpLogsTypes } from "./otlp-schema-logs.ts";
import { otlpMetricsTypes } from "./otlp-schema-metrics.ts";

/** Each signal's response message and the name of its rejected count. */
const RESPONSES = {
  logs: { type: otlpLogsTypes.exportLogsServiceResponse, rejected: "rejectedLogRecords" },
  metrics: { type: otlpMetricsTypes.exportMetricsServiceResponse, rejected: "rejectedDataPoints" },
} as const;

export type Signal = keyof typeof RESPONSES;

/**
 * The export response bytes. Empty (full success) when nothing was rejected and there is no
 * message; otherwise `partial_success` with the count and the message.
 */
export function encodeSignalResponseProtobuf(
  signal: Signal,
  rejected: number,
  errorMessage: string,
): Uint8Array {
  const { type, rejected: name } = RESPONSES[signal];
  const partialSuccess: Record<string, number | string> = {};
  if (rejected !== 0) partialSuccess[name] = rejected;
  if (errorMessage !== "") partialSuccess["errorMessage"] = errorMessage;
  const response = Object.keys(partialSuccess).length === 0 ? {} : { partialSuccess };
  return type.encode(response).finish();
}

/** OTLP/JSON export response: `{}`, or `partialSuccess` with the int64 count as a string. */
export function encodeSignalResponseJson(
  signal: Signal,
  rejected: number,
  errorMessage: string,
): string {
  if (rejected === 0 && errorMessage === "") return "{}";
  const name = RESPONSES[signal].rejected;
  return JSON.stringify({ partialSuccess: { [name]: String(rejected), errorMessage } });
}
