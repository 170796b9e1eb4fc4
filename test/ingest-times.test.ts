/**
 * Times a client can send, against the running service (default 30-day retention): unknown (0)
 * times are stored with their documented substitute and marked, times the store cannot keep
 * or the retention would delete at once reject just their span through partialSuccess, and a
 * fuzz of every numeric field of a valid request (fixed seed) never loses a good span.
 */

import * as grpc from "@grpc/grpc-js";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otlpTypes } from "../src/decode/otlp-schema.ts";
import { UNKNOWN_TIMES_ATTRIBUTE } from "../src/decode/span-times.ts";
import type { Json } from "./helpers/http.ts";
import { startTestService, type TestService } from "./helpers/service.ts";

const PROTOBUF = "application/x-protobuf";
const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const requestType = otlpTypes.exportTraceServiceRequest;
const NS_PER_S = 1_000_000_000n;

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.close();
});

/** `count` chat spans of service `serviceName`, each with one event, as the SDK records them. */
function chatSpans(serviceName: string, count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("support-agent", "1.0.0");
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan(`chat ${i}`, {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "text", content: `answer ${i}` }],
            finish_reason: "stop",
          },
        ]),
        "retry.count": 1,
        temperature: 0.5,
      },
    });
    span.addEvent("thinking", { step: 1 });
    span.end();
  }
  return memory.getFinishedSpans();
}

/** The request of `spans` as a protobufjs object, its 64-bit fields as {low, high}. */
function requestOf(spans: ReadableSpan[]): Json {
  return requestType.decode(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array) as Json;
}

const u64 = (n: bigint) => ({
  low: Number(n & 0xffffffffn),
  high: Number((n >> 32n) & 0xffffffffn),
});

function post(body: Uint8Array): Promise<Response> {
  return fetch(`${service.url}/v1/traces`, {
    method: "POST",
    body,
    headers: { "content-type": PROTOBUF },
  });
}

async function partialSuccess(
  res: Response,
): Promise<{ rejectedSpans: number; errorMessage: string }> {
  const type = otlpTypes.exportTraceServiceResponse;
  const json = type.toObject(type.decode(new Uint8Array(await res.arrayBuffer())), {
    longs: Number,
    defaults: true,
  }) as Json;
  return {
    rejectedSpans: json.partialSuccess?.rejectedSpans ?? 0,
    errorMessage: json.partialSuccess?.errorMessage ?? "",
  };
}

interface StoredSpan {
  SpanName: string;
  start: string;
  duration: string;
  events: string[];
  unknown: string;
}

async function storedSpans(serviceName: string): Promise<StoredSpan[]> {
  return service.rows<StoredSpan>(
    `SELECT SpanName, toString(toUnixTimestamp64Nano(Timestamp)) AS start, toString(Duration) AS duration,
            arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS events,
            SpanAttributes[{k:String}] AS unknown
     FROM plumbline.otel_traces WHERE ServiceName = {s:String} ORDER BY SpanName`,
    { s: serviceName, k: UNKNOWN_TIMES_ATTRIBUTE },
  );
}

async function storedOutputs(serviceName: string): Promise<{ SpanName: string; start: string }[]> {
  return service.rows(
    `SELECT SpanName, toString(toUnixTimestamp64Nano(Timestamp)) AS start
     FROM plumbline.agent_outputs FINAL WHERE ServiceName = {s:String} ORDER BY SpanName`,
    { s: serviceName },
  );
}

