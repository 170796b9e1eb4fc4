/**
 * Test builders: a realistic firing alert (the invoice extractor returning incomplete JSON)
 * and a notification carrying it, with overrides.
 */

import type { Alert, Notification } from "../types.ts";

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    fingerprint: "3f9c2a61d0b84e17",
    ruleId: "invoice-extraction-complete",
    ruleVersion: "3",
    description: "The invoice extractor returns a complete invoice",
    severity: "critical",
    runbook: "https://wiki.example.com/runbooks/invoices",
    labels: {
      rule: "invoice-extraction-complete",
      service: "billing-agent",
      agent: "invoice-extractor",
      team: "billing",
    },
    state: "firing",
    counts: { failed: 12, evaluated: 340 },
    firstSeen: "2026-01-05T09:14:03.120Z",
    lastSeen: "2026-01-05T09:31:47.880Z",
    startsAt: "2026-01-05T09:14:03.120Z",
    endsAt: undefined,
    examples: [
      {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        field: "output.json",
        observed: '{"invoice_id":"INV-2291","currency":"EUR"}',
        message: 'missing property "total"',
        at: "2026-01-05T09:31:47.880Z",
      },
      {
        traceId: "a3ce929d0e0e47364bf92f3577b34da6",
        spanId: "b7ad6b7169203331",
        field: "output.json.currency",
        observed: '"euro"',
        message: 'does not match "^[A-Z]{3}$"',
        at: "2026-01-05T09:29:12.004Z",
      },
    ],
    links: {
      grafana: "https://grafana.example.com/d/plumbline-rule?var-rule=invoice-extraction-complete",
    },
    ...overrides,
  };
}

export function makeNotification(
  overrides: Partial<Omit<Notification, "alert">> & { alert?: Partial<Alert> } = {},
): Notification {
  const { alert, ...rest } = overrides;
  return {
    id: "ntf_01JGZ8Q6V7T3M2K9R4X5C8D1EA",
    kind: "firing",
    channel: "ops",
    createdAt: "2026-01-05T09:31:48.002Z",
    ...rest,
    alert: makeAlert(alert),
  };
}
