/** The `plumbline` command as a user runs it. */

import { execFile } from "node:child_process";
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