describe("unknown (0) times", () => {
  it("a span with start 0 is stored with its end as start and marked; its neighbour is stored too", async () => {
    const name = "times-start-zero";
    const request = requestOf(chatSpans(name, 2));
    const [zero, normal] = request.resourceSpans[0].scopeSpans[0].spans;
    const end = BigInt(Date.now()) * 1_000_000n;
    zero.startTimeUnixNano = u64(0n);
    zero.endTimeUnixNano = u64(end);
    const res = await post(requestType.encode(request).finish());
    expect(res.status).toBe(200);
    expect(await partialSuccess(res)).toEqual({ rejectedSpans: 0, errorMessage: "" });
    const rows = await storedSpans(name);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      start: String(end),
      duration: "0",
      unknown: "start_time_unix_nano",
    });
    expect(rows[1]?.unknown).toBe("");
    expect(rows[1]?.start).toBe(
      String(
        BigInt(normal.startTimeUnixNano.high >>> 0) * 2n ** 32n +
          BigInt(normal.startTimeUnixNano.low >>> 0),
      ),
    );
    expect((await storedOutputs(name)).map((o) => o.start)).toEqual([String(end), rows[1]?.start]);
  });

  it("no known time: the receive time; an event at 0: the span's start (over gRPC as well)", async () => {
    const name = "times-all-zero";
    const request = requestOf(chatSpans(name, 1));
    const [span] = request.resourceSpans[0].scopeSpans[0].spans;
    span.startTimeUnixNano = u64(0n);
    span.endTimeUnixNano = u64(0n);
    span.events[0].timeUnixNano = u64(0n);
    const before = BigInt(Date.now()) * 1_000_000n;
    const error = await grpcExport(requestType.encode(request).finish());
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(error).toBeNull();
    const [row] = await storedSpans(name);
    expect(BigInt(row?.start ?? 0)).toBeGreaterThanOrEqual(before);
    expect(BigInt(row?.start ?? 0)).toBeLessThanOrEqual(after);
    expect(row?.events).toEqual([row?.start]);
    expect(row?.unknown).toBe("start_time_unix_nano,end_time_unix_nano,events[0].time_unix_nano");
  });
});

describe("times the store cannot keep reject just their span", () => {
  const nowNs = () => BigInt(Date.now()) * 1_000_000n;
  const cases: [string, () => bigint, RegExp][] = [
    ["1 ns", () => 1n, /older than the retention of 30 days/],
    ["99,999 s", () => 99_999n * NS_PER_S, /older than the retention of 30 days/],
    [
      "31 days ago",
      () => nowNs() - 31n * 86_400n * NS_PER_S,
      /older than the retention of 30 days \(PLUMBLINE_RETENTION_DAYS\)/,
    ],
    [
      "2107",
      () => 4_354_000_000n * NS_PER_S,
      /^start time 2107-.* is after 2106-01-08T06:28:15Z, the latest the store can keep \(its 30-day retention must end by 2106-02-07\)$/,
    ],
    [
      "9,999,999,999 s (2286)",
      () => 9_999_999_999n * NS_PER_S,
      /^start time 2286-.* is after 2106/,
    ],
    ["2^64 - 1 ns", () => 2n ** 64n - 1n, /is after 2106/],
  ];
  it.each(cases)(
    "start %s → partialSuccess with the reason, the other span stored",
    async (label, start, reason) => {
      const name = `times-reject-${label.replace(/\W+/g, "-")}`;
      const request = requestOf(chatSpans(name, 2));
      const [bad] = request.resourceSpans[0].scopeSpans[0].spans;
      bad.startTimeUnixNano = u64(start());
      bad.endTimeUnixNano = u64(start());
      const res = await post(requestType.encode(request).finish());
      expect(res.status).toBe(200);
      const answer = await partialSuccess(res);
      expect(answer.rejectedSpans).toBe(1);
      const [, message] =
        /^1 span\(s\) rejected: trace [0-9a-f]{32} span [0-9a-f]{16}: (.*)$/.exec(
          answer.errorMessage,
        ) ?? [];
      expect(message).toMatch(reason);
      expect((await storedSpans(name)).map((r) => r.SpanName)).toEqual(["chat 1"]);
      expect((await storedOutputs(name)).map((r) => r.SpanName)).toEqual(["chat 1"]);
    },
  );

  it("an event time past 2262 rejects its span", async () => {
    const name = "times-reject-event";
    const request = requestOf(chatSpans(name, 2));
    request.resourceSpans[0].scopeSpans[0].spans[1].events[0].timeUnixNano = u64(2n ** 63n);
    const answer = await partialSuccess(await post(requestType.encode(request).finish()));
    expect(answer.rejectedSpans).toBe(1);
    expect(answer.errorMessage).toMatch(/events\[0\] time is after 2262-04-11/);
    expect((await storedSpans(name)).map((r) => r.SpanName)).toEqual(["chat 0"]);
  });
});

