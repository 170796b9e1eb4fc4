import { describe, expect, it } from "vitest";
import type { Rule } from "../rules/rule.ts";
import { buildAlert } from "./evidence.ts";
import { newAlertRecord, type AlertRecord } from "./state-machine.ts";
import type { AlertExample } from "./types.ts";

const MIN = 60_000;
const T0 = Date.parse("2026-01-31T12:00:00.000Z");

const RULE: Pick<Rule, "id" | "version" | "description" | "severity" | "labels" | "runbook"> = {
  id: "refund-json",
  version: "0123456789ab",
  description: "Refund replies must be valid JSON with an amount of at most 500",
  severity: "critical",
  labels: { team: "payments", service: "overridden" },
  runbook: "https://wiki.example.com/runbooks/refunds",
};

const example = (n: number): AlertExample => ({
  traceId: `4bf92f3577b34da6a3ce929d0e0e473${n}`,
  spanId: `00f067aa0ba902b${n}`,
  field: "output.json.amount",
  observed: "900",
  message: "amount 900 is above 500",
  at: new Date(T0 + n * 1000).toISOString(),
});

const FIRING: AlertRecord = {
  ...newAlertRecord({
    fingerprint: "e446662850b22854",
    ruleId: "refund-json",
    labels: { service: "support bot", agent: "triage" },
  }),
  state: "firing",
  pendingSince: T0,
  firingSince: T0,
  lastFailureAt: T0 + 5 * MIN,
  lastNotifiedAt: T0,
  failed: 1000,
  evaluated: 4000,
  firstSeen: T0 - 1000,
  lastSeen: T0 + 5 * MIN,
  examples: [1, 2, 3, 4, 5].map(example),
};

const TEMPLATES = {
  grafana:
    'https://grafana.example.com/explore?left={"range":{"from":"{startsAtMs}","to":"{endsAtMs}"}}&var-service={service}',
  jaeger: "https://jaeger.example.com/trace/{traceId}?uiFind={spanId}",
  rule: "https://plumbline.example.com/rules/{ruleId}#{fingerprint}",
};

describe("buildAlert", () => {
  it("a firing alert with all its evidence", () => {
    expect(buildAlert(FIRING, RULE, TEMPLATES, "https://plumbline.example.com/")).toStrictEqual({
      fingerprint: "e446662850b22854",
      ruleId: "refund-json",
      ruleVersion: "0123456789ab",
      description: "Refund replies must be valid JSON with an amount of at most 500",
      severity: "critical",
      runbook: "https://wiki.example.com/runbooks/refunds",
      labels: {
        team: "payments",
        service: "support bot",
        agent: "triage",
        rule: "refund-json",
        severity: "critical",
      },
      state: "firing",
      counts: { failed: 1000, evaluated: 4000 },
      firstSeen: "2026-01-31T11:59:59.000Z",
      lastSeen: "2026-01-31T12:05:00.000Z",
      startsAt: "2026-01-31T12:00:00.000Z",
      endsAt: undefined,
      examples: [1, 2, 3, 4, 5].map(example),
      links: {
        grafana: `https://grafana.example.com/explore?left={"range":{"from":"${T0 - 1000}","to":"${T0 + 5 * MIN}"}}&var-service=support%20bot`,
        jaeger:
          "https://jaeger.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4731?uiFind=00f067aa0ba902b1",
        rule: "https://plumbline.example.com/rules/refund-json#e446662850b22854",
        plumbline:
          "https://plumbline.example.com/traces/4bf92f3577b34da6a3ce929d0e0e4731?span=00f067aa0ba902b1",
        alert: "https://plumbline.example.com/alerts/e446662850b22854",
      },
    });
  });

  it("a resolved alert ends when it resolved; its links cover up to then", () => {
    const resolvedAt = T0 + 20 * MIN;
    const alert = buildAlert(
      { ...FIRING, state: "resolved", resolvedAt },
      RULE,
      { g: "https://g.example/?from={startsAtMs}&to={endsAtMs}" },
      "http://localhost:4318",
    );
    expect(alert.state).toBe("resolved");
    expect(alert.startsAt).toBe("2026-01-31T12:00:00.000Z");
    expect(alert.endsAt).toBe("2026-01-31T12:20:00.000Z");
    expect(alert.links.g).toBe(`https://g.example/?from=${T0 - 1000}&to=${resolvedAt}`);
  });

  it("a pending alert has not started; a one-failure range is at least a minute wide", () => {
    const pending: AlertRecord = {
      ...FIRING,
      state: "pending",
      firingSince: undefined,
      failed: 1,
      evaluated: 1,
      firstSeen: T0,
      lastSeen: T0,
      examples: [example(1)],
    };
    const alert = buildAlert(pending, RULE, { g: "https://g/?f={startsAtMs}&t={endsAtMs}" }, "");
    expect(alert.state).toBe("pending");
    expect(alert.startsAt).toBeUndefined();
    expect(alert.links.g).toBe(`https://g/?f=${T0}&t=${T0 + MIN}`);
  });

  const { runbook: _runbook, ...ruleWithoutRunbook } = RULE;

  it("without examples: no trace links, no plumbline link, but the alert link", () => {
    const alert = buildAlert(
      { ...FIRING, examples: [] },
      ruleWithoutRunbook,
      TEMPLATES,
      "https://p.example",
    );
    expect(alert.examples).toEqual([]);
    expect(alert.runbook).toBeUndefined();
    expect(Object.keys(alert.links).sort()).toEqual(["alert", "grafana", "rule"]);
    expect(alert.links.alert).toBe("https://p.example/alerts/e446662850b22854");
  });

  it("leaves out empty labels and links that need a missing service", () => {
    const alert = buildAlert(
      { ...FIRING, labels: { service: "", agent: "triage" } },
      { ...RULE, labels: { team: "" } },
      TEMPLATES,
      "https://p.example",
    );
    expect(alert.labels).toStrictEqual({
      agent: "triage",
      rule: "refund-json",
      severity: "critical",
    });
    expect(alert.links.grafana).toBeUndefined();
  });

  it("refuses an inactive record", () => {
    expect(() =>
      buildAlert(newAlertRecord({ fingerprint: "f", ruleId: "r", labels: {} }), RULE, {}, ""),
    ).toThrow("alert f is inactive");
  });
});
