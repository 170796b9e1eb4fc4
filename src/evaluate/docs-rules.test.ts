import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuleFile } from "./load-rule.ts";

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

  it.each(blocks.map((block) => [block.line, block.text]))(
    "the rule at line %i loads without errors",
    (line, text) => {
      const file = path.join(dir, `line-${line}.json`);
      writeFileSync(file, text);
      const result = loadRuleFile(file, dir);
      expect(result.ok ? [] : result.errors).toEqual([]);
    },
  );
});
