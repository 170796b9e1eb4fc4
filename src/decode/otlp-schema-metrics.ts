/**
 * The OTLP metrics messages, defined into the root of otlp-schema.ts field by field after
 * opentelemetry-proto v1.7.0 (`collector/metrics/v1/metrics_service.proto`,
 * `metrics/v1/metrics.proto`). Deprecated and reserved fields (IntGauge, IntSum, …) are left
 * out, so a sender of those gets a metric without data.
 */

import { KEY_VALUE, message, otlpRoot } from "./otlp-schema.ts";
import type { PbKeyValue, PbLong } from "./otlp-schema.ts";
import type { PbInstrumentationScope, PbResource } from "./otlp-schema-logs.ts";

const SCOPE = "opentelemetry.proto.common.v1.InstrumentationScope";
const RESOURCE = "opentelemetry.proto.resource.v1.Resource";

// opentelemetry/proto/collector/metrics/v1/metrics_service.proto
otlpRoot.define("opentelemetry.proto.collector.metrics.v1", {
  MetricsService: {
    methods: {
      Export: {
        requestType: "ExportMetricsServiceRequest",
        responseType: "ExportMetricsServiceResponse",
      },
    },
  },
  ExportMetricsServiceRequest: message({
    resourceMetrics: [1, "opentelemetry.proto.metrics.v1.ResourceMetrics", "repeated"],
  }),
  ExportMetricsServiceResponse: message({ partialSuccess: [1, "ExportMetricsPartialSuccess"] }),
  ExportMetricsPartialSuccess: message({
    rejectedDataPoints: [1, "int64"],
    errorMessage: [2, "string"],
  }),
});

// opentelemetry/proto/metrics/v1/metrics.proto. Enums (AggregationTemporality) are read as
// int32, so a number outside the enum is kept as it came (the exporter stores it as Int32).
otlpRoot.define("opentelemetry.proto.metrics.v1", {
  ResourceMetrics: message(
    {
      resource: [1, RESOURCE],
      scopeMetrics: [2, "ScopeMetrics", "repeated"],
      schemaUrl: [3, "string"],
    },
    { reserved: [[1000, 1000]] },
  ),
  ScopeMetrics: message({
    scope: [1, SCOPE],
    metrics: [2, "Metric", "repeated"],
    schemaUrl: [3, "string"],
  }),
  Metric: message(
    {
      name: [1, "string"],
      description: [2, "string"],
      unit: [3, "string"],
      gauge: [5, "Gauge"],
      sum: [7, "Sum"],
      histogram: [9, "Histogram"],
      exponentialHistogram: [10, "ExponentialHistogram"],
      summary: [11, "Summary"],
      metadata: [12, KEY_VALUE, "repeated"],
    },
    {
      reserved: [
        [4, 4],
        [6, 6],
        [8, 8],
      ],
      oneofs: { data: { oneof: ["gauge", "sum", "histogram", "exponentialHistogram", "summary"] } },
    },
  ),
  Gauge: message({ dataPoints: [1, "NumberDataPoint", "repeated"] }),
  Sum: message({
    dataPoints: [1, "NumberDataPoint", "repeated"],
    aggregationTemporality: [2, "int32"],
    isMonotonic: [3, "bool"],
  }),
  Histogram: message({
    dataPoints: [1, "HistogramDataPoint", "repeated"],
    aggregationTemporality: [2, "int32"],
  }),
  ExponentialHistogram: message({
    dataPoints: [1, "ExponentialHistogramDataPoint", "repeated"],
    aggregationTemporality: [2, "int32"],
  }),
  Summary: message({ dataPoints: [1, "SummaryDataPoint", "repeated"] }),
  NumberDataPoint: message(
    {
      attributes: [7, KEY_VALUE, "repeated"],
      startTimeUnixNano: [2, "fixed64"],
      timeUnixNano: [3, "fixed64"],
      asDouble: [4, "double"],
      asInt: [6, "sfixed64"],
      exemplars: [5, "Exemplar", "repeated"],
      flags: [8, "uint32"],
    },
    { reserved: [[1, 1]], oneofs: { value: { oneof: ["asDouble", "asInt"] } } },
  ),
  HistogramDataPoint: message(
    {
      attributes: [9, KEY_VALUE, "repeated"],
      startTimeUnixNano: [2, "fixed64"],
      timeUnixNano: [3, "fixed64"],
      count: [4, "fixed64"],
      sum: [5, "double"],
      bucketCounts: [6, "fixed64", "repeated"],
      explicitBounds: [7, "double", "repeated"],
      exemplars: [8, "Exemplar", "repeated"],
      flags: [10, "uint32"],
      min: [11, "double"],
      max: [12, "double"],
    },
    { reserved: [[1, 1]] },
  ),
  ExponentialHistogramDataPoint: message(
    {
      attributes: [1, KEY_VALUE, "repeated"],
      startTimeUnixNano: [2, "fixed64"],
      timeUnixNano: [3, "fixed64"],
      count: [4, "fixed64"],
      sum: [5, "double"],
      scale: [6, "sint32"],
      zeroCount: [7, "fixed64"],
      positive: [8, "Buckets"],
      negative: [9, "Buckets"],
      flags: [10, "uint32"],
      exemplars: [11, "Exemplar", "repeated"],
      min: [12, "double"],
      max: [13, "double"],
      zeroThreshold: [14, "double"],
    },
    {
      nested: {
        Buckets: message({ offset: [1, "sint32"], bucketCounts: [2, "uint64", "repeated"] }),
      },
    },
  ),
  SummaryDataPoint: message(
    {
      attributes: [7, KEY_VALUE, "repeated"],
      startTimeUnixNano: [2, "fixed64"],
      timeUnixNano: [3, "fixed64"],
      count: [4, "fixed64"],
      sum: [5, "double"],
      quantileValues: [6, "ValueAtQuantile", "repeated"],
      flags: [8, "uint32"],
    },
    {
      reserved: [[1, 1]],
      nested: { ValueAtQuantile: message({ quantile: [1, "double"], value: [2, "double"] }) },
    },
  ),
  Exemplar: message(
    {
      filteredAttributes: [7, KEY_VALUE, "repeated"],
      timeUnixNano: [2, "fixed64"],
      asDouble: [3, "double"],
      asInt: [6, "sfixed64"],
      spanId: [4, "bytes"],
      traceId: [5, "bytes"],
    },
    { reserved: [[1, 1]], oneofs: { value: { oneof: ["asDouble", "asInt"] } } },
  ),
});
otlpRoot.resolveAll();

