/**
 * docs/judge.md stays true: every rule in it loads, every judge template it lists is shipped
 * and loads as a judge rule, and its configuration table names the keys the loader reads.
 */

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENV_KEYS } from "../src/config/index.ts";
import { loadedRule, loadedRuleFile } from "./helpers/rules.ts";

const doc = readFileSync(new URL("../docs/judge.md", import.meta.url), "utf8");
const examplesDir = new URL("../rules/examples/", import.meta.url).pathname;

describe("docs/judge.md", () => {
  it("holds rules that load", () => {
    const blocks = [...doc.matchAll(/```json\n([^]*?)```/g)].map((m) => JSON.parse(m[1] ?? ""));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) expect(loadedRule(block).id).toBe(block.id);
  });

  it("lists every judge template shipped, each a judge rule", () => {
    const shipped = readdirSync(examplesDir).filter((f) => f.startsWith("judge-"));
    const listed = [...doc.matchAll(/^\| `(judge-[\w-]+\.json)`/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(shipped.sort());
    for (const file of shipped) {
      const rule = loadedRuleFile(`${examplesDir}${file}`, examplesDir);
      expect(rule.scope).toBe("judge");
      expect(rule.description).toMatch(/costs money[^]*per 1,000 outputs/);
    }
  });

  it("names the environment keys the loader reads", () => {
    const documented = [...doc.matchAll(/`(PLUMBLINE_JUDGE_\w+)`/g)].map((m) => m[1]);
    const read = Object.keys(ENV_KEYS).filter((key) => key.startsWith("PLUMBLINE_JUDGE_"));
    expect(new Set(documented)).toEqual(new Set(read));
  });
});
