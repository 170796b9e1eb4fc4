/**
 * `plumbline rules check [dir]`, `plumbline rules test <rule.json> <outputs.jsonl>` and
 * `plumbline backtest --rules <dir> --since 7d [--until …] [--service x] [--url …]`.
 */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseTimeParam } from "../api/time-param.ts";
import type { Config } from "../config/index.ts";
import { outputJsonText } from "../decode/normalise.ts";
import type { RuleSummary } from "../evaluate/backtest.ts";
import { compileRule, type CompiledRule } from "../evaluate/compile-rule.ts";
import { loadRuleFile, ruleDefinition } from "../rules/load-rule.ts";
import type { Rule, RuleFileError } from "../rules/rule.ts";
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

/** Replays rules over stored outputs; through the running service when it owns the store. */
export async function backtestCommand(
  argv: string[],
  config: Config,
  io: Out = stdio,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rules: { type: "string" },
      since: { type: "string", default: "7d" },
      until: { type: "string" },
      service: { type: "string" },
      url: { type: "string" },
    },
  });
  if (values.rules === undefined) {
    io.err("backtest needs --rules <dir or file>");
    return 2;
  }
  const since = parseTimeParam(values.since);
  const until = values.until === undefined ? Date.now() : parseTimeParam(values.until);
  if (since === undefined || until === undefined) {
    io.err(`--since/--until: use ISO 8601, unix ms, or a duration ago like 24h, 7d`);
    return 2;
  }
  const set = createRuleSet({ dirs: [values.rules], pollMs: 0, compile: compileRule });
  set.close();
  if (set.errors().length > 0) {
    for (const error of set.errors()) io.err(formatError(error));
    return 1;
  }
  const rules = set.rules();
  const base =
    values.url ??
    `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${config.port}`;
  const summaries = await viaService(
    base,
    rules,
    since,
    until,
    values.service,
    config.apiKey,
    io,
  ).catch(async (error: unknown) => {
    if (!isConnectionRefused(error)) throw error;
    return direct(config, rules, since, until, values.service, io);
  });
  printSummaries(summaries, io);
  return 0;
}

async function viaService(
  base: string,
  rules: readonly Rule[],
  since: number,
  until: number,
  service: string | undefined,
  apiKey: string | undefined,
  io: Out,
): Promise<RuleSummary[]> {
  const res = await fetch(`${base}/api/backtest`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({
      rules: rules.map(ruleDefinition),
      since: String(since),
      until: String(until),
      service,
    }),
  });
  if (!res.ok || res.body === null)
    throw new Error(`the service answered ${res.status}: ${await res.text()}`);
  let result: RuleSummary[] | undefined;
  let buffered = "";
  const decoder = new TextDecoder();
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
      if (message.error) throw new Error(message.error.message);
      if (message.result) result = message.result;
    }
  }
  process.stderr.write(process.stderr.isTTY ? "\n" : "");
  void io;
  if (result === undefined) throw new Error("the service ended the backtest without a result");
  return result;
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
    tableNames(config.clickhouse.database, config.clickhouse.tracesTable),
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

/** The rule as its file said it (without what loading added), to send to the service. */
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
