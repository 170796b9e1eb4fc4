/**
 * OTLP/HTTP protobuf and OTLP/gRPC metrics export requests to DecodedDataPoint[], one per row
 * of the exporter's metrics tables. A point with an exemplar whose trace or span id is
 * malformed is rejected on its own (the response's partial success counts it); a body that
 * cannot be read at all is one failure.
 */

import { hex, pbAttributes, toInt64, toUint64 } from "./decode-protobuf-request.ts";
import { exemplarIds } from "./metric-point.ts";
import type {
  DecodedDataPoint,
  DecodedExemplar,
  DecodedMetric,
  MetricsDecodeResult,
} from "./metric-point.ts";
import { otlpMetricsTypes } from "./otlp-schema-metrics.ts";
import type {
  PbDataPoint,
  PbExemplar,
  PbExportMetricsServiceRequest,
  PbMetric,
} from "./otlp-schema-metrics.ts";
import type { PbLong } from "./otlp-schema.ts";
import type { RejectedRecord } from "./signal-decoding.ts";
import { decodeProtobufBody, pbResource, pbScope } from "./signal-protobuf.ts";

/** Decodes a binary protobuf `ExportMetricsServiceRequest` (OTLP/HTTP protobuf and OTLP/gRPC). */
export function decodeMetricsProtobuf(body: Uint8Array): MetricsDecodeResult {
  const decoded = decodeProtobufBody<PbExportMetricsServiceRequest>(
    body,
    otlpMetricsTypes.exportMetricsServiceRequest,
  );
  if (!decoded.ok) return decoded;
  const out = { points: [] as DecodedDataPoint[], rejected: [] as RejectedRecord[] };
  for (const [i, rm] of decoded.request.resourceMetrics.entries()) {
    const resource = pbResource(rm.resource, rm.schemaUrl);
    for (const [j, sm] of rm.scopeMetrics.entries()) {
      const scope = pbScope(sm.scope, sm.schemaUrl);
      for (const [k, m] of sm.metrics.entries()) {
        const metric: DecodedMetric = {
          name: m.name,
          description: m.description,
          unit: m.unit,
          resource,
          scope,
        };
        metricPoints(m, metric, `resourceMetrics[${i}].scopeMetrics[${j}].metrics[${k}]`, out);
      }
    }
  }
  return { ok: true, ...out };
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The points of one metric, whichever its data member; a metric without data has none. */
function metricPoints(
  m: PbMetric,
  metric: DecodedMetric,
  metricPath: string,
  out: { points: DecodedDataPoint[]; rejected: RejectedRecord[] },
): void {
  // Every point first gets its exemplars: a malformed exemplar id rejects that point alone.
  const each = <P extends PbDataPoint & { exemplars?: PbExemplar[] }>(
    member: string,
    points: P[],
    build: (p: P, path: string, exemplars: DecodedExemplar[]) => DecodedDataPoint,
  ) => {
    for (const [n, p] of points.entries()) {
      const path = `${metricPath}.${member}.dataPoints[${n}]`;
      const exemplars = pbExemplars(p.exemplars ?? []);
      if (typeof exemplars === "string") {
        out.rejected.push({ path, serviceName: metric.resource.serviceName, reason: exemplars });
        continue;
      }
      out.points.push(build(p, path, exemplars));
    }
  };
  const base = (p: PbDataPoint, path: string) => ({
    metric,
    attributes: pbAttributes(p.attributes, 1),
    startTimeUnixNano: toUint64(p.startTimeUnixNano),
    timeUnixNano: toUint64(p.timeUnixNano),
    flags: p.flags >>> 0,
    path,
  });
  if (m.gauge !== null && hasOwn.call(m, "gauge")) {
    each("gauge", m.gauge.dataPoints, (p, path, exemplars) => ({
      ...base(p, path),
      kind: "gauge",
      value: numberValue(p),
      exemplars,
      aggregationTemporality: 0,
      isMonotonic: false,
    }));
  } else if (m.sum !== null && hasOwn.call(m, "sum")) {
    const sum = m.sum;
    each("sum", sum.dataPoints, (p, path, exemplars) => ({
      ...base(p, path),
      kind: "sum",
      value: numberValue(p),
      exemplars,
      aggregationTemporality: sum.aggregationTemporality,
      isMonotonic: sum.isMonotonic,
    }));
  } else if (m.histogram !== null && hasOwn.call(m, "histogram")) {
    const histogram = m.histogram;
    each("histogram", histogram.dataPoints, (p, path, exemplars) => ({
      ...base(p, path),
      kind: "histogram",
      count: toUint64(p.count),
      sum: p.sum,
      bucketCounts: p.bucketCounts.map(toUint64),
      explicitBounds: p.explicitBounds,
      exemplars,
      min: p.min,
      max: p.max,
      aggregationTemporality: histogram.aggregationTemporality,
    }));
  } else if (m.exponentialHistogram !== null && hasOwn.call(m, "exponentialHistogram")) {
    const histogram = m.exponentialHistogram;
    each("exponentialHistogram", histogram.dataPoints, (p, path, exemplars) => ({
      ...base(p, path),
      kind: "exponentialHistogram",
      count: toUint64(p.count),
      sum: p.sum,
      scale: p.scale,
      zeroCount: toUint64(p.zeroCount),
      positive: {
        offset: p.positive?.offset ?? 0,
        bucketCounts: (p.positive?.bucketCounts ?? []).map(toUint64),
      },
      negative: {
        offset: p.negative?.offset ?? 0,
        bucketCounts: (p.negative?.bucketCounts ?? []).map(toUint64),
      },
      exemplars,
      min: p.min,
      max: p.max,
      aggregationTemporality: histogram.aggregationTemporality,
    }));
  } else if (m.summary !== null && hasOwn.call(m, "summary")) {
    each("summary", m.summary.dataPoints, (p, path) => ({
      ...base(p, path),
      kind: "summary",
      count: toUint64(p.count),
      sum: p.sum,
      quantileValues: p.quantileValues.map((q) => ({ quantile: q.quantile, value: q.value })),
    }));
  }
}

/** as_double, or as_int as a double (the exporter's getValue), 0 when neither was sent. */
function numberValue(p: { asDouble: number; asInt: PbLong }): number {
  if (hasOwn.call(p, "asDouble")) return p.asDouble;
  if (hasOwn.call(p, "asInt")) return Number(toInt64(p.asInt));
  return 0;
}

/** The exemplars of a point, or why one of them rejects it. */
function pbExemplars(exemplars: PbExemplar[]): DecodedExemplar[] | string {
  const out: DecodedExemplar[] = [];
  for (const [n, e] of exemplars.entries()) {
    const ids = exemplarIds(n, hex(e.traceId), hex(e.spanId));
    if (typeof ids === "string") return ids;
    out.push({
      filteredAttributes: pbAttributes(e.filteredAttributes, 1),
      timeUnixNano: toUint64(e.timeUnixNano),
      value: numberValue(e),
      ...ids,
    });
  }
  return out;
}
