/**
 * The engine evaluates committed outputs off the acknowledgement path, in the same process
 * that decodes and acknowledges exports: a long backlog must not hold the event loop.
 */

import { loadedRule, parseTestRule } from "../../test/helpers/rules.ts";
import { describe, expect, it } from "vitest";
import type { CheckEvaluation, Finding, RuleProblem } from "../rules/findings.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { CompiledRule } from "./compile-rule.ts";
import { createEngine, RETRY_PROBE_MS, UNHEALTHY_AFTER } from "./engine.ts";
import { toFinding } from "./finding.ts";

import { makeRow } from "../../test/helpers/make-row.ts";

const loaded = parseTestRule(
  {
    id: "no-refund-promises",
    check: {
      type: "assert",
      assertions: [
        { field: "output.text", not_matches: "^(?:[a-z]+ ){0,60}refund", ignore_case: true },
      ],
    },
  },
  "engine.test.json",
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const rule = loaded.rule;

it("evaluates a backlog in slices, letting timers and I/O run in between, and misses nothing", async () => {
  const results: Finding[] = [];
  const evaluations: CheckEvaluation[] = [];
  const engine = createEngine({
    rules: () => [rule],
    sink: {
      add: (r, e) => {
        results.push(...r);
        evaluations.push(...e);
      },
    },
  });
  const text = "the customer wrote a long message about the order ".repeat(8);
  const outputs = Array.from({ length: 20_000 }, (_, i) =>
    makeRow({ SpanId: `s${i}`, OutputText: i % 2 === 0 ? `${text} refund` : text }),
  );
  const started = performance.now();
  let lastTick = started;
  let longestGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - lastTick);
    lastTick = now;
    ticks++;
  }, 1);
  engine.onCommitted(outputs);
  await engine.idle();
  clearInterval(timer);
  const elapsed = performance.now() - started;
  expect(evaluations).toHaveLength(outputs.length);
  expect(new Set(evaluations.map((e) => e.outputKey)).size).toBe(outputs.length);
  expect(evaluations.filter((e) => e.failed)).toHaveLength(results.length);
  // The work takes long enough that one uninterrupted run would starve the timer.
  expect(elapsed).toBeGreaterThan(50);
  expect(ticks).toBeGreaterThan(5);
  expect(longestGap).toBeLessThan(Math.max(40, elapsed / 3));
});

