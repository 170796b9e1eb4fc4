/**
 * Bad input against the running service, over OTLP/HTTP and OTLP/gRPC: every request gets the
 * status the OTLP specification gives it and a body saying what was wrong; a body that cannot
 * be read stores nothing, a bad span is rejected on its own, and every good span in the same
 * request is stored, in otel_traces and, for GenAI spans, in agent_outputs.
 */

import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import type { Attributes, Tracer } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOO_DEEP_VALUE } from "../src/decode/decode-result.ts";
import { otlpRoot, otlpTypes } from "../src/decode/otlp-schema.ts";
import type { Json } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

const KEY = "good-key";
const MAX_BODY_BYTES = 1 << 20;
const WITH_KEY = { authorization: `Bearer ${KEY}` };
const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";
const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

let service: TestService;

beforeAll(async () => {
  service = await startTestService({
    ingestKeys: [KEY],
    ingest: { maxBodyBytes: MAX_BODY_BYTES },
  });
});
afterAll(async () => {
  await service?.close();
});

// ---- bodies ------------------------------------------------------------------------------

/** Spans of service `serviceName` as the OTel JS SDK records them. */
function recordSpans(serviceName: string, emit: (tracer: Tracer) => void): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  emit(provider.getTracer("support-agent", "1.0.0"));
  return memory.getFinishedSpans();
}

/** GenAI attributes of a chat call that answered `answer`, so it produces an output row. */
function chatAttributes(answer: string): Attributes {
  return {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.input.messages": JSON.stringify([
      { role: "user", parts: [{ type: "text", content: "Where is my refund?" }] },
    ]),
    "gen_ai.output.messages": outputMessages(answer),
  };
}

function outputMessages(answer: string): string {
  return JSON.stringify([
    { role: "assistant", parts: [{ type: "text", content: answer }], finish_reason: "stop" },
  ]);
}

/** Chat spans named `chat 0`, `chat 1`, … answering `answer 0`, `answer 1`, … */
function chatSpans(serviceName: string, count: number, extra: Attributes = {}): ReadableSpan[] {
  return recordSpans(serviceName, (tracer) => {
    for (let i = 0; i < count; i++) {
      tracer
        .startSpan(`chat ${i}`, { attributes: { ...chatAttributes(`answer ${i}`), ...extra } })
        .end();
    }
  });
}

const protobufBody = (spans: ReadableSpan[]) =>
  ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
const jsonBody = (spans: ReadableSpan[]) =>
  Buffer.from(JsonTraceSerializer.serializeRequest(spans) as Uint8Array).toString("utf8");

const requestType = otlpTypes.exportTraceServiceRequest;
const spanType = otlpRoot.lookupType("opentelemetry.proto.trace.v1.Span");
const scopeSpansType = otlpRoot.lookupType("opentelemetry.proto.trace.v1.ScopeSpans");
const resourceSpansType = otlpRoot.lookupType("opentelemetry.proto.trace.v1.ResourceSpans");
const anyValueType = otlpRoot.lookupType("opentelemetry.proto.common.v1.AnyValue");

/** A length-delimited protobuf field, written by hand (protobufjs refuses to nest past 100). */
function field(fieldNumber: number, bytes: Uint8Array | string): Uint8Array {
  const writer = protobuf.Writer.create().uint32((fieldNumber << 3) | 2);
  return (typeof bytes === "string" ? writer.string(bytes) : writer.bytes(bytes)).finish();
}

/** An AnyValue `levels` kvlists deep ({"k": {"k": … "leaf"}}), as protobuf bytes. */
function nestedKvlist(levels: number, leaf: string): Uint8Array {
  let value = anyValueType.encode({ stringValue: leaf }).finish();
  // AnyValue.kvlist_value (6) → KeyValueList.values (1) → KeyValue{key (1), value (2)}
  for (let i = 0; i < levels; i++) {
    value = field(6, field(1, Buffer.concat([field(1, "k"), field(2, value)])));
  }
  return value;
}

