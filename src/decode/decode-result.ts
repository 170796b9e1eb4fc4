/**
 * What decoding an OTLP trace export request gives, whichever its encoding, and the rules the
 * protobuf and JSON decoders share: which span ids are valid, how deep an AnyValue may nest,
 * how a resource's service name is read and how attributes are collected.
 */

import type { AttrMap, AttrValue, DecodedResource, DecodedSpan } from "./span.ts";

/** A span left out of the result, and why. */
export interface RejectedSpan {
  /** Where it was, e.g. "resourceSpans[0].scopeSpans[1].spans[3]". */
  path: string;
  serviceName: string;
  /** Lowercase hex when the span id itself is valid, else "". */
  spanId: string;
  reason: string;
}

/**
 * A decoded request: the spans kept and those rejected one by one (the request's partial
 * success counts them), or one failure for a body that cannot be read at all.
 */
export type DecodeResult =
  { ok: true; spans: DecodedSpan[]; rejected: RejectedSpan[] } | { ok: false; message: string };

/** AnyValues nested deeper than this many levels are replaced by TOO_DEEP_VALUE. */
export const MAX_VALUE_DEPTH = 32;
export const TOO_DEEP_VALUE = `[nested deeper than ${MAX_VALUE_DEPTH} levels]`;

/** The failure message of a body that nests past what the parser can take. */
export const TOO_DEEP_BODY = "the request body nests too deeply to decode";

export const ZERO_TRACE_ID = "0".repeat(32);
export const ZERO_SPAN_ID = "0".repeat(16);

/** A DecodeResult for a body that cannot be decoded at all. */
export function decodeFailure(message: string): DecodeResult {
  return { ok: false, message };
}

/**
 * Why a span's ids are invalid, or "" (trace.proto: trace_id is 16 bytes, span_id 8 bytes, neither
 * all zero; parent_span_id is empty or 8 bytes). Ids come as lowercase hex, or null when the JSON
 * text was not hex.
 */
export function idsProblem(
  traceId: string | null,
  spanId: string | null,
  parent: string | null,
): string {
  if (traceId === null) return "traceId is not a hex string";
  if (traceId.length !== 32) return `traceId is ${traceId.length / 2} bytes, expected 16`;
  if (traceId === ZERO_TRACE_ID) return "traceId is all zero";
  if (spanId === null) return "spanId is not a hex string";
  if (spanId.length !== 16) return `spanId is ${spanId.length / 2} bytes, expected 8`;
  if (spanId === ZERO_SPAN_ID) return "spanId is all zero";
  if (parent === null) return "parentSpanId is not a hex string";
  if (parent !== "" && parent.length !== 16) {
    return `parentSpanId is ${parent.length / 2} bytes, expected 8 or none`;
  }
  return "";
}

/** A link id as the clickhouseexporter writes it: hex when valid, "" when empty/zero/malformed. */
export function linkId(id: string | null, zero: string): string {
  return id === null || id.length !== zero.length || id === zero ? "" : id;
}

/** The RejectedSpan for span k of scopeSpans j of resourceSpans i. */
export function rejection(
  i: number,
  j: number,
  k: number,
  resource: DecodedResource,
  spanId: string | null,
  reason: string,
): RejectedSpan {
  return {
    path: `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`,
    serviceName: resource.serviceName,
    spanId: spanId !== null && spanId.length === 16 && spanId !== ZERO_SPAN_ID ? spanId : "",
    reason,
  };
}

/** A resource from its attributes; service.name counts only when it is a string. */
export function toResource(attributes: AttrMap): DecodedResource {
  const serviceName = attributes["service.name"];
  return { attributes, serviceName: typeof serviceName === "string" ? serviceName : "" };
}

/** Last duplicate wins; "__proto__" is stored as data, never as the prototype. */
export function setAttr(map: AttrMap, key: string, value: AttrValue): void {
  if (key === "__proto__") {
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    map[key] = value;
  }
}
