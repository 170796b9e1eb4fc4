/**
 * The metrics tables (migration 9), one per OTLP point type, in the layout of the OpenTelemetry
 * Collector contrib clickhouseexporter: otel_metrics_gauge, _sum, _histogram,
 * _exponential_histogram and _summary. Rows are keyed by column name as JSONEachRow wants them;
 * Nested columns are written flattened (`Exemplars.Value` …).
 *
 * The time columns are DateTime (seconds): written as Unix seconds, the exporter's time.Time
 * cut to the second. UInt64 counts are decimal strings (they exceed 2^53). A Float64 that is
 * not finite is written "nan", "inf" or "-inf", which ClickHouse reads as such (JSON has no
 * spelling for them).
 */

/** A Float64 value as JSONEachRow text takes it. */
export type Float64 = number | "nan" | "inf" | "-inf";

/** The columns every metrics table has. */
export interface MetricRowBase {
  ResourceAttributes: Record<string, string>;
  ResourceSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Record<string, string>;
  ScopeDroppedAttrCount: number;
  ScopeSchemaUrl: string;
  ServiceName: string;
  MetricName: string;
  MetricDescription: string;
  MetricUnit: string;
  Attributes: Record<string, string>;
  /** Unix seconds. */
  StartTimeUnix: number;
  /** Unix seconds. */
  TimeUnix: number;
  Flags: number;
}

/** The Exemplars Nested columns of every table but summary. */
export interface ExemplarColumns {
  "Exemplars.FilteredAttributes": Record<string, string>[];
  /** Unix seconds. */
  "Exemplars.TimeUnix": number[];
  "Exemplars.Value": Float64[];
  "Exemplars.SpanId": string[];
  "Exemplars.TraceId": string[];
}

export interface GaugeRow extends MetricRowBase, ExemplarColumns {
  Value: Float64;
}

export interface SumRow extends GaugeRow {
  AggregationTemporality: number;
  IsMonotonic: boolean;
}

export interface HistogramRow extends MetricRowBase, ExemplarColumns {
  Count: string;
  Sum: Float64;
  BucketCounts: string[];
  ExplicitBounds: Float64[];
  Min: Float64;
  Max: Float64;
  AggregationTemporality: number;
}

export interface ExponentialHistogramRow extends MetricRowBase, ExemplarColumns {
  Count: string;
  Sum: Float64;
  Scale: number;
  ZeroCount: string;
  PositiveOffset: number;
  PositiveBucketCounts: string[];
  NegativeOffset: number;
  NegativeBucketCounts: string[];
  Min: Float64;
  Max: Float64;
  AggregationTemporality: number;
}

export interface SummaryRow extends MetricRowBase {
  Count: string;
  Sum: Float64;
  "ValueAtQuantiles.Quantile": Float64[];
  "ValueAtQuantiles.Value": Float64[];
}

/** Rows for each metrics table, by the TableNames key of the table. */
export interface MetricRows {
  metricsGauge: GaugeRow[];
  metricsSum: SumRow[];
  metricsHistogram: HistogramRow[];
  metricsExponentialHistogram: ExponentialHistogramRow[];
  metricsSummary: SummaryRow[];
}

/** The TableNames keys of the metrics tables. */
export const METRIC_TABLES = [
  "metricsGauge",
  "metricsSum",
  "metricsHistogram",
  "metricsExponentialHistogram",
  "metricsSummary",
] as const satisfies readonly (keyof MetricRows)[];

export type MetricTable = (typeof METRIC_TABLES)[number];

/** No rows for any metrics table. */
export function emptyMetricRows(): MetricRows {
  return {
    metricsGauge: [],
    metricsSum: [],
    metricsHistogram: [],
    metricsExponentialHistogram: [],
    metricsSummary: [],
  };
}
