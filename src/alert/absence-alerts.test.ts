import { describe, expect, it } from "vitest";
import { loadedRule } from "../../test/helpers/rules.ts";
import type { AbsenceGroup, WindowEvaluation } from "../rules/findings.ts";
import { createAlertManager } from "./alert-manager.ts";
import type { Notification } from "./types.ts";

// An absence rule's evaluation carries one verdict per entity; each entity is its own alert,
// fired while silent and resolved once it sends again.

const rule = loadedRule({
  id: "team.silent",
  match: { kind: "llm" },
  check: { type: "absent", groupBy: ["service", "agent"] },
});

const T = Date.UTC(2026, 9, 10, 3, 0, 0);

function group(service: string, status: AbsenceGroup["status"], observed = 0): AbsenceGroup {
  return {
    labels: { service, agent: "bot" },
    status,
    observed,
    expected: 12,
    days: 7,
    pValue: status === "drift" ? 6e-6 : 0.4,
    lastSeenMs: T - 30 * 60_000,
    message: `${status}: service=${service}, agent=bot`,
  };
}

function evaluation(at: number, groups: AbsenceGroup[]): WindowEvaluation {
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    checkType: "absent",
    evaluatedAt: at,
    windowStart: at - 20 * 60_000,
    windowEnd: at,
    referenceStart: null,
    referenceEnd: null,
    field: "service,agent",
    method: "poisson",
    status: groups.some((g) => g.status === "drift") ? "drift" : "ok",
    statistic: 0,
    pValue: null,
    threshold: 1.7e-4,
    direction: "below",
    currentSize: 0,
    referenceSize: 0,
    bins: [],
    currentCounts: [],
    referenceCounts: [],
    message: "summary",
    groups,
  };
}

describe("absence alerts", () => {
  it("fires per silent entity with its evidence, and resolves when it sends again", async () => {
    let clock = T;
    const sent: Notification[] = [];
    const m = createAlertManager({
      rules: () => [rule],
      store: { saveRecords: async () => undefined, appendEvents: async () => undefined },
      initialRecords: [],
      enqueue: async (n) => void sent.push(...n),
      route: () => ["hook"],
      rateCounts: async () => [],
      linkTemplates: {},
      externalUrl: "http://plumbline:4318",
      now: () => clock,
    });
    await m.onWindowResult(
      evaluation(T, [
        group("checkout", "drift"),
        group("search", "ok", 40),
        group("rare", "insufficient"),
      ]),
    );
    expect(sent.map((n) => [n.kind, n.alert.labels["service"], n.alert.labels["agent"]])).toEqual([
      ["firing", "checkout", "bot"],
    ]);
    expect(sent[0]?.alert.measurement).toMatchObject({
      checkType: "absent",
      pValue: 6e-6,
      currentSize: 0,
      message: "drift: service=checkout, agent=bot",
      absence: {
        observed: 0,
        expected: 12,
        days: 7,
        lastSeen: new Date(T - 30 * 60_000).toISOString(),
      },
    });

    clock += 5 * 60_000;
    await m.onWindowResult(evaluation(clock, [group("checkout", "insufficient")]));
    expect(sent).toHaveLength(1);

    clock += 5 * 60_000;
    await m.onWindowResult(evaluation(clock, [group("checkout", "ok", 9)]));
    expect(sent.map((n) => [n.kind, n.alert.labels["service"]])).toEqual([
      ["firing", "checkout"],
      ["resolved", "checkout"],
    ]);
  });
});
