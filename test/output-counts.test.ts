/**
 * output_counts (migration 11): the overview's outputs per minute, service and agent, kept by a
 * view and filled from the outputs stored before the migration; a re-sent span counts once, a
 * pending output once it is completed.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outputVolumes, periodOf } from "../src/api/overview-queries.ts";
import { MIGRATIONS } from "../src/store/migrations.ts";
import type { Store } from "../src/store/store.ts";
import {
  PENDING_ATTRIBUTE,
  deletePendingOutputs,
  encodeAgentOutputRows,
} from "../src/store/tables/agent-outputs.ts";
import { makeRow } from "./helpers/make-row.ts";
import { openTestStore } from "./helpers/store.ts";

// 2026-01-01T00:00:00Z, and the hour after it.
const T0 = 1_767_225_600;
const period = periodOf(T0 * 1000, (T0 + 3600) * 1000);
const at = (seconds: number) => `${T0 + seconds}.000000000`;

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

async function insert(rows: ReturnType<typeof makeRow>[]): Promise<void> {
  await store.write({
    traces: [],
    outputs: [],
    encoded: { traces: { chunks: [], rows: 0 }, outputs: encodeAgentOutputRows(rows) },
  });
}

const volumes = async () =>
  (await outputVolumes(store, period))
    .map((v) => ({
      service: v.service,
      agent: v.agent,
      outputs: v.outputs,
      nonZero: v.perBucket.filter((n) => n > 0),
    }))
    .sort((a, b) => a.service.localeCompare(b.service));

describe("output_counts", () => {
  it("counts each output once per minute, service and agent, a re-sent span too", async () => {
    const rows = [
      makeRow({ SpanId: "1".repeat(16), Timestamp: at(5), ServiceName: "a", AgentName: "x" }),
      makeRow({ SpanId: "2".repeat(16), Timestamp: at(6), ServiceName: "a", AgentName: "x" }),
      makeRow({ SpanId: "3".repeat(16), Timestamp: at(65), ServiceName: "a", AgentName: "x" }),
      makeRow({ SpanId: "4".repeat(16), Timestamp: at(7), ServiceName: "b", AgentName: "y" }),
    ];
    await insert(rows);
    await insert([rows[0]!, rows[1]!]); // a client's retry of an acknowledged request
    expect(await volumes()).toEqual([
      { service: "a", agent: "x", outputs: 3, nonZero: [2, 1] },
      { service: "b", agent: "y", outputs: 1, nonZero: [1] },
    ]);
  });

  it("counts a pending output once its completed row replaces it", async () => {
    const pending = makeRow({
      TraceId: "f".repeat(32),
      SpanId: "5".repeat(16),
      Timestamp: at(120),
      ServiceName: "c",
      AgentName: "",
      SpanAttributes: { [PENDING_ATTRIBUTE]: "agent" },
    });
    await insert([pending]);
    expect((await volumes()).map((v) => v.service)).not.toContain("c");
    await insert([{ ...pending, AgentName: "z", SpanAttributes: {} }]);
    await deletePendingOutputs(store, [pending]);
    expect((await volumes()).find((v) => v.service === "c")).toEqual({
      service: "c",
      agent: "z",
      outputs: 1,
      nonZero: [1],
    });
  });

  it("counts the outputs stored before the migration, once, when it runs", async () => {
    // A deployment from before migration 11: outputs stored while no view counted them.
    const migration = MIGRATIONS.find((m) => m.version === 11);
    const statements = migration?.statements({ tables: store.tables, retentionDays: 0 }) ?? [];
    expect(statements).toHaveLength(3);
    await store.client.command({ query: `DROP VIEW ${store.tables.outputCounts}_mv` });
    await store.client.command({ query: `TRUNCATE TABLE ${store.tables.outputCounts}` });
    await insert([
      makeRow({ SpanId: "6".repeat(16), Timestamp: at(300), ServiceName: "d", AgentName: "w" }),
    ]);
    expect(await volumes()).toEqual([]);

    for (const query of statements) await store.client.command({ query });
    const after = await volumes();
    expect(after).toEqual([
      { service: "a", agent: "x", outputs: 3, nonZero: [2, 1] },
      { service: "b", agent: "y", outputs: 1, nonZero: [1] },
      { service: "c", agent: "z", outputs: 1, nonZero: [1] },
      { service: "d", agent: "w", outputs: 1, nonZero: [1] },
    ]);
    // Running it again (two processes migrating at once) changes nothing.
    for (const query of statements) await store.client.command({ query });
    expect(await volumes()).toEqual(after);
  });
});
