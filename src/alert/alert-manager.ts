/**
 * Turns findings into alerts and alerts into notifications. `each` rules step their alert on
 * every batch of findings, as they arrive from the engine (so detection latency is evaluation
 * plus one outbox write); `rate` rules step on the window's counts, computed by SQL on the
 * per-minute counters, every tick. Every tick also lets time pass for every open alert
 * (pending → firing after `for`, repeat, resolve). State changes are saved; notifications go
 * through the durable outbox. A rule problem (an error or timeout inside the rule) is no
 * failure of the output: it never steps an alert, even when handed in with the findings. A
 * rule's health, reported apart (`onRuleHealth`), steps its own alert (rule-health.ts).
 */

import { randomUUID } from "node:crypto";
import type { Rule } from "../rules/rule.ts";
import {
  isRuleProblem,
  type CheckEvaluation,
  type Finding,
  type WindowEvaluation,
} from "../rules/findings.ts";
import { ALERT_DEFAULTS, type ParsedAlertSpec } from "../rules/alert-spec.ts";
import { buildAlert } from "./evidence.ts";
import { exampleOfFinding } from "./examples.ts";
import { fingerprint, groupLabelsOf } from "./fingerprint.ts";
import {
  newAlertRecord,
  step,
  type AlertInput,
  type AlertRecord,
  type AlertNotificationKind,
} from "./state-machine.ts";
import type { Alert, AlertExample, Measurement, Notification } from "./types.ts";
import {
  isRuleHealthRecord,
  newRuleHealthRecord,
  ruleHealthAlertRule,
  ruleHealthFingerprint,
  stepRuleHealth,
  type RuleHealthReport,
} from "./rule-health.ts";

export type { RuleHealthReport };

/** What an alert shows of its rule. */
type AlertRuleView = Pick<Rule, "id" | "version" | "description" | "severity" | "labels"> & {
  runbook?: string | undefined;
};

/** The spec a rule-health alert of a rule no longer loaded resolves under. */
const REMOVED_RULE_SPEC: ParsedAlertSpec = {
  mode: "each",
  groupBy: [],
  forMs: 0,
  resolveAfterMs: 0,
  repeatIntervalMs: ALERT_DEFAULTS.repeatIntervalMs,
};

const NO_OUTPUT_LABELS = { service: "", agent: "", operation: "", model: "", tool: "" };

export interface AlertStateStore {
  saveRecords(records: AlertRecord[]): Promise<void>;
  appendEvents(events: AlertTransition[]): Promise<void>;
}

export interface AlertTransition {
  at: number;
  record: AlertRecord;
  from: string;
  notification: AlertNotificationKind | "";
}

export interface RateGroupCounts {
  service: string;
  agent: string;
  failed: number;
  evaluated: number;
}

export interface AlertManagerOptions {
  rules(): readonly Rule[];
  store: AlertStateStore;
  /** Records saved by a previous run. */
  initialRecords: AlertRecord[];
  enqueue(notifications: Notification[]): Promise<void>;
  /** The channels an alert goes to. */
  route(alert: Alert): string[];
  /**
   * Channels that need a firing alert posted again every so often whatever the repeat
   * interval (Alertmanager's API: it resolves alerts whose endsAt passes), by name → ms.
   */
  resendEvery?: ReadonlyMap<string, number>;
  /** Failed/evaluated per (service, agent) of one rule over the last `windowMs`. */
  rateCounts(ruleId: string, windowMs: number): Promise<RateGroupCounts[]>;
  linkTemplates: Readonly<Record<string, string>>;
  externalUrl: string;
  onError?: (error: unknown) => void;
  now?: () => number;
}

export interface AlertManager {
  /** Findings and evaluations of one engine batch (output or trace rules). */
  onEvaluated(findings: readonly Finding[], evaluations: readonly CheckEvaluation[]): void;
  /** One evaluation of a window rule (rate or drift check). */
  onWindowResult(result: WindowEvaluation): Promise<void>;
  /** Time passing: rate windows, for-durations, repeats, resolutions. */
  tick(): Promise<void>;
  /**
   * How every loaded rule is doing: one not ok fires its `alert="rule_health"` alert, one ok
   * again (or no longer reported) resolves it. Never a failure of an output.
   */
  onRuleHealth(reports: readonly RuleHealthReport[]): Promise<void>;
  /** Resolves when every queued step has been processed. */
  idle(): Promise<void>;
  alerts(): Alert[];
  alert(fingerprint: string): Alert | undefined;
  /** A test notification to one channel, through the same outbox. */
  testChannel(channel: string): Promise<Notification>;
}

