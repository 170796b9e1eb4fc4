/**
 * otel_logs and the five otel_metrics_* tables are the OpenTelemetry Collector contrib
 * clickhouseexporter's own layouts, so a table the exporter created can be shared with
 * Plumbline and Grafana dashboards built for the exporter work on ours. The exporter's CREATE
 * TABLE templates are committed as fixtures (test/fixtures/clickhouseexporter/, with their
 * source in each header); this test renders them as the exporter does, creates both in one
 * embedded store and compares what ClickHouse reports of each: every column's name, type,
 * default or materialized expression and codec, the partition and sorting keys, and the skip
 * indexes. Then it writes one record or point of each kind through our row builders and checks
 * the stored values against what the exporter's Go code writes for the same record.
 */

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toOtelLogsRow } from "../src/decode/log-row.ts";
import type { DecodedLogRecord } from "../src/decode/log-record.ts";
import type { DecodedDataPoint, DecodedMetric } from "../src/decode/metric-point.ts";
import { TABLE_OF_KIND, toMetricRow } from "../src/decode/metric-rows.ts";
import type { DecodedSignalResource, DecodedSignalScope } from "../src/decode/signal-decoding.ts";
import { emptyMetricRows, type MetricTable } from "../src/store/tables/otel-metrics.ts";
import type { Store } from "../src/store/store.ts";
import { openTestStore } from "./helpers/store.ts";

const FIXTURES = new URL("./fixtures/clickhouseexporter/", import.meta.url);

/** The fixture's SQL without its header comment. */
function template(file: string): string {
  return readFileSync(new URL(file, FIXTURES), "utf8").replace(/^(--.*\n)+/, "");
}

/**
 * logs_table.sql as the exporter's text/template renders it for ClickHouse before 26.2
 * (`HasFullTextSearch` false: bloom filter indexes), no cluster, no TTL.
 */
function renderLogsTemplate(database: string, table: string): string {
  return template("logs_table.sql")
    .replace("{{ident .Database}}", `\`${database}\``)
    .replace("{{ident .TableName}}", `\`${table}\``)
    .replace("{{.ClusterString}}", "")
    .replace(/\s*\{\{- if \.HasFullTextSearch\}\}[^]*?\{\{- else\}\}/, "")
    .replace(/\s*\{\{- end\}\}/, "")
    .replace("{{.Engine}}", "MergeTree()")
    .replace("{{.TTL}}", "");
}

/** A metrics template filled as the exporter's fmt.Sprintf(ddl, db, table, cluster, engine, ttl). */
function renderMetricsTemplate(file: string, database: string, table: string): string {
  const args = [database, table, "", "MergeTree()", ""];
  return template(file).replace(/%s/g, () => args.shift() ?? "");
}

/** Our table key, the exporter's template and default table name. */
const LAYOUTS: [keyof Store["tables"], string, string][] = [
  ["logs", "logs_table.sql", "otel_logs"],
  ["metricsGauge", "metrics_gauge_table.sql", "otel_metrics_gauge"],
  ["metricsSum", "metrics_sum_table.sql", "otel_metrics_sum"],
  ["metricsHistogram", "metrics_histogram_table.sql", "otel_metrics_histogram"],
  [
    "metricsExponentialHistogram",
    "metrics_exp_histogram_table.sql",
    "otel_metrics_exponential_histogram",
  ],
  ["metricsSummary", "metrics_summary_table.sql", "otel_metrics_summary"],
];

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
  await store.client.command({ query: "CREATE DATABASE IF NOT EXISTS exporter" });
  for (const [, file, table] of LAYOUTS) {
    const query =
      file === "logs_table.sql"
        ? renderLogsTemplate("exporter", table)
        : renderMetricsTemplate(file, "exporter", table);
    await store.client.command({ query });
  }
});
afterAll(async () => {
  await store?.close();
});

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await store.client.query({ query, query_params: params, format: "JSONEachRow" });
  return result.json<T>();
}

interface Column {
  name: string;
  type: string;
  default_type: string;
  default_expression: string;
  codec_expression: string;
}

