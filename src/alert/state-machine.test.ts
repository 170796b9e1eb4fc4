import { describe, expect, it } from "vitest";
import type { EachAlertSpec, RateAlertSpec, WindowAlertSpec } from "../rules/alert-spec.ts";
import {
  newAlertRecord,
  step,
  type AlertInput,
  type AlertRecord,
  type AlertNotificationKind,
} from "./state-machine.ts";
import type { AlertExample, Measurement } from "./types.ts";

const MIN = 60_000;
const T0 = Date.parse("2026-01-31T12:00:00.000Z");

const EACH: EachAlertSpec = {
  mode: "each",
  groupBy: ["service", "agent"],
  forMs: 0,
  resolveAfterMs: 15 * MIN,
  repeatIntervalMs: 240 * MIN,
};

const RATE: RateAlertSpec = {
  mode: "rate",
  groupBy: ["service", "agent"],
  forMs: 0,
  resolveAfterMs: 0,
  repeatIntervalMs: 240 * MIN,
  threshold: 0.1,
  windowMs: 15 * MIN,
  minSamples: 20,
  recoveryThreshold: 0.05,
};

const KEY = {
  fingerprint: "0123456789abcdef",
  ruleId: "refund-json",
  labels: { service: "support" },
};

function example(n: number, atMs: number): AlertExample {
  return {
    traceId: `trace-${n}`,
    spanId: `span-${n}`,
    field: "output.json.amount",
    observed: String(n),
    message: `amount ${n} is above 500`,
    at: new Date(atMs).toISOString(),
  };
}

function failures(count: number, atMs: number, first = 1): AlertInput {
  return {
    type: "failures",
    findings: Array.from({ length: count }, (_, i) => example(first + i, atMs)),
    failed: count,
    evaluated: count,
  };
}

const rate = (failed: number, evaluated: number): AlertInput => ({
  type: "rate",
  failed,
  evaluated,
});
const TICK: AlertInput = { type: "tick" };

function record(overrides: Partial<AlertRecord>): AlertRecord {
  return { ...newAlertRecord(KEY), ...overrides };
}

/** Runs a sequence of [time, input] from a new record; the notifications with their times. */
function run(
  inputs: readonly (readonly [number, AlertInput])[],
  spec: EachAlertSpec | RateAlertSpec,
  start: AlertRecord = newAlertRecord(KEY),
): { record: AlertRecord; notes: [number, AlertNotificationKind][] } {
  let current = start;
  const notes: [number, AlertNotificationKind][] = [];
  for (const [at, input] of inputs) {
    const result = step(current, input, at, spec);
    current = result.record;
    if (result.notify !== undefined) notes.push([at, result.notify]);
  }
  return { record: current, notes };
}

describe("newAlertRecord", () => {
  it("is inactive with nothing seen", () => {
    expect(newAlertRecord(KEY)).toStrictEqual({
      ...KEY,
      state: "inactive",
      failed: 0,
      evaluated: 0,
      examples: [],
    });
  });
});

