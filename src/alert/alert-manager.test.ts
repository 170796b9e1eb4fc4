import { evaluationOf, makeFinding } from "../../test/helpers/findings.ts";
import { handMadeRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import type { Rule } from "../rules/rule.ts";
import type { CheckEvaluation, Finding } from "../rules/findings.ts";
import { createAlertManager, type AlertManagerOptions } from "./alert-manager.ts";
import type { Notification } from "./types.ts";

const rule: Rule = handMadeRule({
  id: "replies-short",
  description: "Replies are short",
  severity: "critical",
  enabled: true,
  labels: { team: "support" },
  match: {},
  check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 40] }] },
  alert: { mode: "each", resolveAfter: "1m" },
  version: "0123456789ab",
  file: "r.json",
});

function finding(i: number, service = "svc"): Finding {
  return makeFinding({
    time: `${1_764_158_400 + i}.000000000`,
    ruleId: rule.id,
    ruleVersion: rule.version,
    labels: { service, agent: "bot", operation: "chat", model: "m", tool: "" },
    traceId: String(i).padStart(32, "0"),
    spanId: String(i).padStart(16, "0"),
    path: "output.text",
    message: "too long",
    observed: "x".repeat(50),
    expected: "length 1..40",
  });
}

const evaluation = (i: number, service = "svc"): CheckEvaluation =>
  evaluationOf(finding(i, service));

function manager(overrides: Partial<AlertManagerOptions> = {}) {
  let clock = 1_764_158_400_000;
  const sent: Notification[] = [];
  const m = createAlertManager({
    rules: () => [rule],
    store: { saveRecords: async () => undefined, appendEvents: async () => undefined },
    initialRecords: [],
    enqueue: async (n) => void sent.push(...n),
    route: () => ["hook", "am"],
    rateCounts: async () => [],
    linkTemplates: {},
    externalUrl: "http://plumbline:4318",
    now: () => clock,
    ...overrides,
  });
  return { m, sent, advance: (ms: number) => (clock += ms) };
}

describe("alert manager", () => {
  it("fires once per group for a flood, with counts, and resolves after the quiet time", async () => {
    const { m, sent, advance } = manager();
    const rows = Array.from({ length: 1000 }, (_, i) => finding(i));
    m.onEvaluated(
      rows,
      rows.map((_, i) => evaluation(i)),
    );
    m.onEvaluated([finding(1000, "other")], [evaluation(1000, "other")]);
    await m.idle();
    expect(sent.map((n) => [n.kind, n.channel, n.alert.labels["service"]])).toEqual([
      ["firing", "hook", "svc"],
      ["firing", "am", "svc"],
      ["firing", "hook", "other"],
      ["firing", "am", "other"],
    ]);
    expect(sent[0]?.alert.counts).toEqual({ failed: 1000, evaluated: 1000 });
    expect(sent[0]?.alert.examples).toHaveLength(5);

    advance(30_000);
    m.onEvaluated([finding(2000)], [evaluation(2000)]);
    await m.idle();
    expect(sent).toHaveLength(4);

    advance(61_000);
    await m.tick();
    expect(sent.slice(4).map((n) => [n.kind, n.alert.labels["service"]])).toEqual([
      ["resolved", "svc"],
      ["resolved", "svc"],
      ["resolved", "other"],
      ["resolved", "other"],
    ]);
  });

  it("never steps an alert on a rule problem, and does not count it as a failure", async () => {
    const { m, sent } = manager();
    const timeout = { ...finding(1), code: "expr_timeout", message: "stopped after 500 ms" };
    const error = { ...finding(2), code: "rule_error", message: "rule failed while evaluating" };
    m.onEvaluated([timeout, error, { ...finding(3), code: "expr_error" }], []);
    await m.idle();
    await m.tick();
    expect(sent).toEqual([]);
    expect(m.alerts()).toEqual([]);

    // Beside a real failure, only the failure counts.
    m.onEvaluated([finding(4), { ...finding(5), code: "expr_timeout" }], [evaluation(4)]);
    await m.idle();
    expect(sent.map((n) => n.alert.counts)).toEqual([
      { failed: 1, evaluated: 1 },
      { failed: 1, evaluated: 1 },
    ]);
  });

  it("posts a firing alert again to channels that need it (Alertmanager's API)", async () => {
    const { m, sent, advance } = manager({ resendEvery: new Map([["am", 10_000]]) });
    m.onEvaluated([finding(1)], [evaluation(1)]);
    await m.idle();
    expect(sent).toHaveLength(2);
    advance(5_000);
    await m.tick();
    expect(sent).toHaveLength(2);
    advance(6_000);
    await m.tick();
    expect(sent.slice(2).map((n) => [n.kind, n.channel])).toEqual([["repeat", "am"]]);
  });
});

describe("rate alerts", () => {
  it("add up the counts of every agent when grouped by service only", async () => {
    const rateRule: Rule = handMadeRule({
      ...rule,
      id: "rate-rule",
      alert: {
        mode: "rate",
        threshold: 0.5,
        window: "15m",
        minSamples: 4,
        for: "0s",
        groupBy: ["service"],
      },
    });
    const { m, sent } = manager({
      rules: () => [rateRule],
      route: () => ["hook"],
      rateCounts: async () => [
        { service: "svc", agent: "a", failed: 2, evaluated: 3 },
        { service: "svc", agent: "b", failed: 1, evaluated: 3 },
      ],
    });
    await m.tick();
    // 3 of 6 failed across both agents: at the threshold, one alert for the service.
    expect(sent.map((n) => [n.kind, n.alert.labels["service"], n.alert.counts])).toEqual([
      ["firing", "svc", { failed: 3, evaluated: 6 }],
    ]);
  });
});
