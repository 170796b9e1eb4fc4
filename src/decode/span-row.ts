/**
 * A DecodedSpan as an `otel_traces` row with exactly the values the OpenTelemetry Collector
 * contrib clickhouseexporter writes, so dashboards and queries built for it work unchanged.
 */

import type { OtelTracesRow } from "../store/tables/otel-traces.ts";
import { attrsToStrings } from "./attr-string.ts";
import type { DecodedResource, DecodedSpan } from "./span.ts";

/** pdata `ptrace.SpanKind.String()`; numbers it does not know give "". */
const SPAN_KIND_NAMES = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];

/** pdata `ptrace.StatusCode.String()`; numbers it does not know give "". */
const STATUS_CODE_NAMES = ["Unset", "Ok", "Error"];

/** Resource attributes as text, computed once per resource (spans share their resource). */
const resourceAttributeText = new WeakMap<DecodedResource, Record<string, string>>();

/**
 * The `otel_traces` row of one span. Rows of one resource share one ResourceAttributes object;
 * treat rows as read-only.
 */
export function toOtelTracesRow(span: DecodedSpan): OtelTracesRow {
  const { events, links, resource } = span;
  let resourceAttributes = resourceAttributeText.get(resource);
  if (resourceAttributes === undefined) {
    resourceAttributes = attrsToStrings(resource.attributes);
    resourceAttributeText.set(resource, resourceAttributes);
  }
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  return {
    Timestamp: nanosToDateTime64(span.startTimeUnixNano),
    TraceId: span.traceId,
    SpanId: span.spanId,
    ParentSpanId: span.parentSpanId,
    TraceState: span.traceState,
    SpanName: span.name,
    SpanKind: nameOf(SPAN_KIND_NAMES, span.kind),
    ServiceName: resource.serviceName,
    ResourceAttributes: resourceAttributes,
    ScopeName: span.scope.name,
    ScopeVersion: span.scope.version,
    SpanAttributes: attrsToStrings(span.attributes),
    // Duration is UInt64: a span that ends before it starts gets 0, not a wrapped-around value.
    Duration: duration > 0n ? duration.toString() : "0",
    StatusCode: nameOf(STATUS_CODE_NAMES, span.statusCode),
    StatusMessage: span.statusMessage,
    "Events.Timestamp": events.map((e) => nanosToDateTime64(e.timeUnixNano)),
    "Events.Name": events.map((e) => e.name),
    "Events.Attributes": events.map((e) => attrsToStrings(e.attributes)),
    "Links.TraceId": links.map((l) => l.traceId),
    "Links.SpanId": links.map((l) => l.spanId),
    "Links.TraceState": links.map((l) => l.traceState),
    "Links.Attributes": links.map((l) => attrsToStrings(l.attributes)),
  };
}

/**
 * Unix nanoseconds as DateTime64(9) text, "<10-digit seconds>.<9 digits>", which ClickHouse
 * parses without loss (1700000000123456789n → "1700000000.123456789"). The seconds are padded
 * to ten digits: ClickHouse reads a shorter number before the point as a date ("99999.000…"
 * fails with "unexpected number of decimal digits"), a ten-digit one as a Unix time.
 */
export function nanosToDateTime64(nanos: bigint): string {
  if (nanos < 0n) return `-${nanosToDateTime64(-nanos)}`;
  const digits = nanos.toString().padStart(19, "0");
  return `${digits.slice(0, -9)}.${digits.slice(-9)}`;
}

function nameOf(names: string[], value: number): string {
  return Number.isInteger(value) ? (names[value] ?? "") : "";
}
