/**
 * OTLP/HTTP JSON metrics export requests to DecodedDataPoint[], with the proto3 JSON readers of
 * the other decoders (decode-json-request.ts, signal-json.ts). The same points as the protobuf
 * decoder for the same request: a point with a malformed exemplar id is rejected on its own; a
 * body that is not JSON, or not shaped like an ExportMetricsServiceRequest, is one failure.
 */

import {
  array,
  enumNames,
  enumValue,
  field,
  hexId,
  integer,
  type Json,
  jsonAttributes,
  JsonShapeError,
  join,
  object,
  shape,
  string,
  uint64,
} from "./decode-json-request.ts";
import { exemplarIds } from "./metric-point.ts";
import type {
  DecodedDataPoint,
  DecodedExemplar,
  DecodedMetric,
  MetricsDecodeResult,
} from "./metric-point.ts";
import type { RejectedRecord } from "./signal-decoding.ts";
import {
  bool,
  double,
  doubleValue,
  int32,
  jsonResource,
  jsonScope,
  parseJson,
  uint32,
} from "./signal-json.ts";

const TEMPORALITY_BY_NAME = enumNames("AGGREGATION_TEMPORALITY_", {
  Unspecified: 0,
  Delta: 1,
  Cumulative: 2,
});

/** Decodes an OTLP/JSON `ExportMetricsServiceRequest` (UTF-8 bytes or text). */
export function decodeMetricsJson(body: Uint8Array | string): MetricsDecodeResult {
  const parsed = parseJson(body, "ExportMetricsServiceRequest");
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, ...jsonMetricsRequest(parsed.request) };
  } catch (error) {
    if (error instanceof JsonShapeError)
      return { ok: false, message: `not an OTLP ExportMetricsServiceRequest: ${error.message}` };
    throw error;
  }
}

type Out = { points: DecodedDataPoint[]; rejected: RejectedRecord[] };

function jsonMetricsRequest(request: Json): Out {
  const out: Out = { points: [], rejected: [] };
  array(request, "resourceMetrics", "").forEach((rmValue, i) => {
    const rmPath = `resourceMetrics[${i}]`;
    const rm = object(rmValue, rmPath);
    const resource = jsonResource(rm, rmPath);
    array(rm, "scopeMetrics", rmPath).forEach((smValue, j) => {
      const smPath = `${rmPath}.scopeMetrics[${j}]`;
      const sm = object(smValue, smPath);
      const scope = jsonScope(sm, smPath);
      array(sm, "metrics", smPath).forEach((metricValue, k) => {
        const path = `${smPath}.metrics[${k}]`;
        const m = object(metricValue, path);
        const metric: DecodedMetric = {
          name: string(m, "name", path),
          description: string(m, "description", path),
          unit: string(m, "unit", path),
          resource,
          scope,
        };
        metricPoints(m, metric, path, out);
      });
    });
  });
  return out;
}