const metricsService = "opentelemetry.proto.collector.metrics.v1";

/** The metrics export messages, for decoding requests and encoding replies. */
export const otlpMetricsTypes = {
  exportMetricsServiceRequest: otlpRoot.lookupType(`${metricsService}.ExportMetricsServiceRequest`),
  exportMetricsServiceResponse: otlpRoot.lookupType(
    `${metricsService}.ExportMetricsServiceResponse`,
  ),
} as const;

/**
 * Decoded `Exemplar` and `NumberDataPoint`: the value member that was on the wire is an own
 * property (as with PbAnyValue); the other reads as the prototype default.
 */
export interface PbExemplar {
  filteredAttributes: PbKeyValue[];
  timeUnixNano: PbLong;
  asDouble: number;
  asInt: PbLong;
  spanId: Uint8Array;
  traceId: Uint8Array;
}

/** What every kind of data point has. */
export interface PbDataPoint {
  attributes: PbKeyValue[];
  startTimeUnixNano: PbLong;
  timeUnixNano: PbLong;
  flags: number;
}

export interface PbNumberDataPoint extends PbDataPoint {
  asDouble: number;
  asInt: PbLong;
  exemplars: PbExemplar[];
}

export interface PbHistogramDataPoint extends PbDataPoint {
  count: PbLong;
  sum: number;
  bucketCounts: PbLong[];
  explicitBounds: number[];
  exemplars: PbExemplar[];
  min: number;
  max: number;
}

export interface PbBuckets {
  offset: number;
  bucketCounts: PbLong[];
}

export interface PbExponentialHistogramDataPoint extends PbDataPoint {
  count: PbLong;
  sum: number;
  scale: number;
  zeroCount: PbLong;
  positive: PbBuckets | null;
  negative: PbBuckets | null;
  exemplars: PbExemplar[];
  min: number;
  max: number;
}

export interface PbSummaryDataPoint extends PbDataPoint {
  count: PbLong;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
}

export interface PbMetric {
  name: string;
  description: string;
  unit: string;
  gauge: { dataPoints: PbNumberDataPoint[] } | null;
  sum: {
    dataPoints: PbNumberDataPoint[];
    aggregationTemporality: number;
    isMonotonic: boolean;
  } | null;
  histogram: { dataPoints: PbHistogramDataPoint[]; aggregationTemporality: number } | null;
  exponentialHistogram: {
    dataPoints: PbExponentialHistogramDataPoint[];
    aggregationTemporality: number;
  } | null;
  summary: { dataPoints: PbSummaryDataPoint[] } | null;
}

export interface PbScopeMetrics {
  scope: PbInstrumentationScope | null;
  metrics: PbMetric[];
  schemaUrl: string;
}

export interface PbResourceMetrics {
  resource: PbResource | null;
  scopeMetrics: PbScopeMetrics[];
  schemaUrl: string;
}

/** Decoded `ExportMetricsServiceRequest`; absent repeated fields are empty arrays. */
export interface PbExportMetricsServiceRequest {
  resourceMetrics: PbResourceMetrics[];
}
