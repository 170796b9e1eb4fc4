/** The `plumbline` command as a user runs it. */

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/service.ts";

const BIN = fileURLToPath(new URL("../bin/plumbline.js", import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: tempDir() },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("plumbline config check", () => {
  it("prints the resolved config with secrets masked", async () => {
    const { code, stdout } = await run(["config", "check"], {
      PLUMBLINE_PORT: "9318",
      PLUMBLINE_API_KEY: "top-secret",
      PLUMBLINE_INGEST_KEYS: "k1,k2",
    });
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config).toMatchObject({
      port: 9318,
      apiKey: "***",
      ingestKeys: ["***", "***"],
      dataDir: "./data",
    });
    expect(stdout).not.toContain("top-secret");
  });

  it("stops with a message naming the key and the bad value", async () => {
    const { code, stderr } = await run(["config", "check"], { PLUMBLINE_GRPC_PORT: "seventeen" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/PLUMBLINE_GRPC_PORT="seventeen"/);
  });

  it("says how to use it when the command is unknown", async () => {
    const { code, stderr } = await run(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown command "frobnicate"/);
    expect(stderr).toMatch(/usage: plumbline/);
  });
});

describe("plumbline rules check", () => {
  it("accepts the shipped examples and built-ins", async () => {
    for (const dir of ["rules/examples", "rules/builtin"]) {
      const { code, stdout, stderr } = await run([
        "rules",
        "check",
        fileURLToPath(new URL(`../${dir}`, import.meta.url)),
      ]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toMatch(/rule file\(s\) in .*: ok/);
    }
  });

  it("prints each error as file: /pointer: message and exits non-zero", async () => {
    const dir = tempDir("plumbline-rules-check-");
    writeFileSync(
      join(dir, "broken.json"),
      JSON.stringify({
        id: "broken",
        severity: "urgent",
        match: {},
        check: { type: "assert", assertions: [{ field: "output.txt", not_empty: true }] },
      }),
    );
    const { code, stderr } = await run(["rules", "check", dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^broken\.json: \/severity: /m);
  });

  it("prints every problem of a file at once: schema, field, regex and alert block", async () => {
    const dir = tempDir("plumbline-rules-check-");
    writeFileSync(
      join(dir, "three.json"),
      JSON.stringify({
        id: "three",
        severity: "urgent",
        match: { where: [{ field: "output.txt", exists: true }] },
        check: { type: "assert", assertions: [{ field: "output.text", matches: "(unclosed" }] },
        alert: { mode: "each", groupBy: ["team"] },
      }),
    );
    const { code, stderr } = await run(["rules", "check", dir]);
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^three\.json: \/severity: /),
      expect.stringMatching(/^three\.json: \/match\/where\/0\/field: unknown field "output\.txt"/),
      expect.stringMatching(/^three\.json: \/alert\/groupBy\/0: .*"team" is not a label/),
      expect.stringMatching(
        /^three\.json: \/check\/assertions\/0\/matches: invalid regular expression/,
      ),
      expect.stringMatching(/^4 error\(s\) in /),
    ]);
  });
});

describe("plumbline rules test", () => {
  it("prints pass or fail per example and checks expectations", async () => {
    const dir = tempDir("plumbline-rules-test-");
    const rule = join(dir, "reply.json");
    writeFileSync(
      rule,
      JSON.stringify({
        id: "reply-short",
        match: { kind: "llm" },
        check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 20] }] },
      }),
    );
    const examples = join(dir, "examples.jsonl");
    writeFileSync(
      examples,
      [
        JSON.stringify({ OutputText: "Shipped today.", expect: "pass" }),
        JSON.stringify({ OutputText: "x".repeat(50), expect: "fail" }),
      ].join("\n"),
    );
    const ok = await run(["rules", "test", rule, examples]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/line 1: PASS/);
    expect(ok.stdout).toMatch(/line 2: FAIL/);
    writeFileSync(examples, JSON.stringify({ OutputText: "x".repeat(50), expect: "pass" }));
    const wrong = await run(["rules", "test", rule, examples]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/line 1: FAIL  \(expected pass\)/);
  });
});

describe("plumbline <command> --help", () => {
  const commands: [args: string[], usage: RegExp][] = [
    [[], /^usage: plumbline <command>/],
    [["help"], /^usage: plumbline help \[command\]$/m],
    [["help", "backtest"], /^usage: plumbline backtest --rules/],
    [["serve"], /^usage: plumbline serve$/m],
    [["config"], /^usage: plumbline config check$/m],
    [["config", "check"], /^usage: plumbline config check$/m],
    [["rules"], /^usage: plumbline rules check \[dir\][\s\S]*^usage: plumbline rules test /m],
    [["rules", "check"], /^usage: plumbline rules check \[dir\]$/m],
    [["rules", "test"], /^usage: plumbline rules test <rule\.json> <outputs\.jsonl>$/m],
    [["backtest"], /^usage: plumbline backtest --rules <dir\|file>[\s\S]*--since/m],
  ];
  for (const [args, usage] of commands) {
    for (const flag of ["--help", "-h"]) {
      it(`plumbline ${[...args, flag].join(" ")} prints the usage and exits 0`, async () => {
        const { code, stdout, stderr } = await run([...args, flag]);
        expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
        expect(stdout).toMatch(usage);
      });
    }
  }

  it("asks for help after other arguments too, without running the command", async () => {
    const { code, stdout } = await run(["backtest", "--rules", "nowhere", "--bogus", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: plumbline backtest/);
    const serve = await run(["serve", "-h"], { PLUMBLINE_PORT: "not-a-port" });
    expect(serve.code).toBe(0);
  });

  it("answers a wrong command line with the message and the usage on stderr, exit 2", async () => {
    for (const args of [
      ["backtest", "--bogus"],
      ["backtest", "--since", "1h"],
      ["rules", "test", "only-one.json"],
      ["rules", "check", "a", "b"],
      ["rules", "frobnicate"],
      ["help", "frobnicate"],
    ]) {
      const { code, stdout, stderr } = await run(args);
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(stderr).toMatch(/usage: plumbline/);
      expect(stderr).not.toMatch(/^\s+at /m);
    }
  });
});
