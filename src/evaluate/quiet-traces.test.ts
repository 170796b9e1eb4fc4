import { describe, expect, it } from "vitest";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import { makeRow } from "../../test/helpers/make-row.ts";
import {
  createQuietTraceEvaluator,
  QUIET_TRACE_CURSOR,
  type QuietTraceStore,
} from "./quiet-traces.ts";

function fakeStore(traces: Record<string, AgentOutputRow[]>, cursor?: number) {
  const cursors = new Map<string, number>(
    cursor === undefined ? [] : [[QUIET_TRACE_CURSOR, cursor]],
  );
  const asked: [number, number][] = [];
  const read: { ids: string[]; lean: boolean }[] = [];
  const store: QuietTraceStore = {
    readCursor: async (name) => cursors.get(name),
    writeCursor: async (name, value) => void cursors.set(name, value),
    quietTraceIds: async (after, upto) => (
      asked.push([after, upto]),
      Object.keys(traces).map((traceId) => ({ traceId, lastInsertMs: 1_000 }))
    ),
    outputsOfTraces: async (ids, lean) => (
      read.push({ ids, lean }),
      ids.flatMap((id) => traces[id] ?? [])
    ),
  };
  return { store, cursors, asked, read };
}

describe("quiet-trace evaluator", () => {
  const traces = {
    t1: [makeRow({ TraceId: "t1", SpanId: "a" }), makeRow({ TraceId: "t1", SpanId: "b" })],
    t2: [makeRow({ TraceId: "t2", SpanId: "c" })],
  };

  it("resumes from the stored cursor, evaluates each quiet trace whole, and moves the cursor", async () => {
    const { store, cursors, asked, read } = fakeStore(traces, 5_000);
    const evaluated: string[][] = [];
    const evaluator = createQuietTraceEvaluator({
      store,
      engine: {
        traceRulesRead: () => ({ any: true, bulky: false }),
        evaluateTrace: (rows) => (
          evaluated.push(rows.map((r) => r.SpanId)),
          { findings: [], results: [], evaluations: [] }
        ),
      },
      sink: { add: () => undefined },
      quietMs: 30_000,
      intervalMs: 1_000,
      now: () => 100_000,
    });
    expect(await evaluator.tick()).toBe(2);
    expect(asked).toEqual([[5_000 - 10_000, 70_000]]);
    expect(read).toEqual([{ ids: ["t1", "t2"], lean: true }]);
    expect(evaluated).toEqual([["a", "b"], ["c"]]);
    expect(cursors.get(QUIET_TRACE_CURSOR)).toBe(70_000);
    // The next pass overlaps the last; traces already evaluated at their last insert are skipped.
    expect(await evaluator.tick()).toBe(0);
    expect(evaluated).toHaveLength(2);
  });

  it("reads nothing when there are no trace rules, but still moves on", async () => {
    const { store, cursors, read } = fakeStore(traces, 5_000);
    const evaluator = createQuietTraceEvaluator({
      store,
      engine: {
        traceRulesRead: () => ({ any: false, bulky: false }),
        evaluateTrace: () => ({ findings: [], results: [], evaluations: [] }),
      },
      sink: { add: () => undefined },
      quietMs: 30_000,
      intervalMs: 1_000,
      now: () => 100_000,
    });
    expect(await evaluator.tick()).toBe(0);
    expect(read).toEqual([]);
    expect(cursors.get(QUIET_TRACE_CURSOR)).toBe(70_000);
  });

  it("evaluates traces this process ingested once they are quiet, even when the scan misses them", async () => {
    const { store, read } = fakeStore({});
    store.outputsOfTraces = async (ids) => (
      read.push({ ids, lean: true }),
      ids.flatMap((id) => traces[id as "t1"] ?? [])
    );
    let clock = 100_000;
    const evaluated: string[] = [];
    const evaluator = createQuietTraceEvaluator({
      store,
      engine: {
        traceRulesRead: () => ({ any: true, bulky: false }),
        evaluateTrace: (rows) => (
          evaluated.push(rows[0]?.TraceId ?? ""),
          { findings: [], results: [], evaluations: [] }
        ),
      },
      sink: { add: () => undefined },
      quietMs: 30_000,
      intervalMs: 1_000,
      now: () => clock,
    });
    evaluator.noteIngested(["t1"]);
    expect(await evaluator.tick()).toBe(0); // not quiet yet
    clock += 31_000;
    expect(await evaluator.tick()).toBe(1);
    expect(evaluated).toEqual(["t1"]);
    expect(await evaluator.tick()).toBe(0); // once
  });

  /**
   * An evaluator whose scan finds `scanned` (last insert at 1 000) and whose reads return any
   * trace asked for, failing while `failing` is set; the test moves the clock.
   */
  function clocked(scanned: string[]) {
    const state = { now: 100_000, failing: false };
    const evaluated: string[] = [];
    const { store } = fakeStore({}, 5_000);
    store.quietTraceIds = async () => scanned.map((traceId) => ({ traceId, lastInsertMs: 1_000 }));
    store.outputsOfTraces = async (ids) => {
      if (state.failing) throw new Error("store unavailable");
      return ids.map((id) => makeRow({ TraceId: id }));
    };
    const evaluator = createQuietTraceEvaluator({
      store,
      engine: {
        traceRulesRead: () => ({ any: true, bulky: false }),
        evaluateTrace: (rows) => (
          evaluated.push(rows[0]?.TraceId ?? ""),
          { findings: [], results: [], evaluations: [] }
        ),
      },
      sink: { add: () => undefined },
      quietMs: 30_000,
      intervalMs: 1_000,
      now: () => state.now,
    });
    return { state, evaluated, evaluator };
  }

  it("leaves the traces of a pass that failed while reading them to the next pass", async () => {
    const { state, evaluated, evaluator } = clocked(["t1"]);
    evaluator.noteIngested(["t2"]);
    state.now += 31_000;
    state.failing = true;
    await expect(evaluator.tick()).rejects.toThrow("store unavailable");
    state.failing = false;
    expect(await evaluator.tick()).toBe(2);
    expect(evaluated).toEqual(["t1", "t2"]);
  });

  it("evaluates a trace again when this process ingests more of it after the evaluation", async () => {
    const { state, evaluated, evaluator } = clocked([]);
    evaluator.noteIngested(["t1"]);
    state.now += 31_000;
    expect(await evaluator.tick()).toBe(1);
    // The rest of the trace (its agent span, exported last) commits after that read.
    state.now += 500;
    evaluator.noteIngested(["t1"]);
    expect(await evaluator.tick()).toBe(0); // not quiet again yet
    state.now += 30_000;
    expect(await evaluator.tick()).toBe(1);
    expect(evaluated).toEqual(["t1", "t1"]);
  });

  it("does not evaluate a noted trace again when the scan has read it since", async () => {
    const { state, evaluated, evaluator } = clocked(["t1"]);
    evaluator.noteIngested(["t1"]);
    state.now += 20_000; // the scan finds it quiet before the note is due
    expect(await evaluator.tick()).toBe(1);
    state.now += 20_000;
    expect(await evaluator.tick()).toBe(0);
    expect(evaluated).toEqual(["t1"]);
  });
});

