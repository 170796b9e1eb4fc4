/**
 * Deliveries survive the process: the service is killed with SIGKILL while a notification is
 * still pending (its receiver answers 503), and after a restart it is delivered, with the id
 * it was first sent with.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, describe, expect, it } from "vitest";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";
import { emitAgentRun, makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { startChildService, type ChildService } from "./helpers/child-service.ts";
import { freePort, tempDir } from "./helpers/service.ts";
import { until as waitFor } from "./helpers/until.ts";

const children: ChildService[] = [];
let receiver: TestReceiver | undefined;
afterAll(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  await receiver?.close();
});

describe("alert delivery across a crash", () => {
  it("delivers after restart what was pending when the service was killed", async () => {
    let up = false;
    receiver = await startReceiver((_request, response) => {
      response.writeHead(up ? 200 : 503, up ? {} : { "retry-after": "1" }).end();
    });
    const dir = tempDir("plumbline-crash-alerts-");
    const rulesDir = tempDir("plumbline-crash-rules-");
    writeFileSync(
      join(rulesDir, "replies.json"),
      JSON.stringify({
        id: "replies-short",
        match: { service: "crash-svc", operation: "chat" },
        check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 10] }] },
      }),
    );
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
      PLUMBLINE_RULES_DIR: rulesDir,
      PLUMBLINE_BUILTIN_RULES: "false",
      PLUMBLINE_RESULTS_FLUSH_MS: "50",
    };
    const port = await freePort();
    const first = await startChildService(env, port);
    children.push(first);

    const exporter = new RecordingExporter(
      new OTLPTraceExporter({ url: `${first.url}/v1/traces` }),
    );
    const provider = makeProvider(exporter, "crash-svc");
    emitAgentRun(provider.getTracer("t"), {
      agent: "bot",
      userText: "hi",
      answer: "a reply that is too long",
    });
    await provider.shutdown();
    expect(exporter.failures).toEqual([]);

    // The notification is attempted and refused (503): it is pending in the outbox.
    const deadline = Date.now() + 15_000;
    while (receiver.requests.length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(receiver.requests.length).toBeGreaterThan(0);
    const id = (JSON.parse(receiver.requests[0]!.body) as { id: string }).id;
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    up = true;
    const before = receiver.requests.length;
    const second = await startChildService(env, port);
    children.push(second);
    const until = Date.now() + 15_000;
    while (receiver.requests.length === before && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    const after = receiver.requests
      .slice(before)
      .map((r) => JSON.parse(r.body) as { id: string; kind: string });
    expect(after[0]).toMatchObject({ id, kind: "firing" });
    // The alert's state came back too: still firing, not fired a second time.
    // Its alerts API answers once alerting has started (an error until then).
    const alerts = await waitFor("the restarted alerts API", async () => {
      const answer = (await (await fetch(`${second.url}/api/alerts?state=firing`)).json()) as {
        alerts?: { ruleId: string }[];
      };
      return answer.alerts;
    });
    expect(alerts.map((a) => a.ruleId)).toEqual(["replies-short"]);
    expect(after.filter((n) => n.kind === "firing")).toHaveLength(1);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 60_000);
});
