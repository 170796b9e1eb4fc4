/**
 * OTLP/HTTP JSON trace export requests to DecodedSpan[], after the proto3 JSON mapping as OTLP
 * amends it (hex trace and span ids, lowerCamelCase or proto field names, enums as numbers or
 * names). A span with invalid ids is rejected on its own; a body that is not JSON, or not
 * shaped like an ExportTraceServiceRequest, is one failure naming the JSON path at fault.
 */

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
import { SpanKind, StatusCode } from "./span.ts";
import type { AttrMap, AttrValue, DecodedSpan } from "./span.ts";

/** Decodes an OTLP/JSON `ExportTraceServiceRequest` (UTF-8 bytes or text). */
export function decodeJsonRequest(body: Uint8Array | string): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === "string" ? body : utf8.decode(body));
  } catch (error) {
    if (error instanceof RangeError) return decodeFailure(TOO_DEEP_BODY);
    return decodeFailure(
      `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return decodeFailure(
      `not an OTLP ExportTraceServiceRequest: the body is ${describe(parsed)}, not an object`,
    );
  }
  try {
    return { ok: true, ...jsonRequest(parsed as Json) };
  } catch (error) {
    if (error instanceof JsonShapeError)
      return decodeFailure(`not an OTLP ExportTraceServiceRequest: ${error.message}`);
    throw error;
  }
}

// The readers below are shared with the logs and metrics decoders (decode-logs-json.ts,
// decode-metrics-json.ts): one reading of proto3 JSON for every signal.

/** UTF-8 bytes to text, not fatal: invalid UTF-8 becomes U+FFFD. */
export const utf8 = new TextDecoder();

export type Json = Record<string, unknown>;

/** A body that parses as JSON but is not shaped like OTLP; caught by each decoder's entry. */
export class JsonShapeError extends Error {}

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

/** The KeyValue list `owner[name]` as an AttrMap. */
export function jsonAttributes(owner: Json, name: string, path: string, depth: number): AttrMap {
  const map: AttrMap = {};
  array(owner, name, path).forEach((item, n) => {
    const itemPath = `${join(path, name)}[${n}]`;
    const kv = object(item, itemPath);
    setAttr(map, string(kv, "key", itemPath), jsonValue(field(kv, "value"), depth, itemPath));
  });
  return map;
}

/** The AnyValue of the KeyValue at `path`. */
function jsonValue(value: unknown, depth: number, path: string): AttrValue {
  return jsonAnyValue(value, depth, `${path}.value`);
}

/**
 * An OTLP/JSON AnyValue at `valuePath`; proto3 JSON spellings (int64 as string, NaN as "NaN",
 * base64 bytes).
 */
export function jsonAnyValue(value: unknown, depth: number, valuePath: string): AttrValue {
  if (depth > MAX_VALUE_DEPTH) return TOO_DEEP_VALUE;
  const anyValue = object(value, valuePath);
  for (const key in anyValue) {
    const v = anyValue[key];
    if (v === null || v === undefined) continue;
    const vPath = `${valuePath}.${key}`;
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
export function hexId(value: unknown): string | null {
  if (value === undefined || value === null) return "";
  return typeof value === "string" && HEX_TEXT.test(value) ? value.toLowerCase() : null;
}

const snakeNames = new Map<string, string>();

/** A field by its lowerCamelCase JSON name, else by its proto name (as protobuf JSON accepts). */
export function field(owner: Json, name: string): unknown {
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
export function object(value: unknown, path: string): Json {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw shape(path, `must be an object, got ${describe(value)}`);
  }
  return value as Json;
}

/** A repeated field; absent or null is empty. */
export function array(owner: Json, name: string, path: string): unknown[] {
  const value = field(owner, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw shape(join(path, name), `must be an array, got ${describe(value)}`);
  return value;
}

/** A string field; absent or null is "". */
export function string(owner: Json, name: string, path: string): string {
  const value = field(owner, name);
  if (value === undefined || value === null) return "";
  if (typeof value !== "string")
    throw shape(join(path, name), `must be a string, got ${describe(value)}`);
  return value;
}

/** A fixed64/uint64 field as a bigint; absent or null is 0. */
export function uint64(owner: Json, name: string, path: string): bigint {
  const value = field(owner, name);
  if (value === undefined || value === null) return 0n;
  const n = integer(value, join(path, name));
  if (n < 0n || n >= 2n ** 64n) throw shape(join(path, name), "is out of range for fixed64");
  return n;
}

/** proto3 JSON int64: a number or a decimal string. */
export function integer(value: unknown, path: string): bigint {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw shape(path, `must be an integer (number or decimal string), got ${describe(value)}`);
}

/** proto3 JSON enum: the number, or the value's name. */
export function enumValue(
  owner: Json,
  name: string,
  byName: Map<string, number>,
  path: string,
): number {
  const value = field(owner, name);
  if (value === undefined || value === null) return 0;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  const known = typeof value === "string" ? byName.get(value) : undefined;
  if (known === undefined)
    throw shape(join(path, name), `is not a known value (${describe(value)})`);
  return known;
}

/** Enum value names (`PREFIX_` + the key in upper case) to numbers, for enumValue. */
export function enumNames(prefix: string, values: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(values).map(([k, v]) => [prefix + k.toUpperCase(), v]));
}

export function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

export function shape(path: string, problem: string): JsonShapeError {
  return new JsonShapeError(`${path} ${problem}`);
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === "object" ? "an object" : `the ${typeof value} ${String(value)}`;
}
