import { parseTestRule } from "../../../test/helpers/rules.ts";
// Every rule shown in docs/drift.md loads as it is written, and the keys the docs list are the
// keys the rule schema knows: the page cannot drift from the code.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const page = readFileSync(new URL("../../../docs/drift.md", import.meta.url), "utf8");
const schema = JSON.parse(
  readFileSync(new URL("../../../rules/rule.schema.json", import.meta.url), "utf8"),
) as { $defs: Record<string, { properties: Record<string, unknown> }> };

const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? ""));

/** The first column of the table that follows `heading`, as key names. */
function tableKeys(heading: string): string[] {
  const section = page.slice(page.indexOf(heading));
  const table = section.slice(
    section.indexOf("\n|"),
    section.indexOf("\n\n", section.indexOf("\n|") + 1),
  );
  return table
    .split("\n")
    .slice(3)
    .map((line) => /^\| `([a-zA-Z]+)`/.exec(line)?.[1])
    .filter((key): key is string => key !== undefined);
}

describe("docs/drift.md", () => {
  it("shows rules that load", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const block of blocks) {
      const loaded = parseTestRule(block, "docs/drift.md");
      expect(loaded.ok ? [] : loaded.errors, JSON.stringify(block)).toEqual([]);
      expect(["drift", "rate"]).toContain((block as { check: { type: string } }).check.type);
    }
  });

  it("lists every key of drift and rate checks", () => {
    const documented = (heading: string, def: string) =>
      expect(tableKeys(heading).sort()).toEqual(
        Object.keys(schema.$defs[def]?.properties ?? {})
          .filter((key) => key !== "type")
          .sort(),
      );
    documented("## Drift checks", "driftCheck");
    documented("## Rate checks", "rateCheck");
  });
});
