import { describe, expect, it } from "vitest";
import { makeFinding } from "../../test/helpers/findings.ts";
import { fingerprint, groupLabelsOf } from "./fingerprint.ts";

const LABELS = makeFinding().labels;

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

  it("takes output labels from a finding, in groupBy order", () => {
    expect(groupLabelsOf({ groupBy: ["service", "agent"] }, rule, LABELS)).toStrictEqual({
      service: "support",
      agent: "triage",
    });
    expect(groupLabelsOf({ groupBy: ["model", "operation", "tool"] }, rule, LABELS)).toStrictEqual({
      model: "gpt-4o-mini",
      operation: "chat",
      tool: "",
    });
  });

  it("takes other names from the rule's labels; output labels win over them", () => {
    expect(groupLabelsOf({ groupBy: ["service", "team"] }, rule, LABELS)).toStrictEqual({
      service: "support",
      team: "payments",
    });
    expect(groupLabelsOf({ groupBy: ["env"] }, rule, LABELS)).toStrictEqual({ env: "" });
  });

  it("no grouping: one alert per rule", () => {
    const labels = groupLabelsOf({ groupBy: [] }, rule, LABELS);
    expect(labels).toStrictEqual({});
    expect(fingerprint("refund-json", labels)).toBe("280c749281174de1");
  });

  it("groups a conversation rule's findings by their conversation", () => {
    const spec = { groupBy: ["service", "conversation"] };
    expect(groupLabelsOf(spec, rule, LABELS, "onb-7")).toEqual({
      service: "support",
      conversation: "onb-7",
    });
    // Other findings have no conversation: one alert per service, as without the label.
    expect(groupLabelsOf(spec, rule, LABELS)).toEqual({ service: "support", conversation: "" });
  });
});
