import { loadTestRuleFile } from "../../test/helpers/rules.ts";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";

import { makeRow } from "../../test/helpers/make-row.ts";
import type { MatchSpec, Pattern, Rule } from "../rules/rule.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const docs = readFileSync(path.join(repoRoot, "docs", "rules.md"), "utf8");

/** Every ```json block of docs/rules.md that is a rule (it has a "check"), with its line. */
function ruleBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  const fence = /^```json[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const text = match[1] ?? "";
    if (!text.includes('"check"')) continue;
    const line = markdown.slice(0, match.index).split("\n").length;
    blocks.push({ line, text });
  }
  return blocks;
}

/** Finding codes that mean the rule itself did not run, rather than that an output failed it. */
const BROKEN_CODES = new Set(["rule_error", "expr_error", "expr_timeout"]);

const INVOICE = JSON.stringify({
  invoice_id: "INV-2026-0142",
  total: 129.5,
  currency: "EUR",
  items: [
    { description: "Tent, 2-person", amount: 99.5 },
    { description: "Shipping", amount: 30 },
  ],
});
const TOOL_ARGUMENTS = JSON.stringify({
  order_id: "4411",
  amount: 60,
  to: "jane@example.com",
  subject: "Your refund",
});

/** A name the pattern accepts: its first entry, each `*` dropped and each `?` read as "x". */
function nameFor(pattern: Pattern | undefined): string | undefined {
  const first = Array.isArray(pattern) ? pattern[0] : pattern;
  return first?.replaceAll("*", "").replaceAll("?", "x");
}

/**
 * Generic outputs of one trace, under the service, agent and model the rule's match names: an
 * agent run, a plain chat answer, a JSON answer (an invoice, JSON mode) and one tool call per
 * tool name the rule mentions (or the usual ones), in that order, one second apart.
 */
function sampleTrace(rule: Rule): AgentOutputRow[] {
  const specs: MatchSpec[] = [rule.match];
  if (rule.check.type === "trace" && rule.check.kind === "sequence") {
    specs.push(rule.check.before, rule.check.after);
  }
  const named = specs.map((spec) => nameFor(spec.tool)).filter((name) => name !== undefined);
  const tools = named.length > 0 ? [...new Set(named)] : ["lookup_order", "send_email"];
  const identity: Partial<AgentOutputRow> = {};
  const service = nameFor(rule.match.service);
  const agent = nameFor(rule.match.agent);
  const model = nameFor(rule.match.model);
  if (service !== undefined) identity.ServiceName = service;
  if (agent !== undefined) identity.AgentName = agent;
  if (model !== undefined) identity.Model = model;

  const samples: Partial<AgentOutputRow>[] = [
    {
      Kind: "agent",
      Operation: "invoke_agent",
      SpanName: "invoke_agent",
      OutputText: "Your order #4411 shipped yesterday; the refund of $60.00 is on its way.",
      DurationNs: String(10_000_000_000),
    },
    {},
    {
      OutputType: "json",
      OutputText: INVOICE,
      SpanAttributes: { "gen_ai.openai.request.response_format": "json_object" },
    },
    ...tools.map((tool) => ({
      Kind: "tool",
      Operation: "execute_tool",
      SpanName: `execute_tool ${tool}`,
      ToolName: tool,
      ToolArguments: TOOL_ARGUMENTS,
      ToolResult: '{"status":"ok"}',
      InputText: TOOL_ARGUMENTS,
      OutputText: '{"status":"ok"}',
      FinishReason: "",
      InputTokens: null,
      OutputTokens: null,
    })),
  ];
  return samples.map((sample, i) =>
    makeRow({
      ...sample,
      ...identity,
      SpanId: `00f067aa0ba902${String(i).padStart(2, "0")}`,
      ParentSpanId: i === 0 ? "" : "00f067aa0ba90200",
      Timestamp: `${1_767_225_600 + i}.000000000`,
    }),
  );
}

describe("docs/rules.md", () => {
  const blocks = ruleBlocks(docs);
  let dir: string;

  beforeAll(() => {
    // Each example is loaded as a rule file in a directory that, like rules/examples/, holds
    // invoice.schema.json, so that the $ref example resolves as documented.
    dir = mkdtempSync(path.join(tmpdir(), "plumbline-docs-rules-"));
    copyFileSync(
      path.join(repoRoot, "rules", "examples", "invoice.schema.json"),
      path.join(dir, "invoice.schema.json"),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("shows rules (with every check type)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const type of ['"json_schema"', '"assert"', '"trace"']) {
      expect(blocks.some((block) => block.text.includes(type))).toBe(true);
    }
  });

  /** Loads an example as a rule file of the temporary rules directory. */
  function load(line: number, text: string) {
    const file = path.join(dir, `line-${line}.json`);
    writeFileSync(file, text);
    return loadTestRuleFile(file, dir);
  }

  it.each(blocks.map((block) => [block.line, block.text]))(
    "the rule at line %i loads without errors",
    (line, text) => {
      const result = load(line, text);
      expect(result.ok ? [] : result.errors).toEqual([]);
    },
  );

  it.each(blocks.map((block) => [block.line, block.text]))(
    "the rule at line %i runs on outputs it matches",
    async (line, text) => {
      const result = load(line, text);
      if (!result.ok) throw new Error(`does not load: ${JSON.stringify(result.errors)}`);
      const rule = result.rule;
      const rows = sampleTrace(result.rule);
      const matching = rows.filter((row) => rule.matches(row));
      expect(matching.length, "no sample output matches the rule").toBeGreaterThan(0);
      const findings =
        rule.scope === "trace"
          ? rule.evaluateTrace(rows)
          : (await Promise.all(matching.map((row) => rule.evaluateOutput(row)))).flat();
      expect(findings.filter((finding) => BROKEN_CODES.has(finding.code))).toEqual([]);
    },
  );
});
