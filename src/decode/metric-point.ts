/**
 * The decoded form of OTLP metric data points, independent of the wire encoding. One point per
 * row of the exporter's metrics tables: a gauge or sum point, a histogram, an exponential
 * histogram or a summary point, each with its metric (name, description, unit, resource,
 * scope) attached. Field meanings follow opentelemetry-proto `metrics/v1/metrics.proto`.
 */

import { ZERO_SPAN_ID, ZERO_TRACE_ID } from "./decode-result.ts";
import { optionalIdProblem } from "./signal-decoding.ts";
import type {
  DecodedSignalResource,
  DecodedSignalScope,
  RejectedRecord,
} from "./signal-decoding.ts";
import type { AttrMap } from "./span.ts";

/** The metric a point belongs to (shared by its points, do not mutate). */
export interface DecodedMetric {
  name: string;
  description: string;
  unit: string;
  resource: DecodedSignalResource;
  scope: DecodedSignalScope;
}

export interface DecodedExemplar {
  filteredAttributes: AttrMap;
  timeUnixNano: bigint;
  /** as_double, or as_int as a double (the exporter's Float64), 0 when neither was sent. */
  value: number;
  /** Lowercase hex, 32 characters; all zero when the exemplar has no trace (as the exporter). */
  traceId: string;
  /** Lowercase hex, 16 characters; all zero when the exemplar has no span. */
  spanId: string;
}

interface PointBase {
  metric: DecodedMetric;
  attributes: AttrMap;
  /** Unix ns; 0 when unknown (a gauge's start usually is). */
  startTimeUnixNano: bigint;
  /** Unix ns; 0 when unknown (the ingest settles it, signal-times.ts). */
  timeUnixNano: bigint;
  /** DataPointFlags (bit 0: no recorded value). */
  flags: number;
  /** Where it was in its request, e.g. "resourceMetrics[0]…metrics[2].sum.dataPoints[4]". */
  path: string;
}

/** A Gauge or Sum point. */
export interface NumberPoint extends PointBase {
  kind: "gauge" | "sum";
  /** as_double, or as_int as a double; 0 when neither was sent. */
  value: number;
  exemplars: DecodedExemplar[];
  /** Sum only (0 for a gauge): AggregationTemporality, 1 delta, 2 cumulative. */
  aggregationTemporality: number;
  /** Sum only (false for a gauge). */
  isMonotonic: boolean;
}

export interface HistogramPoint extends PointBase {
  kind: "histogram";
  count: bigint;
  /** 0 when not sent (optional in the proto, as pdata reads it). */
  sum: number;
  bucketCounts: bigint[];
  explicitBounds: number[];
  exemplars: DecodedExemplar[];
  min: number;
  max: number;
  aggregationTemporality: number;
}

export interface ExponentialBuckets {
  offset: number;
  bucketCounts: bigint[];
}

export interface ExponentialHistogramPoint extends PointBase {
  kind: "exponentialHistogram";
  count: bigint;
  sum: number;
  scale: number;
  zeroCount: bigint;
  positive: ExponentialBuckets;
  negative: ExponentialBuckets;
  exemplars: DecodedExemplar[];
  min: number;
  max: number;
  aggregationTemporality: number;
}

export interface SummaryPoint extends PointBase {
  kind: "summary";
  count: bigint;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
}

export type DecodedDataPoint =
  NumberPoint | HistogramPoint | ExponentialHistogramPoint | SummaryPoint;

/**
 * A decoded metrics request: the points kept and those rejected one by one (the response's
 * partial success counts them), or one failure for a body that cannot be read at all.
 */
export type MetricsDecodeResult =
  | { ok: true; points: DecodedDataPoint[]; rejected: RejectedRecord[] }
  | { ok: false; message: string };

/**
 * The ids of exemplar `n` as the exporter writes them (hex of the 16 and 8 id bytes, all zero
 * when absent), or why they reject the exemplar's point. Ids come as lowercase hex, "" when
 * absent, null when the JSON text was not hex.
 */
export function exemplarIds(
  n: number,
  traceId: string | null,
  spanId: string | null,
): { traceId: string; spanId: string } | string {
  const problem =
    optionalIdProblem(`exemplars[${n}].traceId`, traceId, 16) ||
    optionalIdProblem(`exemplars[${n}].spanId`, spanId, 8);
  if (problem !== "" || traceId === null || spanId === null) return problem;
  return { traceId: traceId || ZERO_TRACE_ID, spanId: spanId || ZERO_SPAN_ID };
}
