/**
 * A store seeded for the web UI's page tests: one agent run whose LLM call returned JSON
 * missing a field (a schema finding on `output.json/quantity`), its tool call, per-minute
 * counts, ingest counters, drift evaluations (one drift, one insufficient), plus fake rules
 * and alerts APIs holding a loaded rule, a broken rule file and a firing alert with deliveries.
 */

import { createSilence, silenceBodySchema, type Silence } from "../../src/alert/silences.ts";
import type { Alert } from "../../src/alert/types.ts";
import type { AlertsApiDeps } from "../../src/api/alerts-routes.ts";
import type { RulesApiDeps, RuleStatusView } from "../../src/api/rules-routes.ts";
import { SpanKind, StatusCode } from "../../src/decode/span.ts";
import { toOtelTracesRow } from "../../src/decode/span-row.ts";
import type { Store } from "../../src/store/store.ts";
import { writeCheckEvaluations, writeFindings } from "../../src/store/tables/checks.ts";
import { saveWindowEvaluations } from "../../src/store/tables/drift-results.ts";
import { evaluationOf, makeFinding } from "./findings.ts";
import { makeRow } from "./make-row.ts";
import { makeSpan } from "./make-span.ts";
import { loadedRule } from "./rules.ts";
import { windowRow } from "./window-rows.ts";

export const TRACE_ID = "5b8efff798038103d269b633813fc60c";
export const ROOT_SPAN = "eee19b7ec3c1b174";
export const LLM_SPAN = "eee19b7ec3c1b175";
export const TOOL_SPAN = "eee19b7ec3c1b176";
export const SERVICE = "orders-agent";
export const AGENT = "order-processor";
export const FINGERPRINT = "a1b2c3d4e5f60718";

export const schemaRule = loadedRule({
  id: "orders-parse-complete",
  description: "The order parser returns complete JSON.",
  severity: "critical",
  match: { service: "orders-agent", kind: "llm" },
  check: {
    type: "json_schema",
    field: "output.json",
    schema: { type: "object", required: ["sku", "quantity"] },
  },
});

export const driftRule = loadedRule({
  id: "orders-total-drift",
  description: "Order totals keep their distribution.",
  severity: "warning",
  match: { service: "orders-agent", kind: "llm" },
  check: {
    type: "drift",
    field: "output.json.total",
    kind: "numeric",
    method: "ks",
    window: "1h",
    every: "5m",
  },
});

const nanosText = (ms: number) =>
  `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, "0")}`;

