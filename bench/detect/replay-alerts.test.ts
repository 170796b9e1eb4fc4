/**
 * The alert replay of the detection benchmark on hand-made inputs: the state machine's
 * defaults in simulated time (each fires at once and resolves after 15 quiet minutes; a
 * window alert follows its evaluations), and evidence marking detection.
 */

import { handMadeRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import type { BacktestWindow } from "../../src/evaluate/backtest.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { replayAlerts, type ReplayInput } from "./replay-alerts.ts";
import type { StoredFinding } from "./store-dump.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5);
const TIMING = { tickMs: 10_000, traceQuietMs: 30_000, windowSettleMs: 15_000 };

const rule = (id: string, check: Rule["check"], alert?: Rule["alert"]): Rule =>
  handMadeRule({
    id,
    description: "",
    severity: "warning",
    enabled: true,
    labels: {},
    match: {},
    check,
    ...(alert && { alert }),
    version: "v1",
    file: `${id}.json`,
  });
const EACH = rule("each-rule", { type: "assert", assertions: [] });
const DRIFT = rule("drift-rule", { type: "drift", field: "output.length" });
const RATE = rule(
  "rate-alert",
  { type: "assert", assertions: [] },
  { mode: "rate", threshold: 0.5 },
);

const finding = (minutes: number, traceId: string, scope: "output" | "trace" = "output") =>
  ({
    at: T0 + minutes * MINUTE,
    ruleId: EACH.id,
    scope,
    labels: { service: "svc", agent: "a", operation: "chat", model: "m", tool: "" },
    traceId,
    spanId: "s",
  }) satisfies StoredFinding;

const evaluation = (minutes: number, status: BacktestWindow["status"]): BacktestWindow => ({
  at: new Date(T0 + minutes * MINUTE).toISOString(),
  status,
  method: "ks",
  statistic: null,
  pValue: null,
  threshold: null,
  currentSize: 50,
  referenceSize: 500,
  message: "",
});

describe("replayAlerts", () => {
  it("fires an each alert at its first finding and again after 15 quiet minutes", () => {
    const [history] = replayAlerts({
      rules: [EACH],
      findings: [
        finding(10, "t1"),
        finding(20, "t2"),
        finding(40, "t3"),
        finding(50, "t4", "trace"),
      ],
      windows: new Map(),
      minuteCounts: [],
      fromMs: T0,
      untilMs: T0 + 120 * MINUTE,
      timing: TIMING,
      isEvidence: (_rule, input) =>
        input.type === "findings" && input.findings.some((f) => f.traceId === "t4"),
    });
    expect(history?.labels).toEqual({ service: "svc", agent: "a" });
    // 10 fires; 20 extends; quiet from 20 → resolved at 35; 40 fires again.
    expect(history?.firings).toEqual([T0 + 10 * MINUTE, T0 + 40 * MINUTE]);
    // A trace finding counts once the trace would have been evaluated, 30 s later.
    expect(history?.firingOnEvidenceAt).toBe(T0 + 50 * MINUTE + 30_000);
  });

  it("follows a window rule's evaluations, after the scheduler's settle time", () => {
    const seen: ReplayInput[] = [];
    const [history] = replayAlerts({
      rules: [DRIFT],
      findings: [],
      windows: new Map([
        [
          DRIFT.id,
          [
            evaluation(5, "insufficient"),
            evaluation(10, "drift"),
            evaluation(15, "insufficient"),
            evaluation(20, "ok"),
            evaluation(25, "drift"),
          ],
        ],
      ]),
      minuteCounts: [],
      fromMs: T0,
      untilMs: T0 + 60 * MINUTE,
      timing: TIMING,
      isEvidence: (_rule, input) => {
        seen.push(input);
        return input.type === "window" && input.at >= T0 + 25 * MINUTE;
      },
    });
    expect(history?.firings).toEqual([T0 + 10 * MINUTE + 15_000, T0 + 25 * MINUTE + 15_000]);
    expect(history?.firingOnEvidenceAt).toBe(T0 + 25 * MINUTE + 15_000);
    expect(seen).toHaveLength(5);
  });

  it("steps a rate alert on the complete minutes of its window, firing after `for`", () => {
    const minuteCounts = Array.from({ length: 60 }, (_, i) => ({
      ruleId: RATE.id,
      service: "svc",
      agent: "a",
      minute: T0 + i * MINUTE,
      evaluated: 4,
      failed: i >= 30 ? 3 : 0,
    }));
    const [history] = replayAlerts({
      rules: [RATE],
      findings: [],
      windows: new Map(),
      minuteCounts,
      fromMs: T0,
      untilMs: T0 + 60 * MINUTE,
      timing: TIMING,
    });
    // 15-minute window, ≥ 20 samples, threshold 0.5: 3 failing minutes of 15 give 9/60 …
    // the ratio reaches 0.5 once 10 of the 15 complete minutes fail (T0 + 40), then `for` 5m.
    expect(history?.firings).toEqual([T0 + 45 * MINUTE]);
  });
});
