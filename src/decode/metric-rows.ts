/**
 * DecodedDataPoints as rows of the exporter's metrics tables, with exactly the values the
 * OpenTelemetry Collector contrib clickhouseexporter writes (internal/metrics/*_metrics.go):
 * times cut to the second (DateTime), int values as doubles, unset optional doubles as 0,
 * exemplar ids as hex of their bytes.
 */

import type {
  ExemplarColumns,
  Float64,
  MetricRowBase,
  MetricRows,
  MetricTable,
} from "../store/tables/otel-metrics.ts";
import { attrsToStrings } from "./attr-string.ts";
import { sharedAttributeText } from "./log-row.ts";
import type { DecodedDataPoint, DecodedExemplar } from "./metric-point.ts";
import { exporterServiceName } from "./signal-decoding.ts";

/** The metrics table of each point kind. */
export const TABLE_OF_KIND: Record<DecodedDataPoint["kind"], MetricTable> = {
  gauge: "metricsGauge",
  sum: "metricsSum",
  histogram: "metricsHistogram",
  exponentialHistogram: "metricsExponentialHistogram",
  summary: "metricsSummary",
};

/** The row of one point whose times are settled (signal-times.ts). */
export function toMetricRow(point: DecodedDataPoint): MetricRows[MetricTable][number] {
  const base = baseColumns(point);
  switch (point.kind) {
    case "gauge":
      return { ...base, Value: float64(point.value), ...exemplarColumns(point.exemplars) };
    case "sum":
      return {
        ...base,
        Value: float64(point.value),
        ...exemplarColumns(point.exemplars),
        AggregationTemporality: point.aggregationTemporality,
        IsMonotonic: point.isMonotonic,
      };
    case "histogram":
      return {
        ...base,
        Count: point.count.toString(),
        Sum: float64(point.sum),
        BucketCounts: point.bucketCounts.map(String),
        ExplicitBounds: point.explicitBounds.map(float64),
        ...exemplarColumns(point.exemplars),
        Min: float64(point.min),
        Max: float64(point.max),
        AggregationTemporality: point.aggregationTemporality,
      };
    case "exponentialHistogram":
      return {
        ...base,
        Count: point.count.toString(),
        Sum: float64(point.sum),
        Scale: point.scale,
        ZeroCount: point.zeroCount.toString(),
        PositiveOffset: point.positive.offset,
        PositiveBucketCounts: point.positive.bucketCounts.map(String),
        NegativeOffset: point.negative.offset,
        NegativeBucketCounts: point.negative.bucketCounts.map(String),
        ...exemplarColumns(point.exemplars),
        Min: float64(point.min),
        Max: float64(point.max),
        AggregationTemporality: point.aggregationTemporality,
      };
    case "summary":
      return {
        ...base,
        Count: point.count.toString(),
        Sum: float64(point.sum),
        "ValueAtQuantiles.Quantile": point.quantileValues.map((q) => float64(q.quantile)),
        "ValueAtQuantiles.Value": point.quantileValues.map((q) => float64(q.value)),
      };
  }
}

function baseColumns(point: DecodedDataPoint): MetricRowBase {
  const { metric } = point;
  return {
    ResourceAttributes: sharedAttributeText(metric.resource),
    ResourceSchemaUrl: metric.resource.schemaUrl,
    ScopeName: metric.scope.name,
    ScopeVersion: metric.scope.version,
    ScopeAttributes: sharedAttributeText(metric.scope),
    ScopeDroppedAttrCount: metric.scope.droppedAttributesCount,
    ScopeSchemaUrl: metric.scope.schemaUrl,
    ServiceName: exporterServiceName(metric.resource),
    MetricName: metric.name,
    MetricDescription: metric.description,
    MetricUnit: metric.unit,
    Attributes: attrsToStrings(point.attributes),
    StartTimeUnix: unixSeconds(point.startTimeUnixNano),
    TimeUnix: unixSeconds(point.timeUnixNano),
    Flags: point.flags,
  };
}

function exemplarColumns(exemplars: DecodedExemplar[]): ExemplarColumns {
  return {
    "Exemplars.FilteredAttributes": exemplars.map((e) => attrsToStrings(e.filteredAttributes)),
    "Exemplars.TimeUnix": exemplars.map((e) => unixSeconds(e.timeUnixNano)),
    "Exemplars.Value": exemplars.map((e) => float64(e.value)),
    "Exemplars.SpanId": exemplars.map((e) => e.spanId),
    "Exemplars.TraceId": exemplars.map((e) => e.traceId),
  };
}

/** A DateTime value: whole Unix seconds, as the Go driver writes time.Time (t.Unix()). */
export function unixSeconds(nanos: bigint): number {
  return Number(nanos / 1_000_000_000n);
}

/** A Float64 as JSONEachRow takes it: JSON has no NaN or infinities, ClickHouse reads these. */
export function float64(value: number): Float64 {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  return value;
}
