/**
 * Test builders shared by the decoder tests: spans recorded by the real OTel SDK with the
 * DecodedSpans both decoders must produce for them, and small helpers for nested values.
 */

import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { createTraceState } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import type { DecodeResult } from "../../src/decode/decode-result.ts";
import type { AttrValue, DecodedSpan } from "../../src/decode/span.ts";

export const TRACE = "0af7651916cd43dd8448eb211c80319c";
export const PARENT = "b7ad6b7169203331";
export const LINK_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
export const LINK_SPAN = "00f067aa0ba902b7";

/**
 * Spans from the real SDK, a server span (remote parent, every attribute kind, event, link,
 * error status) and an internal root span in a second scope, with their expected decoding.
 */
export function sdkSpans(): { spans: ReadableSpan[]; expected: DecodedSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout", "service.version": "2.1" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE,
    spanId: PARENT,
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState("vendor=abc"),
  });
  const server = provider.getTracer("scope-a", "1.2.3").startSpan(
    "POST /chat",
    {
      kind: ApiSpanKind.SERVER,
      startTime: [1700000000, 123456789],
      attributes: { str: "hi", bool: true, int: 42, neg: -7, double: 3.5, strs: ["a", "b"] },
      links: [
        {
          context: { traceId: LINK_TRACE, spanId: LINK_SPAN, traceFlags: 1 },
          attributes: { "link.kind": "follows", ints: [1, 2], bools: [true, false] },
        },
      ],
    },
    parent,
  );
  server.addEvent("exception", { "exception.message": "boom", count: 2 }, [1700000000, 5]);
  server.setStatus({ code: SpanStatusCode.ERROR, message: "it broke" });
  server.end([1700000001, 987654321]);
  const internal = provider.getTracer("scope-b").startSpan("work", { startTime: [1700000002, 0] });
  internal.end([1700000002, 1]);
  const spans = exporter.getFinishedSpans();
  const resource = {
    attributes: { "service.name": "checkout", "service.version": "2.1" },
    serviceName: "checkout",
  };
  const expected: DecodedSpan[] = [
    {
      traceId: TRACE,
      spanId: server.spanContext().spanId,
      parentSpanId: PARENT,
      traceState: "vendor=abc",
      name: "POST /chat",
      kind: 2,
      startTimeUnixNano: 1700000000123456789n,
      endTimeUnixNano: 1700000001987654321n,
      attributes: { str: "hi", bool: true, int: 42, neg: -7, double: 3.5, strs: ["a", "b"] },
      events: [
        {
          timeUnixNano: 1700000000000000005n,
          name: "exception",
          attributes: { "exception.message": "boom", count: 2 },
        },
      ],
      links: [
        {
          traceId: LINK_TRACE,
          spanId: LINK_SPAN,
          traceState: "",
          attributes: { "link.kind": "follows", ints: [1, 2], bools: [true, false] },
        },
      ],
      statusCode: 2,
      statusMessage: "it broke",
      resource,
      scope: { name: "scope-a", version: "1.2.3" },
    },
    {
      traceId: internal.spanContext().traceId,
      spanId: internal.spanContext().spanId,
      parentSpanId: "",
      traceState: "",
      name: "work",
      kind: 1,
      startTimeUnixNano: 1700000002000000000n,
      endTimeUnixNano: 1700000002000000001n,
      attributes: {},
      events: [],
      links: [],
      statusCode: 0,
      statusMessage: "",
      resource,
      scope: { name: "scope-b", version: "" },
    },
  ];
  return { spans, expected };
}

/** The spans of an ok result; throws with the failure message otherwise. */
export function okSpans(result: DecodeResult): DecodedSpan[] {
  if (!result.ok) throw new Error(`expected ok, got: ${result.message}`);
  return result.spans;
}

/** An OTLP AnyValue (protobuf or JSON object form) wrapped in `levels` arrayValues. */
export function nest(levels: number, leaf: object): object {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { arrayValue: { values: [value] } };
  return value;
}

/** The decoded AttrValue of nest(levels, leaf). */
export function nestedArrays(levels: number, leaf: AttrValue): AttrValue {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}
