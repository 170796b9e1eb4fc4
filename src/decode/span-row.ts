/**
 * A DecodedSpan as an `otel_traces` row with exactly the values the OpenTelemetry Collector
 * contrib clickhouseexporter writes, so dashboards and queries built for it work unchanged.
 */

import { createLineWriter, type EncodedRows } from "../store/json-each-row.ts";
import type { OtelTracesRow } from "../store/tables/otel-traces.ts";
import { attrsToStrings, attrToString } from "./attr-string.ts";
import type { AttrMap, AttrValue, DecodedResource, DecodedSpan } from "./span.ts";

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
 * The spans' `otel_traces` rows as insert text, written straight from the spans: each line is
 * the JSON of toOtelTracesRow(span), without building that row or its attribute maps (ingest's
 * path; span-row.test.ts holds the two together). One difference, on purpose: an attribute
 * named "__proto__", which the decoders keep as data, is stored; the row object's map drops it.
 */
export function encodeOtelTracesRows(spans: readonly DecodedSpan[]): EncodedRows {
  const writer = createLineWriter();
  for (const span of spans) writer.line(otelTracesLine(span));
  return writer.done();
}

/** Resource attributes as JSON text, once per resource (the spans of a request share it). */
const resourceAttributeJson = new WeakMap<DecodedResource, string>();

const q = JSON.stringify;

/** JSON.stringify(toOtelTracesRow(span)), key for key, in one string built once. */
function otelTracesLine(span: DecodedSpan): string {
  const { events, links, resource } = span;
  let resourceJson = resourceAttributeJson.get(resource);
  if (resourceJson === undefined) {
    resourceJson = attrsJson(resource.attributes);
    resourceAttributeJson.set(resource, resourceJson);
  }
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  let eventTimes = "";
  let eventNames = "";
  let eventAttributes = "";
  for (const [i, e] of events.entries()) {
    const comma = i === 0 ? "" : ",";
    eventTimes += `${comma}"${nanosToDateTime64(e.timeUnixNano)}"`;
    eventNames += comma + q(e.name);
    eventAttributes += comma + attrsJson(e.attributes);
  }
  let linkTraceIds = "";
  let linkSpanIds = "";
  let linkStates = "";
  let linkAttributes = "";
  for (const [i, l] of links.entries()) {
    const comma = i === 0 ? "" : ",";
    linkTraceIds += comma + q(l.traceId);
    linkSpanIds += comma + q(l.spanId);
    linkStates += comma + q(l.traceState);
    linkAttributes += comma + attrsJson(l.attributes);
  }
  return (
    `{"Timestamp":"${nanosToDateTime64(span.startTimeUnixNano)}","TraceId":${q(span.traceId)},` +
    `"SpanId":${q(span.spanId)},"ParentSpanId":${q(span.parentSpanId)},` +
    `"TraceState":${q(span.traceState)},"SpanName":${q(span.name)},` +
    `"SpanKind":"${nameOf(SPAN_KIND_NAMES, span.kind)}","ServiceName":${q(resource.serviceName)},` +
    `"ResourceAttributes":${resourceJson},"ScopeName":${q(span.scope.name)},` +
    `"ScopeVersion":${q(span.scope.version)},"SpanAttributes":${attrsJson(span.attributes)},` +
    `"Duration":"${duration > 0n ? duration.toString() : "0"}",` +
    `"StatusCode":"${nameOf(STATUS_CODE_NAMES, span.statusCode)}",` +
    `"StatusMessage":${q(span.statusMessage)},"Events.Timestamp":[${eventTimes}],` +
    `"Events.Name":[${eventNames}],"Events.Attributes":[${eventAttributes}],` +
    `"Links.TraceId":[${linkTraceIds}],"Links.SpanId":[${linkSpanIds}],` +
    `"Links.TraceState":[${linkStates}],"Links.Attributes":[${linkAttributes}]}`
  );
}

/** JSON.stringify(attrsToStrings(attrs)) without the intermediate map. */
function attrsJson(attrs: AttrMap): string {
  let json = "";
  // Own keys in Object.keys order (an AttrMap has no enumerable inherited ones).
  for (const key in attrs) {
    json += `${json === "" ? "" : ","}${q(key)}:${q(attrToString(attrs[key] as AttrValue))}`;
  }
  return `{${json}}`;
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
