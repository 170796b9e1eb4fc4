/**
 * `plumbline rules check [dir]`, `plumbline rules test <rule.json> <outputs.jsonl>` and
 * `plumbline backtest --rules <dir|file> --since 7d [--until …] [--service x] [--url …]`.
 */

import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseTimeParam } from "../api/time-param.ts";
import type { Config } from "../config/index.ts";
import { outputJsonText } from "../decode/normalise.ts";
import type { RuleSummary } from "../evaluate/backtest.ts";
import { compileRule, type CompiledRule } from "../evaluate/compile-rule.ts";
import type { BacktestRule } from "../api/rules-routes.ts";
import { loadRuleFile } from "../rules/load-rule.ts";
import type { RuleFileError } from "../rules/rule.ts";
import { createRuleSet } from "../rules/rule-set.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";

type Out = { out(text: string): void; err(text: string): void };

export const stdio: Out = {
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
};

const formatError = (e: RuleFileError) => `${e.file}: ${e.pointer || "/"}: ${e.message}`;

/** Validates every rule file under dir; prints each error as `file: /pointer: message`. */
export function rulesCheck(dir: string, io: Out = stdio): number {
  const set = createRuleSet({ dirs: [dir], pollMs: 0, compile: compileRule });
  set.close();
  const errors = set.errors();
  for (const error of errors) io.err(formatError(error));
  const files = set.all().length;
  if (errors.length > 0) {
    io.err(`${errors.length} error(s) in ${resolve(dir)}`);
    return 1;
  }
  io.out(`${files} rule file(s) in ${resolve(dir)}: ok`);
  return 0;
}

/**
 * Runs one rule against example outputs, one JSON object per line with agent_outputs columns
 * (`OutputText`, `ServiceName`, `ToolResult` …; missing ones are empty). A line may say
 * `"expect": "pass"` or `"fail"`; the command fails when an outcome differs from it.
 */
export async function rulesTest(
  ruleFile: string,
  examplesFile: string,
  io: Out = stdio,
): Promise<number> {
  const loaded = loadRuleFile(resolve(ruleFile), dirname(resolve(ruleFile)), compileRule);
  if (!loaded.ok) {
    for (const error of loaded.errors) io.err(formatError(error));
    return 1;
  }
  if (loaded.rule.check.type === "rate" || loaded.rule.check.type === "drift") {
    io.err(
      `${ruleFile}: a ${loaded.rule.check.type} rule compares time windows, not single outputs; replay it over stored history with: plumbline backtest --rules ${ruleFile} --since 7d`,
    );
    return 2;
  }
  const rule = loaded.rule;
  const lines = readFileSync(examplesFile, "utf8").split("\n");
  const examples: { line: number; row: AgentOutputRow; expect: string | undefined }[] = [];
  for (const [index, text] of lines.entries()) {
    if (text.trim() === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      io.err(`${examplesFile}:${index + 1}: not JSON: ${(error as Error).message}`);
      return 1;
    }
    const { expect, ...fields } = json as Record<string, unknown>;
    examples.push({
      line: index + 1,
      row: exampleRow(fields, index),
      expect: expect as string | undefined,
    });
  }

  let unexpected = 0;
  const report = (
    label: string,
    findings: { code: string; path: string; message: string }[],
    expected: string | undefined,
  ) => {
    const outcome = findings.length === 0 ? "pass" : "fail";
    const mark =
      expected !== undefined && expected !== outcome ? "  (expected " + expected + ")" : "";
    if (mark) unexpected++;
    io.out(`${label}: ${outcome.toUpperCase()}${mark}`);
    for (const f of findings) io.out(`    ${f.code} ${f.path || "(output)"}: ${f.message}`);
  };

  if (rule.scope === "output") {
    for (const example of examples) {
      if (!rule.matches(example.row)) {
        io.out(`line ${example.line}: SKIP (the rule's match does not select it)`);
        continue;
      }
      report(`line ${example.line}`, await rule.evaluateOutput(example.row), example.expect);
    }
  } else {
    const traces = new Map<string, typeof examples>();
    for (const example of examples) {
      const list = traces.get(example.row.TraceId) ?? [];
      list.push(example);
      traces.set(example.row.TraceId, list);
    }
    for (const [traceId, list] of traces) {
      const expected = list.find((e) => e.expect !== undefined)?.expect;
      report(
        `trace ${traceId} (lines ${list.map((e) => e.line).join(", ")})`,
        rule.evaluateTrace(list.map((e) => e.row)),
        expected,
      );
    }
  }
  return unexpected > 0 ? 1 : 0;
}