/** A one-span SDK body with an extra attribute `key` whose AnyValue bytes are given as is. */
function withRawAttribute(spans: ReadableSpan[], key: string, anyValue: Uint8Array): Uint8Array {
  const request = requestType.decode(protobufBody(spans)) as Json;
  const resourceSpans = request.resourceSpans[0];
  const scopeSpans = resourceSpans.scopeSpans[0];
  const [span] = scopeSpans.spans;
  scopeSpans.spans = [];
  resourceSpans.scopeSpans = [];
  // Span.attributes is field 9, ScopeSpans.spans 2, ResourceSpans.scope_spans 2,
  // ExportTraceServiceRequest.resource_spans 1; repeated fields may be appended.
  const spanBytes = Buffer.concat([
    spanType.encode(span).finish(),
    field(9, Buffer.concat([field(1, key), field(2, anyValue)])),
  ]);
  const scopeBytes = Buffer.concat([
    scopeSpansType.encode(scopeSpans).finish(),
    field(2, spanBytes),
  ]);
  const resourceBytes = Buffer.concat([
    resourceSpansType.encode(resourceSpans).finish(),
    field(2, scopeBytes),
  ]);
  return field(1, resourceBytes);
}

/** `body` with every occurrence of the ASCII `placeholder` overwritten by `bytes` (same length). */
function patchBytes(body: Uint8Array, placeholder: string, bytes: number[]): Buffer {
  expect(bytes).toHaveLength(placeholder.length);
  const out = Buffer.from(body);
  let at = out.indexOf(placeholder);
  expect(at).toBeGreaterThanOrEqual(0);
  while (at >= 0) {
    out.set(bytes, at);
    at = out.indexOf(placeholder, at + bytes.length);
  }
  return out;
}

// ---- requests and answers ----------------------------------------------------------------

function post(
  body: NonNullable<RequestInit["body"]>,
  contentType: string,
  headers: Record<string, string> = WITH_KEY,
): Promise<Response> {
  return fetch(`${service.url}/v1/traces`, {
    method: "POST",
    body,
    headers: { "content-type": contentType, ...headers },
  });
}

/** An OTLP/HTTP google.rpc.Status body, protobuf or JSON after the response's content type. */
async function rpcStatus(res: Response): Promise<{ code: number; message: string }> {
  const contentType = res.headers.get("content-type") ?? "";
  if (contentType.startsWith(JSON_TYPE)) return (await res.json()) as Json;
  expect(contentType).toBe(PROTOBUF);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return otlpTypes.rpcStatus.toObject(otlpTypes.rpcStatus.decode(bytes)) as Json;
}

/** An ExportTraceServiceResponse body: protobuf, int64 read as a number. */
function exportResponse(bytes: Uint8Array): Json {
  const type = otlpTypes.exportTraceServiceResponse;
  return type.toObject(type.decode(bytes), { longs: Number });
}

interface GrpcAnswer {
  error: grpc.ServiceError | null;
  response: Buffer | undefined;
}

/** One raw-bytes Export call, as any gRPC client would make it; gzip-compressed if asked. */
function grpcExport(body: Uint8Array, key?: string, gzip = false): Promise<GrpcAnswer> {
  const client = new grpc.Client(
    `127.0.0.1:${service.grpcPort}`,
    grpc.credentials.createInsecure(),
    gzip ? { "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip } : {},
  );
  const metadata = new grpc.Metadata();
  if (key !== undefined) metadata.set("authorization", `Bearer ${key}`);
  const identity = (bytes: Buffer) => bytes;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      identity,
      identity,
      Buffer.from(body),
      metadata,
      (error, response) => {
        client.close();
        resolve({ error, response });
      },
    );
  });
}

// ---- what the store holds ----------------------------------------------------------------

/** How many span and output rows the store holds for one service. */
async function stored(serviceName: string): Promise<{ spans: number; outputs: number }> {
  const [row] = await service.rows<{ spans: string; outputs: string }>(
    `SELECT
       (SELECT count() FROM plumbline.otel_traces WHERE ServiceName = {s:String}) AS spans,
       (SELECT count() FROM plumbline.agent_outputs WHERE ServiceName = {s:String}) AS outputs`,
    { s: serviceName },
  );
  return { spans: Number(row?.spans), outputs: Number(row?.outputs) };
}

/** Rows of every table, for bodies that carry no service name to look for. */
async function everything(): Promise<{ spans: number; outputs: number; received: number }> {
  const [row] = await service.rows<Record<string, string>>(
    `SELECT
       (SELECT count() FROM plumbline.otel_traces) AS spans,
       (SELECT count() FROM plumbline.agent_outputs) AS outputs,
       (SELECT sum(Received) FROM plumbline.ingest_stats) AS received`,
  );
  return {
    spans: Number(row?.["spans"]),
    outputs: Number(row?.["outputs"]),
    received: Number(row?.["received"]),
  };
}

