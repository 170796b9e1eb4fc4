/**
 * Server mode with nothing listening at the ClickHouse URL: the service still starts, says why
 * it is not ready, and answers OTLP requests with 503 + Retry-After instead of crashing.
 */

import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  InMemorySpanExporter,
  BasicTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJson } from "./helpers/http.ts";
import { freePort, startTestService, type TestService } from "./helpers/service.ts";

let service: TestService;

beforeAll(async () => {
  const closedPort = await freePort();
  service = await startTestService({ clickhouse: { url: `http://127.0.0.1:${closedPort}` } });
});
afterAll(async () => {
  await service?.close();
});

function body(): Uint8Array {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  provider.getTracer("t").startSpan("x").end();
  return ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array;
}

describe("store unavailable", () => {
  it("/readyz says why", async () => {
    const res = await fetch(`${service.url}/readyz`);
    expect(res.status).toBe(503);
    const json = await readJson(res);
    expect(json.ready).toBe(false);
    expect(json.reason).toMatch(/store unreachable/);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  it("answers OTLP/HTTP with 503 and Retry-After", async () => {
    const res = await fetch(`${service.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: body(),
    });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("answers OTLP/gRPC with UNAVAILABLE, which the exporter reports as a failure", async () => {
    const exporter = new GrpcExporter({
      url: `http://127.0.0.1:${service.grpcPort}`,
      timeoutMillis: 1_500,
    });
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    provider.getTracer("t").startSpan("x").end();
    const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
      exporter.export(memory.getFinishedSpans(), resolve),
    );
    expect(result.code).not.toBe(0);
    expect(String(result.error?.message)).toMatch(/UNAVAILABLE|store unavailable/);
    await exporter.shutdown();
  });
});
