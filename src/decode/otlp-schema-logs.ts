/**
 * The OTLP logs messages, defined into the root of otlp-schema.ts field by field after
 * opentelemetry-proto v1.7.0 (`collector/logs/v1/logs_service.proto`, `logs/v1/logs.proto`):
 * `LogRecord.event_name` is field 12 (added in v1.5.0; older senders leave it out).
 */

import { KEY_VALUE, message, otlpRoot } from "./otlp-schema.ts";
import type { PbAnyValue, PbKeyValue, PbLong } from "./otlp-schema.ts";

const SCOPE = "opentelemetry.proto.common.v1.InstrumentationScope";
const RESOURCE = "opentelemetry.proto.resource.v1.Resource";

// opentelemetry/proto/collector/logs/v1/logs_service.proto
otlpRoot.define("opentelemetry.proto.collector.logs.v1", {
  LogsService: {
    methods: {
      Export: {
        requestType: "ExportLogsServiceRequest",
        responseType: "ExportLogsServiceResponse",
      },
    },
  },
  ExportLogsServiceRequest: message({
    resourceLogs: [1, "opentelemetry.proto.logs.v1.ResourceLogs", "repeated"],
  }),
  ExportLogsServiceResponse: message({ partialSuccess: [1, "ExportLogsPartialSuccess"] }),
  ExportLogsPartialSuccess: message({
    rejectedLogRecords: [1, "int64"],
    errorMessage: [2, "string"],
  }),
});

// opentelemetry/proto/logs/v1/logs.proto
otlpRoot.define("opentelemetry.proto.logs.v1", {
  ResourceLogs: message(
    {
      resource: [1, RESOURCE],
      scopeLogs: [2, "ScopeLogs", "repeated"],
      schemaUrl: [3, "string"],
    },
    { reserved: [[1000, 1000]] },
  ),
  ScopeLogs: message({
    scope: [1, SCOPE],
    logRecords: [2, "LogRecord", "repeated"],
    schemaUrl: [3, "string"],
  }),
  // severity_number is read as int32, not as the SeverityNumber enum: a number outside the enum
  // is kept as it came (the exporter stores it as uint8).
  LogRecord: message(
    {
      timeUnixNano: [1, "fixed64"],
      observedTimeUnixNano: [11, "fixed64"],
      severityNumber: [2, "int32"],
      severityText: [3, "string"],
      body: [5, "opentelemetry.proto.common.v1.AnyValue"],
      attributes: [6, KEY_VALUE, "repeated"],
      droppedAttributesCount: [7, "uint32"],
      flags: [8, "fixed32"],
      traceId: [9, "bytes"],
      spanId: [10, "bytes"],
      eventName: [12, "string"],
    },
    { reserved: [[4, 4]] },
  ),
});
otlpRoot.resolveAll();

const logsService = "opentelemetry.proto.collector.logs.v1";

/** The logs export messages, for decoding requests and encoding replies. */
export const otlpLogsTypes = {
  exportLogsServiceRequest: otlpRoot.lookupType(`${logsService}.ExportLogsServiceRequest`),
  exportLogsServiceResponse: otlpRoot.lookupType(`${logsService}.ExportLogsServiceResponse`),
} as const;

/** Decoded `InstrumentationScope`, with what the logs and metrics tables keep of it. */
export interface PbInstrumentationScope {
  name: string;
  version: string;
  attributes: PbKeyValue[];
  droppedAttributesCount: number;
}

export interface PbResource {
  attributes: PbKeyValue[];
}

export interface PbLogRecord {
  timeUnixNano: PbLong;
  observedTimeUnixNano: PbLong;
  severityNumber: number;
  severityText: string;
  body: PbAnyValue | null;
  attributes: PbKeyValue[];
  flags: number;
  traceId: Uint8Array;
  spanId: Uint8Array;
  eventName: string;
}

export interface PbScopeLogs {
  scope: PbInstrumentationScope | null;
  logRecords: PbLogRecord[];
  schemaUrl: string;
}

export interface PbResourceLogs {
  resource: PbResource | null;
  scopeLogs: PbScopeLogs[];
  schemaUrl: string;
}

/** Decoded `ExportLogsServiceRequest`; absent repeated fields are empty arrays. */
export interface PbExportLogsServiceRequest {
  resourceLogs: PbResourceLogs[];
}
