/**
 * Durability of acknowledgements: the service is killed with SIGKILL while a client exports
 * with retries; after a restart every span the client saw acknowledged is stored. And SIGTERM
 * stops the service cleanly, with everything acknowledged written.
 */

import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { afterAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../src/store/client.ts";
import { makeProvider, RecordingExporter } from "./helpers/agent-traffic.ts";
import { startChildService, type ChildService } from "./helpers/child-service.ts";
import { freePort, tempDir } from "./helpers/service.ts";

const children: ChildService[] = [];
afterAll(() => {
  for (const c of children) c.child.kill("SIGKILL");
});

async function storedSpanIds(dataDir: string): Promise<Set<string>> {
  // The children have exited; this process opens the data directory itself (once: chDB binds
  // one directory per process).
  const client = createClickHouseClient({ dataDir, user: "default", password: "" });
  const result = await client.query({
    query: "SELECT SpanId FROM plumbline.otel_traces",
    format: "JSONEachRow",
  });
  const ids = new Set((await result.json<{ SpanId: string }>()).map((r) => r.SpanId));
  await client.close();
  return ids;
}

describe("crash and shutdown", () => {
  it("keeps every acknowledged span across SIGKILL and restart; SIGTERM exits 0", async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const env = { PLUMBLINE_DATA_DIR: dataDir };
    const first = await startChildService(env, port);
    children.push(first);

    const exporter = new RecordingExporter(
      new OTLPTraceExporter({ url: `${first.url}/v1/traces`, timeoutMillis: 20_000 }),
    );
    const provider = makeProvider(exporter, "crash-test");
    const tracer = provider.getTracer("t");
    let sent = 0;
    const emitting = (async () => {
      for (let i = 0; i < 120; i++) {
        for (let j = 0; j < 10; j++) {
          tracer
            .startSpan(`work-${i}-${j}`, {
              attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m" },
            })
            .end();
          sent++;
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    // Kill it mid-stream, once some exports have been acknowledged.
    while (exporter.acknowledged.length < 100) await new Promise((r) => setTimeout(r, 20));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const ackedBeforeKill = exporter.acknowledged.length;

    const second = await startChildService(env, port);
    children.push(second);
    await emitting;
    await provider.forceFlush();
    await provider.shutdown();

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);

    const stored = await storedSpanIds(dataDir);
    const acked = exporter.acknowledged.map((s) => s.spanContext().spanId);
    expect(ackedBeforeKill).toBeGreaterThanOrEqual(100);
    expect(acked.length).toBeGreaterThan(ackedBeforeKill);
    const missing = acked.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(sent).toBe(1200);
  }, 120_000);
});
