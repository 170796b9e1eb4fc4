import { JsonLogsSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { PARENT, sdkLogRecords, TRACE } from "../../test/helpers/signal-fixtures.ts";
import { decodeLogsJson } from "./decode-logs-json.ts";
import { toOtelLogsRow } from "./log-row.ts";

const kv = (key: string, value: object) => ({ key, value });

function request(records: object[]) {
  return {
    resourceLogs: [
      {
        resource: { attributes: [kv("service.name", { stringValue: "svc" })] },
        scopeLogs: [{ scope: { name: "s" }, logRecords: records }],
      },
    ],
  };
}
const record = (over: object = {}) => ({
  timeUnixNano: "1700000000000000001",
  traceId: TRACE,
  spanId: PARENT,
  body: { stringValue: "line" },
  ...over,
});

function decoded(body: object | string) {
  const result = decodeLogsJson(typeof body === "string" ? body : JSON.stringify(body));
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe("decodeLogsJson", () => {
  it("decodes the real SDK's records: event_name, structured body, trace context, scope", async () => {
    const { records, expected } = await sdkLogRecords();
    const bytes = JsonLogsSerializer.serializeRequest(records) as Uint8Array;
    expect(decodeLogsJson(bytes)).toEqual({ ok: true, records: expected, rejected: [] });
  });

  it("decodes a body of every AnyValue kind in its proto3 JSON spelling", () => {
    const bodies: [object | null, unknown, string][] = [
      [{ stringValue: "text" }, "text", "text"],
      [{ boolValue: false }, false, "false"],
      [{ intValue: "-9007199254740993" }, -9007199254740993n, "-9007199254740993"],
      [{ intValue: 7 }, 7, "7"],
      [{ doubleValue: "NaN" }, Number.NaN, "NaN"],
      [{ doubleValue: "-Infinity" }, Number.NEGATIVE_INFINITY, "-Inf"],
      [{ doubleValue: 0.125 }, 0.125, "0.125"],
      [{ bytesValue: "aGk=" }, new Uint8Array(Buffer.from("hi")), "aGk="],
      [
        { arrayValue: { values: [{ stringValue: "a" }, { kvlistValue: { values: [] } }] } },
        ["a", {}],
        '["a",{}]',
      ],
      [
        {
          kvlistValue: {
            values: [kv("role", { stringValue: "user" }), kv("n", { intValue: "2" })],
          },
        },
        { role: "user", n: 2 },
        '{"n":2,"role":"user"}',
      ],
      [{}, null, ""],
      [null, null, ""],
    ];
    const result = decoded(request(bodies.map(([body]) => record({ body }))));
    expect(result.records.map((r) => r.body)).toEqual(bodies.map(([, value]) => value));
    expect(result.records.map((r) => toOtelLogsRow(r).Body)).toEqual(
      bodies.map(([, , text]) => text),
    );
  });

  it("reads event_name (or event_name by its proto name), severities by number or name", () => {
    const result = decoded(
      request([
        record({ eventName: "gen_ai.choice", severityNumber: "SEVERITY_NUMBER_WARN" }),
        record({ event_name: "gen_ai.tool.message", severity_number: 21, severity_text: "FATAL" }),
        record({ attributes: [kv("event.name", { stringValue: "gen_ai.user.message" })] }),
      ]),
    );
    expect(result.records.map((r) => [r.eventName, r.severityNumber, r.severityText])).toEqual([
      ["gen_ai.choice", 13, ""],
      ["gen_ai.tool.message", 21, "FATAL"],
      ["", 0, ""],
    ]);
    expect(result.records[2]?.attributes).toEqual({ "event.name": "gen_ai.user.message" });
  });

  it("keeps missing times as 0 and all-zero or absent ids as none", () => {
    const result = decoded(
      request([
        record({ timeUnixNano: undefined, traceId: "0".repeat(32), spanId: "0".repeat(16) }),
        record({ traceId: undefined, spanId: "" }),
      ]),
    );
    expect(
      result.records.map((r) => [r.timeUnixNano, r.observedTimeUnixNano, r.traceId, r.spanId]),
    ).toEqual([
      [0n, 0n, "", ""],
      [1_700_000_000_000_000_001n, 0n, "", ""],
    ]);
  });

  it("accepts ids in upper case, as hex", () => {
    const [r] = decoded(request([record({ traceId: TRACE.toUpperCase() })])).records;
    expect(r?.traceId).toBe(TRACE);
  });

  it("rejects a record with a malformed id on its own and keeps the others", () => {
    const result = decoded(
      request([
        record({ body: { stringValue: "first" } }),
        record({ traceId: "not-hex" }),
        record({ spanId: "b7ad6b71" }),
        record({ traceId: "0af7651" }), // odd length: not bytes in hex
        record({ body: { stringValue: "last" } }),
      ]),
    );
    expect(result.records.map((r) => r.body)).toEqual(["first", "last"]);
    expect(result.rejected).toEqual([
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[1]",
        serviceName: "svc",
        reason: "traceId is not a hex string",
      },
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[2]",
        serviceName: "svc",
        reason: "spanId is 4 bytes, expected 8 or none",
      },
      {
        path: "resourceLogs[0].scopeLogs[0].logRecords[3]",
        serviceName: "svc",
        reason: "traceId is not a hex string",
      },
    ]);
  });

  it("fails a body that is not JSON, or not shaped like the request, saying what and where", () => {
    expect(decodeLogsJson("{not json")).toEqual({
      ok: false,
      message: expect.stringMatching(/^not valid JSON: /) as unknown as string,
    });
    expect(decodeLogsJson("[1,2]")).toEqual({
      ok: false,
      message: "not an OTLP ExportLogsServiceRequest: the body is an array, not an object",
    });
    const cases: [object, string][] = [
      [{ resourceLogs: {} }, "resourceLogs must be an array, got an object"],
      [
        request([record(), record({ severityText: 3 })]),
        "resourceLogs[0].scopeLogs[0].logRecords[1].severityText must be a string, got the number 3",
      ],
      [
        request([record({ timeUnixNano: "soon" })]),
        'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano must be an integer (number or decimal string), got the string "soon"',
      ],
      [
        request([record({ severityNumber: "LOUD" })]),
        'resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber is not a known value (the string "LOUD")',
      ],
      [
        request([record({ flags: -1 })]),
        "resourceLogs[0].scopeLogs[0].logRecords[0].flags is out of range for uint32",
      ],
      [
        request([record({ body: { intValue: true } })]),
        "resourceLogs[0].scopeLogs[0].logRecords[0].body.intValue must be an integer (number or decimal string), got the boolean true",
      ],
      [
        { resourceLogs: [{ scopeLogs: [{ scope: { droppedAttributesCount: "x" } }] }] },
        'resourceLogs[0].scopeLogs[0].scope.droppedAttributesCount must be an integer (number or decimal string), got the string "x"',
      ],
    ];
    for (const [body, where] of cases) {
      expect(decodeLogsJson(JSON.stringify(body))).toEqual({
        ok: false,
        message: `not an OTLP ExportLogsServiceRequest: ${where}`,
      });
    }
  });

  it("decodes an empty object as a request with nothing in it", () => {
    expect(decodeLogsJson("{}")).toEqual({ ok: true, records: [], rejected: [] });
  });
});
