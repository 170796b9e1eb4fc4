import { compiled } from "../../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { compileMatch } from "../match.ts";
import type { MatchSpec, TraceCheck } from "../../rules/rule.ts";
import { evaluateTraceCheck } from "./trace.ts";
import { startNs } from "./span-time.ts";

const RULE = {
  id: "trace-rule",
  version: "abc123def456",
  severity: "critical" as const,
  check: { type: "trace", kind: "unique", key: ["tool.name"] } satisfies TraceCheck,
};
const TRACE = "5b8efff798038103d269b633813fc60c";

/** Start `seconds` after 2026-01-01T00:00:00Z, lasting `durationMs`. */
function span(
  spanId: string,
  seconds: number,
  durationMs: number,
  overrides: Partial<AgentOutputRow>,
): AgentOutputRow {
  const nanos = BigInt(1_767_225_600) * 1_000_000_000n + BigInt(Math.round(seconds * 1e9));
  const text = nanos.toString();
  return makeRow({
    TraceId: TRACE,
    SpanId: spanId,
    ParentSpanId: "a1",
    Timestamp: `${text.slice(0, -9)}.${text.slice(-9)}`,
    DurationNs: String(durationMs * 1_000_000),
    ...overrides,
  });
}

function tool(
  spanId: string,
  seconds: number,
  name: string,
  args: string,
  result: string,
  status = "Unset",
) {
  return span(spanId, seconds, 300, {
    Kind: "tool",
    Operation: "execute_tool",
    SpanName: `execute_tool ${name}`,
    ToolName: name,
    ToolArguments: args,
    ToolResult: result,
    OutputText: result,
    StatusCode: status,
    Model: "",
    InputTokens: null,
    OutputTokens: null,
  });
}

function agent(spanId: string, seconds: number, durationMs: number, status = "Ok", parent = "") {
  return span(spanId, seconds, durationMs, {
    Kind: "agent",
    Operation: "invoke_agent",
    SpanName: "invoke_agent support-triage",
    ParentSpanId: parent,
    StatusCode: status,
    OutputText: "I have refunded your order and sent you a confirmation.",
  });
}

function llm(spanId: string, seconds: number) {
  return span(spanId, seconds, 900, { Kind: "llm" });
}

function run(check: TraceCheck, rows: AgentOutputRow[], match: MatchSpec = {}) {
  const matches = compiled((issues) => compileMatch(match, issues));
  return evaluateTraceCheck(RULE, check, rows, (row) => matches(row));
}

describe("unique", () => {
  const check: TraceCheck = { type: "trace", kind: "unique", key: ["tool.name", "tool.arguments"] };

  it("flags the later of two identical side-effecting calls, arguments compared as JSON", () => {
    const rows = [
      agent("a1", 0, 6000),
      llm("l1", 0.1),
      tool("t1", 1.2, "send_email", '{"to":"ada@example.com","subject":"Refund"}', "queued"),
      llm("l2", 1.6),
      tool("t2", 2.4, "send_email", '{ "subject": "Refund", "to": "ada@example.com" }', "queued"),
      tool("t3", 3.0, "send_email", '{"to":"bob@example.com","subject":"Refund"}', "queued"),
    ];
    expect(run(check, rows, { tool: "send_*" })).toEqual([
      {
        ruleId: "trace-rule",
        ruleVersion: "abc123def456",
        severity: "critical",
        code: "duplicate",
        path: "tool.name, tool.arguments",
        message:
          'span t2 repeats span t1: same tool.name, tool.arguments (["send_email",{"subject":"Refund","to":"ada@example.com"}])',
        observed: '["send_email",{"subject":"Refund","to":"ada@example.com"}]',
        expected: "no two matching outputs with the same tool.name, tool.arguments",
        traceId: TRACE,
        spanId: "t2",
        scope: "trace",
        time: "1767225602.400000000",
        labels: {
          service: "support-agent",
          agent: "support-triage",
          operation: "execute_tool",
          model: "",
          tool: "send_email",
        },
      },
    ]);
  });

  it("passes distinct calls, and ignores outputs the rule does not match or without the key", () => {
    const rows = [
      agent("a1", 0, 6000),
      tool("t1", 1, "get_order", '{"id":1}', "{}"),
      tool("t2", 2, "get_order", '{"id":1}', "{}"),
      tool("t3", 3, "send_email", '{"to":"a"}', "queued"),
      llm("l1", 4),
      llm("l2", 5),
    ];
    expect(run(check, rows, { tool: "send_*" })).toEqual([]);
    expect(
      run({ type: "trace", kind: "unique", key: ["tool.name"] }, rows, { kind: "llm" }),
    ).toEqual([]);
  });
});

