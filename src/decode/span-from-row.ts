/**
 * An `otel_traces` row, as the contrib clickhouseexporter (or Plumbline) writes it, back to a
 * DecodedSpan, for the table source mode: spans someone else stored are normalised and
 * evaluated as if they had been received. The exporter stores every attribute value as text
 * (pdata `AsString()`: numbers in decimal, booleans as true/false, arrays and maps as JSON), so
 * values come back as strings; the convention readers accept numbers as decimal text and JSON
 * containers as JSON text (read-attrs.ts), which is what makes the round trip lossless for
 * agent outputs (span-from-row.test.ts).
 */

import type { OtelTracesRow } from "../store/tables/otel-traces.ts";
import type { AttrMap, DecodedResource, DecodedSpan } from "./span.ts";
import { SpanKind, StatusCode } from "./span.ts";

const KIND_NUMBERS: Record<string, number> = SpanKind;
const STATUS_NUMBERS: Record<string, number> = StatusCode;

/** "1700000000.123456789" or "2023-11-14 22:13:20.123456789" (UTC) as unix nanoseconds. */
export function dateTime64ToNanos(text: string): bigint {
  const numeric = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (numeric !== null) {
    const fraction = (numeric[2] ?? "").padEnd(9, "0");
    return BigInt(numeric[1] ?? "0") * 1_000_000_000n + BigInt(fraction);
  }
  const civil = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?/.exec(text);
  if (civil === null) throw new RangeError(`not a DateTime64 value: ${JSON.stringify(text)}`);
  const seconds = Date.parse(`${civil[1]}T${civil[2]}Z`) / 1000;
  return BigInt(seconds) * 1_000_000_000n + BigInt((civil[3] ?? "").padEnd(9, "0"));
}

/** Resources shared by the rows of one batch, so normalisation sees one object per resource. */
export type ResourceCache = Map<string, DecodedResource>;

export function spanFromRow(row: OtelTracesRow, resources: ResourceCache = new Map()): DecodedSpan {
  const resourceKey = JSON.stringify(row.ResourceAttributes);
  let resource = resources.get(resourceKey);
  if (resource === undefined) {
    resource = {
      attributes: { ...row.ResourceAttributes } as AttrMap,
      serviceName: row.ServiceName || (row.ResourceAttributes["service.name"] ?? ""),
    };
    resources.set(resourceKey, resource);
  }
  const start = dateTime64ToNanos(row.Timestamp);
  return {
    traceId: row.TraceId,
    spanId: row.SpanId,
    parentSpanId: row.ParentSpanId,
    traceState: row.TraceState,
    name: row.SpanName,
    kind: KIND_NUMBERS[row.SpanKind] ?? SpanKind.Unspecified,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(row.Duration || "0"),
    attributes: { ...row.SpanAttributes } as AttrMap,
    events: row["Events.Timestamp"].map((time, i) => ({
      timeUnixNano: dateTime64ToNanos(time),
      name: row["Events.Name"][i] ?? "",
      attributes: { ...(row["Events.Attributes"][i] ?? {}) } as AttrMap,
    })),
    links: row["Links.TraceId"].map((traceId, i) => ({
      traceId,
      spanId: row["Links.SpanId"][i] ?? "",
      traceState: row["Links.TraceState"][i] ?? "",
      attributes: { ...(row["Links.Attributes"][i] ?? {}) } as AttrMap,
    })),
    statusCode: STATUS_NUMBERS[row.StatusCode] ?? StatusCode.Unset,
    statusMessage: row.StatusMessage,
    resource,
    scope: { name: row.ScopeName, version: row.ScopeVersion },
  };
}
