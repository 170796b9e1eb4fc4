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

describe("rule health alerts", () => {
  const unhealthy = (state: string, message = "the judge could not be reached") => [
    { ruleId: rule.id, state, message },
  ];

  it("fire on a rule that is not ok, carry a new state in the label, and resolve once ok", async () => {
    const { m, sent, advance } = manager();
    await m.onRuleHealth(unhealthy("judge_unreachable"));
    expect(sent.map((n) => [n.kind, n.channel])).toEqual([
      ["firing", "hook"],
      ["firing", "am"],
    ]);
    const alert = sent[0]?.alert;
    expect(alert?.labels).toEqual({
      team: "support",
      alert: "rule_health",
      state: "judge_unreachable",
      rule: rule.id,
      severity: "warning",
    });
    // A problem of the rule: no failed output, no example.
    expect(alert?.counts).toEqual({ failed: 0, evaluated: 0 });
    expect(alert?.examples).toEqual([]);
    expect(alert?.description).toContain("the judge could not be reached");
    expect(alert?.description).toContain("not a failure of any output");

    // Unchanged: nothing sent, on health reports or ticks, until the repeat interval.
    sent.length = 0;
    advance(60_000);
    await m.onRuleHealth(unhealthy("judge_unreachable"));
    await m.tick();
    advance(3_600_000);
    await m.tick();
    expect(sent).toEqual([]);
    await m.onRuleHealth(unhealthy("rate_limited"));
    expect(sent).toEqual([]);
    expect(m.alerts()[0]?.labels["state"]).toBe("rate_limited");
    advance(4 * 3_600_000);
    await m.onRuleHealth(unhealthy("rate_limited"));
    expect(sent.map((n) => n.kind)).toEqual(["repeat", "repeat"]);

    sent.length = 0;
    await m.onRuleHealth([{ ruleId: rule.id, state: "ok", message: undefined }]);
    expect(sent.map((n) => n.kind)).toEqual(["resolved", "resolved"]);
    expect(m.alerts()[0]?.state).toBe("resolved");
    sent.length = 0;
    await m.onRuleHealth([{ ruleId: rule.id, state: "ok", message: undefined }]);
    expect(sent).toEqual([]);
  });

  it("stay apart from the rule's own alerts, and resolve when the rule is no longer reported", async () => {
    const { m, sent } = manager();
    await m.onRuleHealth(unhealthy("budget_exhausted", "not judged: the budget is spent"));
    m.onEvaluated([finding(1)], [evaluation(1)]);
    await m.idle();
    const alerts = m.alerts();
    expect(alerts).toHaveLength(2);
    const own = alerts.find((a) => a.labels["alert"] === undefined);
    const health = alerts.find((a) => a.labels["alert"] === "rule_health");
    expect(own?.fingerprint).not.toBe(health?.fingerprint);
    expect(own?.counts).toEqual({ failed: 1, evaluated: 1 });
    expect(health?.counts).toEqual({ failed: 0, evaluated: 0 });
    expect(own?.severity).toBe("critical");

    sent.length = 0;
    await m.onRuleHealth([]);
    expect(sent.map((n) => [n.kind, n.alert.labels["alert"]])).toEqual([
      ["resolved", "rule_health"],
      ["resolved", "rule_health"],
    ]);
    expect(m.alerts().find((a) => a.labels["alert"] === undefined)?.state).toBe("firing");
  });

  it("ignore reports of rules that are not loaded, and ok rules with no alert", async () => {
    const { m, sent } = manager();
    await m.onRuleHealth([
      { ruleId: "not-loaded", state: "judge_errors", message: "x" },
      { ruleId: rule.id, state: "ok", message: undefined },
    ]);
    expect(sent).toEqual([]);
    expect(m.alerts()).toEqual([]);
  });
});