export function createAlertManager(options: AlertManagerOptions): AlertManager {
  const now = options.now ?? Date.now;
  const records = new Map(options.initialRecords.map((r) => [r.fingerprint, r]));
  let chain: Promise<void> = Promise.resolve();

  /** The rules by id; indexed again only when the rule set changed. */
  let index: { of: readonly Rule[]; byId: Map<string, Rule> } = { of: [], byId: new Map() };
  function ruleById(ruleId: string): Rule | undefined {
    const rules = options.rules();
    if (index.of !== rules) index = { of: rules, byId: new Map(rules.map((r) => [r.id, r])) };
    return index.byId.get(ruleId);
  }

  /** A rule and its alert spec (parsed when the rule was loaded). */
  function ruleWithSpec(ruleId: string): { rule: Rule; spec: ParsedAlertSpec } | undefined {
    const rule = ruleById(ruleId);
    return rule === undefined ? undefined : { rule, spec: rule.alertSpec };
  }

  /** Runs `work` after everything queued before it; state changes never interleave. */
  function serial(work: () => Promise<void>): Promise<void> {
    chain = chain.then(work).catch((error: unknown) => options.onError?.(error));
    return chain;
  }

  /** The last problem of each unhealthy rule, for its rule-health alert's description. */
  const healthMessages = new Map<string, string | undefined>();

  async function apply(
    steps: {
      rule: AlertRuleView;
      spec: ParsedAlertSpec;
      record: AlertRecord;
      input: AlertInput;
      /** A rule-health step: the report instead of the input. */
      health?: RuleHealthReport;
    }[],
  ): Promise<void> {
    const at = now();
    const changed: AlertRecord[] = [];
    const transitions: AlertTransition[] = [];
    const notifications: Notification[] = [];
    for (const { rule: ruleOf, spec, record, input, health } of steps) {
      const before = JSON.stringify(record);
      const result =
        health === undefined
          ? step(record, input, at, spec)
          : stepRuleHealth(record, health, at, spec.repeatIntervalMs);
      const rule =
        health === undefined
          ? ruleOf
          : { ...ruleOf, ...ruleHealthAlertRule(ruleOf, result.record, health.message) };
      records.set(result.record.fingerprint, result.record);
      if (JSON.stringify(result.record) !== before) changed.push(result.record);
      if (result.record.state !== record.state || result.notify !== undefined) {
        transitions.push({
          at,
          record: result.record,
          from: record.state,
          notification: result.notify ?? "",
        });
      }
      if (result.notify !== undefined) {
        const alert = buildAlert(result.record, rule, options.linkTemplates, options.externalUrl);
        for (const channel of options.route(alert)) {
          notifications.push({
            id: randomUUID(),
            kind: result.notify,
            channel,
            alert,
            createdAt: new Date(at).toISOString(),
          });
        }
      }
    }
    // State first, then the notifications: a crash in between re-derives nothing twice, and
    // the outbox write is what makes a notification durable.
    await options.store.saveRecords(changed);
    await options.store.appendEvents(transitions);
    await options.enqueue(notifications);
  }

  function onEvaluated(
    findings: readonly Finding[],
    evaluations: readonly CheckEvaluation[],
  ): void {
    if (findings.length === 0) return;
    type Group = {
      rule: Rule;
      spec: ParsedAlertSpec;
      labels: Record<string, string>;
      failedKeys: Set<string>;
      examples: AlertExample[];
    };
    const groups = new Map<string, Group>();
    for (const finding of findings) {
      if (isRuleProblem(finding)) continue;
      const found = ruleWithSpec(finding.ruleId);
      if (found === undefined || found.spec.mode !== "each") continue;
      const labels = groupLabelsOf(found.spec, found.rule, finding.labels, finding.conversationId);
      const fp = fingerprint(finding.ruleId, labels);
      let group = groups.get(fp);
      if (group === undefined) {
        group = { ...found, labels, failedKeys: new Set(), examples: [] };
        groups.set(fp, group);
      }
      group.failedKeys.add(`${finding.traceId}/${finding.spanId}`);
      if (group.examples.length < 5) group.examples.push(exampleOfFinding(finding));
    }
    if (groups.size === 0) return;
    // Evaluated outputs per (rule, service, agent) of the batch: the denominator for the counts.
    const evaluated = new Map<string, number>();
    for (const e of evaluations) {
      const key = `${e.ruleId}\u0000${e.service}\u0000${e.agent}`;
      evaluated.set(key, (evaluated.get(key) ?? 0) + 1);
    }
    void serial(() =>
      apply(
        [...groups.entries()].map(([fp, group]) => {
          const key = `${group.rule.id}\u0000${group.labels["service"] ?? ""}\u0000${group.labels["agent"] ?? ""}`;
          return {
            rule: group.rule,
            spec: group.spec,
            record:
              records.get(fp) ??
              newAlertRecord({ fingerprint: fp, ruleId: group.rule.id, labels: group.labels }),
            input: {
              type: "failures",
              findings: group.examples,
              failed: group.failedKeys.size,
              evaluated: Math.max(evaluated.get(key) ?? 0, group.failedKeys.size),
            },
          };
        }),
      ),
    );
  }

  function onWindowResult(result: WindowEvaluation): Promise<void> {
    const found = ruleWithSpec(result.ruleId);
    if (found === undefined || found.spec.mode !== "window") return Promise.resolve();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const measurement: Measurement = {
      checkType: result.checkType,
      method: result.method,
      field: result.field,
      statistic: result.statistic,
      pValue: result.pValue,
      threshold: result.threshold,
      direction: result.direction,
      windowStart: new Date(result.windowStart).toISOString(),
      windowEnd: new Date(result.windowEnd).toISOString(),
      referenceStart: iso(result.referenceStart),
      referenceEnd: iso(result.referenceEnd),
      currentSize: result.currentSize,
      referenceSize: result.referenceSize,
      message: result.message,
    };
    const stepOf = (labels: Record<string, string>, input: AlertInput) => {
      const fp = fingerprint(result.ruleId, labels);
      return {
        ...found,
        record:
          records.get(fp) ?? newAlertRecord({ fingerprint: fp, ruleId: result.ruleId, labels }),
        input,
      };
    };
    if (result.groups !== undefined) {
      // An absence rule: each entity is its own alert, decided by its own verdict.
      const steps = result.groups.map((group) =>
        stepOf(groupLabelsOf(found.spec, found.rule, { ...NO_OUTPUT_LABELS, ...group.labels }), {
          type: "window",
          status: group.status,
          failed: 0,
          evaluated: group.observed,
          measurement: {
            ...measurement,
            statistic: group.observed,
            pValue: group.pValue,
            currentSize: group.observed,
            referenceSize: Math.round(group.expected * group.days),
            message: group.message,
            absence: {
              observed: group.observed,
              expected: group.expected,
              days: group.days,
              lastSeen: iso(group.lastSeenMs),
            },
          },
        }),
      );
      return serial(() => apply(steps));
    }
    const labels = groupLabelsOf(found.spec, found.rule, NO_OUTPUT_LABELS);
    return serial(() =>
      apply([
        stepOf(labels, {
          type: "window",
          status: result.status,
          failed: result.checkType === "rate" ? (result.currentCounts[0] ?? 0) : 0,
          evaluated: result.currentSize,
          measurement,
        }),
      ]),
    );
  }

  async function tick(): Promise<void> {
    const rules = options.rules();
    const rateInputs = new Map<
      string,
      { rule: Rule; spec: ParsedAlertSpec; labels: Record<string, string>; input: AlertInput }
    >();
    for (const rule of rules) {
      const found = ruleWithSpec(rule.id);
      if (found === undefined || found.spec.mode !== "rate") continue;
      const spec = found.spec;
      const counts = await options.rateCounts(rule.id, spec.windowMs);
      for (const c of counts) {
        const labels = groupLabelsOf(spec, rule, {
          service: c.service,
          agent: c.agent,
          operation: "",
          model: "",
          tool: "",
        });
        // Several (service, agent) rows fall into one group when groupBy is coarser: add them.
        const fp = fingerprint(rule.id, labels);
        const previous = rateInputs.get(fp)?.input;
        const sum = previous?.type === "rate" ? previous : { failed: 0, evaluated: 0 };
        rateInputs.set(fp, {
          rule,
          spec,
          labels,
          input: {
            type: "rate",
            failed: sum.failed + c.failed,
            evaluated: sum.evaluated + c.evaluated,
          },
        });
      }
    }
    await serial(async () => {
      const steps: Parameters<typeof apply>[0] = [];
      for (const [fp, entry] of rateInputs) {
        steps.push({
          rule: entry.rule,
          spec: entry.spec,
          record:
            records.get(fp) ??
            newAlertRecord({ fingerprint: fp, ruleId: entry.rule.id, labels: entry.labels }),
          input: entry.input,
        });
      }
      for (const record of records.values()) {
        if (rateInputs.has(record.fingerprint)) continue;
        if (record.state === "inactive" || record.state === "resolved") continue;
        // Stepped by the health reports (onRuleHealth), never by the rule's own spec.
        if (isRuleHealthRecord(record)) continue;
        const found = ruleWithSpec(record.ruleId);
        if (found === undefined) continue;
        // A rate alert whose window holds nothing any more sees zero counts.
        const input: AlertInput =
          found.spec.mode === "rate" ? { type: "rate", failed: 0, evaluated: 0 } : { type: "tick" };
        steps.push({ ...found, record, input });
      }
      await apply(steps);
      await resendDue();
    });
  }

  /** (fingerprint, channel) → when the alert was last posted there. */
  const lastPosted = new Map<string, number>();

  async function resendDue(): Promise<void> {
    const resendEvery = options.resendEvery;
    if (resendEvery === undefined || resendEvery.size === 0) return;
    const at = now();
    const notifications: Notification[] = [];
    for (const record of records.values()) {
      if (record.state !== "firing") continue;
      const alert = view(record);
      if (alert === undefined) continue;
      for (const channel of options.route(alert)) {
        const every = resendEvery.get(channel);
        if (every === undefined) continue;
        const key = `${record.fingerprint}\u0000${channel}`;
        const last = lastPosted.get(key) ?? record.lastNotifiedAt ?? 0;
        if (at - last < every) continue;
        lastPosted.set(key, at);
        notifications.push({
          id: randomUUID(),
          kind: "repeat",
          channel,
          alert,
          createdAt: new Date(at).toISOString(),
        });
      }
    }
    for (const key of lastPosted.keys()) {
      const fp = key.split("\u0000")[0] as string;
      if (records.get(fp)?.state !== "firing") lastPosted.delete(key);
    }
    await options.enqueue(notifications);
  }

  function view(record: AlertRecord): Alert | undefined {
    if (record.state === "inactive" || record.pendingSince === undefined) return undefined;
    const found = ruleById(record.ruleId);
    const rule = found ?? {
      id: record.ruleId,
      version: "",
      description: "(rule no longer loaded)",
      severity: "warning" as const,
      labels: {},
    };
    const shown = isRuleHealthRecord(record)
      ? ruleHealthAlertRule(rule, record, healthMessages.get(record.ruleId))
      : rule;
    return buildAlert(record, shown, options.linkTemplates, options.externalUrl);
  }

  function onRuleHealth(reports: readonly RuleHealthReport[]): Promise<void> {
    return serial(async () => {
      const steps: Parameters<typeof apply>[0] = [];
      const reported = new Set<string>();
      for (const report of reports) {
        const found = ruleWithSpec(report.ruleId);
        if (found === undefined) continue;
        const fp = ruleHealthFingerprint(report.ruleId);
        reported.add(fp);
        const record = records.get(fp);
        if (report.state === "ok" && record?.state !== "firing") continue;
        if (report.state !== "ok") healthMessages.set(report.ruleId, report.message);
        const input: AlertInput = { type: "tick" };
        steps.push({
          ...found,
          record: record ?? newRuleHealthRecord(report.ruleId),
          input,
          health: report,
        });
      }
      // A rule no longer loaded (or enabled) has no health to report: its alert resolves.
      for (const record of records.values()) {
        if (!isRuleHealthRecord(record) || record.state !== "firing") continue;
        if (reported.has(record.fingerprint)) continue;
        const rule = ruleById(record.ruleId);
        steps.push({
          rule: rule ?? {
            id: record.ruleId,
            version: "",
            description: "",
            severity: "warning",
            labels: {},
          },
          spec: rule?.alertSpec ?? REMOVED_RULE_SPEC,
          record,
          input: { type: "tick" },
          health: { ruleId: record.ruleId, state: "ok", message: undefined },
        });
      }
      if (steps.length > 0) await apply(steps);
    });
  }

  return {
    onEvaluated,
    onWindowResult,
    onRuleHealth,
    tick: () => tick().catch((error: unknown) => options.onError?.(error)),
    async idle() {
      for (;;) {
        const current = chain;
        await current;
        if (current === chain) return;
      }
    },
    alerts: () => [...records.values()].flatMap((r) => view(r) ?? []),
    alert: (fp) => {
      const record = records.get(fp);
      return record === undefined ? undefined : view(record);
    },
    async testChannel(channel) {
      const at = new Date(now()).toISOString();
      const notification: Notification = {
        id: randomUUID(),
        kind: "test",
        channel,
        createdAt: at,
        alert: {
          fingerprint: "0000000000000000",
          ruleId: "plumbline.test",
          ruleVersion: "",
          description: "A test notification from Plumbline: this channel works.",
          severity: "info",
          runbook: undefined,
          labels: { rule: "plumbline.test", severity: "info" },
          state: "firing",
          counts: { failed: 0, evaluated: 0 },
          firstSeen: at,
          lastSeen: at,
          startsAt: at,
          endsAt: undefined,
          examples: [],
          links: {},
        },
      };
      await options.enqueue([notification]);
      return notification;
    },
  };
}