describe("error_propagation", () => {
  const check: TraceCheck = { type: "trace", kind: "error_propagation" };

  it("flags an agent run that ended OK after a tool call returned an error payload", () => {
    const rows = [
      agent("a1", 0, 6000),
      llm("l1", 0.1),
      tool("t1", 1.2, "refund_payment", '{"order":"4411"}', '{"error":{"code":"card_declined"}}'),
      llm("l2", 2),
    ];
    expect(run(check, rows, { kind: "agent" })).toEqual([
      expect.objectContaining({
        code: "error_swallowed",
        path: "status",
        spanId: "a1",
        observed: "Ok",
        message:
          'agent run support-triage (span a1) ended with status Ok after tool refund_payment (span t1) failed with error payload: "error" is set',
      }),
    ]);
  });

  it("does not flag a failure the agent recovered from by calling the tool again", () => {
    const failing = {
      ...tool("t1", 1, "create_refund", '{"order":"4411"}', ""),
      StatusCode: "Error",
      StatusMessage: "ReadTimeout",
    };
    const retried = tool("t2", 2.5, "create_refund", '{"order":"4411"}', '{"refund_id":"rf_1"}');
    expect(
      run(check, [agent("a1", 0, 6000, "Unset"), failing, retried], { kind: "agent" }),
    ).toEqual([]);
    // A different tool succeeding afterwards is no recovery.
    const other = tool("t3", 2.5, "send_email", '{"to":"a@b.example"}', '{"sent":true}');
    expect(
      run(check, [agent("a1", 0, 6000, "Unset"), failing, other], { kind: "agent" }),
    ).toHaveLength(1);
  });

  it("flags a tool call with Error status, and names how many failed", () => {
    const failing = {
      ...tool("t1", 1, "crm_lookup", '{"id":7}', ""),
      StatusCode: "Error",
      StatusMessage: "timeout",
    };
    const rows = [
      agent("a1", 0, 6000, "Unset"),
      failing,
      tool("t2", 2, "crm_lookup", '{"id":8}', "Forbidden"),
    ];
    const findings = run(check, rows, { kind: "agent" });
    expect(findings.map((f) => [f.spanId, f.message])).toEqual([
      [
        "a1",
        "agent run support-triage (span a1) ended with status Unset after tool crm_lookup (span t1) failed with status Error: timeout (and 1 more failed tool calls)",
      ],
    ]);
  });

  it("passes when the run reported the error, when tools succeeded, or when the run ended first", () => {
    const failedTool = tool("t1", 1, "refund_payment", "{}", '{"success":false}');
    expect(run(check, [agent("a1", 0, 6000, "Error"), failedTool])).toEqual([]);
    expect(
      run(check, [agent("a1", 0, 6000), tool("t1", 1, "refund_payment", "{}", '{"success":true}')]),
    ).toEqual([]);
    // An earlier run of the same conversation finished before the tool call started.
    expect(run(check, [agent("a0", 0, 500), failedTool])).toEqual([]);
  });

  it("flags a run that contains the failed tool call even when its clock says it ended first", () => {
    // As the OTel JS SDK records a short run: starts in whole milliseconds (Date.now()),
    // durations to the nanosecond (performance.now()). The run "ends" at .320485883, its own
    // tool call "starts" at .321.
    const at = (ms: number) => `1795712357.${String(ms * 1_000_000).padStart(9, "0")}`;
    const run0 = { ...agent("a1", 0, 0), Timestamp: at(320), DurationNs: "485883" };
    const failing = {
      ...tool("t1", 0, "lookup_order", '{"id":7}', '{"error":"401 Unauthorized"}'),
      Timestamp: at(321),
      DurationNs: "6542",
    };
    expect(run(check, [run0, failing], { kind: "agent" })).toMatchObject([
      { code: "error_swallowed", spanId: "a1" },
    ]);
    // A run that is not above the tool call still has to end after it started.
    expect(run(check, [{ ...run0, SpanId: "a0" }, failing], { kind: "agent" })).toEqual([]);
  });

  it("checks only the agent runs the rule matches", () => {
    const rows = [agent("a1", 0, 6000), tool("t1", 1, "refund_payment", "{}", '{"ok":false}')];
    expect(run(check, rows, { agent: "billing-*" })).toEqual([]);
  });
});

