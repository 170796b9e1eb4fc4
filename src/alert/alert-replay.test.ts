/**
 * The alert manager replayed in simulated time: each, rate and window alerts through their
 * episodes at the times the live service would have stepped them (a tick every tickMs), with
 * their notifications per channel, silences held at the time, Alertmanager resends, and idle
 * ticks skipped without changing anything.
 */

import { describe, expect, it } from "vitest";
import { evaluationOf, makeFinding } from "../../test/helpers/findings.ts";
import { loadedRule } from "../../test/helpers/rules.ts";
import { windowRow } from "../../test/helpers/window-rows.ts";
import type { CheckEvaluation, Finding } from "../rules/findings.ts";
import type { Rule } from "../rules/rule.ts";
import { createAlertManager, type AlertTransition } from "./alert-manager.ts";
import { createAlertReplay, type AlertReplayOptions, type RuleAlerts } from "./alert-replay.ts";
import { createRateCounters } from "./rate-counters.ts";
import type { Silence } from "./silences.ts";

const SECOND = 1_000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const TICK = 10 * SECOND;
const iso = (ms: number) => new Date(ms).toISOString();
const timeOf = (ms: number) =>
  `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}000000`;

const each = loadedRule({
  id: "replies-short",
  severity: "critical",
  labels: { team: "support" },
  check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 40] }] },
  alert: { mode: "each", resolveAfter: "15m", repeatInterval: "1h" },
});
const eachFor = loadedRule({
  id: "keeps-failing",
  check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
  alert: { mode: "each", for: "2m", resolveAfter: "1m" },
});
const rate = loadedRule({
  id: "reply-rate",
  check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
  alert: {
    mode: "rate",
    threshold: 0.5,
    window: "5m",
    minSamples: 4,
    for: "1m",
    resolveAfter: "2m",
  },
});
const drift = loadedRule({
  id: "latency-drift",
  check: { type: "drift", field: "duration_ms", every: "5m" },
});

let outputs = 0;
/** A failing output of `rule` at `atMs` (its span's time), in group svc/agent. */
function failure(rule: Rule, atMs: number, agent = "triage"): Finding {
  outputs++;
  return makeFinding({
    ruleId: rule.id,
    severity: rule.severity,
    time: timeOf(atMs),
    traceId: outputs.toString(16).padStart(32, "0"),
    spanId: outputs.toString(16).padStart(16, "0"),
    message: `failure ${outputs}`,
    labels: { service: "svc", agent, operation: "chat", model: "m", tool: "" },
  });
}
/** Evaluations of `count` outputs of `rule` at `atMs`, `failed` of them failing. */
function evaluations(rule: Rule, atMs: number, count: number, failed: number): CheckEvaluation[] {
  return Array.from({ length: count }, (_, i) => ({
    ...evaluationOf(failure(rule, atMs), i < failed),
  }));
}

function replayOf(rules: Rule[], overrides: Partial<AlertReplayOptions> = {}) {
  return createAlertReplay({
    rules,
    sinceMs: T0,
    tickMs: TICK,
    route: () => ["hook"],
    ...overrides,
  });
}

const byRule = (results: RuleAlerts[], id: string) => {
  const found = results.find((r) => r.ruleId === id);
  if (found === undefined) throw new Error(`no result for ${id}`);
  return found;
};

