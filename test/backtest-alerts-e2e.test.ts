/**
 * A backtest's alerts are the live alerts. Traffic is sent through the real OTel SDK to a
 * running service whose rules alert in every mode — `each` (two groups, two episodes of one),
 * `each` with `for` (a lone failure dropped, then a burst that fires), `rate` (fires, recovers,
 * fires again and stays firing), a trace rule, a window rule (a drifted window fires it, an ok
 * one resolves it) — and each notification goes to a webhook. Then POST /api/backtest replays
 * the same rules over the same period: every alert has the same episodes, each with the same
 * steps at the same times (within what separates the live service's clock from the data's),
 * the same notifications, and the same messages per channel.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertEpisode } from "../src/alert/alert-replay.ts";
import type { BacktestReport } from "../src/api/rules-routes.ts";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { fetchJson, type Json } from "./helpers/http.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { until } from "./helpers/until.ts";

const TICK_MS = 200;
/**
 * Live, a step happens when the service has processed what the data says happened: export
 * (50 ms batches) and commit — the ingest lag, measured below, which a loaded machine
 * stretches — then evaluation, a flush of the counters (50 ms), and its own tick (every
 * 200 ms, at times of its own) or its trace and window polls (100 ms). The replay steps at the
 * data's times and on ticks at multiples of 200 ms. A step may be this much later live: on a
 * machine busy with another test file a tick's queries take seconds (3.2 s seen).
 */
const BEYOND_LAG_MS = 4_000;

const tooLong = "a reply that is far too long for the chat widget to show";
const assertShort = {
  type: "assert",
  assertions: [{ field: "output.text", length_between: [1, 40] }],
};
const RULES: Record<string, unknown> = {
  "each.json": {
    id: "bt-each",
    severity: "critical",
    labels: { team: "support" },
    match: { service: "each-svc", kind: "agent" },
    check: assertShort,
    alert: { mode: "each", resolveAfter: "4s" },
  },
  "each-for.json": {
    id: "bt-each-for",
    match: { service: "for-svc", kind: "agent" },
    check: assertShort,
    // Quiet for 5 s ends an episode: far more than the 1.2 s between its failures below,
    // however slowly a loaded machine sends them.
    alert: { mode: "each", for: "2s", resolveAfter: "5s" },
  },
  "rate.json": {
    id: "bt-rate",
    match: { service: "rate-svc", kind: "agent" },
    check: assertShort,
    alert: {
      mode: "rate",
      threshold: 0.5,
      recoveryThreshold: 0.25,
      window: "10m",
      minSamples: 4,
      for: "1s",
      resolveAfter: "2s",
    },
  },
  "trace.json": {
    id: "bt-trace",
    severity: "info",
    match: { service: "trace-svc", kind: "llm" },
    check: { type: "trace", kind: "count", max: 1 },
    alert: { mode: "each", resolveAfter: "3s" },
  },
  "window.json": {
    id: "bt-window",
    match: { service: "window-svc", kind: "agent" },
    check: {
      type: "rate",
      share: [{ field: "output.text", contains: "LONG" }],
      above: 0.5,
      window: "10s",
      every: "10s",
      minSamples: 2,
    },
  },
};

let service: TestService;
let hook: TestReceiver;
let startedAt: number;
let report: BacktestReport;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Sleeps until `at` (unix ms). */
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

async function send(serviceName: string, answers: string[], agent = "replier"): Promise<void> {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({ url: `${service.url}/v1/traces` }),
  );
  const provider = makeProvider(exporter, serviceName);
  const tracer = provider.getTracer("agent");
  for (const [i, answer] of answers.entries()) {
    emitAgentRun(tracer, {
      agent,
      userText: `q${i}`,
      answer,
      // Two model calls in one trace: the trace rule's count of 1 is exceeded.
      ...(serviceName === "trace-svc" && {
        tool: { name: "lookup_order", args: { id: i }, result: { ok: true } },
      }),
    });
  }
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
}

const times = (n: number, text: string) => Array.from({ length: n }, (_, i) => `${text} ${i}`);

