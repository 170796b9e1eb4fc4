import { parseTestRule } from "../../../test/helpers/rules.ts";
// Every rule shown in docs/silence.md loads as it is written, the knobs the page lists are the
// keys the rule schema knows, and the defaults it states are the parsed defaults.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WINDOW_DEFAULTS } from "../../rules/window-spec.ts";

const page = readFileSync(new URL("../../../docs/silence.md", import.meta.url), "utf8");
const schema = JSON.parse(
  readFileSync(new URL("../../../rules/rule.schema.json", import.meta.url), "utf8"),
) as { $defs: Record<string, { properties: Record<string, unknown> }> };

const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (m) => JSON.parse(m[1] ?? "") as Record<string, unknown>,
);

/** Rows of the table after `heading`: first column (a `key`) → second column. */
function knobs(heading: string): Map<string, string> {
  const section = page.slice(page.indexOf(heading));
  const table = section.slice(
    section.indexOf("\n|"),
    section.indexOf("\n\n", section.indexOf("\n|") + 1),
  );
  const rows = new Map<string, string>();
  for (const line of table.split("\n").slice(3)) {
    const cells = line.split("|").map((cell) => cell.trim());
    const key = /^`([a-zA-Z]+)`$/.exec(cells[1] ?? "")?.[1];
    if (key !== undefined) rows.set(key, cells[2] ?? "");
  }
  return rows;
}

describe("docs/silence.md", () => {
  it("shows absence rules that load", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) {
      const loaded = parseTestRule(block, "docs/silence.md");
      expect(loaded.ok ? [] : loaded.errors, JSON.stringify(block)).toEqual([]);
      expect((block["check"] as { type: string }).type).toBe("absent");
    }
  });

  it("lists every key of the absent check, with the defaults the code applies", () => {
    const rows = knobs("## The knobs");
    expect([...rows.keys()].sort()).toEqual(
      Object.keys(schema.$defs["absentCheck"]?.properties ?? {})
        .filter((key) => key !== "type")
        .sort(),
    );
    const d = WINDOW_DEFAULTS.absent;
    expect(rows.get("groupBy")).toBe(`\`${JSON.stringify(d.groupBy)}\``);
    expect(rows.get("window")).toBe(`\`${d.windowMs / 60_000}m\``);
    expect(rows.get("every")).toBe(`\`${WINDOW_DEFAULTS.everyMs / 60_000}m\``);
    expect(rows.get("days")).toBe(`\`${d.days}\``);
    expect(rows.get("minExpected")).toBe(`\`${d.minExpected}\``);
    expect(rows.get("maxShare")).toBe(`\`${d.maxShare}\``);
  });

  it("links to the conversations page at the end", () => {
    expect(page.trimEnd().endsWith("[conversations.md](conversations.md).")).toBe(true);
  });
});
