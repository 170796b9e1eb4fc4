/**
 * A rule is parsed once, when it is loaded: its match, its check, the window spec of a rate or
 * drift check and its alert block. The engine, the alert manager and the window scheduler then
 * read the loaded rule; none of them parses a section again, however many outputs, ticks and
 * windows go by. The parsers are wrapped in counting spies (the real code still runs).
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAlertManager } from "../src/alert/alert-manager.ts";
import * as alertSpec from "../src/rules/alert-spec.ts";
import * as windowSpec from "../src/rules/window-spec.ts";
import * as compile from "../src/evaluate/compile-rule.ts";
import * as match from "../src/evaluate/match.ts";
import { createEngine } from "../src/evaluate/engine.ts";
import { createWindowScheduler } from "../src/evaluate/windows/scheduler.ts";
import { createRuleSet } from "../src/rules/rule-set.ts";
import { makeRow } from "./helpers/make-row.ts";
import { tempDir } from "./helpers/service.ts";
import { windowRow } from "./helpers/window-rows.ts";

vi.mock("../src/rules/alert-spec.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof alertSpec>();
  return { ...actual, parseAlertSpec: vi.fn(actual.parseAlertSpec) };
});
vi.mock("../src/rules/window-spec.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof windowSpec>();
  return { ...actual, parseWindowCheck: vi.fn(actual.parseWindowCheck) };
});
vi.mock("../src/evaluate/compile-rule.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof compile>();
  return { ...actual, compileRule: vi.fn(actual.compileRule) };
});
vi.mock("../src/evaluate/match.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof match>();
  return { ...actual, compileMatch: vi.fn(actual.compileMatch) };
});

const spies = {
  "alert spec": vi.mocked(alertSpec.parseAlertSpec),
  "window spec": vi.mocked(windowSpec.parseWindowCheck),
  check: vi.mocked(compile.compileRule),
  match: vi.mocked(match.compileMatch),
};

function calls(): Record<string, number> {
  return Object.fromEntries(
    Object.entries(spies).map(([name, spy]) => [name, spy.mock.calls.length]),
  );
}

const RULES = {
  "short-replies.json": {
    id: "short-replies",
    match: { service: "support", where: [{ field: "kind", equals: "llm" }] },
    check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 20] }] },
    alert: { mode: "each", resolveAfter: "1m" },
  },
  "few-calls.json": {
    id: "few-calls",
    match: { service: "support" },
    check: { type: "trace", kind: "count", max: 1 },
  },
  "length-drift.json": {
    id: "length-drift",
    match: { service: "support" },
    check: { type: "drift", field: "output.length", every: "5m" },
    alert: { for: "0s" },
  },
};

afterEach(() => vi.clearAllMocks());

describe("a loaded rule", () => {
  it("has each section parsed once per load, however long the service runs", async () => {
    const dir = tempDir("plumbline-parsed-once-");
    for (const [file, json] of Object.entries(RULES)) {
      writeFileSync(join(dir, file), JSON.stringify(json));
    }
    const set = createRuleSet({ dirs: [dir], pollMs: 0, compile: compile.compileRule });
    expect(set.errors()).toEqual([]);
    // Three rules: three alert blocks, three matches, three checks, one window spec.
    expect(calls()).toEqual({ "alert spec": 3, "window spec": 1, check: 3, match: 3 });
    vi.clearAllMocks();

    let clock = Date.UTC(2026, 10, 1, 12);
    const notifications: string[] = [];
    const manager = createAlertManager({
      rules: () => set.rules(),
      store: { saveRecords: async () => undefined, appendEvents: async () => undefined },
      initialRecords: [],
      enqueue: async (sent) => void notifications.push(...sent.map((n) => n.kind)),
      route: () => ["hook"],
      rateCounts: async () => [],
      linkTemplates: {},
      externalUrl: "http://plumbline:4318",
      now: () => clock,
    });
    const engine = createEngine({
      rules: () => set.rules(),
      sink: { add: (results, evaluations) => manager.onEvaluated(results, evaluations) },
    });
    const scheduler = createWindowScheduler({
      rules: () => set.rules(),
      evaluate: async (rule, _spec, ats) =>
        ats.map((at) => windowRow(rule, at, { status: "drift" })),
      save: async () => undefined,
      loadCursors: async () => new Map(),
      onResult: (row) => manager.onWindowResult(row),
      now: () => clock,
    });

    const long = "this reply goes on far longer than twenty characters";
    for (let batch = 0; batch < 5; batch += 1) {
      const trace = [1, 2, 3].map((i) =>
        makeRow({
          ServiceName: "support",
          TraceId: `${batch}`.padStart(32, "0"),
          SpanId: `${batch}${i}`.padStart(16, "0"),
          OutputText: long,
        }),
      );
      engine.onCommitted(trace);
      await engine.idle();
      const perTrace = engine.evaluateTrace(trace);
      manager.onEvaluated(perTrace.findings, perTrace.evaluations);
      await scheduler.tick();
      await manager.tick();
      await manager.idle();
      clock += 5 * 60_000;
    }
    // The rules ran: the output rule and the drift rule fired their alerts.
    expect(notifications).toContain("firing");
    expect(
      manager
        .alerts()
        .map((a) => a.ruleId)
        .sort(),
    ).toEqual(["few-calls", "length-drift", "short-replies"]);
    expect(calls()).toEqual({ "alert spec": 0, "window spec": 0, check: 0, match: 0 });

    // A reload is a new load: every section once more.
    await set.reload();
    expect(calls()).toEqual({ "alert spec": 3, "window spec": 1, check: 3, match: 3 });
    set.close();
  });
});
