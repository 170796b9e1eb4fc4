import { describe, expect, it } from "vitest";
import type { CheckResultRow } from "../store/check-rows.ts";
import { fingerprint, groupLabelsOf, outputLabelsOfRow } from "./fingerprint.ts";

const ROW: CheckResultRow = {
  Timestamp: "1769860800.250000000",
  RuleId: "refund-json",
  RuleVersion: "0123456789ab",
  Severity: "critical",
  Scope: "output",
  ServiceName: "support",
  AgentName: "triage",
  Operation: "chat",
  Model: "gpt-4o-mini",
  ToolName: "",
  TraceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  SpanId: "00f067aa0ba902b7",
  Code: "assertion_failed",
  Field: "output.json.amount",
  Message: "amount 900 is above 500",
  Observed: "900",
  Expected: "at most 500",
};

describe("fingerprint", () => {
  it("is the first 16 hex digits of sha256 over [ruleId, sorted non-empty label pairs]", () => {
    // printf '%s' '["refund-json",[["agent","triage"],["service","support"]]]' | sha256sum
    expect(fingerprint("refund-json", { service: "support", agent: "triage" })).toBe(
      "e446662850b22854",
    );
    // printf '%s' '["refund-json",[]]' | sha256sum
    expect(fingerprint("refund-json", {})).toBe("280c749281174de1");
  });

  it("does not depend on label order; an empty value is no label", () => {
    expect(fingerprint("r", { a: "1", b: "2" })).toBe(fingerprint("r", { b: "2", a: "1" }));
    expect(fingerprint("r", { a: "1", b: "" })).toBe(fingerprint("r", { a: "1" }));
  });

  it("differs by rule and by any label value, without ambiguity of separators", () => {
    const base = fingerprint("r", { service: "a" });
    expect(fingerprint("r2", { service: "a" })).not.toBe(base);
    expect(fingerprint("r", { service: "b" })).not.toBe(base);
    expect(fingerprint("r", { service: "a", agent: "x" })).not.toBe(base);
    expect(fingerprint("r", { a: "x", b: "y" })).not.toBe(fingerprint("r", { a: 'x","b', b: "y" }));
  });
});

describe("groupLabelsOf", () => {
  const rule = { labels: { team: "payments", service: "from-rule" } };

  it("takes output labels from a stored finding, in groupBy order", () => {
    expect(groupLabelsOf({ groupBy: ["service", "agent"] }, rule, ROW)).toStrictEqual({
      service: "support",
      agent: "triage",
    });
    expect(groupLabelsOf({ groupBy: ["model", "operation", "tool"] }, rule, ROW)).toStrictEqual({
      model: "gpt-4o-mini",
      operation: "chat",
      tool: "",
    });
  });

  it("takes other names from the rule's labels; output labels win over them", () => {
    expect(groupLabelsOf({ groupBy: ["service", "team"] }, rule, ROW)).toStrictEqual({
      service: "support",
      team: "payments",
    });
    expect(groupLabelsOf({ groupBy: ["env"] }, rule, ROW)).toStrictEqual({ env: "" });
  });

  it("accepts output labels directly", () => {
    const output = outputLabelsOfRow(ROW);
    expect(output).toStrictEqual({
      service: "support",
      agent: "triage",
      operation: "chat",
      model: "gpt-4o-mini",
      tool: "",
    });
    expect(groupLabelsOf({ groupBy: ["agent"] }, rule, output)).toStrictEqual({ agent: "triage" });
  });

  it("no grouping: one alert per rule", () => {
    const labels = groupLabelsOf({ groupBy: [] }, rule, ROW);
    expect(labels).toStrictEqual({});
    expect(fingerprint("refund-json", labels)).toBe("280c749281174de1");
  });
});
