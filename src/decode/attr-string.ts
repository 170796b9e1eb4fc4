/**
 * Attribute values as the clickhouseexporter stores them in Map(String, String) columns: the
 * collector's pdata `Value.AsString()` — strings as they are, ints in decimal, doubles as an
 * ECMAScript number-to-string, booleans as true/false, bytes as base64, arrays and maps as JSON.
 */

import type { AttrMap, AttrValue } from "./span.ts";

/** The exporter's text for one attribute value. */
export function attrToString(value: AttrValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberToString(value);
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (value === null) return "";
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return attrToJson(value);
}

/** Every attribute of a map as exporter text. */
export function attrsToStrings(attrs: AttrMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attrs)) out[key] = attrToString(attrs[key] as AttrValue);
  return out;
}

/**
 * JSON text of an attribute value: bigints keep every digit, bytes become base64 strings, map
 * keys are sorted as Go's json.Marshal sorts them, so equal maps give equal text.
 */
export function attrToJson(value: AttrValue): string {
  if (value === null) return "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    return Number.isFinite(value) ? String(value) : JSON.stringify(numberToString(value));
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
  if (Array.isArray(value)) return `[${value.map(attrToJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${attrToJson(value[k] as AttrValue)}`).join(",")}}`;
}

function numberToString(value: number): string {
  // pdata writes NaN/Inf through strconv; JSON has no spelling for them, so neither do we.
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}