/** The live state of a rule's alert of one agent ("gone" once dropped, or before any). */
async function liveState(ruleId: string, agent = "replier"): Promise<string> {
  const { alerts }: Json = await fetchJson(`${service.url}/api/alerts`);
  const alert = alerts.find(
    (a: Json) => a.ruleId === ruleId && (a.labels.agent ?? agent) === agent,
  );
  return alert?.state ?? "gone";
}

/**
 * Waits until the live alert is in `state`, then a little longer: the next traffic is sent
 * after the live service (and so the replay, which steps on the data's own earlier times) has
 * taken the step, however loaded the machine is.
 */
async function live(ruleId: string, state: string, agent?: string): Promise<void> {
  await until(`${ruleId} ${agent ?? ""} ${state}`, async () =>
    (await liveState(ruleId, agent)) === state ? true : undefined,
  );
  await sleep(TICK_MS + 300);
}

/** Every mode's traffic, each on its own service, all at once (about 25 s, the window's). */
async function traffic(): Promise<void> {
  await Promise.all([
    (async () => {
      // Two groups fire at once; one takes in a flood; both resolve; one fires again.
      await send("each-svc", [tooLong], "alpha");
      await send("each-svc", [tooLong], "beta");
      await live("bt-each", "firing", "beta");
      await send("each-svc", times(3, tooLong), "alpha");
      await live("bt-each", "resolved", "alpha");
      await live("bt-each", "resolved", "beta");
      await send("each-svc", [tooLong], "alpha");
      await live("bt-each", "firing", "alpha");
    })(),
    (async () => {
      // A lone failure is dropped after 5 quiet seconds. Then failures 1.2 s apart: it fires
      // at the first that comes 2 s after the first of them.
      await send("for-svc", [tooLong]);
      await live("bt-each-for", "pending");
      await live("bt-each-for", "gone");
      for (let sent = 0; sent < 6 && (await liveState("bt-each-for")) !== "firing"; sent++) {
        await send("for-svc", [tooLong]);
        await sleep(1_200);
      }
    })(),
    (async () => {
      // 6 of 6 failed: fires after `for`. 30 passing: 6/36 < 0.25, resolves. 40 failing:
      // 46/76 ≥ 0.5, fires again and stays firing.
      await send("rate-svc", times(6, tooLong));
      await live("bt-rate", "firing");
      await send("rate-svc", times(30, "short"));
      await live("bt-rate", "resolved");
      await send("rate-svc", times(40, tooLong));
      await live("bt-rate", "firing");
    })(),
    (async () => {
      await send("trace-svc", ["short"]);
    })(),
    (async () => {
      // A window of long replies (drift, fires), then one of short ones (ok, resolves).
      const boundary = Math.ceil((Date.now() + 300) / 10_000) * 10_000;
      await sleepUntil(boundary + 300);
      await send("window-svc", times(3, "LONG"));
      await sleepUntil(boundary + 10_300);
      await send("window-svc", times(3, "short"));
    })(),
  ]);
}

