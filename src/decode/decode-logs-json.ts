/**
 * OTLP/HTTP JSON logs export requests to DecodedLogRecord[], with the proto3 JSON readers of
 * the trace decoder (decode-json-request.ts): hex ids, lowerCamelCase or proto field names,
 * enums as numbers or names. A record with a malformed id is rejected on its own; a body that
 * is not JSON, or not shaped like an ExportLogsServiceRequest, is one failure naming the path.
 */

import {
  array,
  enumValue,
  field,
  hexId,
  type Json,
  jsonAnyValue,
  jsonAttributes,
  JsonShapeError,
  join,
  object,
  string,
  uint64,
} from "./decode-json-request.ts";
import { ZERO_SPAN_ID, ZERO_TRACE_ID } from "./decode-result.ts";
import type { DecodedLogRecord, LogsDecodeResult } from "./log-record.ts";
import { optionalIdProblem } from "./signal-decoding.ts";
import type { RejectedRecord } from "./signal-decoding.ts";
import { jsonResource, jsonScope, parseJson, uint32 } from "./signal-json.ts";

/** logs.proto `SeverityNumber` by name: TRACE = 1, TRACE2 = 2, …, DEBUG = 5, …, FATAL4 = 24. */
const SEVERITY_BY_NAME = new Map<string, number>([
  ["SEVERITY_NUMBER_UNSPECIFIED", 0],
  ...["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"].flatMap((level, l) =>
    [1, 2, 3, 4].map((step): [string, number] => [
      `SEVERITY_NUMBER_${level}${step === 1 ? "" : step}`,
      l * 4 + step,
    ]),
  ),
]);

/** Decodes an OTLP/JSON `ExportLogsServiceRequest` (UTF-8 bytes or text). */
export function decodeLogsJson(body: Uint8Array | string): LogsDecodeResult {
  const parsed = parseJson(body, "ExportLogsServiceRequest");
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, ...jsonLogsRequest(parsed.request) };
  } catch (error) {
    if (error instanceof JsonShapeError)
      return { ok: false, message: `not an OTLP ExportLogsServiceRequest: ${error.message}` };
    throw error;
  }
}

function jsonLogsRequest(request: Json): {
  records: DecodedLogRecord[];
  rejected: RejectedRecord[];
} {
  const out = { records: [] as DecodedLogRecord[], rejected: [] as RejectedRecord[] };
  array(request, "resourceLogs", "").forEach((rlValue, i) => {
    const rlPath = `resourceLogs[${i}]`;
    const rl = object(rlValue, rlPath);
    const resource = jsonResource(rl, rlPath);
    array(rl, "scopeLogs", rlPath).forEach((slValue, j) => {
      const slPath = `${rlPath}.scopeLogs[${j}]`;
      const sl = object(slValue, slPath);
      const scope = jsonScope(sl, slPath);
      array(sl, "logRecords", slPath).forEach((recordValue, k) => {
        const path = `${slPath}.logRecords[${k}]`;
        const r = object(recordValue, path);
        const traceId = hexId(field(r, "traceId"));
        const spanId = hexId(field(r, "spanId"));
        const reason =
          optionalIdProblem("traceId", traceId, 16) || optionalIdProblem("spanId", spanId, 8);
        if (reason !== "" || traceId === null || spanId === null) {
          out.rejected.push({ path, serviceName: resource.serviceName, reason });
          return;
        }
        out.records.push({
          resource,
          scope,
          timeUnixNano: uint64(r, "timeUnixNano", path),
          observedTimeUnixNano: uint64(r, "observedTimeUnixNano", path),
          severityNumber: enumValue(r, "severityNumber", SEVERITY_BY_NAME, path),
          severityText: string(r, "severityText", path),
          body: jsonAnyValue(field(r, "body"), 1, join(path, "body")),
          attributes: jsonAttributes(r, "attributes", path, 1),
          traceId: traceId === ZERO_TRACE_ID ? "" : traceId,
          spanId: spanId === ZERO_SPAN_ID ? "" : spanId,
          flags: uint32(r, "flags", path),
          eventName: string(r, "eventName", path),
          path,
        });
      });
    });
  });
  return out;
}