describe("count", () => {
  const rows = [
    agent("a1", 0, 9000),
    ...[1, 2, 3, 4].map((i) => ({ ...llm(`l${i}`, i), ParentSpanId: "a1" })),
  ];

  it("flags too many matching outputs on the root-most one", () => {
    expect(run({ type: "trace", kind: "count", max: 3 }, rows, { kind: "llm" })).toEqual([
      expect.objectContaining({
        code: "count_out_of_range",
        spanId: "l1",
        observed: "4",
        expected: "at most 3",
        message: "the trace has 4 matching outputs, expected at most 3",
      }),
    ]);
    expect(run({ type: "trace", kind: "count", max: 3 }, rows, {})).toMatchObject([
      { spanId: "a1", observed: "5" },
    ]);
  });

  it("flags too few, and passes within range", () => {
    expect(run({ type: "trace", kind: "count", min: 1 }, rows, { kind: "tool" })).toMatchObject([
      { spanId: "a1", observed: "0", expected: "at least 1" },
    ]);
    expect(run({ type: "trace", kind: "count", min: 1, max: 8 }, rows, { kind: "llm" })).toEqual(
      [],
    );
  });
});

describe("sequence", () => {
  const check: TraceCheck = {
    type: "trace",
    kind: "sequence",
    before: { tool: "verify_identity" },
    after: { tool: ["refund_*", "change_address"] },
  };

  it("passes when the before output started earlier", () => {
    const rows = [
      agent("a1", 0, 9000),
      tool("t1", 1, "verify_identity", '{"customer":"c-9"}', '{"verified":true}'),
      tool("t2", 2, "refund_payment", '{"order":"4411"}', '{"refund_id":"r-1"}'),
    ];
    expect(run(check, rows)).toEqual([]);
  });

  it("flags an after output with no earlier before output", () => {
    const rows = [
      agent("a1", 0, 9000),
      tool("t2", 2, "refund_payment", '{"order":"4411"}', '{"refund_id":"r-1"}'),
      tool("t3", 3, "verify_identity", '{"customer":"c-9"}', '{"verified":true}'),
      tool("t4", 4, "change_address", "{}", "{}"),
    ];
    expect(run(check, rows)).toEqual([
      expect.objectContaining({
        code: "sequence_violated",
        spanId: "t2",
        observed: "refund_payment",
        message:
          'refund_payment (span t2) matches `after`, but no output matching `before` started earlier ({"tool":"verify_identity"})',
      }),
    ]);
    expect(
      run(
        check,
        rows.filter((row) => row.SpanId !== "t3"),
      ),
    ).toMatchObject([
      {
        spanId: "t2",
        message: expect.stringContaining("the trace has no output matching `before`") as unknown,
      },
      { spanId: "t4" },
    ]);
  });

  it("does nothing when no output matches after", () => {
    expect(run(check, [agent("a1", 0, 100), llm("l1", 1)])).toEqual([]);
  });
});

describe("startNs", () => {
  it("reads both timestamp spellings exactly", () => {
    expect(startNs("1767225600.123456789")).toBe(1_767_225_600_123_456_789n);
    expect(startNs("2026-01-01 00:00:00.123456789")).toBe(1_767_225_600_123_456_789n);
    expect(startNs("2026-01-01 00:00:01")).toBe(1_767_225_601_000_000_000n);
  });
});
