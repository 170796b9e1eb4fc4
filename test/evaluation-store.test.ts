/**
 * The evaluation tables on a real embedded store: re-evaluation never double-counts, the
 * quiet-trace cursor is durable, quiet traces are evaluated (again, when more of them arrives)
 * from what the store holds, and a backtest over seeded, back-dated history finds what it
 * should, window by window.
 */

import type { CompiledRule } from "../src/evaluate/compile-rule.ts";
import { loadTestRuleFile, parseTestRule } from "./helpers/rules.ts";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backtest } from "../src/evaluate/backtest.ts";
import { createEngine } from "../src/evaluate/engine.ts";
import { makeRow } from "./helpers/make-row.ts";

import { createQuietTraceEvaluator } from "../src/evaluate/quiet-traces.ts";
import {
  listChecks,
  ruleCounts,
  writeCheckEvaluations,
  writeFindings,
} from "../src/store/tables/checks.ts";
import { outputsInWindow, tracesStartingInWindow } from "../src/evaluate/backtest-queries.ts";
import { quietTraceIds, quietTraceStore } from "../src/evaluate/quiet-trace-queries.ts";
import { outputsOfTraces } from "../src/store/tables/agent-outputs.ts";
import { readCursor, writeCursor } from "../src/store/tables/cursors.ts";
import type { Finding } from "../src/rules/findings.ts";
import { evaluationOf, makeFinding } from "./helpers/findings.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import type { Store } from "../src/store/store.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

const NOW_S = Math.floor(Date.now() / 1000);

function rule(json: unknown): CompiledRule {
  const result = parseTestRule(json, "test.json");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.rule;
}

describe("evaluation tables", () => {
  it("counts an output once however often it is evaluated", async () => {
    const first = makeFinding({ ruleId: "r-once", time: `${NOW_S}.000000000` });
    const second = makeFinding({ ...first, spanId: "s2" });
    const rows = [evaluationOf(first, true), evaluationOf(second, false)];
    await writeCheckEvaluations(store, rows);
    await writeCheckEvaluations(store, rows);
    const counts = await ruleCounts(store, Date.now() - 3_600_000);
    expect(counts.get("r-once")).toMatchObject({ evaluated: 2, failed: 1 });

    const finding = makeFinding({
      ruleId: "r-once",
      severity: "warning",
      time: `${NOW_S}.000000000`,
      path: "output.text",
      message: "is empty",
      observed: "",
      expected: "not empty",
    });
    await writeFindings(store, [finding]);
    await writeFindings(store, [finding]);
    expect(await listChecks(store, { rule: "r-once", limit: 10 })).toHaveLength(1);
  });

  it("keeps the quiet-trace cursor and finds traces quiet since a time", async () => {
    expect(await readCursor(store, "test-cursor")).toBeUndefined();
    await writeCursor(store, "test-cursor", 1_000);
    await writeCursor(store, "test-cursor", 2_000);
    expect(await readCursor(store, "test-cursor")).toBe(2_000);

    const before = Date.now() - 1;
    await store.write({
      traces: [],
      outputs: [
        makeRow({ TraceId: "a".repeat(32), SpanId: "1".repeat(16) }),
        makeRow({ TraceId: "b".repeat(32), SpanId: "2".repeat(16) }),
      ],
    });
    const after = Date.now() + 1;
    const ids = async (a: number, b: number) =>
      (await quietTraceIds(store, a, b)).map((t) => t.traceId);
    expect((await ids(before, after)).sort()).toEqual(["a".repeat(32), "b".repeat(32)]);
    expect(await ids(after, after + 10_000)).toEqual([]);
    // A trace with a newer insert is not quiet yet at the earlier horizon.
    await new Promise((r) => setTimeout(r, 20));
    await store.write({
      traces: [],
      outputs: [makeRow({ TraceId: "a".repeat(32), SpanId: "3".repeat(16) })],
    });
    expect(await ids(before, after)).toEqual(["b".repeat(32)]);
    const rows = await outputsOfTraces(store, ["a".repeat(32)]);
    expect(rows.map((r) => r.SpanId).sort()).toEqual(["1".repeat(16), "3".repeat(16)]);
    expect(rows[0]?.Timestamp).toMatch(/^\d+\.\d{9}$/);
  });

  it("backtests seeded, back-dated history window by window", async () => {
    const start = (NOW_S - 3 * 86_400) * 1000;
    const outputs = [];
    // Three days of a support agent, one output an hour; from hour 48 on, every third reply is empty.
    for (let hour = 0; hour < 72; hour++) {
      const ts = start / 1000 + hour * 3600 + 60;
      const broken = hour >= 48 && hour % 3 === 0;
      outputs.push(
        makeRow({
          Timestamp: `${ts}.000000000`,
          TraceId: hour.toString(16).padStart(32, "c"),
          SpanId: hour.toString(16).padStart(16, "d"),
          ServiceName: "backtest-svc",
          OutputText: broken ? "" : "Your order ships tomorrow.",
        }),
      );
    }
    await store.write({ traces: [], outputs });
    const rules = [
      rule({
        id: "reply-not-empty",
        match: { service: "backtest-svc" },
        check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
      }),
      rule({
        id: "few-calls",
        match: { service: "backtest-svc" },
        check: { type: "trace", kind: "count", max: 0 },
      }),
    ];
    const progress: number[] = [];
    const summaries = await backtest({
      rules,
      source: {
        outputsInWindow: (from, to) => outputsInWindow(store, from, to, "backtest-svc"),
        tracesStartingInWindow: (from, to) =>
          tracesStartingInWindow(store, from, to, "backtest-svc"),
        outputsOfTraces: (ids) => outputsOfTraces(store, ids),
      },
      sinceMs: start,
      untilMs: start + 72 * 3_600_000,
      windowMs: 6 * 3_600_000,
      onProgress: (done) => progress.push(done),
    });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const replies = summaries.find((s) => s.ruleId === "reply-not-empty");
    expect(replies).toMatchObject({ evaluated: 72, failed: 8, findings: 8 });
    expect(replies?.firstAt).toBe(new Date(start + 48 * 3_600_000 + 60_000).toISOString());
    expect(replies?.examples).toHaveLength(3);
    expect(summaries.find((s) => s.ruleId === "few-calls")).toMatchObject({
      evaluated: 72,
      failed: 72,
    });
  });
});