describe("each: transitions", () => {
  const FOR5 = { ...EACH, forMs: 5 * MIN };
  const pending = record({
    state: "pending",
    pendingSince: T0,
    lastFailureAt: T0,
    failed: 1,
    evaluated: 1,
    firstSeen: T0,
    lastSeen: T0,
    examples: [example(1, T0)],
  });
  const firing = record({
    state: "firing",
    pendingSince: T0,
    firingSince: T0,
    lastFailureAt: T0,
    lastNotifiedAt: T0,
    failed: 1,
    evaluated: 1,
    firstSeen: T0,
    lastSeen: T0,
    examples: [example(1, T0)],
  });
  const resolved = { ...firing, state: "resolved" as const, resolvedAt: T0 + 15 * MIN };

  const cases: {
    name: string;
    from: AlertRecord;
    input: AlertInput;
    at: number;
    spec: EachAlertSpec;
    state: AlertRecord["state"];
    notify: AlertNotificationKind | undefined;
  }[] = [
    {
      name: "inactive + failure, for 0 → firing",
      from: newAlertRecord(KEY),
      input: failures(1, T0),
      at: T0,
      spec: EACH,
      state: "firing",
      notify: "firing",
    },
    {
      name: "inactive + failure, for 5m → pending",
      from: newAlertRecord(KEY),
      input: failures(1, T0),
      at: T0,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "inactive + tick → inactive",
      from: newAlertRecord(KEY),
      input: TICK,
      at: T0,
      spec: EACH,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "inactive + evaluated without failures → inactive",
      from: newAlertRecord(KEY),
      input: { type: "failures", findings: [], failed: 0, evaluated: 10 },
      at: T0,
      spec: EACH,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "pending + failure before for → pending",
      from: pending,
      input: failures(1, T0 + 4 * MIN),
      at: T0 + 4 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "pending + failure once for has passed → firing",
      from: pending,
      input: failures(1, T0 + 5 * MIN),
      at: T0 + 5 * MIN,
      spec: FOR5,
      state: "firing",
      notify: "firing",
    },
    {
      name: "pending + tick after for, still failing recently → pending (a failure must confirm)",
      from: pending,
      input: TICK,
      at: T0 + 6 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "pending + tick after resolveAfter quiet → inactive, silently",
      from: pending,
      input: TICK,
      at: T0 + 15 * MIN,
      spec: FOR5,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "pending + failure after a quiet gap → pending again (new episode)",
      from: pending,
      input: failures(1, T0 + 20 * MIN),
      at: T0 + 20 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "firing + failure → firing, no notification",
      from: firing,
      input: failures(3, T0 + MIN),
      at: T0 + MIN,
      spec: EACH,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + tick before resolveAfter → firing",
      from: firing,
      input: TICK,
      at: T0 + 14 * MIN,
      spec: EACH,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + tick at resolveAfter → resolved",
      from: firing,
      input: TICK,
      at: T0 + 15 * MIN,
      spec: EACH,
      state: "resolved",
      notify: "resolved",
    },
    {
      name: "firing + tick at repeatInterval → repeat",
      from: { ...firing, lastFailureAt: T0 + 239 * MIN },
      input: TICK,
      at: T0 + 240 * MIN,
      spec: EACH,
      state: "firing",
      notify: "repeat",
    },
    {
      name: "firing + failure at repeatInterval → repeat",
      from: firing,
      input: failures(1, T0 + 240 * MIN),
      at: T0 + 240 * MIN,
      spec: { ...EACH, resolveAfterMs: 300 * MIN },
      state: "firing",
      notify: "repeat",
    },
    {
      name: "resolved + tick → resolved, no notification",
      from: resolved,
      input: TICK,
      at: T0 + 300 * MIN,
      spec: EACH,
      state: "resolved",
      notify: undefined,
    },
    {
      name: "resolved + failure → firing again",
      from: resolved,
      input: failures(1, T0 + 20 * MIN),
      at: T0 + 20 * MIN,
      spec: EACH,
      state: "firing",
      notify: "firing",
    },
    {
      name: "resolved + failure, for 5m → pending",
      from: resolved,
      input: failures(1, T0 + 20 * MIN),
      at: T0 + 20 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "rate input to an each alert is a tick",
      from: firing,
      input: rate(100, 100),
      at: T0 + MIN,
      spec: EACH,
      state: "firing",
      notify: undefined,
    },
  ];

  it.each(cases)("$name", ({ from, input, at, spec, state, notify }) => {
    const result = step(from, input, at, spec);
    expect(result.record.state).toBe(state);
    expect(result.notify).toBe(notify);
  });

  it("a new episode from resolved forgets the last one's counts, examples and times", () => {
    const result = step(
      { ...resolved, failed: 40, evaluated: 90 },
      failures(2, T0 + 20 * MIN, 50),
      T0 + 20 * MIN,
      EACH,
    );
    expect(result.record).toStrictEqual({
      ...KEY,
      state: "firing",
      pendingSince: T0 + 20 * MIN,
      firingSince: T0 + 20 * MIN,
      lastFailureAt: T0 + 20 * MIN,
      lastNotifiedAt: T0 + 20 * MIN,
      failed: 2,
      evaluated: 2,
      firstSeen: T0 + 20 * MIN,
      lastSeen: T0 + 20 * MIN,
      examples: [example(50, T0 + 20 * MIN), example(51, T0 + 20 * MIN)],
    });
  });

  it("pending dropped to inactive keeps nothing but the key", () => {
    const result = step(pending, TICK, T0 + 15 * MIN, FOR5);
    expect(result.record).toStrictEqual(newAlertRecord(KEY));
  });

  it("resolving records when, and keeps the episode's evidence", () => {
    const result = step(firing, TICK, T0 + 16 * MIN, EACH);
    expect(result.record).toStrictEqual({
      ...firing,
      state: "resolved",
      resolvedAt: T0 + 16 * MIN,
      lastNotifiedAt: T0 + 16 * MIN,
    });
  });

  it("failures while firing add to counts and widen first/last seen by the outputs' times", () => {
    const batch: AlertInput = {
      type: "failures",
      findings: [example(7, T0 + 3 * MIN), example(6, T0 - MIN)],
      failed: 2,
      evaluated: 5,
    };
    const result = step(firing, batch, T0 + 4 * MIN, EACH);
    expect(result.record).toMatchObject({
      failed: 3,
      evaluated: 6,
      firstSeen: T0 - MIN,
      lastSeen: T0 + 3 * MIN,
      lastFailureAt: T0 + 4 * MIN,
      // sorted by time within the batch
      examples: [example(1, T0), example(6, T0 - MIN), example(7, T0 + 3 * MIN)],
    });
  });

  it("evaluated-only batches add to evaluated while firing", () => {
    const result = step(
      firing,
      { type: "failures", findings: [], failed: 0, evaluated: 9 },
      T0 + MIN,
      EACH,
    );
    expect(result.record).toStrictEqual({ ...firing, evaluated: 10 });
    expect(result.notify).toBeUndefined();
  });
});

