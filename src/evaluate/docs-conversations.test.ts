import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRow } from "../../test/helpers/make-row.ts";
import { loadTestRuleFile } from "../../test/helpers/rules.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const docs = readFileSync(path.join(repoRoot, "docs", "conversations.md"), "utf8");

/** Every ```json block of docs/conversations.md that is a rule, with its line. */
const blocks = [...docs.matchAll(/^```json[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)]
  .map((match) => ({
    line: docs.slice(0, match.index).split("\n").length,
    text: match[1] ?? "",
  }))
  .filter((block) => block.text.includes('"check"'));

/** Two turns of an onboarding conversation: an LLM call, then tool calls, in each. */
const rows = [1, 2].flatMap((turn) => {
  const trace = `${turn}`.padEnd(32, "e");
  const at = (s: number) => `${1_767_225_600 + turn * 600 + s}.000000000`;
  const common = { TraceId: trace, ServiceName: "onboarding-agent", ConversationId: "onb-1" };
  return [
    makeRow({ ...common, SpanId: `${turn}1`.padEnd(16, "0"), Timestamp: at(0) }),
    ...["verify_identity", "set_plan", "send_email", "search_help", "create_account"].map(
      (tool, i) =>
        makeRow({
          ...common,
          SpanId: `${turn}${i + 2}`.padEnd(16, "0"),
          Timestamp: at(i + 1),
          Kind: "tool",
          Operation: "execute_tool",
          ToolName: tool,
          ToolArguments: JSON.stringify({ customer_id: "C-1", to: "a@b.c", template: "welcome" }),
        }),
    ),
  ];
});

describe("docs/conversations.md", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "plumbline-docs-conversations-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("shows every conversation kind", () => {
    for (const kind of [
      "unique",
      "consistent",
      "context_reset",
      "repeated",
      "count",
      "sequence",
      "never_after",
    ]) {
      expect(
        blocks.some((block) => block.text.includes(`"kind": "${kind}"`)),
        kind,
      ).toBe(true);
    }
  });

  it.each(blocks.map((block) => [block.line, block.text]))(
    "the rule at line %i loads and runs on a conversation without a rule problem",
    (line, text) => {
      const file = path.join(dir, `line-${line}.json`);
      writeFileSync(file, text);
      const result = loadTestRuleFile(file, dir);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      const rule = result.rule;
      expect(rule.scope).toBe("conversation");
      expect(rows.some((row) => rule.matches(row))).toBe(true);
      const found = [
        ...rule.evaluateConversation("onb-1", rows, {
          kind: "turn",
          traceIds: new Set(rows.map((r) => r.TraceId)),
        }),
        ...rule.evaluateConversation("onb-1", rows, { kind: "final" }),
      ];
      expect(found.filter((f) => f.code === "rule_error")).toEqual([]);
    },
  );
});
