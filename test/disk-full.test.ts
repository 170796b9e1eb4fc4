/**
 * A full disk, for real: the data directory on a small tmpfs (needs root to mount; elsewhere
 * the store-interface test in src/store/group-commit.test.ts covers the same behaviour). While
 * inserts fail for want of space, OTLP requests get 503 + Retry-After (gRPC UNAVAILABLE), and
 * /readyz says why; once space is freed, writing resumes by itself.
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJson } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";
import { until } from "./helpers/until.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "plumbline-smallfs-"));
const mounted = tryMount(mountPoint, "64m");
const filler = join(mountPoint, "filler");
let service: TestService | undefined;

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Writes zeros into `path` until the filesystem has no space left. */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
}

function body(serviceName: string, count: number): Uint8Array {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("t");
  for (let i = 0; i < count; i++)
    tracer.startSpan(`span ${i}`, { attributes: { payload: "x".repeat(2000) + i } }).end();
  return ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array;
}

const post = (bytes: Uint8Array) =>
  fetch(`${service?.url}/v1/traces`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/x-protobuf" },
  });

beforeAll(async () => {
  if (mounted) service = await startTestService({ dataDir: join(mountPoint, "data") });
});
afterAll(async () => {
  await service?.close();
  if (mounted) execFileSync("umount", ["-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!mounted)("a full disk (tmpfs as root)", () => {
  it("answers 503 + Retry-After while full, /readyz says why, and resumes once space is back", async () => {
    expect((await post(body("before", 1))).status).toBe(200);
    fillDisk(filler);
    const full = await post(body("while-full", 200));
    const text = await full.clone().text();
    expect(full.status, text).toBe(503);
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const ready = await fetch(`${service?.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await readJson(ready)).reason).toMatch(/not enough space|no space left/i);
    // Still full a few probes later: not ready, though the store answers pings all along.
    await new Promise((r) => setTimeout(r, 3_000));
    const still = await fetch(`${service?.url}/readyz`);
    expect(still.status).toBe(503);
    expect((await post(body("still-full", 1))).status).toBe(503);

    rmSync(filler);
    await until(
      "the store to be ready again",
      async () => ((await fetch(`${service?.url}/readyz`)).status === 200 ? true : undefined),
      15_000,
    );
    expect((await post(body("after", 200))).status).toBe(200);
    const rows = await service!.rows<{ ServiceName: string; n: string }>(
      "SELECT ServiceName, count() AS n FROM plumbline.otel_traces GROUP BY ServiceName ORDER BY ServiceName",
    );
    expect(rows).toEqual([
      { ServiceName: "after", n: "200" },
      { ServiceName: "before", n: "1" },
    ]);
  });
});
