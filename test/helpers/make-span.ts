/**
 * Test builders: `makeSpan(overrides)` for a DecodedSpan with plausible defaults, and
 * `fromReadableSpan` to turn what the OTel JS SDK recorded (InMemorySpanExporter) into the
 * DecodedSpan our OTLP decoder would have produced for it.
 */

import type { Attributes, HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { SpanKind, StatusCode } from "../../src/decode/span.ts";
import type { AttrMap, AttrValue, DecodedEvent, DecodedSpan } from "../../src/decode/span.ts";

/** 2023-11-14T22:13:20Z, a start time whose DateTime64 text is easy to read in assertions. */
export const START_NANOS = 1_700_000_000_123_456_789n;

/** DecodedSpan fields to override, plus resource attributes (service.name sets serviceName). */
export type SpanOverrides = Partial<Omit<DecodedSpan, "resource">> & {
  resourceAttributes?: AttrMap;
};

/** A finished span of service "support-bot" 1.4.2, lasting 1.5 s, with the overrides applied. */
export function makeSpan(overrides: SpanOverrides = {}): DecodedSpan {
  const { resourceAttributes, ...fields } = overrides;
  const resource = resourceAttributes ?? {
    "service.name": "support-bot",
    "service.version": "1.4.2",
  };
  const serviceName = resource["service.name"];
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    parentSpanId: "53995c3f42cd8ad8",
    traceState: "",
    name: "span",
    kind: SpanKind.Internal,
    startTimeUnixNano: START_NANOS,
    endTimeUnixNano: START_NANOS + 1_500_000_000n,
    attributes: {},
    events: [],
    links: [],
    statusCode: StatusCode.Unset,
    statusMessage: "",
    resource: {
      attributes: resource,
      serviceName: typeof serviceName === "string" ? serviceName : "",
    },
    scope: { name: "test", version: "" },
    ...fields,
  };
}

/** An event as the decoder gives it, at the default start time. */
export function makeEvent(name: string, attributes: AttrMap): DecodedEvent {
  return { timeUnixNano: START_NANOS + 1_000_000n, name, attributes };
}

/** A span recorded by the OTel JS SDK, as our OTLP decoder would decode it. */
export function fromReadableSpan(span: ReadableSpan): DecodedSpan {
  const context = span.spanContext();
  const resourceAttributes = toAttrMap(span.resource.attributes);
  const serviceName = resourceAttributes["service.name"];
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    traceState: context.traceState?.serialize() ?? "",
    name: span.name,
    // @opentelemetry/api numbers SpanKind from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
    kind: span.kind + 1,
    startTimeUnixNano: hrTimeToNanos(span.startTime),
    endTimeUnixNano: hrTimeToNanos(span.endTime),
    attributes: toAttrMap(span.attributes),
    events: span.events.map((event) => ({
      timeUnixNano: hrTimeToNanos(event.time),
      name: event.name,
      attributes: toAttrMap(event.attributes ?? {}),
    })),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      traceState: link.context.traceState?.serialize() ?? "",
      attributes: toAttrMap(link.attributes ?? {}),
    })),
    statusCode: span.status.code,
    statusMessage: span.status.message ?? "",
    resource: {
      attributes: resourceAttributes,
      serviceName: typeof serviceName === "string" ? serviceName : "",
    },
    scope: {
      name: span.instrumentationScope.name,
      version: span.instrumentationScope.version ?? "",
    },
  };
}

function hrTimeToNanos([seconds, nanos]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

function toAttrMap(attributes: Attributes): AttrMap {
  const out: AttrMap = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value)
      ? value.map((item): AttrValue => (item === undefined ? null : item))
      : value;
  }
  return out;
}