describe("each: sequences", () => {
  it("1,000 failures in a minute: one firing notification, failed 1000, 5 examples", () => {
    const inputs = Array.from({ length: 1000 }, (_, i) => {
      const at = T0 + i * 60;
      return [at, failures(1, at, i + 1)] as const;
    });
    const { record: last, notes } = run(inputs, EACH);
    expect(notes).toEqual([[T0, "firing"]]);
    expect(last.state).toBe("firing");
    expect(last.failed).toBe(1000);
    expect(last.evaluated).toBe(1000);
    expect(last.firstSeen).toBe(T0);
    expect(last.lastSeen).toBe(T0 + 999 * 60);
    // the first 2 of the episode and the latest 3
    expect(last.examples.map((e) => e.traceId)).toEqual([
      "trace-1",
      "trace-2",
      "trace-998",
      "trace-999",
      "trace-1000",
    ]);
  });

  it("1,000 failures in one batch are the same: one notification", () => {
    const { record: last, notes } = run([[T0, failures(1000, T0)]], EACH);
    expect(notes).toEqual([[T0, "firing"]]);
    expect(last.failed).toBe(1000);
    expect(last.examples.map((e) => e.traceId)).toEqual([
      "trace-1",
      "trace-2",
      "trace-998",
      "trace-999",
      "trace-1000",
    ]);
  });

  it("repeats every repeatInterval while failures continue, then resolves after quiet time", () => {
    const inputs: [number, AlertInput][] = [];
    // a failure every 10 minutes for 9 hours, a tick every minute for 10 hours
    for (let minute = 0; minute <= 600; minute++) {
      const at = T0 + minute * MIN;
      if (minute % 10 === 0 && minute <= 540) inputs.push([at, failures(1, at, minute)]);
      inputs.push([at, TICK]);
    }
    const { record: last, notes } = run(inputs, EACH);
    expect(notes).toEqual([
      [T0, "firing"],
      [T0 + 240 * MIN, "repeat"],
      [T0 + 480 * MIN, "repeat"],
      [T0 + 555 * MIN, "resolved"],
    ]);
    expect(last).toMatchObject({ state: "resolved", failed: 55, resolvedAt: T0 + 555 * MIN });
  });

  it("for: a lone failure never fires; failures lasting `for` do", () => {
    const spec = { ...EACH, forMs: 5 * MIN };
    const lone = run(
      [
        [T0, failures(1, T0)],
        [T0 + 5 * MIN, TICK],
        [T0 + 10 * MIN, TICK],
        [T0 + 15 * MIN, TICK],
      ],
      spec,
    );
    expect(lone.notes).toEqual([]);
    expect(lone.record.state).toBe("inactive");

    const lasting = run(
      Array.from({ length: 7 }, (_, minute) => {
        const at = T0 + minute * MIN;
        return [at, failures(1, at, minute)] as const;
      }),
      spec,
    );
    expect(lasting.notes).toEqual([[T0 + 5 * MIN, "firing"]]);
    expect(lasting.record).toMatchObject({
      state: "firing",
      pendingSince: T0,
      firingSince: T0 + 5 * MIN,
      failed: 7,
    });
  });

  it("is deterministic: the same inputs give the same records and notifications", () => {
    const inputs: [number, AlertInput][] = [
      [T0, failures(3, T0)],
      [T0 + MIN, TICK],
      [T0 + 2 * MIN, failures(2, T0 + 2 * MIN, 10)],
      [T0 + 30 * MIN, TICK],
    ];
    expect(run(inputs, EACH)).toStrictEqual(run(inputs, EACH));
  });

  it("records survive a JSON round trip unchanged", () => {
    const { record: last } = run([[T0, failures(3, T0)]], EACH);
    expect(JSON.parse(JSON.stringify(last))).toStrictEqual(last);
  });
});

