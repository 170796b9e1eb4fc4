import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeRetryInfo,
  encodeStatusJson,
  encodeStatusProtobuf,
  RETRY_INFO_TYPE_URL,
} from "./encode-response.ts";
import { otlpTypes } from "./otlp-schema.ts";

const toObject = (type: keyof typeof otlpTypes, bytes: Uint8Array) =>
  otlpTypes[type].toObject(otlpTypes[type].decode(bytes), { longs: Number });

describe("ExportTraceServiceResponse", () => {
  it("is an empty message / {} on full success", () => {
    expect(encodeExportResponseProtobuf(0, "")).toHaveLength(0);
    expect(encodeExportResponseJson(0, "")).toBe("{}");
  });

  it("carries partial success, as the exporter's own response readers see it", () => {
    const bytes = encodeExportResponseProtobuf(3, "3 spans had invalid ids");
    expect(toObject("exportTraceServiceResponse", bytes)).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: "3 spans had invalid ids" },
    });
    expect(ProtobufTraceSerializer.deserializeResponse(bytes)).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: "3 spans had invalid ids" },
    });
    const json = encodeExportResponseJson(3, "3 spans had invalid ids");
    expect(json).toBe(
      '{"partialSuccess":{"rejectedSpans":"3","errorMessage":"3 spans had invalid ids"}}',
    );
    expect(JsonTraceSerializer.deserializeResponse(new TextEncoder().encode(json))).toEqual({
      partialSuccess: { rejectedSpans: "3", errorMessage: "3 spans had invalid ids" },
    });
  });

  it("can carry a warning with nothing rejected (OTLP: partial_success with 0 rejected)", () => {
    const bytes = encodeExportResponseProtobuf(0, "slow down");
    expect(toObject("exportTraceServiceResponse", bytes)).toEqual({
      partialSuccess: { errorMessage: "slow down" },
    });
    expect(encodeExportResponseJson(0, "slow down")).toBe(
      '{"partialSuccess":{"rejectedSpans":"0","errorMessage":"slow down"}}',
    );
  });

  it("encodes int64 counts past 2^31", () => {
    const bytes = encodeExportResponseProtobuf(2 ** 40, "");
    expect(toObject("exportTraceServiceResponse", bytes)).toEqual({
      partialSuccess: { rejectedSpans: 2 ** 40 },
    });
  });
});

describe("google.rpc.Status", () => {
  it("has code and message and no details without a retry delay", () => {
    const bytes = encodeStatusProtobuf(3, "resourceSpans must be an array");
    expect(toObject("rpcStatus", bytes)).toEqual({
      code: 3,
      message: "resourceSpans must be an array",
    });
    expect(JSON.parse(encodeStatusJson(3, "bad"))).toEqual({ code: 3, message: "bad" });
  });

  it("holds a RetryInfo Any with the delay to the nanosecond", () => {
    const status = otlpTypes.rpcStatus.decode(encodeStatusProtobuf(14, "busy", 1500.25));
    const { details } = otlpTypes.rpcStatus.toObject(status) as {
      details: { typeUrl: string; value: Uint8Array }[];
    };
    expect(details).toHaveLength(1);
    expect(details[0]?.typeUrl).toBe("type.googleapis.com/google.rpc.RetryInfo");
    expect(toObject("retryInfo", details[0]!.value)).toEqual({
      retryDelay: { seconds: 1, nanos: 500250000 },
    });
    expect(JSON.parse(encodeStatusJson(14, "busy", 1500.25))).toEqual({
      code: 14,
      message: "busy",
      details: [{ "@type": RETRY_INFO_TYPE_URL, retryDelay: "1.500250s" }],
    });
  });

  it("writes proto3 JSON Durations with 0, 3, 6 or 9 fraction digits", () => {
    const delay = (ms: number) =>
      (JSON.parse(encodeStatusJson(8, "", ms)) as { details: { retryDelay: string }[] }).details[0]
        ?.retryDelay;
    expect([delay(2000), delay(250), delay(0.001), delay(0.000001)]).toEqual([
      "2s",
      "0.250s",
      "0.000001s",
      "0.000000001s",
    ]);
  });

  it("encodes RetryInfo alone for grpc-status-details-bin users; bad delays count as 0", () => {
    expect(toObject("retryInfo", encodeRetryInfo(30_000))).toEqual({
      retryDelay: { seconds: 30 },
    });
    expect(toObject("retryInfo", encodeRetryInfo(-5))).toEqual({ retryDelay: {} });
    expect(toObject("retryInfo", encodeRetryInfo(Number.NaN))).toEqual({ retryDelay: {} });
  });
});
