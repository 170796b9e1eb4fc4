/**
 * builtin.service-silent (rules/builtin/service-silent.json) over a real embedded store: a
 * service that stopped sending is reported as silent, with its own alert, while a nightly
 * lull, a naturally sparse service and operations that are not answers (a retrieval) are
 * left alone; and like every built-in it can be switched off under its id.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileRule } from "../../src/evaluate/compile-rule.ts";
import { evaluateWindowRule } from "../../src/evaluate/windows/evaluate-window.ts";
import { windowRules } from "../../src/evaluate/windows/scheduler.ts";
import type { WindowEvaluation } from "../../src/rules/findings.ts";
import { createRuleSet } from "../../src/rules/rule-set.ts";
import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import type { Store } from "../../src/store/store.ts";
import { builtinDir, detector } from "../helpers/builtin-rules.ts";
import { makeRow } from "../helpers/make-row.ts";
import { openTestStore } from "../helpers/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 9, 14, 2, 30, 0);
const START = T - 8 * DAY;

let store: Store;
let serial = 0;

function outputs(
  service: string,
  kind: string,
  to: number,
  stepMs: number,
  skip: (ms: number) => boolean = () => false,
): AgentOutputRow[] {
  const rows: AgentOutputRow[] = [];
  for (let ms = START; ms < to; ms += stepMs) {
    if (skip(ms)) continue;
    serial += 1;
    rows.push(
      makeRow({
        Timestamp: `${Math.floor(ms / 1000)}.000000000`,
        TraceId: serial.toString(16).padStart(32, "0"),
        SpanId: serial.toString(16).padStart(16, "0"),
        ServiceName: service,
        Kind: kind,
      }),
    );
  }
  return rows;
}

const night = (ms: number) => (ms % DAY) / HOUR >= 1 && (ms % DAY) / HOUR < 5;
const rule = detector("service-silent");
let evaluation: WindowEvaluation;

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: [],
    outputs: [
      // About 20 answers in every 20 minutes, model calls and tool calls, until 40 minutes ago.
      ...outputs("checkout", "llm", T - 40 * MINUTE, 90_000),
      ...outputs("checkout", "tool", T - 40 * MINUTE, 180_000),
      // Busy by day, nothing at night (01:00–05:00): silence now is its usual night.
      ...outputs("back-office", "agent", T - 40 * MINUTE, 60_000, night),
      // Two answers an hour: 20 quiet minutes say nothing.
      ...outputs("nightly-report", "llm", T - 40 * MINUTE, 30 * MINUTE),
      // Retrievals are not answers.
      ...outputs("search-index", "retrieval", T - 40 * MINUTE, 60_000),
      // Sending as usual.
      ...outputs("support", "agent", T, 60_000),
    ],
  });
  if (rule.window === undefined) throw new Error("builtin.service-silent is no window rule");
  evaluation = await evaluateWindowRule(store, rule, rule.window, T);
});

afterAll(async () => {
  await store.close();
});

describe("builtin.service-silent", () => {
  it("reports the service that stopped sending, alone", () => {
    const silent = evaluation.groups?.filter((g) => g.status === "drift");
    expect(silent?.map((g) => g.labels)).toEqual([{ service: "checkout" }]);
    expect(silent?.[0]).toMatchObject({ observed: 0, days: 7 });
    expect(silent?.[0]?.expected).toBeGreaterThan(15);
    expect(evaluation.status).toBe("drift");
    expect(rule.alertSpec.groupBy).toEqual(["service"]);
  });

  it("leaves a nightly lull, a sparse service and a busy one alone, and reads no retrievals", () => {
    const statuses = Object.fromEntries(
      (evaluation.groups ?? []).map((g) => [g.labels["service"], g.status]),
    );
    expect(statuses).toEqual({
      "back-office": "insufficient",
      checkout: "drift",
      "nightly-report": "insufficient",
      support: "ok",
    });
  });

  it("is on by default, and off under its id", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "plumbline-silent-"));
    const on = createRuleSet({ compile: compileRule, dirs: [builtinDir, dir], pollMs: 0 });
    const ids = (set: typeof on) => windowRules(set.rules()).map(({ rule }) => rule.id);
    expect(ids(on)).toContain("builtin.service-silent");
    on.close();
    writeFileSync(
      path.join(dir, "off.json"),
      JSON.stringify({ id: "builtin.service-silent", enabled: false, check: { type: "absent" } }),
    );
    const off = createRuleSet({ compile: compileRule, dirs: [builtinDir, dir], pollMs: 0 });
    expect(off.errors()).toEqual([]);
    expect(ids(off)).not.toContain("builtin.service-silent");
    off.close();
  });
});
