/**
 * `plumbline rules check [dir]` and `plumbline rules test <rule.json> <outputs.jsonl>`
 * (`plumbline backtest` is in backtest-command.ts).
 */

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { outputJsonText } from "../decode/normalise.ts";
import { compileRule } from "../evaluate/compile-rule.ts";
import { loadRuleFile } from "../rules/load-rule.ts";
import type { RuleFileError } from "../rules/rule.ts";
import { createRuleSet } from "../rules/rule-set.ts";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";

export type Out = { out(text: string): void; err(text: string): void };

export const stdio: Out = {
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
};

export const formatError = (e: RuleFileError) => `${e.file}: ${e.pointer || "/"}: ${e.message}`;

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
  if (
    loaded.rule.check.type === "rate" ||
    loaded.rule.check.type === "drift" ||
    loaded.rule.check.type === "absent"
  ) {
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
  } else if (rule.scope === "conversation") {
    // Every turn checked against the turns before it, then the conversation as a whole.
    const conversations = new Map<string, typeof examples>();
    for (const example of examples) {
      const id = example.row.ConversationId || example.row.TraceId;
      const list = conversations.get(id) ?? [];
      list.push(example);
      conversations.set(id, list);
    }
    for (const [id, list] of conversations) {
      const rows = list.map((e) => e.row);
      const traceIds = new Set(rows.map((row) => row.TraceId));
      const expected = list.find((e) => e.expect !== undefined)?.expect;
      report(
        `conversation ${id} (lines ${list.map((e) => e.line).join(", ")})`,
        [
          ...rule.evaluateConversation(id, rows, { kind: "turn", traceIds }),
          ...rule.evaluateConversation(id, rows, { kind: "final" }),
        ],
        expected,
      );
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
