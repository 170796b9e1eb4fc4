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
} from "../src/store/alert-queries.ts";
import { createClickHouseClient } from "../src/store/client.ts";
import { runMigrations, tableNames } from "../src/store/migrations.ts";
import { createStore, type Store } from "../src/store/store.ts";
import { tempDir } from "./helpers/service.ts";

let store: Store;
beforeAll(async () => {
  const client = createClickHouseClient({ dataDir: tempDir(), user: "default", password: "" });
  const tables = tableNames("plumbline", "otel_traces");
  await runMigrations(client, { tables, retentionDays: 0 });
  store = createStore(client, tables);
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
