/**
 * Test builder: a realistic `agent_outputs` row (an OpenAI chat call made by a support agent),
 * with overrides. When OutputText is overridden and OutputJson is not, OutputJson is derived
 * as the decoder would for plain (unfenced) JSON objects and arrays.
 */

import type { Rule } from "../../src/rules/rule.ts";
import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import type { OtelTracesRow } from "../../src/store/tables/otel-traces.ts";

export function makeRow(overrides: Partial<AgentOutputRow> = {}): AgentOutputRow {
  const outputText = overrides.OutputText ?? "Your order #4411 shipped yesterday.";
  const outputJson = overrides.OutputJson ?? jsonText(outputText);
  return {
    Timestamp: "1767225600.000000000",
    TraceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    SpanId: "00f067aa0ba902b7",
    ParentSpanId: "",
    ServiceName: "support-agent",
    ServiceVersion: "1.4.2",
    SpanName: "chat gpt-4o-mini",
    Convention: "genai",
    Kind: "llm",
    Operation: "chat",
    AgentName: "support-triage",
    AgentId: "",
    ConversationId: "conv-81",
    Provider: "openai",
    RequestModel: "gpt-4o-mini",
    ResponseModel: "gpt-4o-mini-2024-07-18",
    Model: "gpt-4o-mini-2024-07-18",
    InputText: "user: Where is my order #4411?",
    OutputType: "",
    FinishReason: "stop",
    ToolName: "",
    ToolCallId: "",
    ToolArguments: "",
    ToolResult: "",
    InputTokens: 412,
    OutputTokens: 38,
    DurationNs: "1250000000",
    StatusCode: "Unset",
    StatusMessage: "",
    ErrorType: "",
    SpanAttributes: {
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.request.temperature": "0.2",
    },
    ResourceAttributes: { "service.name": "support-agent", "deployment.environment": "prod" },
    ...overrides,
    OutputText: outputText,
    OutputJson: outputJson,
    OutputIsJson: overrides.OutputIsJson ?? outputJson !== "",
  };
}

function jsonText(text: string): string {
  const body = text.trim();
  if (!body.startsWith("{") && !body.startsWith("[")) return "";
  try {
    JSON.parse(body);
    return body;
  } catch {
    return "";
  }
}

/** A rule with test defaults around a check (and optional match). */
/** What a hand-made test rule has besides its id, match and check. */
export const TEST_RULE_DEFAULTS: Omit<Rule, "id" | "match" | "check"> = {
  description: "test rule",
  severity: "warning",
  enabled: true,
  labels: {},
  version: "0123456789ab",
  file: "test.json",
  alertSpec: {
    mode: "each",
    groupBy: ["service", "agent"],
    forMs: 0,
    resolveAfterMs: 15 * 60_000,
    repeatIntervalMs: 4 * 3_600_000,
  },
  window: undefined,
};

/**
 * The otel_traces rows of these outputs' spans, carrying their attribute maps: agent_outputs
 * stores only the keys Plumbline derives and reads the rest from the span (storedOutputRow), so
 * a test that writes output rows directly writes their spans too.
 */
export function spanRowsFor(outputs: readonly AgentOutputRow[]): OtelTracesRow[] {
  return outputs.map((o) => ({
    Timestamp: o.Timestamp,
    TraceId: o.TraceId,
    SpanId: o.SpanId,
    ParentSpanId: o.ParentSpanId,
    TraceState: "",
    SpanName: o.SpanName,
    SpanKind: "Client",
    ServiceName: o.ServiceName,
    ResourceAttributes: o.ResourceAttributes,
    ScopeName: "",
    ScopeVersion: "",
    SpanAttributes: o.SpanAttributes,
    Duration: o.DurationNs,
    StatusCode: o.StatusCode,
    StatusMessage: o.StatusMessage,
    "Events.Timestamp": [],
    "Events.Name": [],
    "Events.Attributes": [],
    "Links.TraceId": [],
    "Links.SpanId": [],
    "Links.TraceState": [],
    "Links.Attributes": [],
  }));
}
