/**
 * Protobuf reading the logs and metrics decoders share, on top of the trace decoder's
 * (decode-protobuf-request.ts): the body decode with its failure messages, and the resource and
 * scope with their schema URLs.
 */

import type protobuf from "protobufjs";
import { decodeNested, pbAttributes } from "./decode-protobuf-request.ts";
import { TOO_DEEP_BODY, toResource } from "./decode-result.ts";
import type { PbInstrumentationScope, PbResource } from "./otlp-schema-logs.ts";
import type { DecodedSignalResource, DecodedSignalScope } from "./signal-decoding.ts";

/** The body decoded as `type`, or the failure naming it. */
export function decodeProtobufBody<T>(
  body: Uint8Array,
  type: protobuf.Type,
): { ok: true; request: T } | { ok: false; message: string } {
  try {
    // A Buffer makes protobufjs read strings with Buffer#utf8Slice (fast, U+FFFD for bad UTF-8).
    const buffer = Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return { ok: true, request: decodeNested(buffer, type) as unknown as T };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    // Past MAX_MESSAGE_DEPTH protobufjs throws "max depth exceeded"; a stack overflow is a RangeError.
    if (text.includes("max depth") || text.includes("call stack"))
      return { ok: false, message: TOO_DEEP_BODY };
    return {
      ok: false,
      message: `not a valid OTLP ${type.name} protobuf (${body.length} bytes): ${text}`,
    };
  }
}

/** A decoded Resource with the schema URL of its ResourceLogs / ResourceMetrics. */
export function pbResource(resource: PbResource | null, schemaUrl: string): DecodedSignalResource {
  return { ...toResource(pbAttributes(resource?.attributes ?? [], 1)), schemaUrl };
}

/** A decoded InstrumentationScope with the schema URL of its ScopeLogs / ScopeMetrics. */
export function pbScope(
  scope: PbInstrumentationScope | null,
  schemaUrl: string,
): DecodedSignalScope {
  return {
    name: scope?.name ?? "",
    version: scope?.version ?? "",
    attributes: pbAttributes(scope?.attributes ?? [], 1),
    droppedAttributesCount: scope?.droppedAttributesCount ?? 0,
    schemaUrl,
  };
}