describe("rule problems", () => {
  type Stamp = (code: string, message: string) => Finding;
  /**
   * An output rule that answers what `firstAttempt` and `retry` say (a stand-in for JSONata
   * under load: checks/assert.test.ts covers the budgets themselves), recording its attempts.
   */
  function flakyRule(
    id: string,
    firstAttempt: (stamp: Stamp) => Finding[],
    retry: (stamp: Stamp) => Finding[],
  ) {
    const attempts: string[] = [];
    const base = loadedRule({
      id,
      check: { type: "assert", expr: [{ expression: "output.text != ''" }] },
      alert: { mode: "each" },
    });
    const compiled: CompiledRule = {
      ...base,
      async evaluateOutput(row, attempt = "first") {
        attempts.push(attempt);
        return attempt === "first" ? firstAttempt(stamp) : retry(stamp);
      },
    };
    const stamp: Stamp = (code, message) =>
      toFinding(compiled, makeRow(), { code, path: "", message, observed: "", expected: "true" });
    return { rule: compiled, attempts };
  }

  function engineWith(rules: CompiledRule[], clock = { now: 1_767_225_600_000 }) {
    const findings: Finding[] = [];
    const evaluations: CheckEvaluation[] = [];
    const problems: RuleProblem[] = [];
    const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const engine = createEngine({
      rules: () => rules,
      sink: {
        add: (f, e) => {
          findings.push(...f);
          evaluations.push(...e);
        },
      },
      onRuleProblems: (p) => problems.push(...p),
      log: (level, message, fields) => logged.push({ level, message, fields }),
      now: () => clock.now,
    });
    return { engine, findings, evaluations, problems, logged, clock };
  }

  const rows = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) =>
      makeRow({ SpanId: (from + i).toString(16).padStart(16, "0") }),
    );

  it("retries a timeout after the slice and takes the retry's verdict; the timeout is no failure", async () => {
    const flaky = flakyRule(
      "sum-matches",
      (stamp) => [stamp("expr_timeout", "stopped after 50 ms")],
      () => [],
    );
    const { engine, findings, evaluations, problems, logged } = engineWith([flaky.rule]);
    engine.onCommitted(rows(1));
    await engine.idle();
    expect(flaky.attempts).toEqual(["first", "retry"]);
    expect(findings).toEqual([]);
    expect(problems).toEqual([]);
    expect(evaluations).toMatchObject([{ ruleId: "sum-matches", failed: false }]);
    expect(engine.activity().get("sum-matches")).toMatchObject({
      matched: 1,
      failed: 0,
      ruleErrors: 0,
      health: "ok",
    });
    expect(logged).toEqual([]);
  });

  it("reports a timeout that survives its retry as a rule problem: no finding, no evaluation, a warning", async () => {
    const flaky = flakyRule(
      "runaway",
      (stamp) => [stamp("expr_timeout", "stopped after 50 ms")],
      (stamp) => [stamp("expr_timeout", "stopped after 500 ms on its retry (50 ms at first)")],
    );
    const { engine, findings, evaluations, problems, logged } = engineWith([flaky.rule]);
    const result = await engine.evaluateOutputs(rows(1));
    expect(flaky.attempts).toEqual(["first", "retry"]);
    expect(result).toEqual({ findings: [], evaluations: [] });
    expect(findings).toEqual([]);
    expect(evaluations).toEqual([]);
    expect(problems).toMatchObject([
      { ruleId: "runaway", code: "expr_timeout", message: expect.stringContaining("retry") },
    ]);
    expect(engine.activity().get("runaway")).toMatchObject({
      matched: 1,
      failed: 0,
      ruleErrors: 1,
      lastError: { code: "expr_timeout", at: 1_767_225_600_000 },
      health: "ok",
    });
    expect(logged).toMatchObject([
      { level: "warn", fields: { rule: "runaway", code: "expr_timeout" } },
    ]);
  });

  it("keeps a real failure beside a rule problem, and never retries an error", async () => {
    const flaky = flakyRule(
      "half-broken",
      (stamp) => [stamp("assertion_failed", "too long"), stamp("expr_error", "D3030")],
      () => [],
    );
    const { engine, findings, evaluations, problems } = engineWith([flaky.rule]);
    engine.onCommitted(rows(1));
    await engine.idle();
    expect(flaky.attempts).toEqual(["first"]);
    expect(findings.map((f) => f.code)).toEqual(["assertion_failed"]);
    expect(evaluations).toMatchObject([{ failed: true }]);
    expect(problems.map((p) => p.code)).toEqual(["expr_error"]);
  });

  it("turns a throwing trace rule into a rule problem, not a failed trace", () => {
    const trace = loadedRule({
      id: "dup-tenant",
      check: { type: "trace", kind: "unique", key: ["attributes.tenant"] },
    });
    const { engine, problems } = engineWith([trace]);
    const broken = { ...makeRow(), SpanAttributes: null } as unknown as AgentOutputRow;
    expect(engine.evaluateTrace([broken])).toEqual({ findings: [], evaluations: [] });
    expect(problems).toMatchObject([{ ruleId: "dup-tenant", code: "rule_error" }]);
  });

  it("marks a rule that times out persistently unhealthy, stops retrying it, probes it a minute later, and takes it back", async () => {
    let recovered = false;
    const flaky = flakyRule(
      "slow-rule",
      (stamp) => [stamp("expr_timeout", "stopped after 50 ms")],
      (stamp) => (recovered ? [] : [stamp("expr_timeout", "stopped after 500 ms on its retry")]),
    );
    const { engine, evaluations, problems, logged, clock } = engineWith([flaky.rule]);
    engine.onCommitted(rows(8));
    await engine.idle();
    // Five retries (the evaluations left before unhealthy), the other three reported at once.
    expect(flaky.attempts.filter((a) => a === "retry")).toHaveLength(UNHEALTHY_AFTER);
    expect(problems).toHaveLength(8);
    expect(problems.filter((p) => p.message.includes("not retried"))).toHaveLength(3);
    expect(evaluations).toEqual([]);
    expect(engine.activity().get("slow-rule")).toMatchObject({
      ruleErrors: 8,
      health: "unhealthy",
    });
    expect(logged.filter((l) => l.level === "error")).toMatchObject([
      { message: expect.stringContaining("unhealthy"), fields: { rule: "slow-rule" } },
    ]);
    // One warning line for the burst, not eight.
    expect(logged.filter((l) => l.level === "warn")).toHaveLength(1);

    // Unhealthy: no retry within the minute.
    engine.onCommitted(rows(1, 100));
    await engine.idle();
    expect(flaky.attempts.filter((a) => a === "retry")).toHaveLength(UNHEALTHY_AFTER);
    expect(problems.at(-1)?.message).toContain("not retried: the rule is unhealthy");

    // A minute later one retry probes it; it answers, and the rule is healthy again.
    clock.now += RETRY_PROBE_MS;
    recovered = true;
    engine.onCommitted(rows(1, 200));
    await engine.idle();
    expect(flaky.attempts.filter((a) => a === "retry")).toHaveLength(UNHEALTHY_AFTER + 1);
    expect(evaluations).toMatchObject([{ ruleId: "slow-rule", failed: false }]);
    expect(engine.activity().get("slow-rule")?.health).toBe("ok");
    expect(logged.at(-1)).toMatchObject({ level: "info", message: "rule is healthy again" });
  });

  it("starts a new version of an unhealthy rule healthy", async () => {
    const flaky = flakyRule(
      "edited",
      (stamp) => [stamp("rule_error", "boom")],
      () => [],
    );
    let current: CompiledRule = flaky.rule;
    const { engine } = createEngineFor(() => [current]);
    await engine.evaluateOutputs(rows(UNHEALTHY_AFTER));
    expect(engine.activity().get("edited")?.health).toBe("unhealthy");
    current = { ...flaky.rule, version: "fedcba987654" };
    await engine.evaluateOutputs(rows(1, 50));
    expect(engine.activity().get("edited")).toMatchObject({
      health: "ok",
      ruleErrors: UNHEALTHY_AFTER + 1,
    });
  });

  function createEngineFor(rules: () => CompiledRule[]) {
    return { engine: createEngine({ rules, sink: { add: () => undefined } }) };
  }
});

it("reads the attribute maps of quiet traces when a trace rule reads evaluation results", () => {
  const traceRule = (field: string) => {
    const parsed = parseTestRule(
      {
        id: "trace-rule",
        match: { where: [{ field, exists: true }] },
        check: { type: "trace", kind: "count", max: 3 },
      },
      "engine.test.json",
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.rule;
  };
  const reads = (field: string) =>
    createEngine({
      rules: () => [traceRule(field)],
      sink: { add: () => undefined },
    }).traceRulesRead();
  // Evaluation results are stored in SpanAttributes, which lean reads leave out.
  expect(reads("evaluation.Relevance.score")).toEqual({ any: true, bulky: true });
  expect(reads("attributes.gen_ai.request.model")).toEqual({ any: true, bulky: true });
  expect(reads("model")).toEqual({ any: true, bulky: false });
});
