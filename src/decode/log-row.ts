/**
 * A DecodedLogRecord as an `otel_logs` row with exactly the values the OpenTelemetry Collector
 * contrib clickhouseexporter writes (exporter_logs.go pushLogsData), so dashboards and queries
 * built for it work unchanged.
 */

import type { OtelLogsRow } from "../store/tables/otel-logs.ts";
import { attrsToStrings, attrToString } from "./attr-string.ts";
import type { DecodedLogRecord } from "./log-record.ts";
import { exporterServiceName } from "./signal-decoding.ts";
import { nanosToDateTime64 } from "./span-row.ts";

/** Attributes as text, computed once per resource or scope (records share them). */
const attributeText = new WeakMap<object, Record<string, string>>();

/** Text of the attributes of a shared object (resource, scope), once per object. */
export function sharedAttributeText(owner: {
  attributes: DecodedLogRecord["attributes"];
}): Record<string, string> {
  let text = attributeText.get(owner);
  if (text === undefined) {
    text = attrsToStrings(owner.attributes);
    attributeText.set(owner, text);
  }
  return text;
}

/**
 * The `otel_logs` row of one record whose times are settled (signal-times.ts). Rows of one
 * resource or scope share their attribute objects; treat rows as read-only.
 */
export function toOtelLogsRow(record: DecodedLogRecord): OtelLogsRow {
  const { resource, scope } = record;
  return {
    Timestamp: nanosToDateTime64(record.timeUnixNano),
    TraceId: record.traceId,
    SpanId: record.spanId,
    // uint8(r.Flags()), uint8(r.SeverityNumber()): Go's conversions keep the low 8 bits.
    TraceFlags: record.flags & 0xff,
    SeverityText: record.severityText,
    SeverityNumber: record.severityNumber & 0xff,
    ServiceName: exporterServiceName(resource),
    Body: attrToString(record.body),
    ResourceSchemaUrl: resource.schemaUrl,
    ResourceAttributes: sharedAttributeText(resource),
    ScopeSchemaUrl: scope.schemaUrl,
    ScopeName: scope.name,
    ScopeVersion: scope.version,
    ScopeAttributes: sharedAttributeText(scope),
    LogAttributes: attrsToStrings(record.attributes),
    EventName: record.eventName,
  };
}