/** Writes the seed; times are minutes before `now`. */
export async function seedStore(store: Store, now: number): Promise<void> {
  const start = now - 10 * 60_000;
  const startNanos = BigInt(start) * 1_000_000n;
  const span = (
    id: string,
    parent: string,
    name: string,
    offsetMs: number,
    ms: number,
    attributes = {},
  ) =>
    toOtelTracesRow(
      makeSpan({
        traceId: TRACE_ID,
        spanId: id,
        parentSpanId: parent,
        name,
        kind: SpanKind.Internal,
        startTimeUnixNano: startNanos + BigInt(offsetMs) * 1_000_000n,
        endTimeUnixNano: startNanos + BigInt(offsetMs + ms) * 1_000_000n,
        attributes: { "gen_ai.operation.name": name.split(" ")[0] ?? "", ...attributes },
        statusCode: StatusCode.Unset,
        resourceAttributes: { "service.name": SERVICE, "service.version": "2.4.1" },
      }),
    );
  const outputJson = JSON.stringify({ sku: "SKU-1138", total: 42.5 });
  const outputs = [
    makeRow({
      Timestamp: nanosText(start + 100),
      TraceId: TRACE_ID,
      SpanId: LLM_SPAN,
      ParentSpanId: ROOT_SPAN,
      ServiceName: SERVICE,
      AgentName: AGENT,
      SpanName: "chat gpt-4o",
      Kind: "llm",
      Operation: "chat",
      Model: "gpt-4o-2024-08-06",
      InputText: "system: Extract the order as JSON.\nuser: two blue mugs",
      OutputText: outputJson,
      OutputJson: outputJson,
      FinishReason: "stop",
      InputTokens: 321,
      OutputTokens: 17,
      DurationNs: "900000000",
    }),
    makeRow({
      Timestamp: nanosText(start + 1_100),
      TraceId: TRACE_ID,
      SpanId: TOOL_SPAN,
      ParentSpanId: ROOT_SPAN,
      ServiceName: SERVICE,
      AgentName: AGENT,
      SpanName: "execute_tool check_stock",
      Kind: "tool",
      Operation: "execute_tool",
      Model: "",
      ToolName: "check_stock",
      ToolArguments: JSON.stringify({ sku: "SKU-1138" }),
      ToolResult: JSON.stringify({ inStock: 7 }),
      OutputText: JSON.stringify({ inStock: 7 }),
      DurationNs: "250000000",
    }),
  ];
  await store.write({
    traces: [
      span(ROOT_SPAN, "", `invoke_agent ${AGENT}`, 0, 1_500, { "gen_ai.agent.name": AGENT }),
      span(LLM_SPAN, ROOT_SPAN, "chat gpt-4o", 100, 900),
      span(TOOL_SPAN, ROOT_SPAN, "execute_tool check_stock", 1_100, 250),
    ],
    outputs,
  });
  const finding = makeFinding({
    ruleId: schemaRule.id,
    ruleVersion: schemaRule.version,
    severity: "critical",
    code: "schema_violation",
    path: "output.json/quantity",
    message: 'output.json is missing the required property "quantity"',
    observed: "(absent)",
    expected: "required",
    traceId: TRACE_ID,
    spanId: LLM_SPAN,
    time: nanosText(start + 100),
    labels: { service: SERVICE, agent: AGENT, operation: "chat", model: "gpt-4o", tool: "" },
  });
  await writeFindings(store, [finding]);
  await writeCheckEvaluations(store, [
    evaluationOf(finding, true),
    ...Array.from({ length: 9 }, (_, i) => ({
      ...evaluationOf(finding, false),
      outputKey: `${TRACE_ID}/other-${i}`,
    })),
  ]);
  await store.writeStats([
    {
      Minute: Math.floor(start / 60_000) * 60,
      ServiceName: SERVICE,
      SpanName: "chat gpt-4o",
      Received: 30,
      Rejected: 2,
      Outputs: 20,
      Unrecognised: 0,
    },
    {
      Minute: Math.floor(start / 60_000) * 60,
      ServiceName: SERVICE,
      SpanName: "db.query",
      Received: 5,
      Rejected: 0,
      Outputs: 0,
      Unrecognised: 5,
    },
  ]);
  const end = Math.floor(now / 300_000) * 300_000;
  await saveWindowEvaluations(store, [
    windowRow(driftRule, end - 600_000, {
      status: "insufficient",
      statistic: null,
      pValue: null,
      currentSize: 3,
      referenceSize: 250,
      field: "output.json.total",
      message: "3 current samples, 30 needed",
    }),
    windowRow(driftRule, end - 300_000, {
      status: "ok",
      statistic: 0.08,
      pValue: 0.4,
      threshold: 0.000174,
      field: "output.json.total",
      currentSize: 40,
      referenceSize: 250,
      referenceStart: end - 8 * 86_400_000,
      referenceEnd: end - 3_900_000,
      bins: ["[0, 50)", "[50, 100)", "[100, +inf)"],
      currentCounts: [20, 19, 1],
      referenceCounts: [130, 110, 10],
    }),
    windowRow(driftRule, end, {
      status: "drift",
      statistic: 0.97,
      pValue: 1e-30,
      threshold: 0.000174,
      field: "output.json.total",
      currentSize: 40,
      referenceSize: 250,
      referenceStart: end - 8 * 86_400_000,
      referenceEnd: end - 3_600_000,
      bins: ["[0, 50)", "[50, 100)", "[100, +inf)"],
      currentCounts: [0, 1, 39],
      referenceCounts: [130, 110, 10],
      message: "totals moved: D = 0.97, p < 1e-29",
    }),
  ]);
}

const loadedAt = (now: number) => new Date(now - 3_600_000).toISOString();

/** The rules API of the seed: two loaded rules and one broken file. */
export function fakeRulesApi(store: Store, now: number): RulesApiDeps {
  const statuses: RuleStatusView[] = [
    {
      id: schemaRule.id,
      file: "orders/parse-complete.json",
      status: "loaded",
      version: schemaRule.version,
      rule: schemaRule,
      errors: [],
      loadedAt: loadedAt(now),
    },
    {
      id: driftRule.id,
      file: "orders/total-drift.json",
      status: "loaded",
      version: driftRule.version,
      rule: driftRule,
      errors: [],
      loadedAt: loadedAt(now),
    },
    {
      id: "refund-limit",
      file: "refund-limit.json",
      status: "error",
      version: undefined,
      rule: undefined,
      errors: [
        {
          file: "refund-limit.json",
          pointer: "/check/assertions/0/less_than",
          message: '"500" is not a number',
        },
      ],
      loadedAt: undefined,
    },
  ];
  return {
    store,
    now: () => now,
    statuses: () => statuses,
    validate: () => ({ ok: false, errors: [] }),
    activity: () => new Map(),
    backtest: (request) => {
      const [first] = request.rules;
      const rule = first?.rule as { id?: unknown } | undefined;
      if (typeof rule?.id !== "string") {
        return {
          ok: false,
          errors: [{ file: first?.file ?? "rules[0]", pointer: "/id", message: "is required" }],
        };
      }
      const id = rule.id;
      return {
        ok: true,
        run: async (onProgress) => {
          onProgress(1, 2);
          onProgress(2, 2);
          const rules = [
            {
              ruleId: id,
              ruleVersion: "0123456789ab",
              evaluated: 40,
              failed: 3,
              findings: 3,
              firstAt: new Date(now - 86_400_000).toISOString(),
              lastAt: new Date(now).toISOString(),
              examples: [
                {
                  traceId: TRACE_ID,
                  spanId: LLM_SPAN,
                  code: "schema_violation",
                  field: "output.json/quantity",
                  message: "missing quantity",
                },
              ],
              // A judge rule's plan: nothing sent (the page never confirms).
              ...(id.startsWith("judge-") && {
                judge: {
                  matched: 4210,
                  sampled: 100,
                  cached: 12,
                  calls: 88,
                  promptTokens: 61_600,
                  replyTokens: 5_280,
                  costUsd: 0.012408,
                  judged: false,
                },
              }),
              alerts: [
                {
                  labels: { service: SERVICE, agent: AGENT, rule: id, severity: "critical" },
                  pendingAt: new Date(now - 3_600_000).toISOString(),
                  firingAt: new Date(now - 3_600_000).toISOString(),
                  resolvedAt: null,
                  firingMs: 3_600_000,
                },
              ],
            },
          ];
          // The report of POST /api/backtest; only the parts the UI reads.
          const report = { since: "", until: "", service: null, rules, summary: {} };
          return report as unknown as Awaited<
            ReturnType<Extract<ReturnType<RulesApiDeps["backtest"]>, { ok: true }>["run"]>
          >;
        },
      };
    },
  };
}

