/**
 * What the logs and metrics decoders share, whichever the encoding: the resource and scope as
 * the exporter's logs and metrics tables keep them (schema URLs, scope attributes), the record
 * rejected on its own, the rule for the optional trace and span ids a log record or exemplar
 * carries, and the partial-success message.
 */

import { attrToString } from "./attr-string.ts";
import type { AttrMap, DecodedResource, DecodedScope } from "./span.ts";

/** A resource with the schema URL of its ResourceLogs / ResourceMetrics. */
export interface DecodedSignalResource extends DecodedResource {
  schemaUrl: string;
}

/** An instrumentation scope with its attributes and the schema URL of its ScopeLogs / ScopeMetrics. */
export interface DecodedSignalScope extends DecodedScope {
  attributes: AttrMap;
  droppedAttributesCount: number;
  schemaUrl: string;
}

/** A log record or data point left out of the result, and why. */
export interface RejectedRecord {
  /** Where it was, e.g. "resourceLogs[0].scopeLogs[1].logRecords[3]". */
  path: string;
  serviceName: string;
  reason: string;
}

/**
 * The `ServiceName` column of the logs and metrics tables: the exporter's
 * `GetServiceName`, `service.name` as text whatever its type (pdata `AsString()`), "" when absent.
 */
export function exporterServiceName(resource: DecodedResource): string {
  const value = resource.attributes["service.name"];
  return value === undefined ? "" : attrToString(value);
}

/**
 * Why an optional id of a log record or exemplar is invalid, or "" (logs.proto: empty, or
 * exactly 16 / 8 bytes). The id comes as lowercase hex, "" when absent, null when the JSON text
 * was not hex.
 */
export function optionalIdProblem(name: string, id: string | null, bytes: number): string {
  if (id === null) return `${name} is not a hex string`;
  if (id !== "" && id.length !== bytes * 2)
    return `${name} is ${id.length / 2} bytes, expected ${bytes} or none`;
  return "";
}

/**
 * OTLP partialSuccess.error_message: a human-readable summary, the first few reasons in full.
 * `noun` names what was rejected ("log record", "data point").
 */
export function describeRejected(rejected: readonly RejectedRecord[], noun: string): string {
  if (rejected.length === 0) return "";
  const shown = rejected.slice(0, 5).map((r) => `${r.path}: ${r.reason}`);
  const more = rejected.length > shown.length ? `; and ${rejected.length - shown.length} more` : "";
  return `${rejected.length} ${noun}(s) rejected: ${shown.join("; ")}${more}`;
}
