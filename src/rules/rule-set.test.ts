import { compileRule } from "../evaluate/compile-rule.ts";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRuleSet, type RuleSet, type RuleSetLog } from "./rule-set.ts";

function rule(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    check: { type: "assert", assertions: [{ field: "output.text", not_empty: true }] },
    ...extra,
  };
}

describe("createRuleSet", () => {
  let root: string;
  let builtinDir: string;
  let userDir: string;
  let sets: RuleSet[];

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "plumbline-rule-set-"));
    builtinDir = path.join(root, "builtin");
    userDir = path.join(root, "user");
    mkdirSync(builtinDir);
    mkdirSync(userDir);
    sets = [];
  });
  afterEach(() => {
    for (const set of sets) set.close();
    rmSync(root, { recursive: true, force: true });
  });

  const write = (file: string, content: unknown) =>
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));

  function open(options: { pollMs?: number; onChange?: () => void; log?: RuleSetLog } = {}) {
    const set = createRuleSet({
      compile: compileRule,
      dirs: [builtinDir, userDir],
      pollMs: 0,
      ...options,
    });
    sets.push(set);
    return set;
  }

  const ids = (set: RuleSet) => set.rules().map((r) => r.id);

  it("loads every rule file, recursively, at once", () => {
    write(path.join(builtinDir, "a.json"), rule("builtin.a"));
    mkdirSync(path.join(userDir, "team", "deep"), { recursive: true });
    write(path.join(userDir, "team", "deep", "b.json"), rule("b"));
    write(path.join(userDir, "team", "x.schema.json"), { type: "object" });
    write(path.join(userDir, ".b.json.swp"), "not a rule");
    const set = open();
    expect(ids(set)).toEqual(["builtin.a", "b"]);
    expect(set.errors()).toEqual([]);
    expect(set.all().map((s) => [s.file, s.status, s.active])).toEqual([
      ["a.json", "loaded", true],
      ["team/deep/b.json", "loaded", true],
    ]);
  });

  it("adds, breaks (keeping the last good version), fixes and removes a rule file", async () => {
    const onChange = vi.fn();
    const warnings: unknown[] = [];
    const set = open({
      onChange,
      log: (level, message, fields) => {
        if (level === "warn") warnings.push({ message, ...fields });
      },
    });
    expect(ids(set)).toEqual([]);
    const file = path.join(userDir, "reply.json");

    write(file, rule("reply", { severity: "critical" }));
    await set.reload();
    expect(ids(set)).toEqual(["reply"]);
    const first = set.rules()[0];
    expect(onChange).toHaveBeenCalledTimes(1);

    write(file, rule("reply", { severity: "urgent" }));
    await set.reload();
    expect(set.rules()).toEqual([first]);
    expect(set.errors()).toEqual([
      {
        file: "reply.json",
        pointer: "/severity",
        message: "must be one of info, warning, critical",
      },
    ]);
    const broken = set.all()[0];
    expect(broken).toMatchObject({
      id: "reply",
      status: "error",
      active: true,
      version: first?.version,
    });
    expect(broken?.failedAt).toBeDefined();
    expect(warnings).toEqual([
      expect.objectContaining({ message: "rule file has errors", file, pointer: "/severity" }),
    ]);
    expect(onChange).toHaveBeenCalledTimes(1);

    write(file, rule("reply", { severity: "info" }));
    await set.reload();
    expect(set.errors()).toEqual([]);
    expect(set.rules()[0]?.severity).toBe("info");
    expect(set.rules()[0]?.version).not.toBe(first?.version);
    expect(set.all()[0]?.status).toBe("loaded");
    expect(onChange).toHaveBeenCalledTimes(2);

    unlinkSync(file);
    await set.reload();
    expect(ids(set)).toEqual([]);
    expect(set.all()).toEqual([]);
    expect(onChange).toHaveBeenCalledTimes(3);
  });

  it("leaves other rules alone when one file breaks", async () => {
    write(path.join(userDir, "a.json"), rule("a"));
    write(path.join(userDir, "b.json"), rule("b"));
    const set = open();
    write(path.join(userDir, "b.json"), "{ broken");
    await set.reload();
    expect(ids(set)).toEqual(["a", "b"]);
    expect(set.all().map((s) => s.status)).toEqual(["loaded", "error"]);
  });

  it("reports a new broken file with its pointer and no rule", async () => {
    const set = open();
    write(
      path.join(userDir, "typo.json"),
      rule("typo", { match: { where: [{ field: "output.txt", not_empty: true }] } }),
    );
    await set.reload();
    expect(ids(set)).toEqual([]);
    expect(set.errors()).toEqual([
      expect.objectContaining({ file: "typo.json", pointer: "/match/where/0/field" }),
    ]);
    expect(set.all()[0]).toMatchObject({ id: "typo", status: "error", active: false });
  });

  it("lets a later directory override a rule by id", () => {
    write(path.join(builtinDir, "refusal.json"), rule("builtin.refusal"));
    write(path.join(userDir, "my-refusal.json"), rule("builtin.refusal", { severity: "info" }));
    const set = open();
    expect(set.rules()).toHaveLength(1);
    expect(set.rules()[0]).toMatchObject({
      id: "builtin.refusal",
      severity: "info",
      file: "my-refusal.json",
    });
    expect(set.all().map((s) => [s.path, s.status, s.active])).toEqual([
      [path.join(builtinDir, "refusal.json"), "overridden", false],
      [path.join(userDir, "my-refusal.json"), "loaded", true],
    ]);
    expect(set.all()[0]?.overriddenBy).toBe(path.join(userDir, "my-refusal.json"));
  });

  it("turns a rule off with enabled: false, also a built-in by id", () => {
    write(path.join(builtinDir, "refusal.json"), rule("builtin.refusal"));
    write(path.join(userDir, "no-refusal.json"), rule("builtin.refusal", { enabled: false }));
    write(path.join(userDir, "off.json"), rule("off", { enabled: false }));
    const set = open();
    expect(set.rules()).toEqual([]);
    expect(set.all().map((s) => [s.file, s.status])).toEqual([
      ["refusal.json", "overridden"],
      ["no-refusal.json", "disabled"],
      ["off.json", "disabled"],
    ]);
  });

  it("keeps the earlier rule when an override has never loaded", () => {
    write(path.join(builtinDir, "refusal.json"), rule("builtin.refusal"));
    write(path.join(userDir, "refusal.json"), '{"id": "builtin.refusal", "check": ');
    const set = open();
    expect(ids(set)).toEqual(["builtin.refusal"]);
    expect(set.all().map((s) => s.status)).toEqual(["loaded", "error"]);
  });

  it("reports two files with one id in one directory", () => {
    write(path.join(userDir, "a.json"), rule("same"));
    write(path.join(userDir, "b.json"), rule("same", { severity: "critical" }));
    const set = open();
    expect(set.rules()).toEqual([expect.objectContaining({ id: "same", file: "a.json" })]);
    expect(set.errors()).toEqual([
      {
        file: "b.json",
        pointer: "/id",
        message: 'rule id "same" is already used by a.json; ids must be unique',
      },
    ]);
  });

  it("counts a file reached through two directories once", () => {
    write(path.join(builtinDir, "a.json"), rule("builtin.a"));
    symlinkSync(builtinDir, path.join(userDir, "linked"));
    const set = createRuleSet({
      compile: compileRule,
      dirs: [builtinDir, userDir, root],
      pollMs: 0,
    });
    sets.push(set);
    expect(set.all().map((s) => s.path)).toEqual([path.join(builtinDir, "a.json")]);
    expect(set.errors()).toEqual([]);
  });

  it("reports a missing directory", () => {
    const missing = path.join(root, "nope");
    const set = createRuleSet({ compile: compileRule, dirs: [missing], pollMs: 0 });
    sets.push(set);
    expect(set.errors()).toEqual([
      { file: missing, pointer: "", message: "rules directory not found" },
    ]);
  });

  it("rejects a $ref escaping the rules directory", () => {
    write(path.join(root, "outside.schema.json"), { type: "object" });
    write(path.join(userDir, "escape.json"), {
      id: "escape",
      check: { type: "json_schema", field: "output.json", $ref: "../outside.schema.json" },
    });
    const set = open();
    expect(set.rules()).toEqual([]);
    expect(set.errors()).toEqual([
      {
        file: "escape.json",
        pointer: "/check/$ref",
        message: '$ref "../outside.schema.json" points outside the rules directory',
      },
    ]);
  });

  it("notices changes by polling, including a change of a $ref'd schema file", async () => {
    const onChange = vi.fn();
    write(path.join(userDir, "invoice.schema.json"), { type: "object" });
    write(path.join(userDir, "invoice.json"), {
      id: "invoice",
      check: { type: "json_schema", field: "output.json", $ref: "invoice.schema.json" },
    });
    const set = open({ pollMs: 10, onChange });
    const before = set.rules()[0]?.version;
    expect(before).toBeDefined();

    write(path.join(userDir, "invoice.schema.json"), { type: "object", required: ["total"] });
    await vi.waitFor(() => expect(set.rules()[0]?.version).not.toBe(before), { timeout: 2000 });
    expect(set.rules()[0]?.check).toMatchObject({ schema: { required: ["total"] } });

    write(path.join(userDir, "new.json"), rule("new"));
    await vi.waitFor(() => expect(ids(set)).toContain("new"), { timeout: 2000 });
    expect(onChange).toHaveBeenCalledTimes(2);
  });
});
