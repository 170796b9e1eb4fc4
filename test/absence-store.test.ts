// Absence rules over a real embedded store (docs/silence.md): one query counts every entity's
// outputs in the current window and the same window of earlier days, and each entity gets its
// own verdict — silent, sending, or too sparse to tell — as documented.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateWindowRule } from "../src/evaluate/windows/evaluate-window.ts";
import type { AbsenceGroup, WindowEvaluation } from "../src/rules/findings.ts";
import type { AgentOutputRow } from "../src/store/tables/agent-outputs.ts";
import type { Store } from "../src/store/store.ts";
import { makeRow } from "./helpers/make-row.ts";
import { loadedRule } from "./helpers/rules.ts";
import { openTestStore } from "./helpers/store.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Evaluations at T (03:00 UTC); the window is the 20 minutes before it. */
const T = Date.UTC(2026, 9, 10, 3, 0, 0);
const START = T - 7 * DAY - HOUR;

let store: Store;
let serial = 0;

/** One output of `service` every `stepMs` in [from, to), except where `skip` says. */
function every(
  service: string,
  from: number,
  to: number,
  stepMs: number,
  skip: (ms: number) => boolean = () => false,
  overrides: Partial<AgentOutputRow> = {},
): AgentOutputRow[] {
  const rows: AgentOutputRow[] = [];
  for (let ms = from; ms < to; ms += stepMs) {
    if (skip(ms)) continue;
    serial += 1;
    rows.push(
      makeRow({
        Timestamp: `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, "0")}`,
        TraceId: serial.toString(16).padStart(32, "0"),
        SpanId: serial.toString(16).padStart(16, "0"),
        ServiceName: service,
        ...overrides,
      }),
    );
  }
  return rows;
}

const hourOfDay = (ms: number) => Math.floor((ms % DAY) / HOUR);

let evaluation: WindowEvaluation;
const groupOf = (service: string): AbsenceGroup => {
  const found = evaluation.groups?.find((g) => g.labels["service"] === service);
  if (found === undefined) throw new Error(`no group for ${service}`);
  return found;
};

const rule = loadedRule({
  id: "test.silent",
  match: { kind: "llm" },
  check: { type: "absent", alpha: 1e-3 },
});

beforeAll(async () => {
  store = await openTestStore();
  const outputs = [
    ...every("steady", START, T, 2 * MINUTE),
    ...every("silent", START, T - 25 * MINUTE, 2 * MINUTE),
    ...every("sparse", START, T, 10 * MINUTE),
    ...every("new", T - 2 * DAY - HOUR, T - 25 * MINUTE, 2 * MINUTE),
    // Quiet at this time three days ago too: a silence it has shown before.
    ...every(
      "weekend",
      START,
      T - 25 * MINUTE,
      2 * MINUTE,
      (ms) => ms >= T - 3 * DAY - 2 * HOUR && ms < T - 3 * DAY + HOUR,
    ),
    // Silent for 30 hours: yesterday's window is part of the silence, not of its history.
    ...every("gone", START, T - 30 * HOUR, 2 * MINUTE),
    // A nightly lull: nothing between 02:00 and 04:00, any day.
    ...every("lull", START, T, 2 * MINUTE, (ms) => hourOfDay(ms) >= 2 && hourOfDay(ms) < 4),
    // Not matched by the rule: its silence is none of the rule's business.
    ...every("tools", START, T - HOUR, 2 * MINUTE, undefined, { Kind: "tool" }),
  ];
  await store.write({ traces: [], outputs });
  if (rule.window === undefined) throw new Error("no window spec");
  evaluation = await evaluateWindowRule(store, rule, rule.window, T);
});

afterAll(async () => {
  await store.close();
});

describe("absence rules computed in ClickHouse", () => {
  it("counts the window and the same window of each earlier day, per entity", () => {
    const steady = groupOf("steady");
    expect(steady.observed).toBe(10);
    expect(steady.expected).toBe(10);
    expect(steady.days).toBe(7);
    expect(steady.status).toBe("ok");
    expect(steady.lastSeenMs).toBe(T - 2 * MINUTE);
  });

  it("finds an entity silent whose history expects outputs now", () => {
    const silent = groupOf("silent");
    expect(silent).toMatchObject({ status: "drift", observed: 0, expected: 10, days: 7 });
    expect(silent.pValue).toBeCloseTo(Math.exp(-10), 15);
    expect(silent.message).toContain("silent: service=silent: 0 outputs in 20m, expected 10");
    expect(silent.message).toContain(`last seen ${new Date(T - 26 * MINUTE).toISOString()}`);
  });

  it("counts only the days since an entity's first output", () => {
    expect(groupOf("new")).toMatchObject({ status: "drift", days: 2, expected: 10 });
  });

  it("counts only the days before the silence began", () => {
    expect(groupOf("gone")).toMatchObject({ status: "drift", days: 6, expected: 10 });
  });

  it("does not alarm on a sparse entity, a nightly lull or a silence seen before", () => {
    expect(groupOf("sparse")).toMatchObject({ status: "insufficient", expected: 2 });
    expect(groupOf("lull")).toMatchObject({ status: "insufficient", expected: 0 });
    const weekend = groupOf("weekend");
    expect(weekend.status).toBe("ok");
    expect(weekend.message).toContain("as quiet 3 days ago");
  });

  it("reads only what the rule matches, and sums the entities up in one row", () => {
    expect(evaluation.groups?.map((g) => g.labels["service"]).sort()).toEqual(
      ["gone", "lull", "new", "silent", "sparse", "steady", "weekend"].sort(),
    );
    expect(evaluation).toMatchObject({
      checkType: "absent",
      method: "poisson",
      status: "drift",
      statistic: 3,
      field: "service",
      windowStart: T - 20 * MINUTE,
      windowEnd: T,
    });
    expect(evaluation.message).toMatch(/^silent: service=gone .*3 silent, 2 sending, 2 too sparse/);
  });

  it("groups by what the check says", async () => {
    const byTool = loadedRule({
      id: "test.silent-tools",
      match: { kind: "tool" },
      check: { type: "absent", groupBy: ["service", "tool"], window: "30m", days: 3 },
    });
    if (byTool.window === undefined) throw new Error("no window spec");
    const result = await evaluateWindowRule(store, byTool, byTool.window, T);
    expect(result.groups).toHaveLength(1);
    expect(result.groups?.[0]).toMatchObject({
      labels: { service: "tools", tool: "" },
      status: "drift",
      observed: 0,
      expected: 15,
      days: 3,
    });
    expect(byTool.alertSpec.groupBy).toEqual(["service", "tool"]);
  });
});