describe("each alerts in simulated time", () => {
  it("fires on the first failure, takes in the rest, resolves after resolveAfter, fires again", async () => {
    const replay = replayOf([each]);
    const first = failure(each, T0 + 5 * SECOND);
    await replay.evaluated(T0 + 5 * SECOND, [first], [evaluationOf(first)]);
    const second = failure(each, T0 + 5 * MINUTE);
    await replay.evaluated(T0 + 5 * MINUTE, [second], [evaluationOf(second)]);
    const later = failure(each, T0 + 60 * MINUTE);
    await replay.evaluated(T0 + 60 * MINUTE, [later], [evaluationOf(later)]);
    const [result] = await replay.finish(T0 + 120 * MINUTE);

    expect(result).toMatchObject({ ruleId: "replies-short", mode: "each", fired: 2 });
    const [one, two] = result?.alerts ?? [];
    expect(result?.alerts).toHaveLength(2);
    // Quiet from the last failure for 15 minutes, noticed at the next tick.
    expect(one).toMatchObject({
      labels: {
        team: "support",
        service: "svc",
        agent: "triage",
        rule: "replies-short",
        severity: "critical",
      },
      pendingAt: iso(T0 + 5 * SECOND),
      firingAt: iso(T0 + 5 * SECOND),
      resolvedAt: iso(T0 + 20 * MINUTE),
      droppedAt: null,
      firingMs: 20 * MINUTE - 5 * SECOND,
      peak: { failed: 2, evaluated: 2, at: iso(T0 + 5 * MINUTE) },
      notifications: { firing: 1, repeat: 0, resolved: 1, channels: { hook: 2 }, silenced: 0 },
    });
    expect(one?.examples.map((e) => [e.traceId, e.seenAt])).toEqual([
      [first.traceId, iso(T0 + 5 * SECOND)],
      [second.traceId, iso(T0 + 5 * MINUTE)],
    ]);
    expect(two?.fingerprint).toBe(one?.fingerprint);
    expect(two).toMatchObject({
      pendingAt: iso(T0 + 60 * MINUTE),
      resolvedAt: iso(T0 + 75 * MINUTE),
    });
    expect(result?.firingMs).toBe((one?.firingMs ?? 0) + (two?.firingMs ?? 0));
    expect(result?.notifications).toMatchObject({ firing: 2, resolved: 2, channels: { hook: 4 } });
  });

  it("keeps one alert per group label set", async () => {
    const replay = replayOf([each]);
    const a = failure(each, T0 + SECOND, "triage");
    const b = failure(each, T0 + SECOND, "billing");
    await replay.evaluated(T0 + SECOND, [a, b], [evaluationOf(a), evaluationOf(b)]);
    const [result] = await replay.finish(T0 + 30 * MINUTE);
    const agents = result?.alerts.map((e) => e.labels["agent"]).sort();
    expect(agents).toEqual(["billing", "triage"]);
    expect(new Set(result?.alerts.map((e) => e.fingerprint)).size).toBe(2);
  });

  it("repeats every repeatInterval while it fires", async () => {
    const replay = replayOf([each]);
    for (let at = T0; at <= T0 + 190 * MINUTE; at += 10 * MINUTE) {
      const f = failure(each, at);
      await replay.evaluated(at, [f], [evaluationOf(f)]);
    }
    const [result] = await replay.finish(T0 + 190 * MINUTE);
    const [episode] = result?.alerts ?? [];
    expect(episode).toMatchObject({ resolvedAt: null, firingMs: 190 * MINUTE });
    // Notified at 0, then due at 60, 120 and 180 minutes (checked on each step).
    expect(episode?.notifications).toMatchObject({ firing: 1, repeat: 3, resolved: 0 });
  });

  it("with `for`, fires only once failures have kept coming; a lone failure is dropped", async () => {
    const replay = replayOf([eachFor]);
    const lone = failure(eachFor, T0);
    await replay.evaluated(T0, [lone], [evaluationOf(lone)]);
    // Failures half a minute apart (never quiet for resolveAfter), the last one 2 minutes on.
    for (const minutes of [10, 10.5, 11, 11.5, 12]) {
      const f = failure(eachFor, T0 + minutes * MINUTE);
      await replay.evaluated(T0 + minutes * MINUTE, [f], [evaluationOf(f)]);
    }
    const [result] = await replay.finish(T0 + 30 * MINUTE);
    expect(result?.alerts.map((e) => [e.pendingAt, e.firingAt, e.droppedAt, e.resolvedAt])).toEqual(
      [
        [iso(T0), null, iso(T0 + MINUTE), null],
        [iso(T0 + 10 * MINUTE), iso(T0 + 12 * MINUTE), null, iso(T0 + 13 * MINUTE)],
      ],
    );
    expect(result?.fired).toBe(1);
    expect(result?.notifications).toMatchObject({ firing: 1, resolved: 1 });
  });
});