describe("quiet-trace evaluator, role evaluate (output rules too)", () => {
  it("runs output rules once per output: a late span re-opens the trace, only it is new", async () => {
    const rows = [makeRow({ TraceId: "t1", SpanId: "a" }), makeRow({ TraceId: "t1", SpanId: "b" })];
    let lastInsertMs = 1_000;
    const store: QuietTraceStore = {
      readCursor: async () => 5_000,
      writeCursor: async () => undefined,
      quietTraceIds: async () => [{ traceId: "t1", lastInsertMs }],
      outputsOfTraces: async () => rows,
    };
    const traceRuns: string[][] = [];
    const outputRuns: string[][] = [];
    const evaluator = createQuietTraceEvaluator({
      store,
      engine: {
        traceRulesRead: () => ({ any: false, bulky: false }),
        evaluateTrace: (trace) => (
          traceRuns.push(trace.map((r) => r.SpanId)),
          { findings: [], results: [], evaluations: [] }
        ),
      },
      outputs: {
        evaluateOutputs: async (outputs) => (
          outputRuns.push(outputs.map((r) => r.SpanId)),
          { findings: [], results: [], evaluations: [] }
        ),
      },
      sink: { add: () => undefined },
      quietMs: 30_000,
      intervalMs: 1_000,
      now: () => 100_000,
    });
    await evaluator.tick();
    rows.push(makeRow({ TraceId: "t1", SpanId: "late" }));
    lastInsertMs = 2_000;
    await evaluator.tick();
    expect(traceRuns).toEqual([
      ["a", "b"],
      ["a", "b", "late"],
    ]);
    expect(outputRuns).toEqual([["a", "b"], ["late"]]);
  });
});