beforeAll(async () => {
  hook = await startReceiver();
  const rulesDir = tempDir("plumbline-backtest-alert-rules-");
  mkdirSync(rulesDir, { recursive: true });
  for (const [file, rule] of Object.entries(RULES)) {
    writeFileSync(join(rulesDir, file), JSON.stringify(rule));
  }
  service = await startTestService({
    rulesDir,
    evaluate: {
      builtinRules: false,
      resultsFlushMs: 50,
      traceQuietMs: 300,
      traceIntervalMs: 100,
      windowTickMs: 100,
      // Long enough for the window's last outputs to be in, on a loaded machine too.
      windowSettleMs: 3_000,
    },
    alerts: {
      channels: { hook: { type: "webhook", url: `${hook.url}/hooks/plumbline` } },
      tickMs: TICK_MS,
    },
  });
  // The first export of a process is the slowest (connections, first commit): not timed.
  await send("warm-up-svc", ["hello"]);
  startedAt = Date.now();
  await traffic();
  // The last steps: the window's evaluation settles 3 s after it ends, `each` resolves 4 s
  // after its last failure.
  await until(
    "the live alerts to settle",
    async () => {
      const { alerts }: Json = await fetchJson(`${service.url}/api/alerts`);
      const windowAlert = alerts.find((a: Json) => a.ruleId === "bt-window");
      const open = alerts.filter((a: Json) => a.ruleId !== "bt-rate" && a.state !== "resolved");
      return windowAlert?.state === "resolved" && open.length === 0 ? true : undefined;
    },
    30_000,
  );
  await service.flushEvaluations();
  const res = await fetch(`${service.url}/api/backtest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      rules: Object.entries(RULES).map(([file, rule]) => ({ file, rule })),
      since: String(startedAt - 1_000),
      until: String(Date.now()),
    }),
  });
  expect(res.status).toBe(200);
  const last = (await res.text()).trim().split("\n").at(-1) ?? "{}";
  const message = JSON.parse(last) as { result?: BacktestReport; error?: unknown };
  expect(message.error).toBeUndefined();
  report = message.result as BacktestReport;
}, 90_000);

afterAll(async () => {
  await service?.close();
  await hook?.close();
});

interface LiveEpisode {
  pendingAt: number;
  firingAt: number | null;
  resolvedAt: number | null;
  droppedAt: number | null;
  notifications: Record<string, number>;
}

/** The live episodes of each alert, from its history of state changes (alert_events). */
async function liveEpisodes(): Promise<Map<string, LiveEpisode[]>> {
  const rows = await service.rows<{
    fingerprint: string;
    at: string;
    from: string;
    to: string;
    notification: string;
  }>(
    `SELECT Fingerprint AS fingerprint, toUnixTimestamp64Milli(Time) AS at, FromState AS from,
  ToState AS to, Notification AS notification
FROM plumbline.alert_events ORDER BY Fingerprint, Time`,
  );
  const episodes = new Map<string, LiveEpisode[]>();
  for (const row of rows) {
    const at = Number(row.at);
    const list = episodes.get(row.fingerprint) ?? [];
    episodes.set(row.fingerprint, list);
    const starts = (row.from === "inactive" || row.from === "resolved") && row.to !== "inactive";
    if (starts) {
      list.push({
        pendingAt: at,
        firingAt: null,
        resolvedAt: null,
        droppedAt: null,
        notifications: {},
      });
    }
    const current = list.at(-1);
    if (current === undefined) throw new Error(`an episode of ${row.fingerprint} without a start`);
    if (row.to === "firing" && row.from !== "firing") current.firingAt = at;
    if (row.to === "resolved") current.resolvedAt = at;
    if (row.to === "inactive") current.droppedAt = at;
    if (row.notification !== "") {
      current.notifications[row.notification] = (current.notifications[row.notification] ?? 0) + 1;
    }
  }
  return episodes;
}

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
const kinds = (episode: AlertEpisode) =>
  Object.fromEntries(
    (["firing", "repeat", "resolved"] as const)
      .filter((kind) => episode.notifications[kind] > 0)
      .map((kind) => [kind, episode.notifications[kind]]),
  );

describe("a backtest's alerts", () => {
  it("are the live alerts, episode for episode", async () => {
    const live = await liveEpisodes();
    const [lag] = await service.rows<{ ms: string }>(
      `SELECT max(toUnixTimestamp64Milli(InsertedAt) - intDiv(toUnixTimestamp64Nano(Timestamp) + DurationNs, 1000000)) AS ms
FROM plumbline.agent_outputs WHERE ServiceName LIKE '%-svc'`,
    );
    const tolerance = Math.max(0, Number(lag?.ms)) + BEYOND_LAG_MS;
    const replayed = new Map<string, AlertEpisode[]>();
    for (const rule of report.rules) {
      for (const episode of rule.alerts) {
        replayed.set(episode.fingerprint, [...(replayed.get(episode.fingerprint) ?? []), episode]);
      }
    }
    // Every mode raised something, so the comparison below covers it.
    const episodesOf = (ruleId: string) =>
      report.rules.find((r) => r.ruleId === ruleId)?.alerts ?? [];
    expect(episodesOf("bt-each")).toHaveLength(3);
    expect(new Set(episodesOf("bt-each").map((e) => e.labels["agent"]))).toEqual(
      new Set(["alpha", "beta"]),
    );
    expect(episodesOf("bt-each-for").map((e) => e.droppedAt !== null)).toEqual([true, false]);
    expect(episodesOf("bt-rate").map((e) => e.resolvedAt !== null)).toEqual([true, false]);
    expect(episodesOf("bt-trace")).toHaveLength(1);
    expect(episodesOf("bt-window")).toHaveLength(1);

    expect([...replayed.keys()].sort()).toEqual([...live.keys()].sort());
    for (const [fingerprint, episodes] of replayed) {
      const liveOnes = live.get(fingerprint) ?? [];
      const what = `${episodes[0]?.labels["rule"]} ${fingerprint}`;
      expect(episodes.length, what).toBe(liveOnes.length);
      for (const [i, episode] of episodes.entries()) {
        const actual = liveOnes[i];
        const steps = ["pendingAt", "firingAt", "resolvedAt", "droppedAt"] as const;
        for (const step of steps) {
          const replayedAt = ms(episode[step]);
          const liveAt = actual?.[step] ?? null;
          expect(replayedAt === null, `${what} #${i} ${step}`).toBe(liveAt === null);
          if (replayedAt !== null && liveAt !== null) {
            // Live steps come after the data's (and the resolved one of a window, after the
            // evaluation that the replay places at the window's settle time): never much before.
            expect(liveAt - replayedAt, `${what} #${i} ${step}`).toBeGreaterThanOrEqual(
              -TICK_MS - 100,
            );
            expect(liveAt - replayedAt, `${what} #${i} ${step}`).toBeLessThanOrEqual(tolerance);
          }
        }
        expect(kinds(episode), `${what} #${i}`).toEqual(actual?.notifications);
      }
    }
  });

  it("carry the live alerts' labels, and the messages each channel got", async () => {
    const { alerts }: Json = await fetchJson(`${service.url}/api/alerts`);
    const outbox = await service.rows<{ fingerprint: string; n: string }>(
      `SELECT Fingerprint AS fingerprint, count() AS n FROM plumbline.alert_outbox FINAL
WHERE Channel = 'hook' GROUP BY Fingerprint`,
    );
    const sent = new Map(outbox.map((r) => [r.fingerprint, Number(r.n)]));
    for (const rule of report.rules) {
      for (const episode of rule.alerts) {
        const liveAlert = alerts.find((a: Json) => a.fingerprint === episode.fingerprint);
        expect(episode.labels, rule.ruleId).toEqual(liveAlert?.labels);
      }
      const messages = rule.alerts.reduce(
        (sum, e) => sum + (e.notifications.channels["hook"] ?? 0),
        0,
      );
      const liveMessages = [...new Set(rule.alerts.map((e) => e.fingerprint))].reduce(
        (sum, fp) => sum + (sent.get(fp) ?? 0),
        0,
      );
      expect(messages, rule.ruleId).toBe(liveMessages);
    }
    expect(hook.requests.length).toBe(report.summary.notifications.channels["hook"] ?? Number.NaN);
  });

  it("sum up to a summary: alerts fired, time firing, notifications, per severity", () => {
    const { summary } = report;
    const fired = report.rules.reduce((sum, r) => sum + r.fired, 0);
    expect(summary.fired).toBe(fired);
    // each ×3, each-for ×1, rate ×2, trace ×1, window ×1
    expect(summary.fired).toBe(8);
    expect(summary.bySeverity.critical.fired).toBe(3);
    expect(summary.bySeverity.info.fired).toBe(1);
    expect(summary.bySeverity.warning.fired).toBe(4);
    expect(summary.firingMs).toBeGreaterThan(0);
    expect(report.timing).toEqual({ tickMs: TICK_MS, traceQuietMs: 300, windowSettleMs: 3_000 });
  });
});