async function outputTexts(serviceName: string): Promise<Record<string, string>> {
  const rows = await service.rows<{ SpanName: string; OutputText: string }>(
    `SELECT SpanName, OutputText FROM plumbline.agent_outputs WHERE ServiceName = {s:String}`,
    { s: serviceName },
  );
  return Object.fromEntries(rows.map((r) => [r.SpanName, r.OutputText]));
}

async function spanAttribute(serviceName: string, key: string): Promise<string[]> {
  const rows = await service.rows<{ value: string }>(
    `SELECT SpanAttributes[{k:String}] AS value FROM plumbline.otel_traces
     WHERE ServiceName = {s:String} ORDER BY SpanName`,
    { s: serviceName, k: key },
  );
  return rows.map((r) => r.value);
}

// ---- bodies that cannot be read: refused whole ------------------------------------------

describe("a body that cannot be read is refused whole and stores nothing", () => {
  it("garbage protobuf → 400 saying it is not an ExportTraceServiceRequest", async () => {
    const before = await everything();
    const res = await post(Buffer.from("GET / HTTP/1.1\r\nthis is not protobuf"), PROTOBUF);
    expect(res.status).toBe(400);
    expect(await rpcStatus(res)).toEqual({
      code: 3, // INVALID_ARGUMENT
      message:
        "not a valid OTLP ExportTraceServiceRequest protobuf (36 bytes): invalid wire type 7 at offset 1",
    });
    expect(await everything()).toEqual(before);
  });

  it("a valid protobuf body cut in half → 400, and none of its spans stored", async () => {
    const name = "bad-input-truncated";
    const body = protobufBody(chatSpans(name, 4));
    const res = await post(body.subarray(0, body.length >> 1), PROTOBUF);
    expect(res.status).toBe(400);
    expect((await rpcStatus(res)).message).toMatch(
      /^not a valid OTLP ExportTraceServiceRequest protobuf \(\d+ bytes\): index out of range/,
    );
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it.each([
    ["{not json", /^not valid JSON: /],
    ["[1, 2, 3]", /^not an OTLP ExportTraceServiceRequest: the body is an array, not an object$/],
    [
      '{"resourceSpans": "all of them"}',
      /^not an OTLP ExportTraceServiceRequest: resourceSpans must be an array, got the string "all of them"$/,
    ],
  ])("JSON that is not OTLP (%s) → 400 saying what and where", async (body, message) => {
    const before = await everything();
    const res = await post(body, JSON_TYPE);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe(JSON_TYPE);
    expect(await rpcStatus(res)).toEqual({ code: 3, message: expect.stringMatching(message) });
    expect(await everything()).toEqual(before);
  });

  it("OTLP JSON with one malformed span → 400 naming its path, and its good spans not half-written", async () => {
    const name = "bad-input-json-shape";
    const otlp = JSON.parse(jsonBody(chatSpans(name, 3))) as Json;
    otlp.resourceSpans[0].scopeSpans[0].spans[2].startTimeUnixNano = "yesterday";
    const res = await post(JSON.stringify(otlp), JSON_TYPE);
    expect(res.status).toBe(400);
    expect((await rpcStatus(res)).message).toBe(
      "not an OTLP ExportTraceServiceRequest: resourceSpans[0].scopeSpans[0].spans[2].startTimeUnixNano" +
        ' must be an integer (number or decimal string), got the string "yesterday"',
    );
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it("a content type that is not OTLP → 415 naming the accepted ones", async () => {
    const name = "bad-input-content-type";
    const res = await post(protobufBody(chatSpans(name, 1)), "text/plain");
    expect(res.status).toBe(415);
    expect(await rpcStatus(res)).toEqual({
      code: 3,
      message:
        'unsupported Content-Type "text/plain": use application/x-protobuf or application/json',
    });
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it("a content encoding other than gzip → 415", async () => {
    const name = "bad-input-content-encoding";
    const res = await post(protobufBody(chatSpans(name, 1)), PROTOBUF, {
      ...WITH_KEY,
      "content-encoding": "br",
    });
    expect(res.status).toBe(415);
    expect((await rpcStatus(res)).message).toBe(
      'unsupported Content-Encoding "br": use gzip or none',
    );
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it("a body that claims gzip but is not → 400", async () => {
    const name = "bad-input-not-gzip";
    const res = await post(protobufBody(chatSpans(name, 1)), PROTOBUF, {
      ...WITH_KEY,
      "content-encoding": "gzip",
    });
    expect(res.status).toBe(400);
    expect((await rpcStatus(res)).message).toMatch(/^invalid gzip body: /);
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it("a gzip bomb (64 MiB of zeros, 64 KiB gzipped) → 413 after decompression", async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_BODY_BYTES);
    const before = await everything();
    const res = await post(bomb, PROTOBUF, { ...WITH_KEY, "content-encoding": "gzip" });
    expect(res.status).toBe(413);
    expect(await rpcStatus(res)).toEqual({
      code: 3,
      message: `request body exceeds ${MAX_BODY_BYTES} bytes after decompression`,
    });
    expect(await everything()).toEqual(before);
  });

  it("a body over the limit → 413, whether its length is declared or streamed", async () => {
    const name = "bad-input-oversized";
    const body = protobufBody(chatSpans(name, 1, { padding: "x".repeat(MAX_BODY_BYTES) }));
    expect(body.length).toBeGreaterThan(MAX_BODY_BYTES);

    const declared = await post(body, PROTOBUF);
    expect(declared.status).toBe(413);
    expect((await rpcStatus(declared)).message).toBe(
      `request body exceeds ${MAX_BODY_BYTES} bytes`,
    );

    // Chunked, no Content-Length: the limit is counted while reading.
    const chunks = [body.subarray(0, 512 * 1024), body.subarray(512 * 1024)];
    const streamed = await fetch(`${service.url}/v1/traces`, {
      method: "POST",
      headers: { "content-type": PROTOBUF, ...WITH_KEY },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await rpcStatus(streamed)).message).toBe(
      `request body exceeds ${MAX_BODY_BYTES} bytes`,
    );
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it("a body nesting past the decoder's limit → 400, not a crash", async () => {
    const name = "bad-input-too-deep-body";
    // 600 levels of AnyValue{arrayValue{values[0]}}: 1,200 nested messages.
    let value = anyValueType.encode({ stringValue: "x" }).finish();
    for (let i = 0; i < 600; i++) value = field(5, field(1, value));
    const res = await post(withRawAttribute(chatSpans(name, 1), "deep", value), PROTOBUF);
    expect(res.status).toBe(400);
    expect(await rpcStatus(res)).toEqual({
      code: 3,
      message: "the request body nests too deeply to decode",
    });
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
    // …and the service still answers.
    expect((await post(protobufBody(chatSpans(name, 1)), PROTOBUF)).status).toBe(200);
    expect(await stored(name)).toEqual({ spans: 1, outputs: 1 });
  });
});

// ---- bad spans: rejected one by one, the rest kept ---------------------------------------

describe("spans with invalid ids are rejected one by one; the others are stored", () => {
  it("protobuf: 200 with partialSuccess counting them, and every valid span stored", async () => {
    const name = "bad-input-ids-protobuf";
    const request = requestType.decode(protobufBody(chatSpans(name, 5))) as Json;
    const spans = request.resourceSpans[0].scopeSpans[0].spans;
    spans[1].traceId = Buffer.alloc(15, 0xab); // 15 bytes
    spans[3].spanId = Buffer.alloc(8); // all zero
    const res = await post(requestType.encode(request).finish(), PROTOBUF);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(PROTOBUF);
    const answer = exportResponse(new Uint8Array(await res.arrayBuffer()));
    expect(answer.partialSuccess.rejectedSpans).toBe(2);
    expect(answer.partialSuccess.errorMessage).toBe(
      "2 span(s) rejected: resourceSpans[0].scopeSpans[0].spans[1]: traceId is 15 bytes, expected 16; " +
        "resourceSpans[0].scopeSpans[0].spans[3]: spanId is all zero",
    );
    expect(await spanAttribute(name, "gen_ai.operation.name")).toEqual(["chat", "chat", "chat"]);
    expect(await outputTexts(name)).toEqual({
      "chat 0": "answer 0",
      "chat 2": "answer 2",
      "chat 4": "answer 4",
    });
    const [counts] = await service.rows<{ received: string; rejected: string; outputs: string }>(
      `SELECT sum(Received) AS received, sum(Rejected) AS rejected, sum(Outputs) AS outputs
       FROM plumbline.ingest_stats WHERE ServiceName = {s:String}`,
      { s: name },
    );
    expect(counts).toEqual({ received: "5", rejected: "2", outputs: "3" });
  });

  it("JSON: 200 with partialSuccess in OTLP/JSON, and every valid span stored", async () => {
    const name = "bad-input-ids-json";
    const otlp = JSON.parse(jsonBody(chatSpans(name, 3))) as Json;
    otlp.resourceSpans[0].scopeSpans[0].spans[0].traceId = "not-a-trace-id";
    const res = await post(JSON.stringify(otlp), JSON_TYPE);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: {
        rejectedSpans: "1",
        errorMessage:
          "1 span(s) rejected: resourceSpans[0].scopeSpans[0].spans[0]: traceId is not a hex string",
      },
    });
    expect(await outputTexts(name)).toEqual({ "chat 1": "answer 1", "chat 2": "answer 2" });
    expect(await stored(name)).toEqual({ spans: 2, outputs: 2 });
  });
});

// ---- awkward values: stored, not lost ----------------------------------------------------

describe("awkward attribute values are stored, not lost", () => {
  /** 512 KiB of text that is not one repeated byte, with multi-byte characters. */
  const hugeAnswer = Array.from({ length: 20_000 }, (_, i) => `Zeile ${i}: Grüße 🚀 `)
    .join("")
    .slice(0, 512 * 1024);

  it.each([
    ["protobuf", PROTOBUF, protobufBody],
    ["json", JSON_TYPE, jsonBody],
  ] as const)(
    "a 512 KiB gen_ai.output.messages (%s) is stored in full, and its text as the output",
    async (encoding, contentType, encode) => {
      const name = `bad-input-huge-${encoding}`;
      const spans = recordSpans(name, (tracer) => {
        tracer.startSpan("chat huge", { attributes: chatAttributes(hugeAnswer) }).end();
      });
      const res = await post(encode(spans), contentType);
      expect(res.status).toBe(200);
      expect(await spanAttribute(name, "gen_ai.output.messages")).toEqual([
        outputMessages(hugeAnswer),
      ]);
      expect(await outputTexts(name)).toEqual({ "chat huge": hugeAnswer });
    },
  );

  /** {"k":{"k":…}} as the otel_traces text: 32 levels kept, the 33rd replaced by the marker. */
  const cappedKvlist = `${'{"k":'.repeat(32)}${JSON.stringify(TOO_DEEP_VALUE)}${"}".repeat(32)}`;

  it("a kvlist 40 levels deep (protobuf) is stored with the deep part replaced by the marker", async () => {
    const name = "bad-input-deep-kvlist-protobuf";
    const body = withRawAttribute(chatSpans(name, 1), "deep", nestedKvlist(40, "leaf"));
    const res = await post(body, PROTOBUF);
    // The status and the body read as a google.rpc.Status (an empty message on success).
    expect([res.status, await rpcStatus(res)]).toEqual([200, {}]);
    expect(await spanAttribute(name, "deep")).toEqual([cappedKvlist]);
    expect(await outputTexts(name)).toEqual({ "chat 0": "answer 0" });
  });

  it("a kvlist 40 levels deep (JSON) is stored with the deep part replaced by the marker", async () => {
    const name = "bad-input-deep-kvlist-json";
    let value: object = { stringValue: "leaf" };
    for (let i = 0; i < 40; i++) value = { kvlistValue: { values: [{ key: "k", value }] } };
    const otlp = JSON.parse(jsonBody(chatSpans(name, 1))) as Json;
    otlp.resourceSpans[0].scopeSpans[0].spans[0].attributes.push({ key: "deep", value });
    const res = await post(JSON.stringify(otlp), JSON_TYPE);
    expect(res.status).toBe(200);
    expect(await spanAttribute(name, "deep")).toEqual([cappedKvlist]);
    expect(await outputTexts(name)).toEqual({ "chat 0": "answer 0" });
  });

  it("invalid UTF-8 in string attributes (protobuf) → 200, stored with U+FFFD", async () => {
    const name = "bad-input-utf8";
    const spans = recordSpans(name, (tracer) => {
      tracer
        .startSpan("chat utf8", {
          attributes: {
            ...chatAttributes("Total: 12 @@@@ EUR"),
            "customer.note": "Grüße @@@@ end",
          },
        })
        .end();
    });
    // E2 82 is a euro sign cut short, FF is never valid: each becomes one U+FFFD.
    const body = patchBytes(protobufBody(spans), "@@@@", [0xe2, 0x82, 0x20, 0xff]);
    const res = await post(body, PROTOBUF);
    expect(res.status).toBe(200);
    expect(await spanAttribute(name, "customer.note")).toEqual(["Grüße \uFFFD \uFFFD end"]);
    expect(await outputTexts(name)).toEqual({ "chat utf8": "Total: 12 \uFFFD \uFFFD EUR" });
  });
});

// ---- ingest keys, and the same rules over gRPC -------------------------------------------

describe("ingest keys", () => {
  it.each([
    ["no key", PROTOBUF, {}, "bad-input-key-http-none-protobuf"],
    [
      "a wrong key",
      PROTOBUF,
      { authorization: "Bearer nope" },
      "bad-input-key-http-wrong-protobuf",
    ],
    ["no key", JSON_TYPE, {}, "bad-input-key-http-none-json"],
    ["a wrong key", JSON_TYPE, { "x-plumbline-key": "nope" }, "bad-input-key-http-wrong-json"],
  ])("HTTP with %s (%s) → 401, nothing stored", async (_, contentType, headers, name) => {
    const spans = chatSpans(name, 1);
    const body = contentType === PROTOBUF ? protobufBody(spans) : jsonBody(spans);
    const res = await post(body, contentType, headers);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe(contentType);
    expect(await rpcStatus(res)).toEqual({
      code: 16, // UNAUTHENTICATED
      message: "missing or invalid ingest key",
    });
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });

  it.each([
    ["no key", undefined],
    ["a wrong key", "not-the-key"],
  ])("gRPC with %s → UNAUTHENTICATED, nothing stored", async (_, key) => {
    const name = `bad-input-key-grpc-${key ?? "none"}`;
    const { error } = await grpcExport(protobufBody(chatSpans(name, 1)), key);
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(error?.details).toBe("missing or invalid ingest key");
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });
});

describe("OTLP/gRPC", () => {
  it("a garbage body with a good key → INVALID_ARGUMENT saying why", async () => {
    const before = await everything();
    const { error } = await grpcExport(Buffer.from("this is not protobuf at all"), KEY);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(
      /^not a valid OTLP ExportTraceServiceRequest protobuf \(27 bytes\)/,
    );
    expect(await everything()).toEqual(before);
  });

  it("a good body with a good key → OK with an empty response, spans and outputs stored", async () => {
    const name = "bad-input-grpc-good";
    const { error, response } = await grpcExport(protobufBody(chatSpans(name, 2)), KEY);
    expect(error).toBeNull();
    expect(response?.length).toBe(0); // full success: an empty ExportTraceServiceResponse
    expect(await outputTexts(name)).toEqual({ "chat 0": "answer 0", "chat 1": "answer 1" });
    expect(await stored(name)).toEqual({ spans: 2, outputs: 2 });
  });

  it("invalid ids → OK with partialSuccess, the valid spans stored", async () => {
    const name = "bad-input-grpc-ids";
    const request = requestType.decode(protobufBody(chatSpans(name, 3))) as Json;
    request.resourceSpans[0].scopeSpans[0].spans[0].traceId = Buffer.alloc(0);
    const { error, response } = await grpcExport(requestType.encode(request).finish(), KEY);
    expect(error).toBeNull();
    expect(exportResponse(response ?? Buffer.alloc(0)).partialSuccess).toEqual({
      rejectedSpans: 1,
      errorMessage:
        "1 span(s) rejected: resourceSpans[0].scopeSpans[0].spans[0]: traceId is 0 bytes, expected 16",
    });
    expect(await outputTexts(name)).toEqual({ "chat 1": "answer 1", "chat 2": "answer 2" });
  });

  it("a gzip bomb (64 MiB of zeros, compressed by the client) → RESOURCE_EXHAUSTED", async () => {
    const before = await everything();
    const { error } = await grpcExport(Buffer.alloc(64 << 20), KEY, true);
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error?.details).toBe(
      `Received message that decompresses to a size larger than ${MAX_BODY_BYTES}`,
    );
    expect(await everything()).toEqual(before);
  });

  it("a body over the limit → RESOURCE_EXHAUSTED, nothing stored", async () => {
    const name = "bad-input-grpc-oversized";
    const body = protobufBody(chatSpans(name, 1, { padding: "x".repeat(MAX_BODY_BYTES) }));
    const { error } = await grpcExport(body, KEY);
    expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(error?.details).toMatch(/^Received message larger than max \(\d+ vs 1048576\)$/);
    expect(await stored(name)).toEqual({ spans: 0, outputs: 0 });
  });
});
