import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import {
  LINK_SPAN,
  nest,
  nestedArrays,
  okSpans,
  PARENT,
  sdkSpans,
  TRACE,
} from "../../test/helpers/decode-fixtures.ts";
import { decodeJsonRequest } from "./decode-json-request.ts";
import { TOO_DEEP_VALUE } from "./decode-result.ts";

describe("decodeJsonRequest", () => {
  it("decodes JsonTraceSerializer output to the same spans as the protobuf decoder", () => {
    const { spans, expected } = sdkSpans();
    const result = decodeJsonRequest(JsonTraceSerializer.serializeRequest(spans)!);
    expect(result).toEqual({ ok: true, spans: expected, rejected: [] });
  });

  const jsonSpan = (over: object = {}) => ({
    traceId: TRACE.toUpperCase(),
    spanId: "B7AD6B7169203331",
    name: "op",
    startTimeUnixNano: 1700000000000000000,
    endTimeUnixNano: "1700000000000000002",
    ...over,
  });
  const jsonBody = (spans: object[], extra: object = {}) =>
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
          scopeSpans: [{ spans }],
          ...extra,
        },
      ],
    });

  it("reads hex ids in any case, int64 as number or string, enums as numbers or names", () => {
    const attributes = [
      { key: "n", value: { intValue: 5 } },
      { key: "s", value: { intValue: "-9223372036854775808" } },
      { key: "f", value: { doubleValue: "NaN" } },
      { key: "inf", value: { doubleValue: "-Infinity" } },
      { key: "b", value: { bytesValue: "AP8H" } },
      {
        key: "kv",
        value: {
          kvlistValue: {
            values: [{ key: "x", value: { arrayValue: { values: [{ boolValue: true }, {}] } } }],
          },
        },
      },
      { key: "none" },
      { key: "future", value: { futureValue: 1, stringValue: "kept" }, future: true },
    ];
    const spans = [
      jsonSpan({
        kind: "SPAN_KIND_CLIENT",
        status: { code: "STATUS_CODE_ERROR", message: "m" },
        attributes,
      }),
      jsonSpan({
        kind: 4,
        status: { code: 1 },
        parentSpanId: "00F067AA0BA902B7",
        unknownField: { a: 1 },
      }),
    ];
    const [a, b] = okSpans(decodeJsonRequest(Buffer.from(jsonBody(spans, { unknown: [1] }))));
    expect([a!.traceId, a!.spanId, a!.kind, a!.statusCode, a!.statusMessage]).toEqual([
      TRACE,
      PARENT,
      3,
      2,
      "m",
    ]);
    expect([a!.startTimeUnixNano, a!.endTimeUnixNano]).toEqual([
      1700000000000000000n,
      1700000000000000002n,
    ]);
    expect(a!.attributes).toEqual({
      n: 5,
      s: -9223372036854775808n,
      f: NaN,
      inf: -Infinity,
      b: Uint8Array.from([0, 255, 7]),
      kv: { x: [true, null] },
      none: null,
      future: "kept",
    });
    expect([b!.kind, b!.statusCode, b!.parentSpanId]).toEqual([4, 1, LINK_SPAN]);
  });

  it("accepts the snake_case proto field names", () => {
    const body = JSON.stringify({
      resource_spans: [
        {
          scope_spans: [
            {
              scope: { name: "s" },
              spans: [
                {
                  trace_id: TRACE,
                  span_id: PARENT,
                  start_time_unix_nano: "7",
                  attributes: [{ key: "k", value: { int_value: "8" } }],
                },
              ],
            },
          ],
        },
      ],
    });
    const [span] = okSpans(decodeJsonRequest(body));
    expect([span!.traceId, span!.spanId, span!.startTimeUnixNano, span!.attributes]).toEqual([
      TRACE,
      PARENT,
      7n,
      { k: 8 },
    ]);
  });

  it("rejects a span with a bad id and keeps the others", () => {
    const result = decodeJsonRequest(
      jsonBody([jsonSpan(), jsonSpan({ traceId: "xyz" }), jsonSpan({ name: "last" })]),
    );
    if (!result.ok) throw new Error(result.message);
    expect(result.spans.map((s) => s.name)).toEqual(["op", "last"]);
    expect(result.rejected).toEqual([
      {
        path: "resourceSpans[0].scopeSpans[0].spans[1]",
        serviceName: "svc",
        spanId: PARENT,
        reason: "traceId is not a hex string",
      },
    ]);
  });

  it("caps nesting at 32 levels and replaces invalid UTF-8", () => {
    const body = Buffer.concat([
      Buffer.from(
        jsonBody([
          jsonSpan({
            name: "a",
            attributes: [{ key: "deep", value: nest(40, { stringValue: "x" }) }],
          }),
        ]).replace('"a"', '"a\u0001"'),
      ),
    ]);
    body[body.indexOf(1)] = 0xff;
    const [span] = okSpans(decodeJsonRequest(body));
    expect(span!.name).toBe("a\uFFFD");
    expect(span!.attributes["deep"]).toEqual(nestedArrays(32, TOO_DEEP_VALUE));
  });

  it("fails bodies that are not OTLP JSON, saying what and where", () => {
    const fails = (body: string) => {
      const result = decodeJsonRequest(body);
      return result.ok ? "ok" : result.message;
    };
    expect(fails("{not json")).toMatch(/^not valid JSON: /);
    expect(fails("[1]")).toBe(
      "not an OTLP ExportTraceServiceRequest: the body is an array, not an object",
    );
    expect(fails('{"resourceSpans":{}}')).toBe(
      "not an OTLP ExportTraceServiceRequest: resourceSpans must be an array, got an object",
    );
    expect(fails(jsonBody([jsonSpan({ startTimeUnixNano: "soon" })]))).toBe(
      'not an OTLP ExportTraceServiceRequest: resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano must be an integer (number or decimal string), got the string "soon"',
    );
    expect(fails(jsonBody([jsonSpan({ kind: "SERVER" })]))).toMatch(
      /spans\[0\]\.kind is not a known value/,
    );
    expect(
      fails(jsonBody([jsonSpan({ attributes: [{ key: "k", value: { boolValue: "yes" } }] })])),
    ).toMatch(/spans\[0\]\.attributes\[0\]\.value\.boolValue has the wrong type/);
    expect(fails("{}")).toBe("ok");
  });
});
