/** The alert tables on a real embedded store: the outbox keeps the latest status per id. */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutboxEntry } from "../src/alert/delivery-worker.ts";
import type { Notification } from "../src/alert/types.ts";
import {
  appendAlertEvents,
  alertHistory,
  loadAlerts,
  loadSilences,
  pendingOutbox,
  saveAlerts,
  saveOutbox,
  saveSilence,
} from "../src/store/tables/alerts.ts";
import { rateCounts } from "../src/store/tables/checks.ts";
import type { CheckEvaluation } from "../src/rules/findings.ts";
import { writeCheckEvaluations } from "../src/store/tables/checks.ts";
import type { Store } from "../src/store/store.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

const entry = (id: string, status: OutboxEntry["status"], attempts = 0): OutboxEntry => ({
  notification: {
    id,
    kind: "firing",
    channel: "hook",
    createdAt: "2026-11-26T12:00:00.000Z",
    alert: { fingerprint: "f".repeat(16) } as Notification["alert"],
  },
  status,
  attempts,
  nextAttemptAt: 1_764_158_400_123,
  lastError: "",
});

describe("alert tables", () => {
  it("returns as pending only the entries whose latest version is pending", async () => {
    await saveOutbox(store, [entry("n1", "pending"), entry("n2", "pending")]);
    await saveOutbox(store, [entry("n1", "delivered", 1)]);
    await saveOutbox(store, [{ ...entry("n2", "pending", 3), lastError: "503" }]);
    const pending = await pendingOutbox(store);
    expect(pending).toEqual([{ ...entry("n2", "pending", 3), lastError: "503" }]);
  });

  it("keeps the latest record of each alert, its events and silences", async () => {
    await saveAlerts(store, [{ fingerprint: "a1", ruleId: "r", state: "pending", record: "{}" }]);
    await saveAlerts(store, [
      { fingerprint: "a1", ruleId: "r", state: "firing", record: '{"x":1}' },
    ]);
    expect(await loadAlerts(store)).toEqual([
      { fingerprint: "a1", ruleId: "r", state: "firing", record: '{"x":1}' },
    ]);
    expect(await loadAlerts(store, "resolved")).toEqual([]);

    await appendAlertEvents(store, [
      {
        at: 1_764_158_400_000,
        fingerprint: "a1",
        ruleId: "r",
        from: "inactive",
        to: "firing",
        notification: "firing",
        failed: 3,
        evaluated: 10,
      },
    ]);
    expect(await alertHistory(store, "a1")).toEqual([
      expect.objectContaining({ ToState: "firing", Failed: "3" }),
    ]);

    await saveSilence(store, "s1", { id: "s1", comment: "deploy" }, false);
    await saveSilence(store, "s2", { id: "s2" }, false);
    await saveSilence(store, "s2", { id: "s2" }, true);
    expect(await loadSilences(store)).toEqual([{ id: "s1", comment: "deploy" }]);
  });
});

describe("rate windows", () => {
  it("counts failed and evaluated outputs per service and agent over the window, by SQL", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const minute = (ago: number) => nowS - (nowS % 60) - ago * 60;
    const row = (ago: number, key: string, failed: 0 | 1, agent = "bot"): CheckEvaluation => ({
      time: `${minute(ago) + 7}.250000000`,
      ruleId: "rate-rule",
      service: "svc",
      agent,
      outputKey: key,
      failed: failed === 1,
    });
    await writeCheckEvaluations(store, [
      row(0, "a", 1),
      row(1, "b", 0),
      row(2, "c", 1),
      row(30, "old", 1), // outside a 15-minute window
      row(1, "d", 0, "other"),
    ]);
    await writeCheckEvaluations(store, [row(0, "a", 1)]); // evaluated again: counted once
    const counts = await rateCounts(store, "rate-rule", 15 * 60_000);
    expect(counts.sort((x, y) => x.agent.localeCompare(y.agent))).toEqual([
      { service: "svc", agent: "bot", evaluated: 3, failed: 2 },
      { service: "svc", agent: "other", evaluated: 1, failed: 0 },
    ]);
  });
});