export function seedAlert(now: number): Alert {
  return {
    fingerprint: FINGERPRINT,
    ruleId: schemaRule.id,
    ruleVersion: schemaRule.version,
    description: "The order parser returns complete JSON.",
    severity: "critical",
    runbook: undefined,
    labels: { service: SERVICE, agent: AGENT, rule: schemaRule.id, severity: "critical" },
    state: "firing",
    counts: { failed: 1, evaluated: 10 },
    firstSeen: new Date(now - 600_000).toISOString(),
    lastSeen: new Date(now - 600_000).toISOString(),
    startsAt: new Date(now - 590_000).toISOString(),
    endsAt: undefined,
    examples: [
      {
        traceId: TRACE_ID,
        spanId: LLM_SPAN,
        field: "output.json/quantity",
        observed: "(absent)",
        message: 'output.json is missing the required property "quantity"',
        at: new Date(now - 600_000).toISOString(),
      },
    ],
    links: {},
  };
}

/** The alerts API of the seed: one firing alert, one failed delivery, silences in memory. */
export function fakeAlertsApi(now: number): AlertsApiDeps & { silenceList: Silence[] } {
  const alert = seedAlert(now);
  const silenceList: Silence[] = [];
  let serial = 0;
  return {
    silenceList,
    alerts: (state) => [alert].filter((a) => state === undefined || a.state === state),
    alert: async (fingerprint) =>
      fingerprint !== FINGERPRINT
        ? undefined
        : {
            alert,
            history: [
              {
                Time: String((now - 590_000) / 1000),
                FromState: "pending",
                ToState: "firing",
                Notification: "ntf-1",
                Failed: 1,
                Evaluated: 10,
              },
            ],
            deliveries: {
              notifications: [
                {
                  Id: "ntf-1",
                  Channel: "oncall",
                  Kind: "firing",
                  CreatedAt: "2026-01-01 10:00:00.000",
                  Status: "pending",
                  Attempts: 2,
                  NextAttemptAt: "2026-01-01 10:05:00.000",
                  LastError: "503 Service Unavailable",
                },
              ],
              attempts: [
                {
                  Time: "2026-01-01 10:01:00.000",
                  NotificationId: "ntf-1",
                  Channel: "oncall",
                  Attempt: 2,
                  Outcome: "retry",
                  StatusCode: 503,
                  Error: "503 Service Unavailable",
                  LatencyMs: 120,
                },
              ],
            },
            silencedBy: [],
          },
    channels: () => [{ name: "oncall", type: "webhook", disabled: undefined }],
    testChannel: async () => undefined,
    silences: () => silenceList,
    addSilence: async (silence) => {
      silenceList.push(silence);
    },
    deleteSilence: async (id) => {
      const i = silenceList.findIndex((s) => s.id === id);
      if (i < 0) return false;
      silenceList.splice(i, 1);
      return true;
    },
    newId: () => `silence-${++serial}`,
  };
}

/** A silence as POST /api/silences would make it. */
export function makeSilence(id: string, now: number): Silence {
  const body = silenceBodySchema.parse({
    matchers: [{ name: "service", value: SERVICE }],
    endsAt: new Date(now + 3_600_000).toISOString(),
    comment: "deploying the fix",
    createdBy: "ana",
  });
  const created = createSilence(body, id, now);
  if (!created.ok) throw new Error(created.errors.join("; "));
  return created.silence;
}
