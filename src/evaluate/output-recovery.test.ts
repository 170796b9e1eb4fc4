import { describe, expect, it } from "vitest";
import { makeRow } from "../../test/helpers/make-row.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import {
  createOutputRecovery,
  OUTPUTS_EVALUATED_CURSOR,
  type InsertKey,
  type OutputRecoveryStore,
} from "./output-recovery.ts";

/** A store of outputs with insert times, and the cursor. */
function fakeStore(inserted: { at: number; spanId: string }[], cursor?: number) {
  const cursors = new Map<string, number>();
  if (cursor !== undefined) cursors.set(OUTPUTS_EVALUATED_CURSOR, cursor);
  const store: OutputRecoveryStore & { cursors: Map<string, number> } = {
    cursors,
    readCursor: async (name) => cursors.get(name),
    writeCursor: async (name, value) => void cursors.set(name, value),
    async outputsInserted(after, upto, from, limit) {
      const keyOf = (o: { at: number; spanId: string }): InsertKey => ({
        insertedAtMs: o.at,
        traceId: "t",
        spanId: o.spanId,
      });
      const past = (k: InsertKey) =>
        from === undefined ||
        k.insertedAtMs > from.insertedAtMs ||
        (k.insertedAtMs === from.insertedAtMs && k.spanId > from.spanId);
      return inserted
        .filter((o) => o.at > after && o.at <= upto && past(keyOf(o)))
        .sort((a, b) => a.at - b.at || a.spanId.localeCompare(b.spanId))
        .slice(0, limit)
        .map((o) => ({ row: makeRow({ TraceId: "t", SpanId: o.spanId }), key: keyOf(o) }));
    },
  };
  return store;
}

describe("output recovery", () => {
  it("evaluates again, page by page, every output inserted after the checkpoint, then moves it", async () => {
    const inserted = Array.from({ length: 7 }, (_, i) => ({
      at: 1_000 + (i < 4 ? 0 : i),
      spanId: `s${i}`,
    }));
    inserted.push({ at: 900, spanId: "before" });
    const store = fakeStore(inserted, 950);
    const evaluated: AgentOutputRow[][] = [];
    const steps: string[] = [];
    const recovery = createOutputRecovery({
      store,
      evaluate: async (rows) => void evaluated.push(rows),
      flush: async () => void steps.push(`flush after ${evaluated.length} pages`),
      clockMarginMs: 100,
      pageSize: 3,
      now: () => 5_000,
    });
    expect(await recovery.recover()).toBe(7);
    expect(evaluated.map((page) => page.map((r) => r.SpanId))).toEqual([
      ["s0", "s1", "s2"],
      ["s3", "s4", "s5"],
      ["s6"],
    ]);
    // Written before the checkpoint moves: a crash during recovery recovers again.
    expect(steps).toEqual(["flush after 3 pages"]);
    expect(store.cursors.get(OUTPUTS_EVALUATED_CURSOR)).toBe(4_900);
  });

  it("a first start recovers nothing and sets the checkpoint", async () => {
    const store = fakeStore([{ at: 10, spanId: "old" }]);
    const evaluated: AgentOutputRow[] = [];
    const recovery = createOutputRecovery({
      store,
      evaluate: async (rows) => void evaluated.push(...rows),
      flush: async () => undefined,
      clockMarginMs: 100,
      now: () => 5_000,
    });
    expect(await recovery.recover()).toBe(0);
    expect(evaluated).toEqual([]);
    expect(store.cursors.get(OUTPUTS_EVALUATED_CURSOR)).toBe(4_900);
  });

  it("a checkpoint is the time before the flush, less the margin, written only after it", async () => {
    const store = fakeStore([]);
    let clock = 10_000;
    let cursorDuringFlush: number | undefined = -1;
    const recovery = createOutputRecovery({
      store,
      evaluate: async () => undefined,
      flush: async () => {
        cursorDuringFlush = store.cursors.get(OUTPUTS_EVALUATED_CURSOR);
        clock += 3_000;
      },
      clockMarginMs: 100,
      now: () => clock,
    });
    await recovery.checkpoint();
    expect(cursorDuringFlush).toBeUndefined();
    expect(store.cursors.get(OUTPUTS_EVALUATED_CURSOR)).toBe(9_900);
  });
});
