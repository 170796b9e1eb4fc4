/**
 * proto3 JSON readers the logs and metrics decoders share, on top of the trace decoder's
 * (decode-json-request.ts): the body parse, the resource and scope with their schema URLs, and
 * the scalar kinds spans do not have (uint32, int32, double).
 */

import {
  describe,
  field,
  integer,
  type Json,
  jsonAttributes,
  join,
  object,
  shape,
  string,
  utf8,
} from "./decode-json-request.ts";
import { TOO_DEEP_BODY, toResource } from "./decode-result.ts";
import type { DecodedSignalResource, DecodedSignalScope } from "./signal-decoding.ts";

/** The body parsed as a JSON object, or the failure naming `message` (the request type). */
export function parseJson(
  body: Uint8Array | string,
  message: string,
): { ok: true; request: Json } | { ok: false; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === "string" ? body : utf8.decode(body));
  } catch (error) {
    if (error instanceof RangeError) return { ok: false, message: TOO_DEEP_BODY };
    const text = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `not valid JSON: ${text}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      message: `not an OTLP ${message}: the body is ${describe(parsed)}, not an object`,
    };
  }
  return { ok: true, request: parsed as Json };
}

/** The resource of a ResourceLogs / ResourceMetrics object, with its schema URL. */
export function jsonResource(owner: Json, path: string): DecodedSignalResource {
  const resourcePath = join(path, "resource");
  const attributes = jsonAttributes(
    object(field(owner, "resource"), resourcePath),
    "attributes",
    resourcePath,
    1,
  );
  return { ...toResource(attributes), schemaUrl: string(owner, "schemaUrl", path) };
}

/** The scope of a ScopeLogs / ScopeMetrics object, with its schema URL. */
export function jsonScope(owner: Json, path: string): DecodedSignalScope {
  const scopePath = join(path, "scope");
  const scope = object(field(owner, "scope"), scopePath);
  return {
    name: string(scope, "name", scopePath),
    version: string(scope, "version", scopePath),
    attributes: jsonAttributes(scope, "attributes", scopePath, 1),
    droppedAttributesCount: uint32(scope, "droppedAttributesCount", scopePath),
    schemaUrl: string(owner, "schemaUrl", path),
  };
}

/** A uint32 / fixed32 field; absent or null is 0. */
export function uint32(owner: Json, name: string, path: string): number {
  return bounded(owner, name, path, 0n, 2n ** 32n, "uint32");
}

/** An int32 / sint32 field; absent or null is 0. */
export function int32(owner: Json, name: string, path: string): number {
  return bounded(owner, name, path, -(2n ** 31n), 2n ** 31n, "int32");
}

function bounded(
  owner: Json,
  name: string,
  path: string,
  min: bigint,
  end: bigint,
  type: string,
): number {
  const value = field(owner, name);
  if (value === undefined || value === null) return 0;
  const n = integer(value, join(path, name));
  if (n < min || n >= end) throw shape(join(path, name), `is out of range for ${type}`);
  return Number(n);
}

/** A double field: a number, or "NaN", "Infinity", "-Infinity" or a decimal string; absent is 0. */
export function double(owner: Json, name: string, path: string): number {
  const value = field(owner, name);
  return value === undefined || value === null ? 0 : doubleValue(value, join(path, name));
}

/** A proto3 JSON double. */
export function doubleValue(value: unknown, path: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value); // "Infinity", "-Infinity" included
    if (value === "NaN" || !Number.isNaN(n)) return n;
  }
  throw shape(path, `must be a number, got ${describe(value)}`);
}

/** A bool field; absent or null is false. */
export function bool(owner: Json, name: string, path: string): boolean {
  const value = field(owner, name);
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean")
    throw shape(join(path, name), `must be a boolean, got ${describe(value)}`);
  return value;
}
