/**
 * A finding survives a crash: one tool span whose result is an error envelope is acknowledged,
 * the service is killed with SIGKILL 300 ms later (before the findings writer's next flush),
 * and after a restart on the same data directory the finding is there exactly once, and its
 * alert was notified exactly once.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, describe, expect, it } from "vitest";
import { makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { startChildService, type ChildService } from "./helpers/child-service.ts";
import { freePort, tempDir } from "./helpers/service.ts";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { until } from "./helpers/until.ts";

const RULE = "builtin.tool-error-in-disguise";
const children: ChildService[] = [];
let receiver: TestReceiver | undefined;
afterAll(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  await receiver?.close();
});

async function checksOf(url: string): Promise<{ RuleId: string; TraceId: string }[]> {
  const res = await fetch(`${url}/api/checks?rule=${RULE}&since=1h`);
  return ((await res.json()) as { checks: { RuleId: string; TraceId: string }[] }).checks;
}

describe("evaluation across a crash", () => {
  it("evaluates again at start what was committed but whose findings were not written", async () => {
    receiver = await startReceiver();
    const dir = tempDir("plumbline-crash-eval-");
    const configFile = join(dir, "plumbline.config.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        alerts: {
          channels: { hook: { type: "webhook", url: `${receiver.url}/hook` } },
          tickMs: 200,
        },
      }),
    );
    const env = {
      PLUMBLINE_DATA_DIR: join(dir, "data"),
      PLUMBLINE_CONFIG: configFile,
      PLUMBLINE_RULES_DIR: tempDir("plumbline-crash-eval-rules-"),
      // Findings are written in batches every 5 s: the kill lands before the first one.
      PLUMBLINE_RESULTS_FLUSH_MS: "5000",
    };
    const port = await freePort();
    const first = await startChildService(env, port);
    children.push(first);

    const exporter = new RecordingExporter(
      new OTLPTraceExporter({ url: `${first.url}/v1/traces` }),
    );
    const provider = makeProvider(exporter, "crash-eval-svc");
    const span = provider.getTracer("t").startSpan("execute_tool lookup_order", {
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.call.result": JSON.stringify({
          error: { code: 401, message: "token expired" },
        }),
      },
    });
    const traceId = span.spanContext().traceId;
    span.end();
    await provider.forceFlush();
    expect(exporter.acknowledged).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    const second = await startChildService(env, port);
    children.push(second);
    const checks = await until("the finding after restart", async () => {
      const found = await checksOf(second.url);
      return found.length > 0 ? found : undefined;
    });
    expect(checks.map((c) => c.TraceId)).toEqual([traceId]);
    // Let the alert manager and delivery settle, then: one finding, one firing notification.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await checksOf(second.url)).length).toBe(1);
    const firing = receiver.requests
      .map((r) => JSON.parse(r.body) as { id: string; kind: string; alert: { ruleId: string } })
      .filter((n) => n.kind === "firing" && n.alert.ruleId === RULE);
    expect(new Set(firing.map((n) => n.id)).size).toBe(1);

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    await provider.shutdown();
  }, 90_000);
});
