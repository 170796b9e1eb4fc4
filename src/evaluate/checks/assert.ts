/**
 * `assert` checks: every assertion is evaluated and every failure reported; then each `expr`
 * (JSONata, compiled once) must evaluate to exactly `true`.
 *
 * JSONata because it is a maintained, side-effect-free query language over JSON: an expression
 * can read the output but not the process, the file system or the network. What it can do is
 * loop or recurse forever, so every evaluation is time-boxed by JSONata's own guardrails (the
 * `timeout` and `stack` options, checked on entry to every evaluation step with per-evaluation
 * state: the same mechanism as the `__evaluate_entry` hook its test suite uses, but safe when
 * two evaluations of one compiled expression overlap), and its regex literals run on RE2. A
 * timeout or a runtime error is a problem of the rule (`expr_timeout`, `expr_error`: see
 * RuleProblem), never a verdict on the output; the engine retries a timeout once.
 */

import jsonata from "jsonata";
import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import type { RuleIssues } from "../../rules/rule-issues.ts";
import { compileCondition } from "../conditions.ts";
import { cacheFor, evaluationsOf, readJsonRoot, type RowCache } from "../fields.ts";
import type { FindingDraft } from "../finding.ts";
import type { AssertCheck } from "../../rules/rule.ts";
import { Re2RegExp } from "./re2-regexp.ts";

/**
 * Wall-clock budget of one expression evaluation on the first attempt, in the engine's slice:
 * what a runaway expression may hold the event loop (and so ingest) for, per output.
 *
 * Wall clock is all JSONata's guardrail can measure (it compares Date.now() on every step; the
 * evaluation is async, so CPU time of the process would also count chDB's threads, and Node 20
 * has no per-thread CPU clock). Wall time also counts what is not the expression: GC pauses,
 * the OS running another process, and other work's microtasks interleaved with the
 * evaluation's awaits. Measured on 2 cores with a 90 MB live heap under allocation pressure
 * (`--max-old-space-size=256`, as `npm start` runs): a trivial expression takes 0.02 ms at the
 * median, yet 15 of 5,439 evaluations took over 50 ms (max 168 ms), and with two busy
 * processes competing for the cores 18 of 2,153 did (max 239 ms). So a first timeout is not
 * a verdict: the engine retries it outside the slice with EXPR_RETRY_TIMEOUT_MS.
 */
export const EXPR_TIMEOUT_MS = 50;
/**
 * Budget of the retry of a timed-out expression: run alone in its own macrotask after the
 * engine's slice (so no other work's microtasks interleave), and twice the longest stall
 * measured above (239 ms), so that GC and load do not trip it. Only an expression stopped here
 * too is an `expr_timeout`. The engine bounds what retries cost (engine.ts, RETRY_*).
 */
export const EXPR_RETRY_TIMEOUT_MS = 500;
/** Nesting depth of one expression evaluation (runaway recursion). */
export const EXPR_MAX_DEPTH = 500;

/** The first evaluation of an output, or the engine's retry of one that timed out. */
export type EvaluationAttempt = "first" | "retry";

export type AsyncOutputCheck = (
  row: AgentOutputRow,
  cache?: RowCache,
  attempt?: EvaluationAttempt,
) => Promise<FindingDraft[]>;

interface CompiledExpr {
  source: string;
  message: string | undefined;
  expression: jsonata.Expression;
  /** The same expression with the retry's budget (JSONata fixes it when compiling). */
  retry(): jsonata.Expression;
}

/** JSONata's guardrail error codes: D1011 stack too deep, D1012 timeout. */
const TIMEOUT_CODES = new Set(["D1011", "D1012"]);

/** Compiles the check; a bad assertion or a JSONata syntax error is an issue. */
export function compileAssertCheck(check: AssertCheck, issues: RuleIssues): AsyncOutputCheck {
  const assertions = (check.assertions ?? []).flatMap(
    (condition, i) => compileCondition(condition, issues.at(`/assertions/${i}`)) ?? [],
  );
  const exprs = (check.expr ?? []).flatMap(
    (entry, i) =>
      compileExpr(entry.expression, entry.message, issues.at(`/expr/${i}/expression`)) ?? [],
  );
  if ((check.assertions ?? []).length === 0 && (check.expr ?? []).length === 0) {
    issues.add("", "an assert check needs at least one assertion or expr");
  }

  return async (row, cache = cacheFor(row), attempt = "first") => {
    const drafts: FindingDraft[] = [];
    for (const assertion of assertions) {
      const outcome = assertion.test(row, cache);
      if (outcome.ok) continue;
      drafts.push({
        code: "assertion_failed",
        path: outcome.path,
        message: outcome.message,
        observed: outcome.observed,
        expected: outcome.expected,
      });
    }
    if (exprs.length === 0) return drafts;
    const input = expressionInput(row, cache);
    // One at a time: each evaluation's time box is wall-clock.
    for (const expr of exprs) {
      const draft = await evaluateExpr(expr, input, attempt);
      if (draft !== null) drafts.push(draft);
    }
    return drafts;
  };
}