/** What ClickHouse reports of a table: columns (comments aside), keys and skip indexes. */
async function layoutOf(qualified: string) {
  const [database, table] = qualified.split(".") as [string, string];
  const columns = await rows<Column & { comment: string }>(`DESCRIBE TABLE ${qualified}`);
  const [keys] = await rows<{ partition_key: string; sorting_key: string; primary_key: string }>(
    `SELECT partition_key, sorting_key, primary_key FROM system.tables
     WHERE database = {database:String} AND name = {table:String}`,
    { database, table },
  );
  const indexes = await rows<{
    name: string;
    type_full: string;
    expr: string;
    granularity: number;
  }>(
    `SELECT name, type_full, expr, granularity FROM system.data_skipping_indices
     WHERE database = {database:String} AND table = {table:String} ORDER BY name`,
    { database, table },
  );
  return {
    columns: columns.map(
      ({ name, type, default_type, default_expression, codec_expression }): Column => ({
        name,
        type,
        default_type,
        default_expression,
        codec_expression,
      }),
    ),
    keys,
    indexes,
  };
}

describe("the exporter's table layouts", () => {
  it.each(LAYOUTS)("%s is the exporter's %s", async (ours, _file, table) => {
    const expected = await layoutOf(`exporter.${table}`);
    const actual = await layoutOf(store.tables[ours]);
    expect(actual.columns.length).toBeGreaterThan(10);
    expect(actual.columns).toEqual(expected.columns);
    expect(actual.keys).toEqual(expected.keys);
    expect(actual.indexes).toEqual(expected.indexes);
  });

  it("names the tables as the exporter does by default", () => {
    expect(LAYOUTS.map(([ours]) => store.tables[ours])).toEqual(
      LAYOUTS.map(([, , table]) => `plumbline.${table}`),
    );
  });
});

// One record or point of each kind, and the values the exporter's Go code writes for it:
// exporter_logs.go (pushLogsData) and internal/metrics/{gauge,sum,histogram,
// exponential_histogram,summary}_metrics.go, with metrics_model.go's helpers.

const resource: DecodedSignalResource = {
  attributes: { "service.name": "billing", "k8s.pod.name": "billing-7f9c", replicas: 3 },
  serviceName: "billing",
  schemaUrl: "https://opentelemetry.io/schemas/1.30.0",
};
const scope: DecodedSignalScope = {
  name: "agent-app",
  version: "0.9.0",
  attributes: { "scope.flag": true },
  droppedAttributesCount: 2,
  schemaUrl: "https://opentelemetry.io/schemas/1.29.0",
};
const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";

/** The row as SELECT returns it: JSON text, 64-bit integers quoted (client settings). */
type Row = Record<string, unknown>;

async function readRow(table: string, order = ""): Promise<Row[]> {
  return rows<Row>(`SELECT * FROM ${table} ${order}`);
}

