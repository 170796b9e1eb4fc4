/**
 * `POST /v1/logs` and `/v1/metrics` through `app.request()`, with the real decoders and fake
 * ingests: the response rules of traces (otlp-http.test.ts) hold for both signals, and the
 * success answer is each signal's own Export…ServiceResponse.
 */

import { gzipSync } from "node:zlib";
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
} from "@opentelemetry/otlp-transformer";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { sdkLogRecords, sdkMetrics } from "../../test/helpers/signal-fixtures.ts";
import type { DecodedLogRecord } from "../decode/log-record.ts";
import type { DecodedDataPoint } from "../decode/metric-point.ts";
import type { RejectedRecord } from "../decode/signal-decoding.ts";
import { queueFull, storeUnavailable } from "../errors.ts";
import type { SignalIngestResult } from "./ingest-logs.ts";
import { otlpHttpRoutes } from "./otlp-http.ts";

const { records } = await sdkLogRecords();
const { resourceMetrics } = await sdkMetrics();

/** Each signal: its path, request bodies of the real SDK, and a reader of its responses. */
const SIGNALS = {
  logs: {
    protobuf: () => ProtobufLogsSerializer.serializeRequest(records) as Uint8Array,
    json: () => JsonLogsSerializer.serializeRequest(records) as Uint8Array,
    response: (bytes: Uint8Array) => ProtobufLogsSerializer.deserializeResponse(bytes),
    rejectedField: "rejectedLogRecords",
    request: "ExportLogsServiceRequest",
    count: records.length,
  },
  metrics: {
    protobuf: () => ProtobufMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
    json: () => JsonMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array,
    response: (bytes: Uint8Array) => ProtobufMetricsSerializer.deserializeResponse(bytes),
    rejectedField: "rejectedDataPoints",
    request: "ExportMetricsServiceRequest",
    count: 7, // two token usage series, and one of each other instrument
  },
} as const;
type Signal = keyof typeof SIGNALS;

type Received = { items: unknown[]; rejected: RejectedRecord[] };

function fakeIngests(result: (received: Received) => SignalIngestResult = accepted) {
  const calls: Record<Signal, Received[]> = { logs: [], metrics: [] };
  return {
    calls,
    ingestLogs: async (items: DecodedLogRecord[], rejected: RejectedRecord[]) => {
      calls.logs.push({ items, rejected });
      return result({ items, rejected });
    },
    ingestMetrics: async (items: DecodedDataPoint[], rejected: RejectedRecord[]) => {
      calls.metrics.push({ items, rejected });
      return result({ items, rejected });
    },
  };
}

function accepted({ rejected }: Received): SignalIngestResult {
  return {
    ok: true,
    rejected: rejected.length,
    errorMessage: rejected.length ? `${rejected.length} rejected` : "",
  };
}

function app(ingests: ReturnType<typeof fakeIngests>, ingestKeys: string[] = []) {
  return otlpHttpRoutes({
    ingest: async () => {
      throw new Error("no spans in these tests");
    },
    ingestLogs: ingests.ingestLogs,
    ingestMetrics: ingests.ingestMetrics,
    maxBodyBytes: 1 << 20,
    ingestKeys,
  });
}

const post = (signal: Signal, body: Uint8Array | string, headers: Record<string, string>) =>
  new Request(`http://x/v1/${signal}`, {
    method: "POST",
    body: body as Uint8Array<ArrayBuffer> | string,
    headers,
  });

const PROTOBUF = { "content-type": "application/x-protobuf" };
const JSON_TYPE = { "content-type": "application/json" };

// google.rpc.Status, read independently of the code under test.
const statusType = protobuf.Root.fromJSON({
  nested: {
    Status: { fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } } },
  },
}).lookupType("Status");

