import { describe, expect, it } from "vitest";
import { makeAlert, makeNotification } from "./make-notification.ts";
import {
  alertmanagerApiAlerts,
  alertmanagerWebhookPayload,
  plumblinePayload,
  type AlertmanagerWebhookPayload,
  type PlumblinePayloadV1,
} from "./payloads.ts";

const externalUrl = "https://plumbline.example.com/";
const now = Date.parse("2026-01-05T09:31:48.250Z");

/** Same values and the same key order: the body on the wire is exactly this. */
function expectExactly(actual: unknown, expected: unknown): void {
  expect(JSON.stringify(actual, null, 2)).toBe(JSON.stringify(expected, null, 2));
}

const SUMMARY =
  "invoice-extraction-complete: 12 of 340 outputs failed (3.5%) in service billing-agent, agent invoice-extractor";

const AM_LABELS = {
  agent: "invoice-extractor",
  alertname: "invoice-extraction-complete",
  rule: "invoice-extraction-complete",
  service: "billing-agent",
  severity: "critical",
  team: "billing",
};

const AM_ANNOTATIONS = {
  description: "The invoice extractor returns a complete invoice",
  evaluated: "340",
  example_trace_ids: "4bf92f3577b34da6a3ce929d0e0e4736,a3ce929d0e0e47364bf92f3577b34da6",
  examples:
    'trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7 output.json: missing property "total" (observed: {"invoice_id":"INV-2291","currency":"EUR"})\n' +
    'trace a3ce929d0e0e47364bf92f3577b34da6 span b7ad6b7169203331 output.json.currency: does not match "^[A-Z]{3}$" (observed: "euro")',
  failed: "12",
  first_seen: "2026-01-05T09:14:03.120Z",
  grafana_url: "https://grafana.example.com/d/plumbline-rule?var-rule=invoice-extraction-complete",
  last_seen: "2026-01-05T09:31:47.880Z",
  rule_version: "3",
  runbook_url: "https://wiki.example.com/runbooks/invoices",
  summary: SUMMARY,
};

describe("plumblinePayload", () => {
  it("writes the whole alert, versioned, with links back to Plumbline", () => {
    const expected: PlumblinePayloadV1 = {
      version: "plumbline.alert.v1",
      id: "ntf_01JGZ8Q6V7T3M2K9R4X5C8D1EA",
      kind: "firing",
      status: "firing",
      channel: "ops",
      createdAt: "2026-01-05T09:31:48.002Z",
      sentAt: "2026-01-05T09:31:48.250Z",
      alert: {
        fingerprint: "3f9c2a61d0b84e17",
        ruleId: "invoice-extraction-complete",
        ruleVersion: "3",
        summary: SUMMARY,
        description: "The invoice extractor returns a complete invoice",
        severity: "critical",
        runbook: "https://wiki.example.com/runbooks/invoices",
        state: "firing",
        labels: {
          rule: "invoice-extraction-complete",
          service: "billing-agent",
          agent: "invoice-extractor",
          team: "billing",
        },
        counts: { failed: 12, evaluated: 340 },
        firstSeen: "2026-01-05T09:14:03.120Z",
        lastSeen: "2026-01-05T09:31:47.880Z",
        startsAt: "2026-01-05T09:14:03.120Z",
        endsAt: null,
        examples: [
          {
            traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
            spanId: "00f067aa0ba902b7",
            field: "output.json",
            observed: '{"invoice_id":"INV-2291","currency":"EUR"}',
            message: 'missing property "total"',
            at: "2026-01-05T09:31:47.880Z",
            url: "https://plumbline.example.com/traces/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7",
          },
          {
            traceId: "a3ce929d0e0e47364bf92f3577b34da6",
            spanId: "b7ad6b7169203331",
            field: "output.json.currency",
            observed: '"euro"',
            message: 'does not match "^[A-Z]{3}$"',
            at: "2026-01-05T09:29:12.004Z",
            url: "https://plumbline.example.com/traces/a3ce929d0e0e47364bf92f3577b34da6?span=b7ad6b7169203331",
          },
        ],
        links: {
          grafana:
            "https://grafana.example.com/d/plumbline-rule?var-rule=invoice-extraction-complete",
        },
        url: "https://plumbline.example.com/alerts/3f9c2a61d0b84e17",
        measurement: null,
      },
    };
    expectExactly(plumblinePayload(makeNotification(), { externalUrl, now }), expected);
  });

  it("writes null, never nothing, for absent values; a resolve says resolved", () => {
    const payload = plumblinePayload(
      makeNotification({
        kind: "resolved",
        alert: {
          state: "resolved",
          runbook: undefined,
          endsAt: "2026-01-05T10:02:00.000Z",
          examples: [],
        },
      }),
      { externalUrl, now },
    );
    expect(payload).toMatchObject({ kind: "resolved", status: "resolved" });
    expect(payload.alert).toMatchObject({
      runbook: null,
      endsAt: "2026-01-05T10:02:00.000Z",
      examples: [],
    });
    const json = JSON.parse(JSON.stringify(payload)) as { alert: Record<string, unknown> };
    expect(Object.keys(json.alert)).toContain("runbook");
  });

  it("reports the alert's own state for a test notification", () => {
    expect(plumblinePayload(makeNotification({ kind: "test" }), { externalUrl }).status).toBe(
      "firing",
    );
    const resolved = makeNotification({ kind: "test", alert: { state: "resolved" } });
    expect(plumblinePayload(resolved, { externalUrl }).status).toBe("resolved");
  });
});