describe("rate: transitions", () => {
  const FOR5 = { ...RATE, forMs: 5 * MIN, resolveAfterMs: 5 * MIN };
  const pending = record({
    state: "pending",
    pendingSince: T0,
    failed: 5,
    evaluated: 40,
    firstSeen: T0,
    lastSeen: T0,
  });
  const firing = record({
    state: "firing",
    pendingSince: T0,
    firingSince: T0,
    lastNotifiedAt: T0,
    failed: 5,
    evaluated: 40,
    firstSeen: T0,
    lastSeen: T0,
  });
  const at = T0 + MIN;

  const cases: {
    name: string;
    from: AlertRecord;
    input: AlertInput;
    at: number;
    spec: RateAlertSpec;
    state: AlertRecord["state"];
    notify: AlertNotificationKind | undefined;
  }[] = [
    {
      name: "inactive + ratio ≥ threshold, for 0 → firing",
      from: newAlertRecord(KEY),
      input: rate(4, 40),
      at,
      spec: RATE,
      state: "firing",
      notify: "firing",
    },
    {
      name: "inactive + ratio ≥ threshold, for 5m → pending",
      from: newAlertRecord(KEY),
      input: rate(4, 40),
      at,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "inactive + ratio just below threshold → inactive",
      from: newAlertRecord(KEY),
      input: rate(3, 40),
      at,
      spec: RATE,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "inactive + ratio 1 but fewer than minSamples → inactive",
      from: newAlertRecord(KEY),
      input: rate(19, 19),
      at,
      spec: RATE,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "inactive + exactly minSamples at threshold → firing",
      from: newAlertRecord(KEY),
      input: rate(2, 20),
      at,
      spec: RATE,
      state: "firing",
      notify: "firing",
    },
    {
      name: "inactive + no outputs → inactive",
      from: newAlertRecord(KEY),
      input: rate(0, 0),
      at,
      spec: RATE,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "pending + still above threshold, before for → pending",
      from: pending,
      input: rate(5, 40),
      at: T0 + 4 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "pending + between thresholds after for → firing (the latch holds)",
      from: pending,
      input: rate(3, 40),
      at: T0 + 5 * MIN,
      spec: FOR5,
      state: "firing",
      notify: "firing",
    },
    {
      name: "pending + below recovery → inactive, silently",
      from: pending,
      input: rate(1, 40),
      at: T0 + 2 * MIN,
      spec: FOR5,
      state: "inactive",
      notify: undefined,
    },
    {
      name: "pending + tick after for → firing",
      from: pending,
      input: TICK,
      at: T0 + 5 * MIN,
      spec: FOR5,
      state: "firing",
      notify: "firing",
    },
    {
      name: "pending + tick before for → pending",
      from: pending,
      input: TICK,
      at: T0 + 4 * MIN,
      spec: FOR5,
      state: "pending",
      notify: undefined,
    },
    {
      name: "firing + above threshold → firing",
      from: firing,
      input: rate(10, 40),
      at,
      spec: RATE,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + between thresholds → firing",
      from: firing,
      input: rate(3, 40),
      at,
      spec: RATE,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + at recovery (not below) → firing",
      from: firing,
      input: rate(2, 40),
      at,
      spec: RATE,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + below recovery, resolveAfter 0 → resolved",
      from: firing,
      input: rate(1, 40),
      at,
      spec: RATE,
      state: "resolved",
      notify: "resolved",
    },
    {
      name: "firing + below recovery, resolveAfter 5m → firing (recovering)",
      from: firing,
      input: rate(1, 40),
      at,
      spec: FOR5,
      state: "firing",
      notify: undefined,
    },
    {
      name: "firing + traffic stopped (0 of 0) → resolved",
      from: firing,
      input: rate(0, 0),
      at,
      spec: RATE,
      state: "resolved",
      notify: "resolved",
    },
    {
      name: "firing + few samples, no failures → resolved",
      from: firing,
      input: rate(0, 3),
      at,
      spec: RATE,
      state: "resolved",
      notify: "resolved",
    },
    {
      name: "firing + recovering for resolveAfter, tick → resolved",
      from: { ...firing, recoveringSince: T0 + MIN },
      input: TICK,
      at: T0 + 6 * MIN,
      spec: FOR5,
      state: "resolved",
      notify: "resolved",
    },
    {
      name: "firing + repeatInterval passed → repeat",
      from: firing,
      input: rate(10, 40),
      at: T0 + 240 * MIN,
      spec: RATE,
      state: "firing",
      notify: "repeat",
    },
    {
      name: "resolved + between thresholds → resolved",
      from: { ...firing, state: "resolved", resolvedAt: T0 },
      input: rate(3, 40),
      at,
      spec: RATE,
      state: "resolved",
      notify: undefined,
    },
    {
      name: "resolved + above threshold → firing",
      from: { ...firing, state: "resolved", resolvedAt: T0 },
      input: rate(4, 40),
      at,
      spec: RATE,
      state: "firing",
      notify: "firing",
    },
    {
      name: "failures input to a rate alert is a tick",
      from: newAlertRecord(KEY),
      input: failures(100, at),
      at,
      spec: RATE,
      state: "inactive",
      notify: undefined,
    },
  ];

  it.each(cases)("$name", ({ from, input, at: when, spec, state, notify }) => {
    const result = step(from, input, when, spec);
    expect(result.record.state).toBe(state);
    expect(result.notify).toBe(notify);
  });

  it("counts are the latest window's; recovery time is reset when the ratio comes back", () => {
    const recovering = step(firing, rate(1, 40), T0 + MIN, FOR5).record;
    expect(recovering).toMatchObject({ failed: 1, evaluated: 40, recoveringSince: T0 + MIN });
    const back = step(recovering, rate(3, 40), T0 + 2 * MIN, FOR5).record;
    expect(back.recoveringSince).toBeUndefined();
    expect(back).toMatchObject({ state: "firing", failed: 3, evaluated: 40 });
    // 5 minutes after the first dip, but the ratio came back in between: still firing
    const again = step(back, rate(1, 40), T0 + 6 * MIN, FOR5);
    expect(again.record).toMatchObject({ state: "firing", recoveringSince: T0 + 6 * MIN });
    expect(step(again.record, rate(1, 40), T0 + 11 * MIN, FOR5).notify).toBe("resolved");
  });

  it("a new episode takes the window's counts and examples", () => {
    const input: AlertInput = {
      type: "rate",
      failed: 8,
      evaluated: 50,
      findings: [example(2, T0 - 2 * MIN), example(1, T0 - 5 * MIN)],
    };
    const result = step(newAlertRecord(KEY), input, T0, RATE);
    expect(result.record).toStrictEqual({
      ...KEY,
      state: "firing",
      pendingSince: T0,
      firingSince: T0,
      lastNotifiedAt: T0,
      failed: 8,
      evaluated: 50,
      firstSeen: T0 - 5 * MIN,
      lastSeen: T0 - 2 * MIN,
      examples: [example(1, T0 - 5 * MIN), example(2, T0 - 2 * MIN)],
    });
  });
});

