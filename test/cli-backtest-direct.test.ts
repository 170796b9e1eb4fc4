/**
 * `plumbline backtest` with no service listening reads the store itself: a service receives
 * a failing output and two silences (one deleted at once), stops, and the CLI replays the rules
 * over its store — with the config's channels, and with `--silences` the silences that held
 * then (a deleted one only until its deletion) — for one rule set and for two compared, the
 * store opened once.
 */

import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { startChildService, type ChildService } from "./helpers/child-service.ts";
import type { Json } from "./helpers/http.ts";
import { freePort, tempDir } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const BIN = fileURLToPath(new URL("../bin/plumbline.js", import.meta.url));

const rule = (id: string) => ({
  id,
  severity: "critical",
  match: { service: "direct-svc", kind: "agent" },
  check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 10] }] },
});

let env: Record<string, string>;
let rulesDir: string;
/** A port nothing listens on. */
let closedPort: number;
let child: ChildService | undefined;

beforeAll(async () => {
  closedPort = await freePort();
  const dir = tempDir("plumbline-backtest-direct-");
  rulesDir = tempDir("plumbline-backtest-direct-rules-");
  writeFileSync(join(rulesDir, "short.json"), JSON.stringify(rule("direct-short")));
  writeFileSync(join(rulesDir, "other.json"), JSON.stringify(rule("direct-other")));
  const configFile = join(dir, "plumbline.config.json");
  // A channel nobody answers: the live service only retries it; the backtest counts it.
  writeFileSync(
    configFile,
    JSON.stringify({
      alerts: {
        channels: { hook: { type: "webhook", url: `http://127.0.0.1:${closedPort}/hook` } },
      },
    }),
  );
  env = {
    PLUMBLINE_DATA_DIR: join(dir, "data"),
    PLUMBLINE_CONFIG: configFile,
    PLUMBLINE_RULES_DIR: rulesDir,
    PLUMBLINE_BUILTIN_RULES: "false",
    PLUMBLINE_RESULTS_FLUSH_MS: "50",
  };
  child = await startChildService(env, await freePort());
  const silence = (ruleId: string) =>
    fetch(`${child?.url}/api/silences`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        matchers: [{ name: "rule", value: ruleId }],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        comment: "known",
        createdBy: "test",
      }),
    });
  // The silences API answers 503 until alerting has started, a moment after the port opens.
  const first = await until("the silences API", async () => {
    const res = await silence("direct-short");
    return res.status === 503 ? undefined : res;
  });
  expect(first.status).toBe(201);
  // A silence deleted at once holds nothing after its deletion, whatever its endsAt said.
  const deleted = (await (await silence("direct-other")).json()) as { id: string };
  expect(
    (await fetch(`${child.url}/api/silences/${deleted.id}`, { method: "DELETE" })).status,
  ).toBe(204);

  const exporter = new RecordingExporter(new OTLPTraceExporter({ url: `${child.url}/v1/traces` }));
  const provider = makeProvider(exporter, "direct-svc");
  emitAgentRun(provider.getTracer("t"), { agent: "bot", userText: "hi", answer: "far too long" });
  await provider.shutdown();
  expect(exporter.failures).toEqual([]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { alerts } = (await (await fetch(`${child.url}/api/alerts`)).json()) as Json;
    if (alerts.length > 0) break;
    if (Date.now() > deadline) throw new Error("the live alert never came");
    await new Promise((r) => setTimeout(r, 100));
  }
  child.child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
}, 60_000);

afterAll(() => {
  if (child?.child.exitCode === null) child.child.kill("SIGKILL");
});

function backtest(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      // Nothing listens there: the store is read directly.
      [
        BIN,
        "backtest",
        "--rules",
        rulesDir,
        "--since",
        "1h",
        "--url",
        `http://127.0.0.1:${closedPort}`,
        ...args,
      ],
      { env: { PATH: process.env["PATH"] ?? "", ...env }, cwd: tempDir() },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("plumbline backtest over the store itself", () => {
  it("replays the alert with the config's channels, and the silence that held it", async () => {
    const plain = await backtest(["--json"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain("reading the store directly");
    const byId = (report: Json) => Object.fromEntries(report.rules.map((r: Json) => [r.ruleId, r]));
    const rules = byId(JSON.parse(plain.stdout) as Json);
    expect(rules["direct-short"]).toMatchObject({ severity: "critical", fired: 1 });
    for (const id of ["direct-short", "direct-other"]) {
      expect(rules[id].notifications, id).toEqual({
        firing: 1,
        repeat: 0,
        resolved: 0,
        channels: { hook: 1 },
        silenced: 0,
      });
    }

    const silenced = await backtest(["--json", "--silences"]);
    expect(silenced.code, silenced.stderr).toBe(0);
    const report = JSON.parse(silenced.stdout) as Json;
    expect(report.silences).toBe(true);
    expect(byId(report)["direct-short"].notifications).toMatchObject({
      channels: {},
      silenced: 1,
    });
    expect(byId(report)["direct-other"].notifications).toMatchObject({
      channels: { hook: 1 },
      silenced: 0,
    });
  });

  it("compares two rule sets over the store, opened once", async () => {
    const other = tempDir("plumbline-backtest-direct-other-");
    writeFileSync(join(other, "short.json"), JSON.stringify(rule("direct-short-2")));
    const { code, stdout, stderr } = await backtest(["--compare", other]);
    expect(code, stderr).toBe(0);
    expect(stderr.match(/reading the store directly/g)).toHaveLength(1);
    expect(stdout).toMatch(/^direct-short +1 fired, 1 notified, firing \S+ +—$/m);
    expect(stdout).toMatch(/^direct-short-2 +— +1 fired, 1 notified/m);
    expect(stdout).toMatch(/^total +2 fired, 2 notified, .* +1 fired, 1 notified/m);
  });
});