function compileExpr(
  source: string,
  message: string | undefined,
  issues: RuleIssues,
): CompiledExpr | undefined {
  if (typeof source !== "string" || source.trim() === "") {
    return void issues.add("", "an expression is a non-empty JSONata string");
  }
  const withBudget = (timeout: number) =>
    jsonata(source, {
      timeout,
      stack: EXPR_MAX_DEPTH,
      RegexEngine: Re2RegExp as unknown as RegExpConstructor,
    });
  let expression: jsonata.Expression;
  try {
    expression = withBudget(EXPR_TIMEOUT_MS);
  } catch (error) {
    return void issues.add("", `invalid JSONata expression: ${describeJsonataError(error)}`);
  }
  const before = issues.count();
  checkRegexes(expression.ast(), issues);
  if (issues.count() > before) return undefined;
  // Compiled on the first retry: most expressions never need one.
  let retry: jsonata.Expression | undefined;
  return {
    source,
    message,
    expression,
    retry: () => (retry ??= withBudget(EXPR_RETRY_TIMEOUT_MS)),
  };
}

/** Regex literals must be valid RE2 too: a lookahead fails here, at load, not at run time. */
function checkRegexes(ast: unknown, issues: RuleIssues): void {
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object" || seen.has(node)) return;
    seen.add(node);
    if (node instanceof RegExp) {
      try {
        new Re2RegExp(node);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        issues.add(
          "",
          `regular expression /${node.source}/ is not valid RE2 (no lookaround or backreferences): ${reason}`,
        );
      }
      return;
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
}

async function evaluateExpr(
  expr: CompiledExpr,
  input: object,
  attempt: EvaluationAttempt,
): Promise<FindingDraft | null> {
  let result: unknown;
  try {
    const expression = attempt === "retry" ? expr.retry() : expr.expression;
    result = await expression.evaluate(input);
  } catch (error) {
    const code = jsonataCode(error);
    const timedOut = (code !== undefined && TIMEOUT_CODES.has(code)) || error instanceof RangeError;
    const budget =
      attempt === "retry"
        ? `${EXPR_RETRY_TIMEOUT_MS} ms on its retry (${EXPR_TIMEOUT_MS} ms at first)`
        : `${EXPR_TIMEOUT_MS} ms`;
    return {
      code: timedOut ? "expr_timeout" : "expr_error",
      path: "",
      message: timedOut
        ? `expression ${expr.source} was stopped after ${budget} or ${EXPR_MAX_DEPTH} levels of nesting: ${describeJsonataError(error)}`
        : `expression ${expr.source} failed: ${describeJsonataError(error)}`,
      observed: "",
      expected: "true",
    };
  }
  if (result === true) return null;
  return {
    code: "expr_false",
    path: "",
    message: expr.message ?? `expression ${expr.source} is ${showResult(result)}, expected true`,
    observed: result,
    expected: "true",
  };
}

function showResult(result: unknown): string {
  if (result === undefined) return "undefined (nothing matched)";
  const text = JSON.stringify(result) ?? String(result);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

function jsonataCode(error: unknown): string | undefined {
  if (error !== null && typeof error === "object" && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

function describeJsonataError(error: unknown): string {
  if (error !== null && typeof error === "object") {
    const record = error as { code?: unknown; message?: unknown; position?: unknown };
    const message = typeof record.message === "string" ? record.message : String(error);
    const code = typeof record.code === "string" ? `${record.code}: ` : "";
    const at = typeof record.position === "number" ? ` (at character ${record.position})` : "";
    return `${code}${message}${at}`;
  }
  return String(error);
}

/**
 * The object expressions read (docs/rules.md "Expressions"), built once per row. JSON fields
 * are getters, parsed on first read through the row's cache; absent fields are undefined.
 * `tool.arguments` / `tool.result` are the parsed JSON when they are JSON, else the text.
 */
export function expressionInput(row: AgentOutputRow, cache: RowCache = cacheFor(row)): object {
  const cached = cache.extra.get("jsonata-input");
  if (cached !== undefined) return cached as object;
  const text = (value: string) => (value === "" ? undefined : value);
  const count = (value: unknown) => {
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    return typeof n === "number" && Number.isFinite(n) ? n : undefined;
  };
  const jsonOrText = (root: "tool.arguments" | "tool.result", raw: string) => {
    const json = readJsonRoot(row, root, cache);
    return json.ok ? json.value : text(raw);
  };
  const durationNs = count(row.DurationNs);
  const input = {
    output: {
      text: text(row.OutputText),
      get json(): unknown {
        const json = readJsonRoot(row, "output.json", cache);
        return json.ok ? json.value : undefined;
      },
      type: text(row.OutputType),
    },
    input: { text: text(row.InputText) },
    tool: {
      name: text(row.ToolName),
      get arguments(): unknown {
        return jsonOrText("tool.arguments", row.ToolArguments);
      },
      get result(): unknown {
        return jsonOrText("tool.result", row.ToolResult);
      },
    },
    finish_reason: text(row.FinishReason),
    usage: { input_tokens: count(row.InputTokens), output_tokens: count(row.OutputTokens) },
    duration_ms: durationNs === undefined ? undefined : durationNs / 1e6,
    status: text(row.StatusCode),
    error: { type: text(row.ErrorType) },
    model: text(row.Model),
    agent: text(row.AgentName),
    service: text(row.ServiceName),
    operation: text(row.Operation),
    kind: text(row.Kind),
    provider: text(row.Provider),
    attributes: row.SpanAttributes,
    resource: row.ResourceAttributes,
    get evaluation(): unknown {
      return evaluationsOf(row);
    },
  };
  cache.extra.set("jsonata-input", input);
  return input;
}