describe("rate: sequences", () => {
  it("a ratio flapping 0.09 / 0.11 around a 0.1 threshold (recovery 0.05) fires exactly once", () => {
    const inputs = Array.from({ length: 120 }, (_, minute) => {
      const failed = minute % 2 === 0 ? 9 : 11;
      return [T0 + minute * MIN, rate(failed, 100)] as const;
    });
    const immediate = run(inputs, RATE);
    expect(immediate.notes).toEqual([[T0 + MIN, "firing"]]);
    expect(immediate.record.state).toBe("firing");

    // with the rate defaults (for 5m, resolve after 5m) as well
    const withDefaults = run(inputs, { ...RATE, forMs: 5 * MIN, resolveAfterMs: 5 * MIN });
    expect(withDefaults.notes).toEqual([[T0 + 6 * MIN, "firing"]]);
  });

  it("flapping around the recovery threshold while firing does not resolve with resolveAfter", () => {
    const spec = { ...RATE, resolveAfterMs: 5 * MIN };
    const inputs: [number, AlertInput][] = [[T0, rate(20, 100)]];
    for (let minute = 1; minute <= 60; minute++) {
      inputs.push([T0 + minute * MIN, rate(minute % 2 === 0 ? 4 : 6, 100)]);
    }
    const { notes } = run(inputs, spec);
    expect(notes).toEqual([[T0, "firing"]]);
  });

  it("fires, repeats, then resolves after resolveAfter below recovery", () => {
    const spec = { ...RATE, forMs: 5 * MIN, resolveAfterMs: 5 * MIN };
    const inputs: [number, AlertInput][] = [];
    for (let minute = 0; minute <= 300; minute++) {
      const ratioFailed = minute < 250 ? 20 : 1;
      inputs.push([T0 + minute * MIN, rate(ratioFailed, 100)]);
    }
    const { record: last, notes } = run(inputs, spec);
    expect(notes).toEqual([
      [T0 + 5 * MIN, "firing"],
      [T0 + 245 * MIN, "repeat"],
      [T0 + 255 * MIN, "resolved"],
    ]);
    expect(last).toMatchObject({ state: "resolved", resolvedAt: T0 + 255 * MIN, failed: 1 });
  });

  it("pending that stops holding before `for` goes back to inactive without a notification", () => {
    const spec = { ...RATE, forMs: 5 * MIN };
    const { record: last, notes } = run(
      [
        [T0, rate(20, 100)],
        [T0 + MIN, rate(15, 100)],
        [T0 + 2 * MIN, rate(4, 100)],
        [T0 + 10 * MIN, TICK],
      ],
      spec,
    );
    expect(notes).toEqual([]);
    expect(last).toStrictEqual(newAlertRecord(KEY));
  });
});