describe("quiet traces on the store", () => {
  const BUILTIN = fileURLToPath(new URL("../rules/builtin/", import.meta.url));
  const loaded = loadTestRuleFile(`${BUILTIN}error-swallowed.json`, BUILTIN);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const swallowed = loaded.rule;
  const QUIET_MS = 1_000;

  /**
   * The quiet-trace evaluator as the service wires it (store queries, engine with the
   * error-swallowed detector, lean reads), on a clock `ahead` ms in front of the store's, so
   * that a test decides when a trace has gone quiet instead of waiting for it.
   */
  function evaluator() {
    const findings: Finding[] = [];
    const clock = { ahead: 0 };
    const engine = createEngine({ rules: () => [swallowed], sink: { add: () => undefined } });
    const traces = createQuietTraceEvaluator({
      store: quietTraceStore(store),
      engine,
      sink: { add: (results) => void findings.push(...results) },
      quietMs: QUIET_MS,
      intervalMs: 100,
      now: () => Date.now() + clock.ahead,
    });
    return { findings, clock, traces };
  }

  /**
   * An agent run whose tool call answered an error as data, as the OTel JS SDK records it:
   * every start in whole milliseconds (Date.now()), every duration to the nanosecond
   * (performance.now()). With the default half-millisecond run, the run's recorded end
   * (.320485883) is before its tool call's recorded start (.321).
   */
  function agentRun(
    traceId: string,
    agentDurationNs = "485883",
  ): { agent: AgentOutputRow; children: AgentOutputRow[] } {
    const second = Math.floor(Date.now() / 1000);
    const at = (ms: number) => `${second}.${String(ms * 1_000_000).padStart(9, "0")}`;
    const common = { TraceId: traceId, ServiceName: "orders-agent", AgentName: "order-bot" };
    const agent = makeRow({
      ...common,
      SpanId: "a000000000000001",
      Timestamp: at(320),
      DurationNs: agentDurationNs,
      Kind: "agent",
      Operation: "invoke_agent",
      SpanName: "invoke_agent order-bot",
      StatusCode: "Ok",
      OutputText: "Your order ships tomorrow.",
    });
    const child = { ...common, ParentSpanId: agent.SpanId };
    return {
      agent,
      children: [
        makeRow({ ...child, SpanId: "c000000000000001", Timestamp: at(320), DurationNs: "18887" }),
        makeRow({
          ...child,
          SpanId: "c000000000000002",
          Timestamp: at(321),
          DurationNs: "6542",
          Kind: "tool",
          Operation: "execute_tool",
          SpanName: "execute_tool lookup_order",
          ToolName: "lookup_order",
          ToolArguments: '{"id":7}',
          ToolResult: '{"error":"401 Unauthorized: token expired"}',
          OutputText: '{"error":"401 Unauthorized: token expired"}',
          Model: "",
        }),
        makeRow({ ...child, SpanId: "c000000000000003", Timestamp: at(321), DurationNs: "10299" }),
      ],
    };
  }

  const swallowedIn = (findings: Finding[], traceId: string) =>
    findings.filter((f) => f.traceId === traceId && f.code === "error_swallowed");

  it("finds the swallowed error of a run shorter than a millisecond, read lean", async () => {
    const { findings, clock, traces } = evaluator();
    const traceId = "e1".repeat(16);
    const { agent, children } = agentRun(traceId);
    await store.write({ traces: [], outputs: [agent, ...children] });
    traces.noteIngested([traceId]);
    clock.ahead = QUIET_MS + 1_000;
    expect(await traces.tick()).toBeGreaterThan(0);
    expect(swallowedIn(findings, traceId)).toEqual([
      expect.objectContaining({
        spanId: agent.SpanId,
        scope: "trace",
        labels: expect.objectContaining({ operation: "invoke_agent" }),
      }),
    ]);
    await traces.stop();
  });

  it("evaluates a trace again when its agent span arrives after the rest was evaluated", async () => {
    const { findings, clock, traces } = evaluator();
    const traceId = "e2".repeat(16);
    const { agent, children } = agentRun(traceId, "900000000");
    // The SDK exports the finished child spans first, the run's own span in a later request.
    await store.write({ traces: [], outputs: children });
    traces.noteIngested([traceId]);
    clock.ahead = QUIET_MS + 1_000;
    expect(await traces.tick()).toBeGreaterThan(0);
    expect(swallowedIn(findings, traceId)).toEqual([]); // no agent run yet

    await new Promise((resolve) => setTimeout(resolve, 5)); // a later insert time
    await store.write({ traces: [], outputs: [agent] });
    traces.noteIngested([traceId]);
    clock.ahead = 0;
    await traces.tick(); // not quiet yet
    expect(swallowedIn(findings, traceId)).toEqual([]);
    clock.ahead = QUIET_MS + 2_000;
    expect(await traces.tick()).toBeGreaterThan(0);
    expect(swallowedIn(findings, traceId)).toHaveLength(1);
    await traces.stop();
  });
});
