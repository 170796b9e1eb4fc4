/**
 * The OTLP/HTTP receiver through `app.request()`, without a socket or a store: status codes,
 * content types and bodies as the OTLP specification gives them.
 */

import { gzipSync } from "node:zlib";
import { ProtobufTraceSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  InMemorySpanExporter,
  BasicTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { queueFull, storeUnavailable } from "../errors.ts";
import type { DecodedSpan } from "../decode/span.ts";
import type { RejectedSpan } from "../decode/decode-result.ts";
import type { Ingest, IngestResult } from "./ingest.ts";
import { otlpHttpRoutes } from "./otlp-http.ts";

function someSpans(count = 2) {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "svc" }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("t");
  for (let i = 0; i < count; i++) tracer.startSpan(`span-${i}`).end();
  return memory.getFinishedSpans();
}

const protoBody = (count = 2) =>
  ProtobufTraceSerializer.serializeRequest(someSpans(count)) as Uint8Array;
const jsonBody = (count = 2) =>
  JsonTraceSerializer.serializeRequest(someSpans(count)) as Uint8Array;

function fakeIngest(result: (spans: DecodedSpan[], rejected: RejectedSpan[]) => IngestResult) {
  const calls: { spans: DecodedSpan[]; rejected: RejectedSpan[] }[] = [];
  const ingest: Ingest = async (spans, rejected) => {
    calls.push({ spans, rejected });
    return result(spans, rejected);
  };
  return { ingest, calls };
}

const accepted = (_: DecodedSpan[], rejected: RejectedSpan[]): IngestResult => ({
  ok: true,
  rejectedSpans: rejected.length,
  errorMessage: rejected.length ? `${rejected.length} span(s) rejected` : "",
});

function app(ingest: Ingest, extra: { maxBodyBytes?: number; ingestKeys?: string[] } = {}) {
  return otlpHttpRoutes({
    ingest,
    maxBodyBytes: extra.maxBodyBytes ?? 1 << 20,
    ingestKeys: extra.ingestKeys ?? [],
  });
}

const post = (
  body: ConstructorParameters<typeof Request>[1] extends infer I
    ? I extends { body?: infer B }
      ? B
      : never
    : never,
  headers: Record<string, string>,
) => new Request("http://x/v1/traces", { method: "POST", body, headers });

// google.rpc.Status, to read error bodies independently of the code under test.
const statusType = protobuf.Root.fromJSON({
  nested: {
    Status: { fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } } },
  },
}).lookupType("Status");

describe("POST /v1/traces", () => {
  it("accepts protobuf and answers an empty protobuf ExportTraceServiceResponse", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post(protoBody(3), { "content-type": "application/x-protobuf" }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    expect(new Uint8Array(await res.arrayBuffer())).toHaveLength(0);
    expect(calls[0]?.spans.map((s) => s.name)).toEqual(["span-0", "span-1", "span-2"]);
  });

  it("accepts JSON and answers JSON", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post(jsonBody(), { "content-type": "application/json; charset=utf-8" }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({});
    expect(calls[0]?.spans).toHaveLength(2);
  });

  it("decompresses gzip bodies", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post(gzipSync(protoBody(4)), {
        "content-type": "application/x-protobuf",
        "content-encoding": "gzip",
      }),
    );
    expect(res.status).toBe(200);
    expect(calls[0]?.spans).toHaveLength(4);
  });

  it("reports rejected spans as partialSuccess", async () => {
    const { ingest } = fakeIngest(() => ({
      ok: true,
      rejectedSpans: 2,
      errorMessage: "2 span(s) rejected: bad ids",
    }));
    const res = await app(ingest).request(post(jsonBody(), { "content-type": "application/json" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: { rejectedSpans: "2", errorMessage: "2 span(s) rejected: bad ids" },
    });
  });

  it("answers 415 for other content types", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest).request(post("hello", { "content-type": "text/plain" }));
    expect(res.status).toBe(415);
    expect(calls).toHaveLength(0);
  });

  it("answers 400 with a google.rpc.Status for garbage protobuf, in protobuf", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), {
        "content-type": "application/x-protobuf",
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    const status = statusType.decode(new Uint8Array(await res.arrayBuffer())) as unknown as {
      code: number;
      message: string;
    };
    expect(status.code).toBe(3);
    expect(status.message.length).toBeGreaterThan(0);
    expect(calls).toHaveLength(0);
  });

  it("answers 400 for JSON that is not OTLP, naming the problem", async () => {
    const { ingest } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post('{"resourceSpans": 7}', { "content-type": "application/json" }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: number; message: string };
    expect(body.code).toBe(3);
    expect(body.message).toMatch(/resourceSpans/);
  });

  it("answers 413 over the body limit, before decompression", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const res = await app(ingest, { maxBodyBytes: 2048 }).request(
      post(new Uint8Array(4096), { "content-type": "application/x-protobuf" }),
    );
    expect(res.status).toBe(413);
    expect(calls).toHaveLength(0);
  });

  it("answers 413 for a gzip bomb, without inflating it whole", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    expect(bomb.length).toBeLessThan(128 * 1024);
    const before = process.memoryUsage().rss;
    const res = await app(ingest, { maxBodyBytes: 1 << 20 }).request(
      post(bomb, { "content-type": "application/x-protobuf", "content-encoding": "gzip" }),
    );
    expect(res.status).toBe(413);
    expect((await res.json().catch(() => null)) ?? "protobuf body").toBeTruthy();
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
    expect(calls).toHaveLength(0);
  });

  it("answers 400 for a body that is not gzip although it says so", async () => {
    const { ingest } = fakeIngest(accepted);
    const res = await app(ingest).request(
      post(protoBody(), { "content-type": "application/x-protobuf", "content-encoding": "gzip" }),
    );
    expect(res.status).toBe(400);
  });

  it("requires a valid key when keys are configured, by Bearer or x-plumbline-key", async () => {
    const { ingest, calls } = fakeIngest(accepted);
    const secured = app(ingest, { ingestKeys: ["k-123", "k-456"] });
    const type = { "content-type": "application/json" };
    expect((await secured.request(post(jsonBody(), type))).status).toBe(401);
    expect(
      (await secured.request(post(jsonBody(), { ...type, authorization: "Bearer nope" }))).status,
    ).toBe(401);
    expect(
      (await secured.request(post(jsonBody(), { ...type, authorization: "Bearer k-456" }))).status,
    ).toBe(200);
    expect(
      (await secured.request(post(jsonBody(), { ...type, "x-plumbline-key": "k-123" }))).status,
    ).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it("answers 503 with Retry-After while the store fails, and 429 when the queue is full", async () => {
    const unavailable = fakeIngest(() => ({
      ok: false,
      error: storeUnavailable("connection refused", 4_000),
    }));
    const res = await app(unavailable.ingest).request(
      post(protoBody(), { "content-type": "application/x-protobuf" }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("4");
    const status = statusType.decode(new Uint8Array(await res.arrayBuffer())) as unknown as {
      code: number;
      message: string;
    };
    expect(status).toMatchObject({
      code: 14,
      message: expect.stringMatching(/connection refused/),
    });

    const full = fakeIngest(() => ({ ok: false, error: queueFull(2_000) }));
    const res2 = await app(full.ingest).request(
      post(jsonBody(), { "content-type": "application/json" }),
    );
    expect(res2.status).toBe(429);
    expect(res2.headers.get("retry-after")).toBe("2");
  });
});