describe("window: evaluations of rate and drift checks", () => {
  const WINDOW: WindowAlertSpec = {
    mode: "window",
    groupBy: [],
    forMs: 0,
    resolveAfterMs: 0,
    repeatIntervalMs: 240 * MIN,
  };
  const measurement = (statistic: number): Measurement => ({
    checkType: "drift",
    method: "psi",
    field: "output.json.total",
    statistic,
    pValue: null,
    threshold: 0.2,
    direction: "above",
    windowStart: new Date(T0 - 60 * MIN).toISOString(),
    windowEnd: new Date(T0).toISOString(),
    referenceStart: null,
    referenceEnd: null,
    currentSize: 500,
    referenceSize: 5000,
    message: `psi statistic ${statistic}`,
  });
  const evaluation = (status: "ok" | "drift" | "insufficient", statistic = 0.5): AlertInput => ({
    type: "window",
    status,
    failed: 0,
    evaluated: 500,
    measurement: measurement(statistic),
  });

  function run(spec: WindowAlertSpec, inputs: [number, AlertInput][]) {
    let record: AlertRecord = newAlertRecord({ ...KEY, labels: {} });
    const notified: (AlertNotificationKind | undefined)[] = [];
    for (const [at, input] of inputs) {
      const result = step(record, input, at, spec);
      record = result.record;
      notified.push(result.notify);
    }
    return { record, notified };
  }

  it("fires on a drifted evaluation, carries the measurement, resolves on the first ok", () => {
    const { record, notified } = run(WINDOW, [
      [T0, evaluation("ok", 0.01)],
      [T0 + 5 * MIN, evaluation("drift", 0.6)],
      [T0 + 10 * MIN, evaluation("drift", 0.7)],
      [T0 + 15 * MIN, evaluation("ok", 0.05)],
    ]);
    expect(notified).toEqual([undefined, "firing", undefined, "resolved"]);
    expect(record.state).toBe("resolved");
    expect(record.measurement?.statistic).toBe(0.05);
  });

  it("insufficient samples hold the state: never a resolution, never a firing", () => {
    const firing = run(WINDOW, [
      [T0, evaluation("drift")],
      [T0 + 5 * MIN, evaluation("insufficient")],
      [T0 + 10 * MIN, evaluation("insufficient")],
    ]);
    expect(firing.notified).toEqual(["firing", undefined, undefined]);
    expect(firing.record.state).toBe("firing");
    const quiet = run(WINDOW, [[T0, evaluation("insufficient")]]);
    expect(quiet.record.state).toBe("inactive");
  });

  it("for and resolveAfter need the condition to hold across evaluations", () => {
    const spec = { ...WINDOW, forMs: 10 * MIN, resolveAfterMs: 10 * MIN };
    const { notified } = run(spec, [
      [T0, evaluation("drift")],
      [T0 + 5 * MIN, evaluation("drift")],
      [T0 + 10 * MIN, evaluation("drift")],
      [T0 + 15 * MIN, evaluation("ok")],
      [T0 + 20 * MIN, evaluation("drift")],
      [T0 + 25 * MIN, evaluation("ok")],
      [T0 + 30 * MIN, evaluation("ok")],
      [T0 + 35 * MIN, evaluation("ok")],
    ]);
    expect(notified).toEqual([
      undefined,
      undefined,
      "firing",
      undefined,
      undefined,
      undefined,
      undefined,
      "resolved",
    ]);
  });
});
