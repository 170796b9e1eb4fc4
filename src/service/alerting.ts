/**
 * Wires the alert stage: channel senders from the config, the durable delivery worker over the
 * outbox table, the alert manager fed by the engine's findings, silences, the periodic tick,
 * and the alerts API on top of them.
 */

import { randomUUID } from "node:crypto";
import type { AlertsApiDeps } from "../api/alerts-routes.ts";
import { createAlertManager, type AlertManager } from "../alert/alert-manager.ts";
import { createChannelSender } from "../alert/channels/transport.ts";
import { routeChannels } from "../alert/channels/route-channels.ts";
import { createDeliveryWorker } from "../alert/delivery-worker.ts";
import type { RuleHealthReport } from "../alert/alert-manager.ts";
import { createSilenceSet, type Silence } from "../alert/silences.ts";
import type { AlertRecord } from "../alert/state-machine.ts";
import type { Config } from "../config/index.ts";
import type { RuleActivity } from "../evaluate/engine.ts";
import type { Rule } from "../rules/rule.ts";
import { createPollLoop } from "../poll-loop.ts";
import type { Logger } from "./log.ts";
import {
  alertHistory,
  appendAlertEvents,
  deliveriesOf,
  loadAlerts,
  loadSilences,
  pendingOutbox,
  recordDeliveryAttempt,
  saveAlerts,
  saveOutbox,
  saveSilence,
} from "../store/tables/alerts.ts";
import { rateCounts } from "../store/tables/checks.ts";
import type { Store } from "../store/store.ts";

export interface Alerting {
  manager: AlertManager;
  api: AlertsApiDeps;
  close(): Promise<void>;
}

export async function startAlerting(
  config: Config,
  store: Store,
  rules: () => readonly Rule[],
  log: Logger,
  externalUrl: string,
  /** How each loaded rule is doing, for rule-health alerts (rule-health.ts). */
  ruleHealth?: () => readonly RuleHealthReport[],
): Promise<Alerting> {
  const settings = config.alerts;
  const senders = new Map(
    Object.entries(settings.channels).map(([name, channel]) => [
      name,
      createChannelSender(name, channel, { externalUrl }),
    ]),
  );
  const silences = createSilenceSet((await loadSilences(store)) as Silence[], {
    save: (silence, deleted) => saveSilence(store, silence.id, silence, deleted),
  });
  const worker = createDeliveryWorker({
    store: {
      save: (entries) => saveOutbox(store, entries),
      pending: () => pendingOutbox(store),
      recordAttempt: (attempt) => recordDeliveryAttempt(store, attempt),
    },
    senders,
    maxAgeMs: settings.maxAgeMs,
    isSilenced: (n) => n.kind !== "test" && silences.isSilenced(n.alert, Date.now()),
    onEvent: (message, fields) => log.warn(message, fields),
  });
  await worker.start();

  const defaults = settings.defaultChannels ?? Object.keys(settings.channels);
  const initial = (await loadAlerts(store)).map((row) => JSON.parse(row.record) as AlertRecord);
  const manager = createAlertManager({
    rules,
    store: {
      saveRecords: (records) =>
        saveAlerts(
          store,
          records.map((r) => ({
            fingerprint: r.fingerprint,
            ruleId: r.ruleId,
            state: r.state,
            record: JSON.stringify(r),
          })),
        ),
      appendEvents: (events) =>
        appendAlertEvents(
          store,
          events.map((e) => ({
            at: e.at,
            fingerprint: e.record.fingerprint,
            ruleId: e.record.ruleId,
            from: e.from,
            to: e.record.state,
            notification: e.notification,
            failed: e.record.failed,
            evaluated: e.record.evaluated,
          })),
        ),
    },
    initialRecords: initial,
    enqueue: (notifications) => worker.enqueue(notifications),
    route: (alert) => routeChannels(settings.routes, defaults, alert),
    resendEvery: new Map(
      Object.entries(settings.channels).flatMap(([name, channel]) =>
        channel.type === "alertmanager" ? [[name, channel.resendMs] as const] : [],
      ),
    ),
    rateCounts: (ruleId, windowMs) => rateCounts(store, ruleId, windowMs),
    linkTemplates: settings.linkTemplates,
    externalUrl,
    onError: (error) => log.error("alert processing failed", { error: String(error) }),
  });

  const ticks = createPollLoop(
    async () => {
      await manager.tick();
      // Rule health alerts (alerts.ruleHealth): how each rule is doing, every tick.
      if (settings.ruleHealth && ruleHealth !== undefined) {
        await manager.onRuleHealth(ruleHealth());
      }
    },
    settings.tickMs,
    (error) => log.error("alert tick failed", { error: String(error) }),
  );
  ticks.start();

  const api: AlertsApiDeps = {
    alerts: (state) => manager.alerts().filter((a) => state === undefined || a.state === state),
    alert: async (fingerprint) => {
      const alert = manager.alert(fingerprint);
      if (alert === undefined) return undefined;
      const [history, deliveries] = await Promise.all([
        alertHistory(store, fingerprint),
        deliveriesOf(store, fingerprint),
      ]);
      return {
        alert,
        history,
        deliveries,
        silencedBy: silences.holding(alert, Date.now()),
      };
    },
    channels: () =>
      Object.keys(settings.channels).map((name) => ({
        name,
        type: settings.channels[name]?.type,
        disabled: worker.disabledChannels().get(name),
      })),
    testChannel: async (name) => {
      if (!senders.has(name)) return undefined;
      return manager.testChannel(name);
    },
    silences: () => silences.list(),
    addSilence: (silence) => silences.add(silence),
    deleteSilence: (id) => silences.remove(id),
    newId: () => randomUUID(),
  };

  return {
    manager,
    api,
    async close() {
      await ticks.stop();
      await manager.idle();
      await worker.stop();
    },
  };
}

/**
 * Each rule's health for its rule-health alert: a judge rule's judge state (not_configured is
 * a setting, not a fault: it shows in /api/rules and does not alert), else `rule_errors` while
 * the engine finds the rule unhealthy.
 */
export function ruleHealthOf(activity: ReadonlyMap<string, RuleActivity>): RuleHealthReport[] {
  return [...activity].map(([ruleId, a]) => {
    const state =
      a.judge !== undefined
        ? a.judge.state === "not_configured"
          ? "ok"
          : a.judge.state
        : a.health === "unhealthy"
          ? "rule_errors"
          : "ok";
    return { ruleId, state, message: a.lastError?.message };
  });
}
