import { describe, expect, it } from "vitest";
import {
  createDeliveryWorker,
  type DeliveryAttempt,
  type OutboxEntry,
  type OutboxStore,
  type Sender,
} from "./delivery-worker.ts";
import type { DeliveryResult, Notification } from "./types.ts";

function memoryOutbox() {
  const rows = new Map<string, OutboxEntry>();
  const attempts: DeliveryAttempt[] = [];
  const saves: { id: string; status: string }[] = [];
  const store: OutboxStore = {
    async save(entries) {
      for (const e of entries) {
        rows.set(e.notification.id, structuredClone(e));
        saves.push({ id: e.notification.id, status: e.status });
      }
    },
    async pending() {
      return [...rows.values()]
        .filter((e) => e.status === "pending")
        .map((e) => structuredClone(e));
    },
    async recordAttempt(attempt) {
      attempts.push(attempt);
    },
  };
  return { store, rows, attempts, saves };
}

function notification(id: string, channel = "hook"): Notification {
  return {
    id,
    kind: "firing",
    channel,
    createdAt: new Date().toISOString(),
    alert: {} as Notification["alert"],
  };
}

/** A sender whose answers are scripted; records what it received. */
function scripted(answers: DeliveryResult[], delayMs = 0) {
  const received: string[] = [];
  const sender: Sender = {
    async send(n) {
      received.push(n.id);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return answers.shift() ?? { outcome: "success", status: 200, latencyMs: 1 };
    },
  };
  return { sender, received };
}

const retry = (afterMs?: number): DeliveryResult => ({
  outcome: "retry",
  status: 503,
  error: "503 Service Unavailable",
  latencyMs: 1,
  afterMs,
});

describe("delivery worker", () => {
  it("writes the notification to the outbox before sending, then marks it delivered", async () => {
    const outbox = memoryOutbox();
    const hook = scripted([]);
    const worker = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([["hook", hook.sender]]),
      maxAgeMs: 60_000,
    });
    await worker.enqueue([notification("n1")]);
    await worker.idle();
    expect(outbox.saves).toEqual([
      { id: "n1", status: "pending" },
      { id: "n1", status: "delivered" },
    ]);
    expect(hook.received).toEqual(["n1"]);
    expect(outbox.attempts.map((a) => [a.attempt, a.result.outcome])).toEqual([[1, "success"]]);
    await worker.stop();
  });

  it("retries a receiver that is down, honouring Retry-After, and delivers each id once", async () => {
    const outbox = memoryOutbox();
    const hook = scripted([retry(), retry(30)]);
    const worker = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([["hook", hook.sender]]),
      maxAgeMs: 60_000,
      backoff: { baseMs: 10, maxMs: 50 },
    });
    const started = Date.now();
    await worker.enqueue([notification("n1"), notification("n2")]);
    await worker.idle(1_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35); // ≥ 5 (jittered 10) + 30 (Retry-After)
    expect(hook.received).toEqual(["n1", "n1", "n1", "n2"]);
    expect(outbox.rows.get("n1")?.status).toBe("delivered");
    expect(outbox.rows.get("n2")?.status).toBe("delivered");
    await worker.stop();
  });

  it("gives up after maxAge, and disables a channel that answers 410", async () => {
    const outbox = memoryOutbox();
    const flaky = scripted([retry(20), retry(20), retry(20)]);
    const gone = scripted([
      { outcome: "failure", status: 410, error: "410 Gone", latencyMs: 1, disableChannel: true },
    ]);
    const worker = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([
        ["flaky", flaky.sender],
        ["gone", gone.sender],
      ]),
      maxAgeMs: 30,
    });
    await worker.enqueue([
      notification("a", "flaky"),
      notification("b", "gone"),
      notification("c", "gone"),
    ]);
    await worker.idle(1_000);
    expect(outbox.rows.get("a")).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/gave up after 2 attempts/),
    });
    expect(outbox.rows.get("b")?.status).toBe("failed");
    expect(outbox.rows.get("c")).toMatchObject({
      status: "failed",
      lastError: expect.stringMatching(/410 Gone: channel disabled/),
    });
    expect(gone.received).toEqual(["b"]);
    expect(worker.disabledChannels().has("gone")).toBe(true);
    await worker.stop();
  });

  it("keeps a slow channel from holding up the others", async () => {
    const outbox = memoryOutbox();
    const slow = scripted([], 300);
    const fast = scripted([]);
    const worker = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([
        ["slow", slow.sender],
        ["fast", fast.sender],
      ]),
      maxAgeMs: 60_000,
    });
    await worker.enqueue([notification("s1", "slow"), notification("f1", "fast")]);
    await new Promise((r) => setTimeout(r, 100));
    expect(fast.received).toEqual(["f1"]);
    expect(outbox.rows.get("f1")?.status).toBe("delivered");
    expect(outbox.rows.get("s1")?.status).toBe("pending");
    await worker.idle();
    await worker.stop();
  });

  it("resumes what a previous run left pending, with the same ids", async () => {
    const outbox = memoryOutbox();
    const down = scripted([retry(60_000)]);
    const first = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([["hook", down.sender]]),
      maxAgeMs: 3_600_000,
    });
    await first.enqueue([notification("n1")]);
    await new Promise((r) => setTimeout(r, 20));
    await first.stop();
    expect(outbox.rows.get("n1")).toMatchObject({ status: "pending", attempts: 1 });

    // A new process: the entry is due again (pretend the minute passed).
    outbox.rows.get("n1")!.nextAttemptAt = Date.now();
    const up = scripted([]);
    const second = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([["hook", up.sender]]),
      maxAgeMs: 3_600_000,
    });
    await second.start();
    await second.idle();
    expect(up.received).toEqual(["n1"]);
    expect(outbox.rows.get("n1")).toMatchObject({ status: "delivered", attempts: 2 });
    await second.stop();
  });

  it("records silenced notifications without sending them", async () => {
    const outbox = memoryOutbox();
    const hook = scripted([]);
    const worker = createDeliveryWorker({
      store: outbox.store,
      senders: new Map([["hook", hook.sender]]),
      maxAgeMs: 60_000,
      isSilenced: (n) => n.id === "quiet",
    });
    await worker.enqueue([notification("quiet"), notification("loud")]);
    await worker.idle();
    expect(hook.received).toEqual(["loud"]);
    expect(outbox.rows.get("quiet")?.status).toBe("silenced");
    await worker.stop();
  });
});