/** The points of one metric, whichever its data member (the first present, as protobuf's oneof). */
function metricPoints(m: Json, metric: DecodedMetric, metricPath: string, out: Out): void {
  const member = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"].find(
    (name) => field(m, name) !== undefined && field(m, name) !== null,
  );
  if (member === undefined) return; // a metric without data has no points
  const memberPath = join(metricPath, member);
  const data = object(field(m, member), memberPath);
  const temporality = enumValue(data, "aggregationTemporality", TEMPORALITY_BY_NAME, memberPath);
  array(data, "dataPoints", memberPath).forEach((pointValue, n) => {
    const path = `${memberPath}.dataPoints[${n}]`;
    const p = object(pointValue, path);
    const exemplars = member === "summary" ? [] : jsonExemplars(p, path);
    if (typeof exemplars === "string") {
      out.rejected.push({ path, serviceName: metric.resource.serviceName, reason: exemplars });
      return;
    }
    const base = {
      metric,
      attributes: jsonAttributes(p, "attributes", path, 1),
      startTimeUnixNano: uint64(p, "startTimeUnixNano", path),
      timeUnixNano: uint64(p, "timeUnixNano", path),
      flags: uint32(p, "flags", path),
      path,
    };
    switch (member) {
      case "gauge":
      case "sum":
        out.points.push({
          ...base,
          kind: member,
          value: numberValue(p, path),
          exemplars,
          aggregationTemporality: member === "sum" ? temporality : 0,
          isMonotonic: member === "sum" && bool(data, "isMonotonic", memberPath),
        });
        return;
      case "histogram":
        out.points.push({
          ...base,
          kind: "histogram",
          count: uint64(p, "count", path),
          sum: double(p, "sum", path),
          bucketCounts: uint64s(p, "bucketCounts", path),
          explicitBounds: array(p, "explicitBounds", path).map((v, b) =>
            doubleValue(v, `${join(path, "explicitBounds")}[${b}]`),
          ),
          exemplars,
          min: double(p, "min", path),
          max: double(p, "max", path),
          aggregationTemporality: temporality,
        });
        return;
      case "exponentialHistogram":
        out.points.push({
          ...base,
          kind: "exponentialHistogram",
          count: uint64(p, "count", path),
          sum: double(p, "sum", path),
          scale: int32(p, "scale", path),
          zeroCount: uint64(p, "zeroCount", path),
          positive: buckets(p, "positive", path),
          negative: buckets(p, "negative", path),
          exemplars,
          min: double(p, "min", path),
          max: double(p, "max", path),
          aggregationTemporality: temporality,
        });
        return;
      default:
        out.points.push({
          ...base,
          kind: "summary",
          count: uint64(p, "count", path),
          sum: double(p, "sum", path),
          quantileValues: array(p, "quantileValues", path).map((q, n) => {
            const qPath = `${join(path, "quantileValues")}[${n}]`;
            const value = object(q, qPath);
            return {
              quantile: double(value, "quantile", qPath),
              value: double(value, "value", qPath),
            };
          }),
        });
    }
  });
}

/** asDouble, or asInt as a double, 0 when neither was sent (the exporter's getValue). */
function numberValue(owner: Json, path: string): number {
  const asDouble = field(owner, "asDouble");
  if (asDouble !== undefined && asDouble !== null)
    return doubleValue(asDouble, join(path, "asDouble"));
  const asInt = field(owner, "asInt");
  if (asInt === undefined || asInt === null) return 0;
  const n = integer(asInt, join(path, "asInt"));
  if (n < -(2n ** 63n) || n >= 2n ** 63n)
    throw shape(join(path, "asInt"), "is out of range for int64");
  return Number(n);
}

function uint64s(owner: Json, name: string, path: string): bigint[] {
  return array(owner, name, path).map((v, n) => {
    const itemPath = `${join(path, name)}[${n}]`;
    const count = integer(v, itemPath);
    if (count < 0n || count >= 2n ** 64n) throw shape(itemPath, "is out of range for uint64");
    return count;
  });
}

function buckets(
  owner: Json,
  name: string,
  path: string,
): { offset: number; bucketCounts: bigint[] } {
  const bucketsPath = join(path, name);
  const value = object(field(owner, name), bucketsPath);
  return {
    offset: int32(value, "offset", bucketsPath),
    bucketCounts: uint64s(value, "bucketCounts", bucketsPath),
  };
}

/** The exemplars of a point, or why one of them rejects it. */
function jsonExemplars(point: Json, path: string): DecodedExemplar[] | string {
  const out: DecodedExemplar[] = [];
  const exemplars = array(point, "exemplars", path);
  for (const [n, value] of exemplars.entries()) {
    const ePath = `${join(path, "exemplars")}[${n}]`;
    const e = object(value, ePath);
    const ids = exemplarIds(n, hexId(field(e, "traceId")), hexId(field(e, "spanId")));
    if (typeof ids === "string") return ids;
    out.push({
      filteredAttributes: jsonAttributes(e, "filteredAttributes", ePath, 1),
      timeUnixNano: uint64(e, "timeUnixNano", ePath),
      value: numberValue(e, ePath),
      ...ids,
    });
  }
  return out;
}
