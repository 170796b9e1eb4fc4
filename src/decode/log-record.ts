/**
 * The decoded form of one OTLP log record, independent of the wire encoding (protobuf or JSON).
 * Field meanings follow opentelemetry-proto `logs/v1/logs.proto`. The body stays structured
 * (an AttrValue, not its text), so GenAI events (`gen_ai.user.message`, `gen_ai.choice`, …) can
 * be read as values; the `otel_logs` row (log-row.ts) holds its exporter text.
 */

import type {
  DecodedSignalResource,
  DecodedSignalScope,
  RejectedRecord,
} from "./signal-decoding.ts";
import type { AttrMap, AttrValue } from "./span.ts";

/** One log record with its resource and scope attached (shared objects, do not mutate). */
export interface DecodedLogRecord {
  resource: DecodedSignalResource;
  scope: DecodedSignalScope;
  /** When the event happened, Unix ns; 0 when unknown (the ingest settles it, signal-times.ts). */
  timeUnixNano: bigint;
  /** When it was observed by the collection system, Unix ns; 0 when unknown. */
  observedTimeUnixNano: bigint;
  /** A SeverityNumber (1–24; 0 unspecified); other numbers are kept as they came. */
  severityNumber: number;
  severityText: string;
  /** The body as a value: a string for a plain log line, a map for a structured event. */
  body: AttrValue;
  attributes: AttrMap;
  /** Lowercase hex, 32 characters, or "" (no trace, or all zero). */
  traceId: string;
  /** Lowercase hex, 16 characters, or "" (no span, or all zero). */
  spanId: string;
  /** LogRecordFlags: the W3C trace flags in the low 8 bits. */
  flags: number;
  /** The event's name (LogRecord.event_name), "" for a plain log record. */
  eventName: string;
  /** Where it was in its request, e.g. "resourceLogs[0].scopeLogs[1].logRecords[3]". */
  path: string;
}

/**
 * A decoded logs request: the records kept and those rejected one by one (the response's
 * partial success counts them), or one failure for a body that cannot be read at all.
 */
export type LogsDecodeResult =
  | { ok: true; records: DecodedLogRecord[]; rejected: RejectedRecord[] }
  | { ok: false; message: string };
