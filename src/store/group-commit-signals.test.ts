/**
 * Log records and data points in the group committer (group-commit.test.ts has the spans):
 * merged with other requests into one insert per table, counted against the queue, written
 * once even when the store refuses another table's rows of the same flush, and, when the store
 * refuses some, isolated one by one and handed back as the very row objects.
 */

import { describe, expect, it } from "vitest";
import { createGroupCommitter, type CommitTarget } from "./group-commit.ts";
import type { OtelLogsRow } from "./tables/otel-logs.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";
import {
  emptyMetricRows,
  METRIC_TABLES,
  type GaugeRow,
  type SummaryRow,
} from "./tables/otel-metrics.ts";
import type { WriteBatch } from "./write-batch.ts";

const logRow = (body: string) => ({ Body: body }) as OtelLogsRow;
const gaugeRow = (name: string) => ({ MetricName: name }) as GaugeRow;
const summaryRow = (name: string) => ({ MetricName: name }) as SummaryRow;

const logsBatch = (...bodies: string[]): WriteBatch => ({
  traces: [],
  outputs: [],
  logs: bodies.map(logRow),
});
function metricsBatch(gauges: string[], summaries: string[] = []): WriteBatch {
  const metrics = emptyMetricRows();
  metrics.metricsGauge.push(...gauges.map(gaugeRow));
  metrics.metricsSummary.push(...summaries.map(summaryRow));
  return { traces: [], outputs: [], metrics };
}

/**
 * A store that, like the real one (store.ts), inserts each table of a batch on its own: the
 * tables it takes are written even when it refuses another table's rows of the same batch.
 */
function recordingTarget(refuse: (table: WriteBatch) => boolean = () => false) {
  const writes: WriteBatch[] = [];
  const target: CommitTarget & { writes: WriteBatch[] } = {
    writes,
    async write(batch) {
      const tables: WriteBatch[] = [];
      if (batch.traces.length > 0) tables.push({ traces: batch.traces, outputs: [] });
      if ((batch.logs?.length ?? 0) > 0)
        tables.push({ traces: [], outputs: [], logs: batch.logs! });
      for (const table of METRIC_TABLES) {
        if ((batch.metrics?.[table].length ?? 0) === 0) continue;
        const metrics = emptyMetricRows();
        metrics[table] = batch.metrics![table] as never;
        tables.push({ traces: [], outputs: [], metrics });
      }
      let refused = false;
      for (const table of tables) {
        if (refuse(table)) refused = true;
        else writes.push(table);
      }
      if (refused) throw Object.assign(new Error("Cannot parse input\nat row 1"), { code: "27" });
    },
    ping: async () => true,
  };
  return target;
}

const options = { flushIntervalMs: 20, flushMaxSpans: 1000, maxQueuedSpans: 10_000, backoffMs: 1 };
const bodies = (writes: WriteBatch[]) => writes.flatMap((b) => (b.logs ?? []).map((r) => r.Body));
const names = (writes: WriteBatch[], table: "metricsGauge" | "metricsSummary") =>
  writes.flatMap((b) => (b.metrics?.[table] ?? []).map((r) => r.MetricName));