function exampleRow(fields: Record<string, unknown>, index: number): AgentOutputRow {
  const text = (key: string, fallback = "") =>
    typeof fields[key] === "string" ? (fields[key] as string) : fallback;
  const outputText = text("OutputText");
  const outputJson = text("OutputJson") || outputJsonText(outputText);
  const base: AgentOutputRow = {
    Timestamp: `${1_700_000_000 + index}.000000000`,
    TraceId: text("TraceId", index.toString(16).padStart(32, "0")),
    SpanId: text("SpanId", (index + 1).toString(16).padStart(16, "0")),
    ParentSpanId: "",
    ServiceName: "",
    ServiceVersion: "",
    SpanName: "",
    Convention: "genai",
    Kind: "llm",
    Operation: "chat",
    AgentName: "",
    AgentId: "",
    ConversationId: "",
    Provider: "",
    RequestModel: "",
    ResponseModel: "",
    Model: "",
    InputText: "",
    OutputText: outputText,
    OutputJson: outputJson,
    OutputIsJson: outputJson !== "",
    OutputType: "",
    FinishReason: "",
    ToolName: "",
    ToolCallId: "",
    ToolArguments: "",
    ToolResult: "",
    InputTokens: null,
    OutputTokens: null,
    DurationNs: "0",
    StatusCode: "Unset",
    StatusMessage: "",
    ErrorType: "",
    SpanAttributes: {},
    ResourceAttributes: {},
  };
  return {
    ...base,
    ...fields,
    OutputText: outputText,
    OutputJson: outputJson,
    OutputIsJson: outputJson !== "",
  } as AgentOutputRow;
}

export interface BacktestCommandOptions {
  /** A rules directory (its enabled rules), or one rule file (replayed even when disabled). */
  rules: string;
  since: string;
  until: string | undefined;
  service: string | undefined;
  url: string | undefined;
}

/** A rule loaded here, and what is sent to the service for it. */
interface LocalRule {
  rule: CompiledRule;
  sent: BacktestRule;
}

/** Replays rules over stored outputs; through the running service when it owns the store. */
export async function backtestCommand(
  options: BacktestCommandOptions,
  config: Config,
  io: Out = stdio,
): Promise<number> {
  const since = parseTimeParam(options.since);
  const until = options.until === undefined ? Date.now() : parseTimeParam(options.until);
  if (since === undefined || until === undefined) {
    io.err(`--since/--until: use ISO 8601, unix ms, or a duration ago like 24h, 7d`);
    return 2;
  }
  const loaded = loadLocalRules(options.rules);
  if (!loaded.ok) {
    for (const error of loaded.errors) io.err(formatError(error));
    io.err(`${loaded.errors.length} error(s) in ${resolve(options.rules)}`);
    return 1;
  }
  const base =
    options.url ??
    `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${config.port}`;
  const answer = await viaService(base, loaded.rules, since, until, options.service, config.apiKey);
  if (answer.kind === "failed") {
    for (const line of answer.lines) io.err(line);
    return 1;
  }
  const summaries =
    answer.kind === "done"
      ? answer.summaries
      : await direct(
          config,
          loaded.rules.map((r) => r.rule),
          since,
          until,
          options.service,
          io,
        );
  printSummaries(summaries, io);
  return 0;
}

/** The rules of a directory as the rule set loads them, or one rule file as the set would. */
function loadLocalRules(
  target: string,
): { ok: true; rules: LocalRule[] } | { ok: false; errors: RuleFileError[] } {
  const absolute = resolve(target);
  const loaded: { rule: CompiledRule; path: string }[] = [];
  if (isFile(absolute)) {
    const result = loadRuleFile(absolute, dirname(absolute), compileRule);
    if (!result.ok) return result;
    loaded.push({ rule: result.rule, path: absolute });
  } else {
    const set = createRuleSet({ dirs: [absolute], pollMs: 0, compile: compileRule });
    set.close();
    if (set.errors().length > 0) return { ok: false, errors: set.errors() };
    for (const status of set.all()) {
      if (status.active && status.rule !== undefined)
        loaded.push({ rule: status.rule, path: status.path });
    }
  }
  const rules: LocalRule[] = [];
  const errors: RuleFileError[] = [];
  for (const { rule, path } of loaded) {
    const sent = ruleToSend(rule, path);
    if (sent.ok) rules.push({ rule, sent: sent.value });
    else errors.push(sent.error);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

function isFile(absolute: string): boolean {
  try {
    return statSync(absolute).isFile();
  } catch {
    return false;
  }
}

/**
 * What the service loads for a rule: the JSON its file holds, under the file's name, so that
 * the service's loader reads exactly what the local one did. (Re-serialising the loaded rule
 * would not do: its defaults, such as an empty `assertions` beside an `expr`, are not always
 * valid rule JSON.) A `$ref` is resolved here, where the schema file is: the service gets the
 * schema this load read, inline, which gives the rule the same version.
 */
function ruleToSend(
  rule: CompiledRule,
  path: string,
): { ok: true; value: BacktestRule } | { ok: false; error: RuleFileError } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    // Changed or removed since it was loaded a moment ago.
    const message = `cannot read the file again: ${(error as Error).message}`;
    return { ok: false, error: { file: rule.file, pointer: "", message } };
  }
  const check = json["check"] as Record<string, unknown> | undefined;
  if (rule.check.type === "json_schema" && check?.["$ref"] !== undefined) {
    const { $ref: _resolvedHere, ...rest } = check;
    json["check"] = { ...rest, schema: rule.check.schema };
  }
  return { ok: true, value: { file: rule.file, rule: json } };
}

