import { compiled } from "../../test/helpers/rules.ts";
import { loadTestRuleFile } from "../../test/helpers/rules.ts";
import { compileRule } from "./compile-rule.ts";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAlertSpec } from "../rules/alert-spec.ts";
import { newAlertRecord, step } from "../alert/state-machine.ts";
import { compileCondition } from "./conditions.ts";

import { makeRow } from "../../test/helpers/make-row.ts";
import type { Rule } from "../rules/rule.ts";
import { createRuleSet, isRuleFileName } from "../rules/rule-set.ts";

const rulesRoot = fileURLToPath(new URL("../../rules/", import.meta.url));
const builtinDir = path.join(rulesRoot, "builtin");
const examplesDir = path.join(rulesRoot, "examples");

function ruleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter(isRuleFileName)
    .map((name) => path.join(dir, name));
}

function load(file: string, dir: string): Rule {
  const result = loadTestRuleFile(file, dir);
  if (!result.ok) throw new Error(`${file}: ${JSON.stringify(result.errors, null, 2)}`);
  return result.rule;
}

describe("rules/builtin", () => {
  const files = ruleFiles(builtinDir);

  it.each(files.map((file) => [path.basename(file), file]))("%s loads", (_name, file) => {
    const rule = load(file, builtinDir);
    expect(rule.id).toMatch(/^builtin\./);
    expect(rule.description.length).toBeGreaterThan(40);
    expect(rule.enabled).toBe(true);
  });

  it("holds every built-in detector with its severity", () => {
    const severities = Object.fromEntries(
      files.map((file) => load(file, builtinDir)).map((rule) => [rule.id, rule.severity]),
    );
    expect(severities).toEqual({
      "builtin.truncated-output": "warning",
      "builtin.empty-output": "warning",
      "builtin.invalid-json": "warning",
      "builtin.tool-error-in-disguise": "critical",
      "builtin.error-swallowed": "critical",
      "builtin.duplicate-side-effect": "critical",
      "builtin.refusal": "warning",
      "builtin.service-silent": "warning",
    });
  });

  it("recognises refusals, and not apologies that go on to answer", () => {
    const refusal = load(path.join(builtinDir, "refusal.json"), builtinDir);
    if (refusal.check.type !== "assert") throw new Error("builtin.refusal is an assert check");
    const first = refusal.check.assertions[0] ?? { field: "" };
    const condition = compiled((issues) => compileCondition(first, issues));
    const isRefusal = (text: string) => !condition.test(makeRow({ OutputText: text })).ok;

    for (const text of [
      "I'm sorry, but I can't help with that.",
      "I’m sorry, but I can’t assist with that request.",
      "I apologize, but I cannot provide that information.",
      "I cannot help with requests involving weapons.",
      "Sorry, I can't assist with that.",
      "I am unable to comply with this request.",
      "As an AI language model, I do not have opinions.",
      "I must respectfully decline.",
    ]) {
      expect(isRefusal(text), text).toBe(true);
    }
    for (const text of [
      "I'm sorry, but I can't find an order with that number. Could you check it?",
      "Your refund of $42.00 has been issued.",
      "I can help with that! Here are the steps.",
      "",
    ]) {
      expect(isRefusal(text), text).toBe(false);
    }
  });
});

describe("rules/examples", () => {
  const files = ruleFiles(examplesDir);

  it("holds at least six rules", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files.map((file) => [path.basename(file), file]))("%s loads", (_name, file) => {
    const rule = load(file, examplesDir);
    expect(rule.description).not.toBe("");
  });

  it("resolves the invoice schema by $ref", () => {
    const rule = load(path.join(examplesDir, "invoice-complete.json"), examplesDir);
    expect(rule.check).toMatchObject({
      type: "json_schema",
      schema: { required: ["invoice_id", "total", "currency", "items"] },
    });
  });

  it("covers every check type", () => {
    const kinds = new Set(
      files
        .map((file) => load(file, examplesDir).check)
        .map((check) => (check.type === "trace" ? `trace/${check.kind}` : check.type)),
    );
    expect([...kinds].sort()).toEqual([
      "assert",
      "drift",
      "json_schema",
      "judge",
      "rate",
      "trace/count",
      "trace/sequence",
    ]);
  });
});

describe("the shipped rule directories together", () => {
  it("load without errors or id clashes", () => {
    const set = createRuleSet({ compile: compileRule, dirs: [builtinDir, examplesDir], pollMs: 0 });
    try {
      expect(set.errors()).toEqual([]);
      expect(set.rules().length).toBe(ruleFiles(builtinDir).length + ruleFiles(examplesDir).length);
    } finally {
      set.close();
    }
  });
});

describe("builtin.truncated-output alerting", () => {
  // The odd answer stopped at a deliberately set max_tokens is normal; a tenth of an agent's
  // model calls cut off in an hour is not (detection bench, issue 7).
  const rule = load(path.join(builtinDir, "truncated-output.json"), builtinDir);
  const parsed = parseAlertSpec(rule.alert, rule.labels);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const spec = parsed.spec;
  const key = { fingerprint: "f", ruleId: rule.id, labels: {} };
  // The state after the same hour's counts seen twice, the alert's `for` apart.
  const after = (failed: number, evaluated: number) => {
    const input = { type: "rate" as const, failed, evaluated };
    const t0 = Date.UTC(2026, 0, 1);
    const first = step(newAlertRecord(key), input, t0, spec).record;
    return step(first, input, t0 + spec.forMs, spec).record.state;
  };

  it("stays quiet on the odd cut-off answer, fires when a tenth are cut off", () => {
    expect(spec.mode).toBe("rate");
    expect(after(1, 80)).toBe("inactive");
    expect(after(4, 80)).toBe("inactive");
    expect(after(8, 80)).toBe("firing");
    // Too few calls in the hour to judge.
    expect(after(10, 40)).toBe("inactive");
  });

  it("counts only outputs that report a finish reason", () => {
    const where = rule.match.where ?? [];
    const reported = where.map((clause) => {
      if (!("field" in clause)) throw new Error("expected plain conditions");
      return compiled((issues) => compileCondition(clause, issues));
    });
    const counted = (finishReason: string) =>
      reported.every((c) => c.test(makeRow({ FinishReason: finishReason })).ok);
    expect(counted("length")).toBe(true);
    expect(counted("stop")).toBe(true);
    expect(counted("")).toBe(false);
  });
});
