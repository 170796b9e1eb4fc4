/**
 * Each span's attribute maps are stored once, in otel_traces: an agent_outputs row keeps only
 * the keys Plumbline derives (evaluation results, the pending mark), whichever way it is
 * written (ingest's encoded rows, row objects), and every read that hands rows to rules gets
 * the span's maps back: trace rules, backtests, crash recovery, the judge, the API.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputsInWindow } from "../src/evaluate/backtest-queries.ts";
import { outputsInserted } from "../src/evaluate/output-recovery-queries.ts";
import { judgeStore } from "../src/evaluate/judge/judge-queries.ts";
import type { Store } from "../src/store/store.ts";
import {
  encodeAgentOutputRows,
  getTrace,
  listOutputs,
  outputsOfTraces,
  type AgentOutputRow,
} from "../src/store/tables/agent-outputs.ts";
import { makeRow, spanRowsFor } from "./helpers/make-row.ts";
import { openTestStore } from "./helpers/store.ts";

const SPAN_ATTRIBUTES = {
  "gen_ai.request.model": "gpt-4o-mini",
  "customer.tier": "gold",
  "plumbline.evaluation.Relevance.score": "4",
};
const RESOURCE_ATTRIBUTES = { "service.name": "support-agent", "deployment.environment": "prod" };

// 2026-01-01T00:00:00Z and one second later.
const encodedRow = makeRow({
  TraceId: "a".repeat(32),
  SpanId: "1".repeat(16),
  Timestamp: "1767225600.000000000",
  SpanAttributes: SPAN_ATTRIBUTES,
  ResourceAttributes: RESOURCE_ATTRIBUTES,
});
const objectRow = makeRow({
  TraceId: "b".repeat(32),
  SpanId: "2".repeat(16),
  Timestamp: "1767225601.000000000",
  SpanAttributes: SPAN_ATTRIBUTES,
  ResourceAttributes: RESOURCE_ATTRIBUTES,
});
// Written before outputs stopped copying the maps, and its span no longer stored.
const oldRow = makeRow({
  TraceId: "c".repeat(32),
  SpanId: "3".repeat(16),
  Timestamp: "1767225602.000000000",
  SpanAttributes: { "customer.tier": "silver" },
  ResourceAttributes: { "deployment.environment": "staging" },
});

let store: Store;
const startedMs = Date.now();

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: spanRowsFor([encodedRow, objectRow]),
    outputs: [objectRow],
    encoded: { traces: { chunks: [], rows: 0 }, outputs: encodeAgentOutputRows([encodedRow]) },
  });
  await store.client.insert({
    table: store.tables.outputs,
    values: [oldRow],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await store?.close();
});

function attributesOf(rows: readonly AgentOutputRow[]) {
  return Object.fromEntries(
    [...rows]
      .sort((a, b) => a.SpanId.localeCompare(b.SpanId))
      .map((r) => [r.SpanId, { span: r.SpanAttributes, resource: r.ResourceAttributes }]),
  );
}

const EXPECTED = {
  [encodedRow.SpanId]: { span: SPAN_ATTRIBUTES, resource: RESOURCE_ATTRIBUTES },
  [objectRow.SpanId]: { span: SPAN_ATTRIBUTES, resource: RESOURCE_ATTRIBUTES },
  [oldRow.SpanId]: { span: oldRow.SpanAttributes, resource: oldRow.ResourceAttributes },
};

describe("agent_outputs", () => {
  it("stores only the derived attribute keys, however the row was written", async () => {
    const result = await store.client.query({
      query: `SELECT SpanId, SpanAttributes, ResourceAttributes FROM ${store.tables.outputs}
WHERE SpanId != {old:String} ORDER BY SpanId`,
      query_params: { old: oldRow.SpanId },
      format: "JSONEachRow",
    });
    const stored = await result.json<Pick<AgentOutputRow, "SpanAttributes">>();
    expect(stored).toEqual([
      {
        SpanId: encodedRow.SpanId,
        SpanAttributes: { "plumbline.evaluation.Relevance.score": "4" },
        ResourceAttributes: {},
      },
      {
        SpanId: objectRow.SpanId,
        SpanAttributes: { "plumbline.evaluation.Relevance.score": "4" },
        ResourceAttributes: {},
      },
    ]);
  });
});

describe("reads that hand rows to rules get the span's maps back", () => {
  const traceIds = [encodedRow.TraceId, objectRow.TraceId, oldRow.TraceId];

  it("trace rules (outputsOfTraces), not in its lean form", async () => {
    expect(attributesOf(await outputsOfTraces(store, traceIds))).toEqual(EXPECTED);
    const lean = await outputsOfTraces(store, traceIds, true);
    expect(lean.every((r) => Object.keys(r.SpanAttributes).length === 0)).toBe(true);
  });

  it("backtests (outputsInWindow), oldest first", async () => {
    const rows = await outputsInWindow(store, 1767225600000, 1767225603000);
    expect(rows.map((r) => r.SpanId)).toEqual([encodedRow.SpanId, objectRow.SpanId, oldRow.SpanId]);
    expect(attributesOf(rows)).toEqual(EXPECTED);
  });

  it("crash recovery (outputsInserted), in insert order", async () => {
    const rows = await outputsInserted(
      store,
      startedMs - 60_000,
      Date.now() + 60_000,
      undefined,
      10,
    );
    expect(attributesOf(rows.map((r) => r.row))).toEqual(EXPECTED);
    const keys = rows.map((r) => r.key);
    const sorted = [...keys].sort(
      (a, b) =>
        a.insertedAtMs - b.insertedAtMs ||
        a.traceId.localeCompare(b.traceId) ||
        a.spanId.localeCompare(b.spanId),
    );
    expect(keys).toEqual(sorted);
  });

  it("the judge's outputs", async () => {
    const rows = await judgeStore(store).outputs(
      [encodedRow, objectRow, oldRow].map((r) => ({ traceId: r.TraceId, spanId: r.SpanId })),
    );
    expect(attributesOf(rows)).toEqual(EXPECTED);
  });

  it("the API: outputs newest first, and a trace's outputs", async () => {
    const listed = (await listOutputs(store, { limit: 10 })) as AgentOutputRow[];
    expect(listed.map((r) => r.SpanId)).toEqual([
      oldRow.SpanId,
      objectRow.SpanId,
      encodedRow.SpanId,
    ]);
    expect(attributesOf(listed)).toEqual(EXPECTED);
    const trace = await getTrace(store, encodedRow.TraceId);
    expect(attributesOf(trace.outputs as AgentOutputRow[])).toEqual({
      [encodedRow.SpanId]: EXPECTED[encodedRow.SpanId],
    });
  });
});