describe.each(Object.keys(SIGNALS) as Signal[])("POST /v1/%s", (signal) => {
  const s = SIGNALS[signal];

  it("accepts protobuf and answers an empty protobuf response", async () => {
    const ingests = fakeIngests();
    const res = await app(ingests).request(post(signal, s.protobuf(), PROTOBUF));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    expect(new Uint8Array(await res.arrayBuffer())).toHaveLength(0);
    expect(ingests.calls[signal][0]?.items).toHaveLength(s.count);
  });

  it("accepts JSON and answers {}", async () => {
    const ingests = fakeIngests();
    const res = await app(ingests).request(post(signal, s.json(), JSON_TYPE));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({});
    expect(ingests.calls[signal][0]?.items).toHaveLength(s.count);
  });

  it.each([
    ["protobuf", PROTOBUF, () => s.protobuf()],
    ["JSON", JSON_TYPE, () => s.json()],
  ] as const)("decompresses a gzip %s body", async (_name, type, body) => {
    const ingests = fakeIngests();
    const res = await app(ingests).request(
      post(signal, gzipSync(body()), { ...type, "content-encoding": "gzip" }),
    );
    expect(res.status).toBe(200);
    expect(ingests.calls[signal][0]?.items).toHaveLength(s.count);
  });

  it("answers partialSuccess with the count and the message, in protobuf and in JSON", async () => {
    const ingests = fakeIngests(() => ({ ok: true, rejected: 3, errorMessage: "3 bad: ids" }));
    const pb = await app(ingests).request(post(signal, s.protobuf(), PROTOBUF));
    expect(pb.status).toBe(200);
    const decoded = s.response(new Uint8Array(await pb.arrayBuffer())) as {
      partialSuccess?: Record<string, unknown>;
    };
    expect(decoded.partialSuccess?.errorMessage).toBe("3 bad: ids");
    expect(Number(decoded.partialSuccess?.[s.rejectedField])).toBe(3);

    const json = await app(ingests).request(post(signal, s.json(), JSON_TYPE));
    expect(await json.json()).toEqual({
      partialSuccess: { [s.rejectedField]: "3", errorMessage: "3 bad: ids" },
    });
  });

  it("answers 400 with a google.rpc.Status naming the request type for a bad protobuf body", async () => {
    const res = await app(fakeIngests()).request(
      post(signal, Uint8Array.from([0x0a, 0xff, 0xff]), PROTOBUF),
    );
    expect(res.status).toBe(400);
    const status = statusType.decode(new Uint8Array(await res.arrayBuffer())) as unknown as {
      code: number;
      message: string;
    };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(
      new RegExp(`^not a valid OTLP ${s.request} protobuf \\(3 bytes\\)`),
    );
  });

  it("answers 400 in JSON for JSON that is not the request, naming the path", async () => {
    const outer = signal === "logs" ? "resourceLogs" : "resourceMetrics";
    const res = await app(fakeIngests()).request(
      post(signal, JSON.stringify({ [outer]: [{ resource: 3 }] }), JSON_TYPE),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 3,
      message: `not an OTLP ${s.request}: ${outer}[0].resource must be an object, got the number 3`,
    });
  });

  it("requires a valid key when keys are configured", async () => {
    const ingests = fakeIngests();
    const keyed = app(ingests, ["k-1"]);
    const refused = await keyed.request(post(signal, s.json(), JSON_TYPE));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ code: 16, message: "missing or invalid ingest key" });
    const ok = await keyed.request(
      post(signal, s.protobuf(), { ...PROTOBUF, authorization: "Bearer k-1" }),
    );
    expect(ok.status).toBe(200);
    expect(ingests.calls[signal]).toHaveLength(1);
  });

  it("answers 503 with Retry-After while the store fails, and 429 when the queue is full", async () => {
    const failing = fakeIngests(() => ({ ok: false, error: storeUnavailable("disk full", 4_000) }));
    const res = await app(failing).request(post(signal, s.json(), JSON_TYPE));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("4");
    expect(await res.json()).toEqual({ code: 14, message: "disk full" });
    const full = fakeIngests(() => ({ ok: false, error: queueFull(2_000) }));
    const res2 = await app(full).request(post(signal, s.protobuf(), PROTOBUF));
    expect(res2.status).toBe(429);
    expect(res2.headers.get("retry-after")).toBe("2");
  });

  it("answers 415 for another content type", async () => {
    const res = await app(fakeIngests()).request(
      post(signal, "x", { "content-type": "text/plain" }),
    );
    expect(res.status).toBe(415);
  });
});

describe("signals without an ingest", () => {
  it("are not routed", async () => {
    const routes = otlpHttpRoutes({
      ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
      maxBodyBytes: 1 << 20,
      ingestKeys: [],
    });
    const res = await routes.request(post("logs", "{}", JSON_TYPE));
    expect(res.status).toBe(404);
  });
});
