import { JsonLogsSerializer, ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { idBytes, PARENT, sdkLogRecords, TRACE } from "../../test/helpers/signal-fixtures.ts";
import { decodeLogsProtobuf } from "./decode-logs-protobuf.ts";
import { decodeLogsJson } from "./decode-logs-json.ts";
import { toOtelLogsRow } from "./log-row.ts";
import { otlpLogsTypes } from "./otlp-schema-logs.ts";

const T = otlpLogsTypes.exportLogsServiceRequest;
const encode = (request: object) => T.encode(T.fromObject(request)).finish();
const kv = (key: string, value: object) => ({ key, value });

/** A request of one resource and scope with these records (valid ids unless overridden). */
function request(records: object[]) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [kv("service.name", { stringValue: "svc" })] },
        schemaUrl: "https://r",
        scopeLogs: [
          {
            scope: { name: "s", version: "1", attributes: [kv("a", { intValue: 1 })] },
            schemaUrl: "https://s",
            logRecords: records,
          },
        ],
      },
    ],
  };
}
const record = (over: object = {}) => ({
  timeUnixNano: "1700000000000000001",
  observedTimeUnixNano: "1700000000000000002",
  traceId: idBytes(TRACE),
  spanId: idBytes(PARENT),
  body: { stringValue: "line" },
  ...over,
});

function decoded(bytes: Uint8Array) {
  const result = decodeLogsProtobuf(bytes);
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe("decodeLogsProtobuf", () => {
  it("decodes the real SDK's records: event_name, structured body, trace context, scope", async () => {
    const { records, expected } = await sdkLogRecords();
    const bytes = ProtobufLogsSerializer.serializeRequest(records) as Uint8Array;
    expect(decodeLogsProtobuf(bytes)).toEqual({ ok: true, records: expected, rejected: [] });
  });

  it("gives the JSON decoder's records for the same SDK records", async () => {
    const { records } = await sdkLogRecords();
    const json = decodeLogsJson(JsonLogsSerializer.serializeRequest(records) as Uint8Array);
    const pb = decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(records) as Uint8Array);
    expect(json).toEqual(pb);
  });

  it("keeps the resource and scope schema URLs and scope attributes", () => {
    const [r] = decoded(encode(request([record()]))).records;
    expect(r?.resource).toEqual({
      attributes: { "service.name": "svc" },
      serviceName: "svc",
      schemaUrl: "https://r",
    });
    expect(r?.scope).toEqual({
      name: "s",
      version: "1",
      attributes: { a: 1 },
      droppedAttributesCount: 0,
      schemaUrl: "https://s",
    });
  });

  it("decodes a body of every AnyValue kind, and stores it as the exporter's AsString text", () => {
    const bodies: [object | undefined, unknown, string][] = [
      [{ stringValue: "text" }, "text", "text"],
      [{ boolValue: true }, true, "true"],
      [{ intValue: "-42" }, -42, "-42"],
      [{ intValue: "9223372036854775807" }, 9223372036854775807n, "9223372036854775807"],
      [{ doubleValue: 2.5 }, 2.5, "2.5"],
      [{ bytesValue: Buffer.from("hi") }, new Uint8Array(Buffer.from("hi")), "aGk="],
      [
        { arrayValue: { values: [{ stringValue: "a" }, { intValue: 1 }, {}] } },
        ["a", 1, null],
        '["a",1,null]',
      ],
      [
        {
          kvlistValue: {
            values: [kv("z", { boolValue: false }), kv("a", { arrayValue: { values: [] } })],
          },
        },
        { z: false, a: [] },
        '{"a":[],"z":false}',
      ],
      [{}, null, ""], // an empty AnyValue
      [undefined, null, ""], // no body at all
    ];
    const result = decoded(
      encode(
        request(bodies.map(([body]) => record(body === undefined ? { body: null } : { body }))),
      ),
    );
    expect(result.records.map((r) => r.body)).toEqual(bodies.map(([, value]) => value));
    expect(result.records.map((r) => toOtelLogsRow(r).Body)).toEqual(
      bodies.map(([, , text]) => text),
    );
  });

  it("reads event_name, and leaves an `event.name` attribute where it is", () => {
    const result = decoded(
      encode(
        request([
          record({ eventName: "gen_ai.system.message" }),
          record({ attributes: [kv("event.name", { stringValue: "gen_ai.choice" })] }),
        ]),
      ),
    );
    expect(result.records.map((r) => [r.eventName, r.attributes])).toEqual([
      ["gen_ai.system.message", {}],
      ["", { "event.name": "gen_ai.choice" }],
    ]);
  });

  it("keeps missing times as 0 for the ingest to settle, and all-zero ids as none", () => {
    const [r] = decoded(
      encode(
        request([
          record({
            timeUnixNano: "0",
            observedTimeUnixNano: undefined,
            traceId: Buffer.alloc(16),
            spanId: Buffer.alloc(8),
          }),
        ]),
      ),
    ).records;
    expect(r).toMatchObject({
      timeUnixNano: 0n,
      observedTimeUnixNano: 0n,
      traceId: "",
      spanId: "",
    });
  });

  it("keeps a severity number outside the enum, and the row cuts it and the flags to 8 bits", () => {
    const [r] = decoded(encode(request([record({ severityNumber: 300, flags: 0x1ff })]))).records;
    expect(r).toMatchObject({ severityNumber: 300, flags: 0x1ff });
    expect(toOtelLogsRow(r!)).toMatchObject({ SeverityNumber: 44, TraceFlags: 0xff });
  });

  it("rejects a record with a malformed id on its own and keeps the others", () => {
    const result = decoded(
      encode(
        request([
          record({ body: { stringValue: "first" } }),
          record({ traceId: idBytes("0af7651916") }),
          record({ spanId: idBytes("b7ad6b71692033") }),
          record({ body: { stringValue: "last" } }),
        ]),
      ),
    );
    expect(result.records.map((r) => r.body)).toEqual(["first", "last"]);
    expect(result.rejected).toEqual([
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[1]",
        serviceName: "svc",
        reason: "traceId is 5 bytes, expected 16 or none",
      },
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[2]",
        serviceName: "svc",
        reason: "spanId is 7 bytes, expected 8 or none",
      },
    ]);
  });

  it("fails a body that is not an ExportLogsServiceRequest with a message saying what and where", () => {
    const garbage = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]);
    expect(decodeLogsProtobuf(garbage)).toEqual({
      ok: false,
      message: expect.stringMatching(
        /^not a valid OTLP ExportLogsServiceRequest protobuf \(7 bytes\): .*index out of range/,
      ) as unknown as string,
    });
    // A record cut short inside its body.
    const whole = encode(request([record()]));
    const cut = decodeLogsProtobuf(whole.subarray(0, whole.length - 3));
    expect(cut).toMatchObject({ ok: false });
    expect(!cut.ok && cut.message).toMatch(/ExportLogsServiceRequest protobuf \(\d+ bytes\)/);
  });

  it("decodes an empty body as a request with nothing in it", () => {
    expect(decodeLogsProtobuf(new Uint8Array())).toEqual({ ok: true, records: [], rejected: [] });
  });
});