describe("alertmanagerWebhookPayload", () => {
  it("writes Alertmanager's webhook body, version 4, for a firing alert", () => {
    const expected: AlertmanagerWebhookPayload = {
      receiver: "ops",
      status: "firing",
      alerts: [
        {
          status: "firing",
          labels: AM_LABELS,
          annotations: AM_ANNOTATIONS,
          startsAt: "2026-01-05T09:14:03.120Z",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "https://plumbline.example.com/alerts/3f9c2a61d0b84e17",
          fingerprint: "3f9c2a61d0b84e17",
        },
      ],
      groupLabels: AM_LABELS,
      commonLabels: AM_LABELS,
      commonAnnotations: AM_ANNOTATIONS,
      externalURL: "https://plumbline.example.com",
      version: "4",
      groupKey:
        '{}:{agent="invoice-extractor", alertname="invoice-extraction-complete", rule="invoice-extraction-complete", service="billing-agent", severity="critical", team="billing"}',
      truncatedAlerts: 0,
    };
    expectExactly(
      alertmanagerWebhookPayload(makeNotification(), { receiver: "ops", externalUrl }),
      expected,
    );
  });

  it("ends a resolved alert when it resolved, with the same group key as when it fired", () => {
    const firing = alertmanagerWebhookPayload(makeNotification(), { receiver: "ops", externalUrl });
    const resolved = alertmanagerWebhookPayload(
      makeNotification({
        kind: "resolved",
        alert: { state: "resolved", endsAt: "2026-01-05T10:02:00.000Z" },
      }),
      { receiver: "ops", externalUrl },
    );
    expect(resolved.status).toBe("resolved");
    expect(resolved.alerts[0]).toMatchObject({
      status: "resolved",
      endsAt: "2026-01-05T10:02:00.000Z",
    });
    expect(resolved.groupKey).toBe(firing.groupKey);
  });

  it("groups several notifications by what they share", () => {
    const payload = alertmanagerWebhookPayload(
      [
        makeNotification(),
        makeNotification({
          kind: "resolved",
          alert: {
            fingerprint: "0d1e2f3a4b5c6d7e",
            state: "resolved",
            labels: {
              rule: "invoice-extraction-complete",
              service: "billing-agent",
              agent: "receipt-reader",
            },
          },
        }),
      ],
      { receiver: "billing", externalUrl },
    );
    expect(payload.status).toBe("firing");
    expect(payload.alerts.map((alert) => alert.status)).toEqual(["firing", "resolved"]);
    expect(payload.commonLabels).toEqual({
      alertname: "invoice-extraction-complete",
      rule: "invoice-extraction-complete",
      service: "billing-agent",
      severity: "critical",
    });
    expect(payload.groupLabels).toEqual(payload.commonLabels);
    expect(payload.groupKey).toBe(
      '{}:{alertname="invoice-extraction-complete", rule="invoice-extraction-complete", service="billing-agent", severity="critical"}',
    );
    expect(payload.commonAnnotations).toMatchObject({ description: AM_ANNOTATIONS.description });
    expect(payload.commonAnnotations).not.toHaveProperty("summary");
    expect(() => alertmanagerWebhookPayload([], { receiver: "x", externalUrl })).toThrow(TypeError);
  });

  it("makes label names valid for Prometheus and drops empty labels", () => {
    const payload = alertmanagerWebhookPayload(
      makeNotification({
        alert: {
          labels: {
            "gen_ai.system": "openai",
            "k8s-namespace": "prod",
            "2fa": "x",
            env: "",
            alertname: "mine",
          },
          links: {
            "trace viewer": "https://jaeger.example.com/trace/1",
            runbook_url: "https://x.dev",
          },
        },
      }),
      { receiver: "ops", externalUrl },
    );
    expect(payload.alerts[0]?.labels).toEqual({
      _2fa: "x",
      alertname: "invoice-extraction-complete",
      gen_ai_system: "openai",
      k8s_namespace: "prod",
      severity: "critical",
    });
    // The rule's runbook keeps runbook_url; a link of the same name does not replace it.
    expect(payload.alerts[0]?.annotations).toMatchObject({
      trace_viewer_url: "https://jaeger.example.com/trace/1",
      runbook_url: "https://wiki.example.com/runbooks/invoices",
    });
  });
});

describe("alertmanagerApiAlerts", () => {
  it("posts a firing alert that ends two resend intervals from now", () => {
    expectExactly(
      alertmanagerApiAlerts(makeNotification(), { externalUrl, now, resendMs: 300_000 }),
      [
        {
          labels: AM_LABELS,
          annotations: AM_ANNOTATIONS,
          startsAt: "2026-01-05T09:14:03.120Z",
          endsAt: "2026-01-05T09:41:48.250Z",
          generatorURL: "https://plumbline.example.com/alerts/3f9c2a61d0b84e17",
        },
      ],
    );
  });

  it("posts a resolved alert that ends now", () => {
    const [alert] = alertmanagerApiAlerts(
      makeNotification({
        kind: "resolved",
        alert: { state: "resolved", endsAt: "2026-01-05T09:30:00.000Z" },
      }),
      { externalUrl, now, resendMs: 300_000 },
    );
    expect(alert?.endsAt).toBe("2026-01-05T09:31:48.250Z");
  });

  it("starts at first seen when the alert has no start yet", () => {
    const [alert] = alertmanagerApiAlerts(
      makeNotification({ kind: "test", alert: makeAlert({ startsAt: undefined }) }),
      {
        externalUrl,
        now,
        resendMs: 60_000,
      },
    );
    expect(alert).toMatchObject({
      startsAt: "2026-01-05T09:14:03.120Z",
      endsAt: "2026-01-05T09:33:48.250Z",
    });
  });
});