describe("the values written for one record of each kind", () => {
  it("a log record: the exporter's pushLogsData values", async () => {
    const record: DecodedLogRecord = {
      resource,
      scope,
      // The exporter: Timestamp is r.Timestamp(), or r.ObservedTimestamp() when it is 0
      // (signal-times.ts settles that before the row is built; here both are known).
      timeUnixNano: 1_700_000_000_123_456_789n,
      observedTimeUnixNano: 1_700_000_001_000_000_000n,
      severityNumber: 17,
      severityText: "ERROR",
      body: { role: "assistant", content: "refund approved", tokens: 12 },
      attributes: { "gen_ai.system": "openai", attempt: 2, ok: false },
      traceId: TRACE,
      spanId: SPAN,
      flags: 0x101, // the W3C flags are the low 8 bits
      eventName: "gen_ai.choice",
      path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
    };
    await store.write({ traces: [], outputs: [], logs: [toOtelLogsRow(record)] });
    const [row] = await rows<Row>(
      `SELECT *, \`__otel_materialized_k8s.pod.name\` AS pod FROM ${store.tables.logs}`,
    );
    expect(row).toEqual({
      Timestamp: "2023-11-14 22:13:20.123456789", // timestamp.AsTime()
      TraceId: TRACE, // traceutil.TraceIDToHexOrEmptyString(r.TraceID())
      SpanId: SPAN,
      TraceFlags: 1, // uint8(r.Flags())
      SeverityText: "ERROR",
      SeverityNumber: 17, // uint8(r.SeverityNumber())
      ServiceName: "billing", // GetServiceName(res.Attributes()): service.name AsString()
      Body: '{"content":"refund approved","role":"assistant","tokens":12}', // r.Body().AsString()
      ResourceSchemaUrl: "https://opentelemetry.io/schemas/1.30.0",
      ResourceAttributes: {
        "service.name": "billing",
        "k8s.pod.name": "billing-7f9c",
        replicas: "3",
      },
      ScopeSchemaUrl: "https://opentelemetry.io/schemas/1.29.0",
      ScopeName: "agent-app",
      ScopeVersion: "0.9.0",
      ScopeAttributes: { "scope.flag": "true" },
      LogAttributes: { "gen_ai.system": "openai", attempt: "2", ok: "false" },
      EventName: "gen_ai.choice", // r.EventName()
      pod: "billing-7f9c", // MATERIALIZED ResourceAttributes['k8s.pod.name']
    });
  });

  it("a log record without ids: empty TraceId and SpanId, as TraceIDToHexOrEmptyString", async () => {
    const record: DecodedLogRecord = {
      resource: { attributes: {}, serviceName: "", schemaUrl: "" },
      scope: { name: "", version: "", attributes: {}, droppedAttributesCount: 0, schemaUrl: "" },
      timeUnixNano: 1_600_000_000_000_000_000n,
      observedTimeUnixNano: 0n,
      severityNumber: 0,
      severityText: "",
      body: null,
      attributes: {},
      traceId: "",
      spanId: "",
      flags: 0,
      eventName: "",
      path: "resourceLogs[0].scopeLogs[0].logRecords[0]",
    };
    await store.write({ traces: [], outputs: [], logs: [toOtelLogsRow(record)] });
    const [row] = await rows<Row>(
      `SELECT TraceId, SpanId, ServiceName, Body FROM ${store.tables.logs} WHERE ServiceName = ''`,
    );
    expect(row).toEqual({ TraceId: "", SpanId: "", ServiceName: "", Body: "" });
  });

  const metric = (name: string): DecodedMetric => ({
    name,
    description: `${name} described`,
    unit: "s",
    resource,
    scope,
  });
  const base = (name: string) => ({
    metric: metric(name),
    attributes: { "gen_ai.operation.name": "chat", "http.status": 200 },
    // Times cut to the second: a Go time.Time written to a DateTime column.
    startTimeUnixNano: 1_700_000_000_900_000_000n,
    timeUnixNano: 1_700_000_060_999_999_999n,
    flags: 1,
    path: "resourceMetrics[0].scopeMetrics[0].metrics[0]",
  });
  const exemplar = {
    filteredAttributes: { "user.id": "u-1" },
    timeUnixNano: 1_700_000_030_500_000_000n,
    value: 7,
    traceId: TRACE,
    spanId: SPAN,
  };
  // An exemplar without ids: hex.EncodeToString of the zero ids, not "".
  const bareExemplar = {
    filteredAttributes: {},
    timeUnixNano: 0n,
    value: 0.25,
    traceId: "0".repeat(32),
    spanId: "0".repeat(16),
  };

  /** The columns every metrics row has, as the exporter writes them for `base(name)`. */
  const common = (name: string) => ({
    ResourceAttributes: {
      "service.name": "billing",
      "k8s.pod.name": "billing-7f9c",
      replicas: "3",
    },
    ResourceSchemaUrl: "https://opentelemetry.io/schemas/1.30.0",
    ScopeName: "agent-app",
    ScopeVersion: "0.9.0",
    ScopeAttributes: { "scope.flag": "true" },
    ScopeDroppedAttrCount: 2, // ScopeInstr.DroppedAttributesCount()
    ScopeSchemaUrl: "https://opentelemetry.io/schemas/1.29.0",
    ServiceName: "billing",
    MetricName: name,
    MetricDescription: `${name} described`,
    MetricUnit: "s",
    Attributes: { "gen_ai.operation.name": "chat", "http.status": "200" },
    StartTimeUnix: "2023-11-14 22:13:20", // dp.StartTimestamp().AsTime()
    TimeUnix: "2023-11-14 22:14:20", // dp.Timestamp().AsTime()
    Flags: 1, // uint32(dp.Flags())
  });
  // convertExemplars: filtered attributes, times, getValue(), hex of the id bytes.
  const exemplarColumns = {
    "Exemplars.FilteredAttributes": [{ "user.id": "u-1" }, {}],
    "Exemplars.TimeUnix": ["2023-11-14 22:13:50", "1970-01-01 00:00:00"],
    "Exemplars.Value": [7, 0.25],
    "Exemplars.SpanId": [SPAN, "0".repeat(16)],
    "Exemplars.TraceId": [TRACE, "0".repeat(32)],
  };

  const POINTS: [DecodedDataPoint, Row][] = [
    [
      {
        ...base("gen_ai.server.queue_depth"),
        kind: "gauge",
        value: 4,
        exemplars: [exemplar, bareExemplar],
        aggregationTemporality: 0,
        isMonotonic: false,
      },
      // gauge_metrics.go: getValue(dp.IntValue(), dp.DoubleValue(), dp.ValueType())
      { ...common("gen_ai.server.queue_depth"), Value: 4, ...exemplarColumns },
    ],
    [
      {
        ...base("gen_ai.requests"),
        kind: "sum",
        value: 12,
        exemplars: [exemplar, bareExemplar],
        aggregationTemporality: 1,
        isMonotonic: true,
      },
      // sum_metrics.go: int32(AggregationTemporality()), IsMonotonic()
      {
        ...common("gen_ai.requests"),
        Value: 12,
        ...exemplarColumns,
        AggregationTemporality: 1,
        IsMonotonic: true,
      },
    ],
    [
      {
        ...base("gen_ai.client.operation.duration"),
        kind: "histogram",
        count: 3n,
        sum: 4.5,
        bucketCounts: [1n, 2n, 0n],
        explicitBounds: [1, 2.5],
        exemplars: [exemplar, bareExemplar],
        min: 0.5,
        max: 2.25,
        aggregationTemporality: 2,
      },
      // histogram_metrics.go: Count, Sum, BucketCounts().AsRaw(), ExplicitBounds().AsRaw(), Min, Max
      {
        ...common("gen_ai.client.operation.duration"),
        Count: "3",
        Sum: 4.5,
        BucketCounts: ["1", "2", "0"],
        ExplicitBounds: [1, 2.5],
        ...exemplarColumns,
        Min: 0.5,
        Max: 2.25,
        AggregationTemporality: 2,
      },
    ],
    [
      {
        ...base("gen_ai.client.token.usage"),
        kind: "exponentialHistogram",
        count: 5n,
        sum: 1200,
        scale: 3,
        zeroCount: 1n,
        positive: { offset: 60, bucketCounts: [2n, 0n, 1n] },
        negative: { offset: -2, bucketCounts: [1n] },
        exemplars: [exemplar, bareExemplar],
        min: -1,
        max: 900,
        aggregationTemporality: 2,
      },
      // exponential_histogram_metrics.go: Scale, ZeroCount, Positive/Negative Offset and counts
      {
        ...common("gen_ai.client.token.usage"),
        Count: "5",
        Sum: 1200,
        Scale: 3,
        ZeroCount: "1",
        PositiveOffset: 60,
        PositiveBucketCounts: ["2", "0", "1"],
        NegativeOffset: -2,
        NegativeBucketCounts: ["1"],
        ...exemplarColumns,
        Min: -1,
        Max: 900,
        AggregationTemporality: 2,
      },
    ],
    [
      {
        ...base("rpc.server.duration"),
        kind: "summary",
        count: 10n,
        sum: 31.5,
        quantileValues: [
          { quantile: 0.5, value: 2.5 },
          { quantile: 0.99, value: 9 },
        ],
      },
      // summary_metrics.go: convertValueAtQuantile(dp.QuantileValues())
      {
        ...common("rpc.server.duration"),
        Count: "10",
        Sum: 31.5,
        "ValueAtQuantiles.Quantile": [0.5, 0.99],
        "ValueAtQuantiles.Value": [2.5, 9],
      },
    ],
  ];

  it.each(POINTS.map(([point, row]) => [point.kind, point, row] as const))(
    "%s: the exporter's values for one point",
    async (_kind, point, expected) => {
      const metrics = emptyMetricRows();
      const table: MetricTable = TABLE_OF_KIND[point.kind];
      (metrics[table] as object[]).push(toMetricRow(point));
      await store.write({ traces: [], outputs: [], metrics });
      expect(await readRow(store.tables[table])).toEqual([expected]);
    },
  );

  it("writes a value that is not finite as ClickHouse's nan and inf", async () => {
    const point: DecodedDataPoint = {
      ...base("not.finite"),
      kind: "gauge",
      value: Number.NaN,
      exemplars: [{ ...exemplar, value: Number.NEGATIVE_INFINITY }],
      aggregationTemporality: 0,
      isMonotonic: false,
    };
    const metrics = emptyMetricRows();
    metrics.metricsGauge.push(toMetricRow(point) as (typeof metrics.metricsGauge)[number]);
    await store.write({ traces: [], outputs: [], metrics });
    const [row] = await rows<{ value: string; exemplar: string }>(
      `SELECT toString(Value) AS value, toString(Exemplars.Value[1]) AS exemplar
       FROM ${store.tables.metricsGauge} WHERE MetricName = 'not.finite'`,
    );
    expect(row).toEqual({ value: "nan", exemplar: "-inf" });
  });
});
