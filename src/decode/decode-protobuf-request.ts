/**
 * OTLP/HTTP protobuf and OTLP/gRPC trace export requests to DecodedSpan[]. A span with invalid
 * ids is rejected on its own (the request's partial success counts it); a body that cannot be
 * read at all is one failure with a message saying what and where.
 */

import protobuf from "protobufjs";
import {
  decodeFailure,
  idsProblem,
  linkId,
  MAX_VALUE_DEPTH,
  rejection,
  setAttr,
  TOO_DEEP_BODY,
  TOO_DEEP_VALUE,
  toResource,
  ZERO_SPAN_ID,
  ZERO_TRACE_ID,
} from "./decode-result.ts";
import type { DecodeResult, RejectedSpan } from "./decode-result.ts";
import { otlpTypes } from "./otlp-schema.ts";
import type { PbAnyValue, PbExportTraceServiceRequest, PbKeyValue, PbLong } from "./otlp-schema.ts";
import { StatusCode } from "./span.ts";
import type { AttrMap, AttrValue, DecodedSpan } from "./span.ts";

/**
 * How many messages deep a request may nest. protobufjs's default, 100, is less than a span
 * attribute holding a kvlist MAX_VALUE_DEPTH levels deep takes (an envelope of 6 messages, then
 * AnyValue → KeyValueList → KeyValue per level), so such a span failed the whole request instead
 * of being kept with TOO_DEEP_VALUE in its deep part. This allows kvlists ~330 levels deep.
 */
export const MAX_MESSAGE_DEPTH = 1000;

/** Decodes with protobufjs's recursion limit at MAX_MESSAGE_DEPTH, restored before returning. */
export function decodeNested(
  buffer: Buffer,
  type: protobuf.Type = otlpTypes.exportTraceServiceRequest,
): protobuf.Message {
  // A static of protobufjs; decoding is synchronous, so no other decode sees the raised value.
  const previous = protobuf.Reader.recursionLimit;
  protobuf.Reader.recursionLimit = MAX_MESSAGE_DEPTH;
  try {
    return type.decode(buffer);
  } finally {
    protobuf.Reader.recursionLimit = previous;
  }
}

/** Decodes a binary protobuf `ExportTraceServiceRequest` (OTLP/HTTP protobuf and OTLP/gRPC). */
export function decodeProtobufRequest(body: Uint8Array): DecodeResult {
  let request: PbExportTraceServiceRequest;
  try {
    // A Buffer makes protobufjs read strings with Buffer#utf8Slice (fast, U+FFFD for bad UTF-8).
    const buffer = Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    request = decodeNested(buffer) as unknown as PbExportTraceServiceRequest;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    // Past MAX_MESSAGE_DEPTH protobufjs throws "max depth exceeded"; a stack overflow is a RangeError.
    if (text.includes("max depth") || text.includes("call stack"))
      return decodeFailure(TOO_DEEP_BODY);
    return decodeFailure(
      `not a valid OTLP ExportTraceServiceRequest protobuf (${body.length} bytes): ${text}`,
    );
  }
  const out = { spans: [] as DecodedSpan[], rejected: [] as RejectedSpan[] };
  for (const [i, rs] of request.resourceSpans.entries()) {
    const resource = toResource(pbAttributes(rs.resource?.attributes ?? [], 1));
    for (const [j, ss] of rs.scopeSpans.entries()) {
      const scope = { name: ss.scope?.name ?? "", version: ss.scope?.version ?? "" };
      for (const [k, s] of ss.spans.entries()) {
        const traceId = hex(s.traceId);
        const spanId = hex(s.spanId);
        const parentSpanId = hex(s.parentSpanId);
        const reason = idsProblem(traceId, spanId, parentSpanId);
        if (reason !== "") {
          out.rejected.push(rejection(i, j, k, resource, spanId, reason));
          continue;
        }
        out.spans.push({
          traceId,
          spanId,
          parentSpanId: parentSpanId === ZERO_SPAN_ID ? "" : parentSpanId,
          traceState: s.traceState,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: toUint64(s.startTimeUnixNano),
          endTimeUnixNano: toUint64(s.endTimeUnixNano),
          attributes: pbAttributes(s.attributes, 1),
          events: s.events.map((e) => ({
            timeUnixNano: toUint64(e.timeUnixNano),
            name: e.name,
            attributes: pbAttributes(e.attributes, 1),
          })),
          links: s.links.map((l) => ({
            traceId: linkId(hex(l.traceId), ZERO_TRACE_ID),
            spanId: linkId(hex(l.spanId), ZERO_SPAN_ID),
            traceState: l.traceState,
            attributes: pbAttributes(l.attributes, 1),
          })),
          statusCode: s.status?.code ?? StatusCode.Unset,
          statusMessage: s.status?.message ?? "",
          resource,
          scope,
        });
      }
    }
  }
  return { ok: true, ...out };
}

/** Attributes (or a kvlist) as an AttrMap, values nested at most MAX_VALUE_DEPTH deep. */
export function pbAttributes(list: PbKeyValue[], depth: number): AttrMap {
  const map: AttrMap = {};
  for (const kv of list) setAttr(map, kv.key, pbValue(kv.value, depth));
  return map;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** A decoded AnyValue as an AttrValue; `depth` is its nesting level (1 for an attribute). */
export function pbValue(value: PbAnyValue | null, depth: number): AttrValue {
  if (depth > MAX_VALUE_DEPTH) return TOO_DEEP_VALUE;
  if (value === null) return null;
  // The member the decoder set is an own property (unset ones are prototype defaults). Testing
  // for it directly is cheaper than protobufjs's virtual `value` getter (Object.keys per call).
  if (hasOwn.call(value, "stringValue")) return value.stringValue;
  if (hasOwn.call(value, "intValue")) return toInt64(value.intValue);
  if (hasOwn.call(value, "boolValue")) return value.boolValue;
  if (hasOwn.call(value, "doubleValue")) return value.doubleValue;
  if (hasOwn.call(value, "arrayValue")) {
    return (value.arrayValue?.values ?? []).map((v) => pbValue(v, depth + 1));
  }
  if (hasOwn.call(value, "kvlistValue")) {
    return pbAttributes(value.kvlistValue?.values ?? [], depth + 1);
  }
  // A copy, so a kept attribute does not pin the whole request body in memory.
  if (hasOwn.call(value, "bytesValue")) return new Uint8Array(value.bytesValue);
  return null; // an empty AnyValue
}

const TWO_POW_32 = 4294967296;

/** fixed64 → bigint (times in nanoseconds). */
export function toUint64(value: PbLong): bigint {
  if (typeof value === "number") return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/** int64 → number when it is a safe integer, else bigint (AttrValue's rule). */
export function toInt64(value: PbLong): number | bigint {
  if (typeof value === "number") return value;
  const approx = value.high * TWO_POW_32 + (value.low >>> 0);
  if (Number.isSafeInteger(approx)) return approx;
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

/** Lowercase hex of id bytes (protobufjs hands out Buffer views when decoding a Buffer). */
export function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return ""; // unset: protobufjs's default is an empty array
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString("hex");
}