describe("rate alerts in simulated time", () => {
  it("counts the window as the tick would, through pending, firing and recovery", async () => {
    const replay = replayOf([rate]);
    // 4 failing outputs: breached (4 ≥ minSamples, ratio 1) at the tick at T0 + 10 s.
    await replay.evaluated(T0 + 3 * SECOND, [], evaluations(rate, T0 + 3 * SECOND, 4, 4));
    // 16 passing ones 3 minutes later: 4 / 20 = 0.2 < recoveryThreshold 0.25.
    await replay.evaluated(T0 + 3 * MINUTE, [], evaluations(rate, T0 + 3 * MINUTE, 16, 0));
    const [result] = await replay.finish(T0 + 20 * MINUTE);
    expect(result?.alerts).toHaveLength(1);
    expect(result?.alerts[0]).toMatchObject({
      labels: { service: "svc", agent: "triage", rule: "reply-rate" },
      pendingAt: iso(T0 + 10 * SECOND),
      firingAt: iso(T0 + 10 * SECOND + MINUTE),
      // Below recovery from the tick at the passing outputs' time, for 2 minutes.
      resolvedAt: iso(T0 + 5 * MINUTE),
      peak: { failed: 4, evaluated: 4, ratio: 1, at: iso(T0 + 10 * SECOND) },
      notifications: { firing: 1, resolved: 1 },
    });
  });

  it("includes the current minute and drops minutes that leave the window", async () => {
    const replay = replayOf([rate]);
    // Failing at 10:00:30 (minute 10:00); the window of 5 minutes ending at t starts at the
    // minute of t - 5m, so 10:00 is in it until 10:06:00.
    await replay.evaluated(T0 + 30 * SECOND, [], evaluations(rate, T0 + 30 * SECOND, 5, 5));
    const [result] = await replay.finish(T0 + 30 * MINUTE);
    const [episode] = result?.alerts ?? [];
    expect(episode).toMatchObject({
      pendingAt: iso(T0 + 30 * SECOND),
      firingAt: iso(T0 + 90 * SECOND),
    });
    // Empty window = ratio 0 from 10:06:00, below recovery for 2 minutes.
    expect(episode?.resolvedAt).toBe(iso(T0 + 8 * MINUTE));
  });

  it("does not start below minSamples", async () => {
    const replay = replayOf([rate]);
    await replay.evaluated(T0, [], evaluations(rate, T0, 3, 3));
    const [result] = await replay.finish(T0 + 10 * MINUTE);
    expect(result?.alerts).toEqual([]);
  });
});

describe("window alerts in simulated time", () => {
  it("follow the evaluations: drift fires, ok resolves; the peak is the furthest drift", async () => {
    const replay = replayOf([drift]);
    const at = (minutes: number) => T0 + minutes * MINUTE + 15 * SECOND;
    const row = (minutes: number, status: "ok" | "drift", pValue: number) =>
      windowRow(drift, T0 + minutes * MINUTE, { status, pValue, message: `p ${pValue}` });
    await replay.windowEvaluated(at(5), row(5, "ok", 0.4));
    await replay.windowEvaluated(at(10), row(10, "drift", 0.01));
    await replay.windowEvaluated(at(15), row(15, "drift", 0.0001));
    await replay.windowEvaluated(at(20), row(20, "drift", 0.02));
    await replay.windowEvaluated(at(25), row(25, "ok", 0.3));
    const [result] = await replay.finish(T0 + 60 * MINUTE);
    expect(result).toMatchObject({ mode: "window", fired: 1 });
    expect(result?.alerts[0]).toMatchObject({
      labels: { rule: "latency-drift", severity: "warning" },
      pendingAt: iso(at(10)),
      firingAt: iso(at(10)),
      resolvedAt: iso(at(25)),
      peak: { at: iso(at(15)), measurement: { pValue: 0.0001, message: "p 0.0001" } },
    });
  });
});

describe("notifications", () => {
  it("counts each channel the routes pick, and what a silence held then", async () => {
    const silence: Silence = {
      id: "s1",
      matchers: [{ name: "rule", value: "replies-short" }],
      startsAt: iso(T0 + 50 * MINUTE),
      endsAt: iso(T0 + 90 * MINUTE),
      comment: "known",
      createdBy: "test",
    };
    const replay = replayOf([each], {
      route: (alert) => (alert.severity === "critical" ? ["pager", "hook"] : ["hook"]),
      silences: [silence],
    });
    for (const minutes of [0, 60]) {
      const f = failure(each, T0 + minutes * MINUTE);
      await replay.evaluated(T0 + minutes * MINUTE, [f], [evaluationOf(f)]);
    }
    const [result] = await replay.finish(T0 + 120 * MINUTE);
    // Four notifications, each to two channels; the second episode's firing and resolved (at
    // 60 and 75 minutes) fell in the silence.
    expect(result?.notifications).toEqual({
      firing: 2,
      repeat: 0,
      resolved: 2,
      channels: { pager: 2, hook: 2 },
      silenced: 4,
    });
  });

  it("counts an Alertmanager channel's resends of a firing alert", async () => {
    const replay = replayOf([each], {
      route: () => ["am"],
      resendEvery: new Map([["am", 5 * MINUTE]]),
    });
    for (let at = T0; at <= T0 + 20 * MINUTE; at += 2 * MINUTE) {
      const f = failure(each, at);
      await replay.evaluated(at, [f], [evaluationOf(f)]);
    }
    const [result] = await replay.finish(T0 + 20 * MINUTE);
    // Posted when it fired, then again every 5 minutes: at 5, 10, 15 and 20.
    expect(result?.notifications).toMatchObject({ firing: 1, channels: { am: 5 } });
  });
});