describe("group commit of logs and metrics", () => {
  it("writes each table's rows of concurrent requests in one insert", async () => {
    const target = recordingTarget();
    const committer = createGroupCommitter(target, options);
    const results = await Promise.all([
      committer.submit(logsBatch("a", "b")),
      committer.submit(metricsBatch(["g1"], ["s1"])),
      committer.submit(logsBatch("c")),
      committer.submit(metricsBatch(["g2"])),
      committer.submit({ traces: [], outputs: [] }),
    ]);
    expect(results).toEqual(Array(5).fill({ ok: true, refused: [] }));
    // One insert for the log records, one per metrics table, none for the empty request.
    expect(
      target.writes.map((b) => [
        bodies([b]),
        names([b], "metricsGauge"),
        names([b], "metricsSummary"),
      ]),
    ).toEqual([
      [["a", "b", "c"], [], []],
      [[], ["g1", "g2"], []],
      [[], [], ["s1"]],
    ]);
    await committer.close();
  });

  it("writes the tables the store took once, when it refuses another table's rows", async () => {
    const span = { TraceId: "t", SpanId: "s1" } as unknown as OtelTracesRow;
    const target = recordingTarget((batch) => names([batch], "metricsGauge").includes("bad-g"));
    const committer = createGroupCommitter(target, options);
    const [spans, logs, metrics] = await Promise.all([
      committer.submit({ traces: [span], outputs: [] }),
      committer.submit(logsBatch("a")),
      committer.submit(metricsBatch(["bad-g", "g2"], ["s1"])),
    ]);
    expect(spans).toEqual({ ok: true, refused: [] });
    expect(logs).toEqual({ ok: true, refused: [] });
    expect(metrics).toMatchObject({ ok: true, refusedRows: [{ row: { MetricName: "bad-g" } }] });
    expect(target.writes.flatMap((b) => b.traces)).toEqual([span]);
    expect(bodies(target.writes)).toEqual(["a"]);
    expect(names(target.writes, "metricsGauge")).toEqual(["g2"]);
    expect(names(target.writes, "metricsSummary")).toEqual(["s1"]);
    await committer.close();
  });

  it("fails only the requests with rows in a table the store cannot take for now", async () => {
    const target = recordingTarget();
    const failing: CommitTarget = {
      ...target,
      async write(batch) {
        if (batch.logs !== undefined)
          throw Object.assign(new Error("Connection refused"), { code: "ECONNREFUSED" });
        await target.write(batch);
      },
    };
    const committer = createGroupCommitter(failing, { ...options, attempts: 1 });
    const [logs, metrics] = await Promise.all([
      committer.submit(logsBatch("a")),
      committer.submit(metricsBatch(["g1"])),
    ]);
    expect(logs).toMatchObject({ ok: false, error: { httpStatus: 503 } });
    expect(metrics).toEqual({ ok: true, refused: [] });
    expect(committer.health()).toMatchObject({ ok: false, reason: "Connection refused" });
    await committer.close();
  });

  it("counts log records and data points against the queue", async () => {
    const committer = createGroupCommitter(recordingTarget(), { ...options, maxQueuedSpans: 3 });
    const first = committer.submit(logsBatch("a", "b"));
    const second = await committer.submit(metricsBatch(["g1", "g2"]));
    expect(second).toMatchObject({ ok: false, error: { httpStatus: 429 } });
    expect(await first).toEqual({ ok: true, refused: [] });
    await committer.close();
  });

  it("commits every row but those the store refuses, and names the refused row objects", async () => {
    const target = recordingTarget(
      (batch) =>
        (batch.logs ?? []).some((r) => r.Body.startsWith("bad")) ||
        names([batch], "metricsSummary").includes("bad-s"),
    );
    const committer = createGroupCommitter(target, options);
    const logs = logsBatch("g0", "bad1", "g2", "g3", "bad4");
    const metrics = metricsBatch(["g1"], ["bad-s", "ok-s"]);
    const [logsResult, metricsResult] = await Promise.all([
      committer.submit(logs),
      committer.submit(metrics),
    ]);
    const reason = "the store refused it: Cannot parse input";
    expect(logsResult).toEqual({
      ok: true,
      refused: [],
      refusedRows: [
        { row: logs.logs![1], reason },
        { row: logs.logs![4], reason },
      ],
    });
    // The same objects, so the ingest finds each refused row's record by identity.
    if (!logsResult.ok) throw new Error("not committed");
    expect(logsResult.refusedRows?.[0]?.row).toBe(logs.logs![1]);
    expect(metricsResult).toEqual({
      ok: true,
      refused: [],
      refusedRows: [{ row: metrics.metrics!.metricsSummary[0], reason }],
    });
    expect(bodies(target.writes).sort()).toEqual(["g0", "g2", "g3"]);
    expect(names(target.writes, "metricsGauge")).toEqual(["g1"]);
    expect(names(target.writes, "metricsSummary")).toEqual(["ok-s"]);
    await committer.close();
  });
});