type ServiceAnswer =
  | { kind: "done"; summaries: RuleSummary[] }
  /** Lines for stderr: the service refused the rules or failed. */
  | { kind: "failed"; lines: string[] }
  /** Nothing listens at the address: the store is read directly. */
  | { kind: "no service" };

async function viaService(
  base: string,
  rules: readonly LocalRule[],
  since: number,
  until: number,
  service: string | undefined,
  apiKey: string | undefined,
): Promise<ServiceAnswer> {
  const failed = (...lines: string[]): ServiceAnswer => ({ kind: "failed", lines });
  let res: Response;
  try {
    res = await fetch(`${base}/api/backtest`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify({
        rules: rules.map((r) => r.sent),
        since: String(since),
        until: String(until),
        service,
      }),
    });
  } catch (error) {
    if (isConnectionRefused(error)) return { kind: "no service" };
    return failed(`cannot reach the service at ${base}: ${describeFetchError(error)}`);
  }
  if (res.status === 422) {
    const body = (await res.json().catch(() => ({}))) as { errors?: RuleFileError[] };
    const errors = body.errors ?? [];
    return failed(
      ...errors.map(formatError),
      `the service at ${base} refused the rules: ${errors.length} error(s)`,
    );
  }
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => "");
    return failed(`the service at ${base} answered ${res.status}: ${text.trim()}`);
  }
  let result: RuleSummary[] | undefined;
  let buffered = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline)) as {
          progress?: { done: number; total: number };
          result?: RuleSummary[];
          error?: { message: string };
        };
        buffered = buffered.slice(newline + 1);
        if (message.progress) progressBar(message.progress.done, message.progress.total);
        if (message.error) return failed(`the backtest failed: ${message.error.message}`);
        if (message.result) result = message.result;
      }
    }
  } catch (error) {
    return failed(`the backtest's answer from ${base} broke off: ${describeFetchError(error)}`);
  } finally {
    if (process.stderr.isTTY) process.stderr.write("\n");
  }
  if (result === undefined) return failed(`the service at ${base} ended without a result`);
  return { kind: "done", summaries: result };
}

/** fetch says "fetch failed"; the reason is its cause. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const reason = cause instanceof Error ? cause : error;
  return reason instanceof Error ? reason.message : String(reason);
}

async function direct(
  config: Config,
  rules: readonly CompiledRule[],
  since: number,
  until: number,
  service: string | undefined,
  io: Out,
): Promise<RuleSummary[]> {
  const { createClickHouseClient } = await import("../store/client.ts");
  const { tableNames } = await import("../store/migrations.ts");
  const { createStore } = await import("../store/store.ts");
  const { backtestSource } = await import("../evaluate/backtest-queries.ts");
  const { backtest } = await import("../evaluate/backtest.ts");
  const { evaluateWindowRules } = await import("../evaluate/windows/evaluate-window.ts");
  const client = createClickHouseClient({ dataDir: config.dataDir, ...config.clickhouse });
  const store = createStore(
    client,
    tableNames(config.clickhouse.database, config.clickhouse.tracesTable, {
      logsTable: config.clickhouse.logsTable,
      metricsTable: config.clickhouse.metricsTable,
    }),
  );
  io.err(`reading the store directly (${config.clickhouse.url ?? config.dataDir})`);
  try {
    return await backtest({
      rules,
      source: backtestSource(store, service),
      sinceMs: since,
      untilMs: until,
      evaluateWindows: (rule, spec, atsMs) => evaluateWindowRules(store, rule, spec, atsMs),
      onProgress: progressBar,
    });
  } finally {
    await store.close();
  }
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === "ECONNREFUSED";
}

function progressBar(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} windows`,
  );
}

function printSummaries(summaries: RuleSummary[], io: Out): void {
  for (const s of summaries) {
    const rate = s.evaluated > 0 ? ((s.failed / s.evaluated) * 100).toFixed(1) : "0.0";
    io.out(
      `${s.ruleId} (${s.ruleVersion}): ${s.failed} of ${s.evaluated} failed (${rate}%), ${s.findings} finding(s)`,
    );
    if (s.firstAt !== undefined) io.out(`  first ${s.firstAt}, last ${s.lastAt}`);
    for (const e of s.examples)
      io.out(`  e.g. trace ${e.traceId} span ${e.spanId}: ${e.code} ${e.field}: ${e.message}`);
    if (s.windows !== undefined) printWindows(s.windows, io);
  }
}

/** Window rules: how many evaluations drifted, were insufficient, and the drifted ones. */
function printWindows(windows: NonNullable<RuleSummary["windows"]>, io: Out): void {
  const count = (status: string) => windows.filter((w) => w.status === status).length;
  io.out(
    `  ${windows.length} evaluation(s): ${count("drift")} drift, ${count("ok")} ok, ${count("insufficient")} insufficient, ${count("error")} error`,
  );
  const shown = windows.filter((w) => w.status === "drift" || w.status === "error").slice(0, 10);
  for (const w of shown) io.out(`  ${w.at} ${w.status}: ${w.message}`);
}