describe("the replay is the live manager on a simulated clock", () => {
  it("gives the same transitions as the manager ticked every tickMs, idle ticks included", async () => {
    const rules = [each, eachFor, rate];
    const steps: { at: number; findings: Finding[]; evaluations: CheckEvaluation[] }[] = [];
    for (const minutes of [0, 0.5, 1, 1.5, 2, 2.5, 40, 40.5, 41, 41.5, 42, 120, 120.5]) {
      const at = T0 + minutes * MINUTE + 7 * SECOND;
      const findings = [failure(each, at), failure(eachFor, at)];
      steps.push({
        at,
        findings,
        evaluations: [...findings.map((f) => evaluationOf(f)), ...evaluations(rate, at, 3, 2)],
      });
    }
    const until = T0 + 180 * MINUTE;

    // The reference: the manager, its clock moved by hand, ticked at every tick.
    let clock = T0;
    const transitions: AlertTransition[] = [];
    const counters = createRateCounters(new Map([[rate.id, 5 * MINUTE]]));
    const manager = createAlertManager({
      rules: () => rules,
      store: {
        saveRecords: async () => {},
        appendEvents: async (events) => void transitions.push(...events),
      },
      initialRecords: [],
      enqueue: async () => {},
      route: () => [],
      rateCounts: async (ruleId, windowMs) => counters.window(ruleId, windowMs, clock),
      linkTemplates: {},
      externalUrl: "",
      now: () => clock,
    });
    let next = 0;
    for (let tick = T0 + TICK; tick <= until; tick += TICK) {
      for (let step = steps[next]; step !== undefined && step.at < tick; step = steps[++next]) {
        clock = step.at;
        counters.add(step.evaluations);
        manager.onEvaluated(step.findings, step.evaluations);
        await manager.idle();
      }
      clock = tick;
      await manager.tick();
    }
    const expected = transitions.map((t) => [t.record.ruleId, t.from, t.record.state, t.at]);

    const replay = replayOf(rules);
    for (const step of steps) await replay.evaluated(step.at, step.findings, step.evaluations);
    const results = await replay.finish(until);
    const replayed = results
      .flatMap((r) =>
        r.alerts.flatMap((e) => [
          [r.ruleId, "pending", e.pendingAt],
          ...(e.firingAt === null ? [] : [[r.ruleId, "firing", e.firingAt]]),
          ...(e.resolvedAt === null ? [] : [[r.ruleId, "resolved", e.resolvedAt]]),
          ...(e.droppedAt === null ? [] : [[r.ruleId, "inactive", e.droppedAt]]),
        ]),
      )
      .sort(
        (a, b) =>
          String(a[2]).localeCompare(String(b[2])) || String(a[0]).localeCompare(String(b[0])),
      );
    const fromManager = expected
      .flatMap(([ruleId, from, to, at]) => {
        const when = iso(at as number);
        // inactive → firing at once: the episode was pending and firing at the same moment.
        if (from !== "pending" && to === "firing") {
          return [
            [ruleId, "pending", when],
            [ruleId, "firing", when],
          ];
        }
        return [[ruleId, to, when]];
      })
      .sort(
        (a, b) =>
          String(a[2]).localeCompare(String(b[2])) || String(a[0]).localeCompare(String(b[0])),
      );
    expect(replayed.length).toBeGreaterThan(8);
    expect(replayed).toEqual(fromManager);
    expect(byRule(results, rate.id).fired).toBeGreaterThan(0);
  });

  it("refuses time that goes back (a bug in what feeds it)", async () => {
    const replay = replayOf([each]);
    const f = failure(each, T0 + MINUTE);
    await replay.evaluated(T0 + MINUTE, [f], [evaluationOf(f)]);
    await expect(replay.evaluated(T0, [f], [evaluationOf(f)])).rejects.toThrow(/time went back/);
  });
});
