/**
 * Durable delivery: every notification is written to the outbox before its first attempt, and
 * every change of its status after. Each channel has its own queue, worked in order, so a slow
 * or dead receiver holds up only its own channel — never ingest, never the other channels.
 * Retries back off exponentially with jitter (or as the receiver's Retry-After says) until the
 * notification is older than `maxAgeMs`; a 410 disables the channel. A restart resumes the
 * pending notifications, with the same ids, so receivers can drop a repeat by `webhook-id`.
 */

import type { DeliveryResult, Notification } from "./types.ts";

export type OutboxStatus = "pending" | "delivered" | "failed" | "silenced";

export interface OutboxEntry {
  notification: Notification;
  status: OutboxStatus;
  attempts: number;
  /** Unix ms. */
  nextAttemptAt: number;
  lastError: string;
}

export interface DeliveryAttempt {
  notification: Notification;
  attempt: number;
  result: DeliveryResult;
  /** Unix ms. */
  at: number;
}

/** Where the outbox lives (ClickHouse in the service, memory in tests). */
export interface OutboxStore {
  /** Writes new versions of these entries; resolves once they are durable. */
  save(entries: OutboxEntry[]): Promise<void>;
  /** The latest version of every entry still pending. */
  pending(): Promise<OutboxEntry[]>;
  recordAttempt(attempt: DeliveryAttempt): Promise<void>;
}

export interface Sender {
  send(notification: Notification): Promise<DeliveryResult>;
}

export interface DeliveryWorkerOptions {
  store: OutboxStore;
  senders: ReadonlyMap<string, Sender>;
  /** After this long since creation, a notification that still fails is given up (failed). */
  maxAgeMs: number;
  backoff?: { baseMs: number; maxMs: number };
  /** Notifications for which this is true are recorded as silenced and not sent. */
  isSilenced?: (notification: Notification) => boolean;
  onEvent?: (message: string, fields: Record<string, unknown>) => void;
  now?: () => number;
  random?: () => number;
}

export interface DeliveryWorker {
  /** Writes the notifications to the outbox, then queues them. Resolves once durable. */
  enqueue(notifications: Notification[]): Promise<void>;
  /** Loads what a previous run left pending and starts working. */
  start(): Promise<void>;
  /** Stops after the attempts under way; what is still pending stays in the outbox. */
  stop(): Promise<void>;
  /** Channels disabled by a 410, with why. */
  disabledChannels(): ReadonlyMap<string, string>;
  /** Resolves when no queue has a notification due now or sooner than `withinMs`. */
  idle(withinMs?: number): Promise<void>;
}

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = options.backoff ?? { baseMs: 1_000, maxMs: 300_000 };
  const queues = new Map<string, OutboxEntry[]>();
  const running = new Map<string, Promise<void>>();
  const timers = new Map<string, NodeJS.Timeout>();
  const disabled = new Map<string, string>();
  let stopped = false;

  function queueOf(channel: string): OutboxEntry[] {
    let queue = queues.get(channel);
    if (queue === undefined) {
      queue = [];
      queues.set(channel, queue);
    }
    return queue;
  }

  function kick(channel: string): void {
    if (stopped || running.has(channel)) return;
    const timer = timers.get(channel);
    if (timer !== undefined) clearTimeout(timer);
    timers.delete(channel);
    running.set(
      channel,
      work(channel).finally(() => {
        running.delete(channel);
        schedule(channel);
      }),
    );
  }

  function schedule(channel: string): void {
    const next = queues.get(channel)?.[0];
    if (stopped || next === undefined) return;
    const wait = Math.max(0, next.nextAttemptAt - now());
    timers.set(
      channel,
      setTimeout(() => kick(channel), wait),
    );
  }

  async function work(channel: string): Promise<void> {
    const queue = queueOf(channel);
    while (!stopped && queue.length > 0) {
      const entry = queue[0] as OutboxEntry;
      if (entry.nextAttemptAt > now()) return; // schedule() wakes us when it is due
      const done = await attempt(channel, entry);
      if (done) queue.shift();
    }
  }

  /** One attempt; returns whether the entry is finished (delivered or given up). */
  async function attempt(channel: string, entry: OutboxEntry): Promise<boolean> {
    const sender = options.senders.get(channel);
    const reason = disabled.get(channel);
    if (sender === undefined || reason !== undefined) {
      await finish(entry, "failed", reason ?? `no channel named "${channel}" is configured`);
      return true;
    }
    entry.attempts++;
    const result = await sender.send(entry.notification);
    await options.store
      .recordAttempt({
        notification: entry.notification,
        attempt: entry.attempts,
        result,
        at: now(),
      })
      .catch(() => undefined); // the attempt log is best effort; the outbox row is what counts
    switch (result.outcome) {
      case "success":
        await finish(entry, "delivered", "");
        return true;
      case "failure":
        if (result.disableChannel === true) {
          disabled.set(
            channel,
            `the receiver answered ${result.status ?? "?"} Gone: channel disabled`,
          );
          options.onEvent?.("channel disabled", { channel, status: result.status });
        }
        await finish(entry, "failed", result.error);
        return true;
      case "retry": {
        const created = Date.parse(entry.notification.createdAt);
        const delay = result.afterMs ?? jittered(entry.attempts);
        entry.nextAttemptAt = now() + delay;
        entry.lastError = result.error;
        if (entry.nextAttemptAt - created > options.maxAgeMs) {
          await finish(
            entry,
            "failed",
            `gave up after ${entry.attempts} attempts: ${result.error}`,
          );
          return true;
        }
        await options.store.save([entry]);
        return false;
      }
    }
  }

  async function finish(entry: OutboxEntry, status: OutboxStatus, error: string): Promise<void> {
    entry.status = status;
    entry.lastError = error;
    await options.store.save([entry]);
    if (status === "failed") {
      options.onEvent?.("notification failed", {
        id: entry.notification.id,
        channel: entry.notification.channel,
        error,
      });
    }
  }

  function jittered(attempts: number): number {
    const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (attempts - 1));
    return Math.round(exp * (0.5 + random() / 2)); // "equal jitter": half fixed, half random
  }

  return {
    async enqueue(notifications) {
      if (notifications.length === 0) return;
      const entries: OutboxEntry[] = notifications.map((notification) => ({
        notification,
        status: options.isSilenced?.(notification) === true ? "silenced" : "pending",
        attempts: 0,
        nextAttemptAt: now(),
        lastError: "",
      }));
      await options.store.save(entries);
      for (const entry of entries) {
        if (entry.status !== "pending") continue;
        queueOf(entry.notification.channel).push(entry);
        kick(entry.notification.channel);
      }
    },
    async start() {
      const pending = await options.store.pending();
      pending.sort((a, b) => a.notification.createdAt.localeCompare(b.notification.createdAt));
      for (const entry of pending) queueOf(entry.notification.channel).push(entry);
      for (const channel of queues.keys()) kick(channel);
    },
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      await Promise.all(running.values());
    },
    disabledChannels: () => disabled,
    async idle(withinMs = 0) {
      for (;;) {
        await Promise.all(running.values());
        const due = [...queues.values()].some(
          (q) => q[0] !== undefined && q[0].nextAttemptAt <= now() + withinMs,
        );
        if (!due && running.size === 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}
