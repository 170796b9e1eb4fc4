/**
 * OTLP/HTTP protobuf and OTLP/gRPC logs export requests to DecodedLogRecord[]. A record with a
 * malformed trace or span id is rejected on its own (the response's partial success counts it);
 * a body that cannot be read at all is one failure.
 */

import { hex, pbAttributes, pbValue, toUint64 } from "./decode-protobuf-request.ts";
import { ZERO_SPAN_ID, ZERO_TRACE_ID } from "./decode-result.ts";
import type { DecodedLogRecord, LogsDecodeResult } from "./log-record.ts";
import { otlpLogsTypes } from "./otlp-schema-logs.ts";
import type { PbExportLogsServiceRequest } from "./otlp-schema-logs.ts";
import { optionalIdProblem } from "./signal-decoding.ts";
import type { RejectedRecord } from "./signal-decoding.ts";
import { decodeProtobufBody, pbResource, pbScope } from "./signal-protobuf.ts";

/** Decodes a binary protobuf `ExportLogsServiceRequest` (OTLP/HTTP protobuf and OTLP/gRPC). */
export function decodeLogsProtobuf(body: Uint8Array): LogsDecodeResult {
  const decoded = decodeProtobufBody<PbExportLogsServiceRequest>(
    body,
    otlpLogsTypes.exportLogsServiceRequest,
  );
  if (!decoded.ok) return decoded;
  const out = { records: [] as DecodedLogRecord[], rejected: [] as RejectedRecord[] };
  for (const [i, rl] of decoded.request.resourceLogs.entries()) {
    const resource = pbResource(rl.resource, rl.schemaUrl);
    for (const [j, sl] of rl.scopeLogs.entries()) {
      const scope = pbScope(sl.scope, sl.schemaUrl);
      for (const [k, r] of sl.logRecords.entries()) {
        const path = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        const traceId = hex(r.traceId);
        const spanId = hex(r.spanId);
        const reason =
          optionalIdProblem("traceId", traceId, 16) || optionalIdProblem("spanId", spanId, 8);
        if (reason !== "") {
          out.rejected.push({ path, serviceName: resource.serviceName, reason });
          continue;
        }
        out.records.push({
          resource,
          scope,
          timeUnixNano: toUint64(r.timeUnixNano),
          observedTimeUnixNano: toUint64(r.observedTimeUnixNano),
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          body: pbValue(r.body, 1),
          attributes: pbAttributes(r.attributes, 1),
          // All-zero ids mean "none" (the exporter's TraceIDToHexOrEmptyString).
          traceId: traceId === ZERO_TRACE_ID ? "" : traceId,
          spanId: spanId === ZERO_SPAN_ID ? "" : spanId,
          flags: r.flags >>> 0,
          eventName: r.eventName,
          path,
        });
      }
    }
  }
  return { ok: true, ...out };
}