// ---- fuzz ---------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const UINT64_VALUES = [
  0n,
  1n,
  999_999_999n,
  99_999n * NS_PER_S,
  2n ** 32n - 1n,
  2n ** 53n,
  4_294_967_295n * NS_PER_S + 999_999_999n,
  4_294_967_296n * NS_PER_S,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const INT32_VALUES = [0, 1, 2, 3, 5, 6, 7, 255, 2 ** 31 - 1, -1, -(2 ** 31)];
const UINT32_VALUES = [0, 1, 255, 2 ** 31 - 1, 2 ** 32 - 1];
const DOUBLE_VALUES = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  5e-324,
  1.7976931348623157e308,
];
const INT64_VALUES = [0n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];

/** Every numeric field of one span, with a setter that puts a value from its range. */
function numericFields(span: Json, random: () => number): (() => void)[] {
  const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)] as T;
  const anyU64 = () =>
    random() < 0.7
      ? pick(UINT64_VALUES)
      : BigInt(Math.floor(random() * 2 ** 32)) * BigInt(Math.floor(random() * 2 ** 32));
  const setters = [
    () => (span.startTimeUnixNano = u64(anyU64())),
    () => (span.endTimeUnixNano = u64(anyU64())),
    () => (span.kind = pick(INT32_VALUES)),
    () => (span.status = { ...(span.status ?? {}), code: pick(INT32_VALUES) }),
    () => (span.droppedAttributesCount = pick(UINT32_VALUES)),
    () => (span.droppedEventsCount = pick(UINT32_VALUES)),
    () => (span.droppedLinksCount = pick(UINT32_VALUES)),
    () => (span.flags = pick(UINT32_VALUES)),
  ];
  for (const event of span.events) {
    setters.push(() => (event.timeUnixNano = u64(anyU64())));
    setters.push(() => (event.droppedAttributesCount = pick(UINT32_VALUES)));
  }
  for (const attribute of span.attributes) {
    if (attribute.value.intValue !== undefined) {
      setters.push(
        () => (attribute.value = { intValue: u64(BigInt.asUintN(64, pick(INT64_VALUES))) }),
      );
    }
    if (attribute.value.doubleValue !== undefined) {
      setters.push(() => (attribute.value = { doubleValue: pick(DOUBLE_VALUES) }));
    }
  }
  return setters;
}

describe("fuzz: every numeric field of a valid request (seed 14)", () => {
  it("never answers 5xx, and stores every span it does not reject", async () => {
    const random = prng(14);
    const SPANS = 4;
    const ROUNDS = 40;
    for (let round = 0; round < ROUNDS; round++) {
      const name = `fuzz-${round}`;
      const request = requestOf(chatSpans(name, SPANS));
      for (const span of request.resourceSpans[0].scopeSpans[0].spans) {
        const setters = numericFields(span, random);
        // Mutate a few fields of each span, different ones each round.
        for (let n = 0; n < 3; n++) setters[Math.floor(random() * setters.length)]?.();
      }
      const res = await post(requestType.encode(request).finish());
      expect(res.status, `round ${round}`).toBe(200);
      const { rejectedSpans } = await partialSuccess(res);
      expect((await storedSpans(name)).length, `round ${round}`).toBe(SPANS - rejectedSpans);
    }
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });
});

function grpcExport(body: Uint8Array): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(
    `127.0.0.1:${service.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const identity = (bytes: Buffer) => bytes;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_PATH,
      identity,
      identity,
      Buffer.from(body),
      new grpc.Metadata(),
      (error) => {
        client.close();
        resolve(error);
      },
    );
  });
}
