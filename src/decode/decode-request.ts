/**
 * OTLP/HTTP and OTLP/gRPC trace export requests (protobuf or JSON) to DecodedSpan[]. A span
 * with invalid ids is rejected on its own (the request's partial success counts it); a body
 * that cannot be read at all is one failure with a message saying what and where.
 */

import { otlpTypes } from "./otlp-schema.ts";
import type { PbAnyValue, PbExportTraceServiceRequest, PbKeyValue, PbLong } from "./otlp-schema.ts";
import { SpanKind, StatusCode } from "./span.ts";
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

export type DecodeResult =
  { ok: true; spans: DecodedSpan[]; rejected: RejectedSpan[] } | { ok: false; message: string };

/** AnyValues nested deeper than this many levels are replaced by TOO_DEEP_VALUE. */
export const MAX_VALUE_DEPTH = 32;
export const TOO_DEEP_VALUE = `[nested deeper than ${MAX_VALUE_DEPTH} levels]`;

const TOO_DEEP_BODY = "the request body nests too deeply to decode";

/** Decodes a binary protobuf `ExportTraceServiceRequest` (OTLP/HTTP protobuf and OTLP/gRPC). */
export function decodeProtobufRequest(body: Uint8Array): DecodeResult {
  let request: PbExportTraceServiceRequest;
  try {
    // A Buffer makes protobufjs read strings with Buffer#utf8Slice (fast, U+FFFD for bad UTF-8).
    const buffer = Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const decoded = otlpTypes.exportTraceServiceRequest.decode(buffer);
    request = decoded as unknown as PbExportTraceServiceRequest;
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    // protobufjs stops at 100 nested messages ("max depth exceeded"); a stack overflow is a RangeError.
    if (text.includes("max depth") || text.includes("call stack")) return fail(TOO_DEEP_BODY);
    return fail(
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

function pbAttributes(list: PbKeyValue[], depth: number): AttrMap {
  const map: AttrMap = {};
  for (const kv of list) setAttr(map, kv.key, pbValue(kv.value, depth));
  return map;
}

const hasOwn = Object.prototype.hasOwnProperty;

function pbValue(value: PbAnyValue | null, depth: number): AttrValue {
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
function toUint64(value: PbLong): bigint {
  if (typeof value === "number") return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

/** int64 → number when it is a safe integer, else bigint (AttrValue's rule). */
function toInt64(value: PbLong): number | bigint {
  if (typeof value === "number") return value;
  const approx = value.high * TWO_POW_32 + (value.low >>> 0);
  if (Number.isSafeInteger(approx)) return approx;
  return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

/** Lowercase hex of id bytes (protobufjs hands out Buffer views when decoding a Buffer). */
function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return ""; // unset: protobufjs's default is an empty array
  const buffer = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString("hex");
}

const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/**
 * Why a span's ids are invalid, or "" (trace.proto: trace_id is 16 bytes, span_id 8 bytes, neither
 * all zero; parent_span_id is empty or 8 bytes). Ids come as lowercase hex, or null when the JSON
 * text was not hex.
 */
function idsProblem(traceId: string | null, spanId: string | null, parent: string | null): string {
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
function linkId(id: string | null, zero: string): string {
  return id === null || id.length !== zero.length || id === zero ? "" : id;
}

function rejection(
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

function toResource(attributes: AttrMap): DecodedResource {
  const serviceName = attributes["service.name"];
  return { attributes, serviceName: typeof serviceName === "string" ? serviceName : "" };
}

/** Last duplicate wins; "__proto__" is stored as data, never as the prototype. */
function setAttr(map: AttrMap, key: string, value: AttrValue): void {
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

function fail(message: string): DecodeResult {
  return { ok: false, message };
}

// ---- OTLP/JSON ---------------------------------------------------------------------------

/** Decodes an OTLP/JSON `ExportTraceServiceRequest` (UTF-8 bytes or text). */
export function decodeJsonRequest(body: Uint8Array | string): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === "string" ? body : utf8.decode(body));
  } catch (error) {
    if (error instanceof RangeError) return fail(TOO_DEEP_BODY);
    return fail(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return fail(
      `not an OTLP ExportTraceServiceRequest: the body is ${describe(parsed)}, not an object`,
    );
  }
  try {
    return { ok: true, ...jsonRequest(parsed as Json) };
  } catch (error) {
    if (error instanceof JsonShapeError)
      return fail(`not an OTLP ExportTraceServiceRequest: ${error.message}`);
    throw error;
  }
}

const utf8 = new TextDecoder(); // not fatal: invalid UTF-8 becomes U+FFFD

type Json = Record<string, unknown>;

/** A body that parses as JSON but is not shaped like OTLP; caught in decodeJsonRequest. */
class JsonShapeError extends Error {}

const KIND_BY_NAME = enumNames("SPAN_KIND_", SpanKind);
const STATUS_BY_NAME = enumNames("STATUS_CODE_", StatusCode);

function jsonRequest(request: Json): { spans: DecodedSpan[]; rejected: RejectedSpan[] } {
  const out = { spans: [] as DecodedSpan[], rejected: [] as RejectedSpan[] };
  array(request, "resourceSpans", "").forEach((rsValue, i) => {
    const rsPath = `resourceSpans[${i}]`;
    const rs = object(rsValue, rsPath);
    const resourcePath = `${rsPath}.resource`;
    const resource = toResource(
      jsonAttributes(object(field(rs, "resource"), resourcePath), "attributes", resourcePath, 1),
    );
    array(rs, "scopeSpans", rsPath).forEach((ssValue, j) => {
      const ssPath = `${rsPath}.scopeSpans[${j}]`;
      const ss = object(ssValue, ssPath);
      const scopeObject = object(field(ss, "scope"), `${ssPath}.scope`);
      const scope = {
        name: string(scopeObject, "name", `${ssPath}.scope`),
        version: string(scopeObject, "version", `${ssPath}.scope`),
      };
      array(ss, "spans", ssPath).forEach((spanValue, k) => {
        const path = `${ssPath}.spans[${k}]`;
        const s = object(spanValue, path);
        const traceId = hexId(field(s, "traceId"));
        const spanId = hexId(field(s, "spanId"));
        const parentSpanId = hexId(field(s, "parentSpanId"));
        const reason = idsProblem(traceId, spanId, parentSpanId);
        if (reason !== "" || traceId === null || spanId === null || parentSpanId === null) {
          out.rejected.push(rejection(i, j, k, resource, spanId, reason));
          return;
        }
        const status = object(field(s, "status"), `${path}.status`);
        out.spans.push({
          traceId,
          spanId,
          parentSpanId: parentSpanId === ZERO_SPAN_ID ? "" : parentSpanId,
          traceState: string(s, "traceState", path),
          name: string(s, "name", path),
          kind: enumValue(s, "kind", KIND_BY_NAME, path),
          startTimeUnixNano: uint64(s, "startTimeUnixNano", path),
          endTimeUnixNano: uint64(s, "endTimeUnixNano", path),
          attributes: jsonAttributes(s, "attributes", path, 1),
          events: array(s, "events", path).map((eventValue, n) => {
            const eventPath = `${path}.events[${n}]`;
            const event = object(eventValue, eventPath);
            return {
              timeUnixNano: uint64(event, "timeUnixNano", eventPath),
              name: string(event, "name", eventPath),
              attributes: jsonAttributes(event, "attributes", eventPath, 1),
            };
          }),
          links: array(s, "links", path).map((linkValue, n) => {
            const linkPath = `${path}.links[${n}]`;
            const link = object(linkValue, linkPath);
            return {
              traceId: linkId(hexId(field(link, "traceId")), ZERO_TRACE_ID),
              spanId: linkId(hexId(field(link, "spanId")), ZERO_SPAN_ID),
              traceState: string(link, "traceState", linkPath),
              attributes: jsonAttributes(link, "attributes", linkPath, 1),
            };
          }),
          statusCode: enumValue(status, "code", STATUS_BY_NAME, `${path}.status`),
          statusMessage: string(status, "message", `${path}.status`),
          resource,
          scope,
        });
      });
    });
  });
  return out;
}

function jsonAttributes(owner: Json, name: string, path: string, depth: number): AttrMap {
  const map: AttrMap = {};
  array(owner, name, path).forEach((item, n) => {
    const itemPath = `${join(path, name)}[${n}]`;
    const kv = object(item, itemPath);
    setAttr(map, string(kv, "key", itemPath), jsonValue(field(kv, "value"), depth, itemPath));
  });
  return map;
}

/** An OTLP/JSON AnyValue; proto3 JSON spellings (int64 as string, NaN as "NaN", base64 bytes). */
function jsonValue(value: unknown, depth: number, path: string): AttrValue {
  if (depth > MAX_VALUE_DEPTH) return TOO_DEEP_VALUE;
  const anyValue = object(value, `${path}.value`);
  for (const key in anyValue) {
    const v = anyValue[key];
    if (v === null || v === undefined) continue;
    const vPath = `${path}.value.${key}`;
    switch (key) {
      case "stringValue":
      case "string_value":
        if (typeof v === "string") return v;
        break;
      case "boolValue":
      case "bool_value":
        if (typeof v === "boolean") return v;
        break;
      case "intValue":
      case "int_value": {
        if (typeof v === "number" && Number.isSafeInteger(v)) return v;
        const n = integer(v, vPath);
        if (n < -(2n ** 63n) || n >= 2n ** 63n) throw shape(vPath, "is out of range for int64");
        return n >= Number.MIN_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? Number(n) : n;
      }
      case "doubleValue":
      case "double_value":
        if (typeof v === "number") return v;
        if (typeof v === "string" && v.trim() !== "" && (v === "NaN" || !Number.isNaN(Number(v)))) {
          return Number(v); // "Infinity", "-Infinity" and "NaN" included
        }
        break;
      case "bytesValue":
      case "bytes_value":
        if (typeof v === "string" && BASE64.test(v))
          return new Uint8Array(Buffer.from(v, "base64"));
        break;
      case "arrayValue":
      case "array_value":
        return array(object(v, vPath), "values", vPath).map((element, n) =>
          jsonValue(element, depth + 1, `${vPath}.values[${n}]`),
        );
      case "kvlistValue":
      case "kvlist_value":
        return jsonAttributes(object(v, vPath), "values", vPath, depth + 1);
      default:
        continue; // unknown fields are ignored
    }
    throw shape(vPath, `has the wrong type (${describe(v)})`);
  }
  return null;
}

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const HEX_TEXT = /^(?:[0-9a-fA-F]{2})*$/;

/** A trace/span id: hex text (any case) → lowercase; absent → ""; anything else → null. */
function hexId(value: unknown): string | null {
  if (value === undefined || value === null) return "";
  return typeof value === "string" && HEX_TEXT.test(value) ? value.toLowerCase() : null;
}

const snakeNames = new Map<string, string>();

/** A field by its lowerCamelCase JSON name, else by its proto name (as protobuf JSON accepts). */
function field(owner: Json, name: string): unknown {
  const value = owner[name];
  if (value !== undefined) return value;
  let snake = snakeNames.get(name);
  if (snake === undefined) {
    snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeNames.set(name, snake);
  }
  return owner[snake];
}

const EMPTY: Json = Object.freeze({});

/** An object field; absent or null is an empty message (proto3 JSON). */
function object(value: unknown, path: string): Json {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw shape(path, `must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

function array(owner: Json, name: string, path: string): unknown[] {
  const value = field(owner, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw shape(join(path, name), `must be an array, got ${describe(value)}`);
  return value;
}

function string(owner: Json, name: string, path: string): string {
  const value = field(owner, name);
  if (value === undefined || value === null) return "";
  if (typeof value !== "string")
    throw shape(join(path, name), `must be a string, got ${describe(value)}`);
  return value;
}

function uint64(owner: Json, name: string, path: string): bigint {
  const value = field(owner, name);
  if (value === undefined || value === null) return 0n;
  const n = integer(value, join(path, name));
  if (n < 0n || n >= 2n ** 64n) throw shape(join(path, name), "is out of range for fixed64");
  return n;
}

/** proto3 JSON int64: a number or a decimal string. */
function integer(value: unknown, path: string): bigint {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw shape(path, `must be an integer (number or decimal string), got ${describe(value)}`);
}

/** proto3 JSON enum: the number, or the value's name. */
function enumValue(owner: Json, name: string, byName: Map<string, number>, path: string): number {
  const value = field(owner, name);
  if (value === undefined || value === null) return 0;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  const known = typeof value === "string" ? byName.get(value) : undefined;
  if (known === undefined)
    throw shape(join(path, name), `is not a known value (${describe(value)})`);
  return known;
}

function enumNames(prefix: string, values: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(values).map(([k, v]) => [prefix + k.toUpperCase(), v]));
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function shape(path: string, problem: string): JsonShapeError {
  return new JsonShapeError(`${path} ${problem}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === "object" ? "an object" : `the ${typeof value} ${String(value)}`;
}
