import { ROOT_CONTEXT, SpanKind as ApiSpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { createTraceState } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import protobuf from "protobufjs";
import { describe, expect, it, vi } from "vitest";
import { decodeJsonRequest, decodeProtobufRequest, TOO_DEEP_VALUE } from "./decode-request.ts";
import type { DecodeResult } from "./decode-request.ts";
import { otlpRoot, otlpTypes } from "./otlp-schema.ts";
import type { AttrValue, DecodedSpan } from "./span.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";
const LINK_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const LINK_SPAN = "00f067aa0ba902b7";

/** Spans from the real SDK: a server span (remote parent, every attribute kind, event, link,
 * error status) and an internal root span in a second scope. */
function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout", "service.version": "2.1" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE,
    spanId: PARENT,
    traceFlags: 1,
    isRemote: true,
    traceState: createTraceState("vendor=abc"),
  });
  const server = provider.getTracer("scope-a", "1.2.3").startSpan(
    "POST /chat",
    {
      kind: ApiSpanKind.SERVER,
      startTime: [1700000000, 123456789],
      attributes: { str: "hi", bool: true, int: 42, neg: -7, double: 3.5, strs: ["a", "b"] },
      links: [
        {
          context: { traceId: LINK_TRACE, spanId: LINK_SPAN, traceFlags: 1 },
          attributes: { "link.kind": "follows", ints: [1, 2], bools: [true, false] },
        },
      ],
    },
    parent,
  );
  server.addEvent("exception", { "exception.message": "boom", count: 2 }, [1700000000, 5]);
  server.setStatus({ code: SpanStatusCode.ERROR, message: "it broke" });
  server.end([1700000001, 987654321]);
  const internal = provider.getTracer("scope-b").startSpan("work", { startTime: [1700000002, 0] });
  internal.end([1700000002, 1]);
  return { spans: exporter.getFinishedSpans(), server, internal };
}

function okSpans(result: DecodeResult): DecodedSpan[] {
  if (!result.ok) throw new Error(`expected ok, got: ${result.message}`);
  return result.spans;
}

describe("bodies from the real OTLP exporter serializers", () => {
  const { spans, server, internal } = sdkSpans();
  const resource = {
    attributes: { "service.name": "checkout", "service.version": "2.1" },
    serviceName: "checkout",
  };
  const expected: DecodedSpan[] = [
    {
      traceId: TRACE,
      spanId: server.spanContext().spanId,
      parentSpanId: PARENT,
      traceState: "vendor=abc",
      name: "POST /chat",
      kind: 2,
      startTimeUnixNano: 1700000000123456789n,
      endTimeUnixNano: 1700000001987654321n,
      attributes: { str: "hi", bool: true, int: 42, neg: -7, double: 3.5, strs: ["a", "b"] },
      events: [
        {
          timeUnixNano: 1700000000000000005n,
          name: "exception",
          attributes: { "exception.message": "boom", count: 2 },
        },
      ],
      links: [
        {
          traceId: LINK_TRACE,
          spanId: LINK_SPAN,
          traceState: "",
          attributes: { "link.kind": "follows", ints: [1, 2], bools: [true, false] },
        },
      ],
      statusCode: 2,
      statusMessage: "it broke",
      resource,
      scope: { name: "scope-a", version: "1.2.3" },
    },
    {
      traceId: internal.spanContext().traceId,
      spanId: internal.spanContext().spanId,
      parentSpanId: "",
      traceState: "",
      name: "work",
      kind: 1,
      startTimeUnixNano: 1700000002000000000n,
      endTimeUnixNano: 1700000002000000001n,
      attributes: {},
      events: [],
      links: [],
      statusCode: 0,
      statusMessage: "",
      resource,
      scope: { name: "scope-b", version: "" },
    },
  ];

  it("decodes ProtobufTraceSerializer output field by field", () => {
    const result = decodeProtobufRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(result).toEqual({ ok: true, spans: expected, rejected: [] });
    const [a, b] = okSpans(result);
    expect(a?.resource).toBe(b?.resource); // one shared object per resource
  });

  it("decodes JsonTraceSerializer output to the same spans", () => {
    const result = decodeJsonRequest(JsonTraceSerializer.serializeRequest(spans)!);
    expect(result).toEqual({ ok: true, spans: expected, rejected: [] });
  });
});

const T = otlpTypes.exportTraceServiceRequest;
const bytes = (hex: string) => Buffer.from(hex, "hex");
const kv = (key: string, value: object | null) => (value ? { key, value } : { key });

/** A protobuf span with valid ids; ids given as hex. */
function pbSpan(over: Record<string, unknown> = {}) {
  const { traceId = TRACE, spanId = PARENT, parentSpanId = "", ...rest } = over;
  return {
    traceId: bytes(traceId as string),
    spanId: bytes(spanId as string),
    parentSpanId: bytes(parentSpanId as string),
    name: "op",
    startTimeUnixNano: "1700000000000000001",
    endTimeUnixNano: "1700000000000000002",
    ...rest,
  };
}

function pbRequest(
  spans: object[],
  resourceAttributes: object[] = [kv("service.name", { stringValue: "svc" })],
) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes },
        scopeSpans: [{ scope: { name: "s" }, spans }],
      },
    ],
  };
}

/** Our schema as a protobufjs JSON descriptor, to edit into variants of it. */
interface Descriptor {
  nested?: Record<string, Descriptor>;
  fields?: Record<string, { id: number; type: string; rule?: string }>;
}
const schemaJson = () => otlpRoot.toJSON() as Descriptor;
function fieldsOf(json: Descriptor, fullName: string) {
  const type = fullName.split(".").reduce<Descriptor | undefined>((n, p) => n?.nested?.[p], json);
  if (type?.fields === undefined) throw new Error(`no message ${fullName}`);
  return type.fields;
}

const encode = (request: object, type = T) => type.encode(type.fromObject(request)).finish();
const anyValueType = otlpRoot.lookupType("opentelemetry.proto.common.v1.AnyValue");
const spanType = otlpRoot.lookupType("opentelemetry.proto.trace.v1.Span");

function nest(levels: number, leaf: object): object {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { arrayValue: { values: [value] } };
  return value;
}

function nestedArrays(levels: number, leaf: AttrValue): AttrValue {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

describe("decodeProtobufRequest", () => {
  it("converts every AnyValue kind, int64 to number or bigint, last duplicate key wins", () => {
    const attributes = [
      kv("s", { stringValue: "" }),
      kv("t", { boolValue: false }),
      kv("i", { intValue: "-12" }),
      kv("big", { intValue: "9007199254740993" }),
      kv("min", { intValue: "-9223372036854775808" }),
      kv("max", { intValue: "9223372036854775807" }),
      kv("d", { doubleValue: -0.25 }),
      kv("bytes", { bytesValue: Uint8Array.from([0, 255, 7]) }),
      kv("arr", { arrayValue: { values: [{ stringValue: "x" }, { intValue: 1 }, {}] } }),
      kv("map", {
        kvlistValue: {
          values: [kv("k", { kvlistValue: { values: [kv("n", { doubleValue: 1.5 })] } })],
        },
      }),
      kv("empty", {}),
      kv("none", null),
      kv("dup", { stringValue: "first" }),
      kv("dup", { stringValue: "last" }),
      kv("__proto__", { stringValue: "data" }),
    ];
    const [span] = okSpans(decodeProtobufRequest(encode(pbRequest([pbSpan({ attributes })]))));
    const attrs = span!.attributes;
    expect(attrs).toEqual({
      s: "",
      t: false,
      i: -12,
      big: 9007199254740993n,
      min: -9223372036854775808n,
      max: 9223372036854775807n,
      d: -0.25,
      bytes: Uint8Array.from([0, 255, 7]),
      arr: ["x", 1, null],
      map: { k: { n: 1.5 } },
      empty: null,
      none: null,
      dup: "last",
      ["__proto__"]: "data",
    });
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(attrs, "__proto__")?.value).toBe("data");
    expect(Buffer.isBuffer(attrs["bytes"])).toBe(false);
  });

  it("ignores unknown fields at every nesting level (a newer schema's fields)", () => {
    const json = schemaJson();
    const add = (type: string, name: string, id: number, fieldType: string, rule?: string) => {
      fieldsOf(json, `opentelemetry.proto.${type}`)[name] = {
        id,
        type: fieldType,
        ...(rule ? { rule } : {}),
      };
    };
    const keyValue = "opentelemetry.proto.common.v1.KeyValue";
    add("collector.trace.v1.ExportTraceServiceRequest", "x", 2, "string");
    add("trace.v1.ResourceSpans", "x", 4, "uint64");
    add("trace.v1.ScopeSpans", "x", 4, keyValue);
    add("trace.v1.Span", "x", 17, "string");
    add("trace.v1.Span", "y", 18, "fixed32");
    add("trace.v1.Span", "z", 19, "double");
    add("trace.v1.Span", "w", 20, "uint32", "repeated");
    add("trace.v1.Span.Event", "x", 5, "bytes");
    add("trace.v1.Span.Link", "x", 7, "int64");
    add("trace.v1.Status", "x", 4, "string");
    add("common.v1.AnyValue", "x", 8, "string");
    add("common.v1.KeyValue", "x", 3, "fixed64");
    add("common.v1.InstrumentationScope", "x", 5, "string");
    add("resource.v1.Resource", "x", 3, keyValue, "repeated");
    const newer = protobuf.Root.fromJSON(json).lookupType(T.fullName);
    const value = (v: object) => ({ ...v, x: "future" });
    const attributes = [{ key: "a", value: value({ intValue: 5 }), x: "99" }];
    const span = pbSpan({
      ...{ x: "future", y: 7, z: 1.5, w: [1, 2, 3], attributes },
      events: [{ timeUnixNano: "3", name: "e", attributes, x: Buffer.from("zz") }],
      links: [{ traceId: bytes(LINK_TRACE), spanId: bytes(LINK_SPAN), attributes, x: "-4" }],
      status: { code: 1, message: "fine", x: "future" },
    });
    const request = {
      x: "future",
      resourceSpans: [
        {
          x: "12",
          resource: { attributes, x: attributes },
          scopeSpans: [
            { x: attributes[0], scope: { name: "s", version: "v", x: "f" }, spans: [span] },
          ],
        },
      ],
    };
    const body = encode(request, newer);
    expect(body.length).toBeGreaterThan(encode(request).length);
    const [decoded] = okSpans(decodeProtobufRequest(body));
    expect(decoded).toEqual({
      traceId: TRACE,
      spanId: PARENT,
      parentSpanId: "",
      traceState: "",
      name: "op",
      kind: 0,
      startTimeUnixNano: 1700000000000000001n,
      endTimeUnixNano: 1700000000000000002n,
      attributes: { a: 5 },
      events: [{ timeUnixNano: 3n, name: "e", attributes: { a: 5 } }],
      links: [{ traceId: LINK_TRACE, spanId: LINK_SPAN, traceState: "", attributes: { a: 5 } }],
      statusCode: 1,
      statusMessage: "fine",
      resource: { attributes: { a: 5 }, serviceName: "" },
      scope: { name: "s", version: "v" },
    });
  });

  it("rejects spans with invalid ids and keeps the rest", () => {
    const spans = [
      pbSpan({ name: "ok-1", kind: 9, parentSpanId: "0000000000000000" }),
      pbSpan({ traceId: TRACE.slice(2) }),
      pbSpan({ traceId: "0".repeat(32) }),
      pbSpan({ spanId: "" }),
      pbSpan({ spanId: "0".repeat(16) }),
      pbSpan({ spanId: "0102030405060708", parentSpanId: "01020304" }),
      pbSpan({ name: "ok-2", links: [{ traceId: bytes("00"), spanId: bytes("0".repeat(16)) }] }),
    ];
    const result = decodeProtobufRequest(encode(pbRequest(spans)));
    if (!result.ok) throw new Error(result.message);
    expect(result.spans.map((s) => [s.name, s.kind, s.parentSpanId])).toEqual([
      ["ok-1", 9, ""], // unknown kinds kept as numbers; an all-zero parent means root
      ["ok-2", 0, ""],
    ]);
    expect(result.spans[0]?.scope).toBe(result.spans[1]?.scope); // shared per scope
    expect(result.spans[1]?.links).toEqual([
      { traceId: "", spanId: "", traceState: "", attributes: {} },
    ]);
    const at = (k: number) => `resourceSpans[0].scopeSpans[0].spans[${k}]`;
    expect(result.rejected).toEqual([
      {
        path: at(1),
        serviceName: "svc",
        spanId: PARENT,
        reason: "traceId is 15 bytes, expected 16",
      },
      { path: at(2), serviceName: "svc", spanId: PARENT, reason: "traceId is all zero" },
      { path: at(3), serviceName: "svc", spanId: "", reason: "spanId is 0 bytes, expected 8" },
      { path: at(4), serviceName: "svc", spanId: "", reason: "spanId is all zero" },
      {
        path: at(5),
        serviceName: "svc",
        spanId: "0102030405060708",
        reason: "parentSpanId is 4 bytes, expected 8 or none",
      },
    ]);
  });

  it("caps AnyValue nesting at 32 levels and keeps the span", () => {
    const attributes = [
      kv("deep", nest(40, { stringValue: "x" })),
      kv("edge", nest(31, { stringValue: "x" })),
    ];
    const [span] = okSpans(decodeProtobufRequest(encode(pbRequest([pbSpan({ attributes })]))));
    expect(span!.attributes["deep"]).toEqual(nestedArrays(32, TOO_DEEP_VALUE));
    expect(span!.attributes["edge"]).toEqual(nestedArrays(31, "x"));
    expect(TOO_DEEP_VALUE).toBe("[nested deeper than 32 levels]");
  });

  it("fails a body nested past protobufjs's limit, or that overflows the stack", () => {
    // Built by hand: protobufjs's own encoder refuses objects this deep.
    const field = (id: number, bytes: Uint8Array) =>
      protobuf.Writer.create()
        .uint32((id << 3) | 2)
        .bytes(bytes)
        .finish();
    let value = encode({ stringValue: "x" }, anyValueType);
    for (let i = 0; i < 60; i++) value = field(5, field(1, value)); // AnyValue{arrayValue{values}}
    const attribute = Buffer.concat([field(1, Buffer.from("deep")), field(2, value)]);
    const span = Buffer.concat([encode(pbSpan(), spanType), field(9, attribute)]);
    const body = field(1, field(2, field(2, span))); // request → resourceSpans → scopeSpans → span
    expect(decodeProtobufRequest(body)).toEqual({
      ok: false,
      message: "the request body nests too deeply to decode",
    });
    const spy = vi.spyOn(T, "decode").mockImplementation(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    expect(decodeProtobufRequest(Uint8Array.from([1]))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/nests too deeply/),
    });
    spy.mockRestore();
  });

  it("replaces invalid UTF-8 with U+FFFD and keeps the span", () => {
    // A schema that declares some string fields as bytes can write any bytes into them.
    const json = schemaJson();
    const retype = (type: string, field: string) => {
      fieldsOf(json, `opentelemetry.proto.${type}`)[field]!.type = "bytes";
    };
    retype("trace.v1.Span", "name");
    retype("common.v1.AnyValue", "stringValue");
    retype("common.v1.KeyValue", "key");
    const raw = protobuf.Root.fromJSON(json).lookupType(T.fullName);
    const bad = Uint8Array.from([0x61, 0xff, 0x62, 0xc3]);
    const attributes = [
      { key: bad, value: { stringValue: Buffer.concat([bad, Buffer.alloc(80, 0x41)]) } },
    ];
    const [span] = okSpans(
      decodeProtobufRequest(encode(pbRequest([pbSpan({ name: bad, attributes })], []), raw)),
    );
    expect(span!.name).toBe("a\uFFFDb\uFFFD");
    expect(span!.attributes).toEqual({ "a\uFFFDb\uFFFD": `a\uFFFDb\uFFFD${"A".repeat(80)}` });
  });

  it("reads resource service.name only when it is a string, and tolerates no resource", () => {
    const withInt = okSpans(
      decodeProtobufRequest(encode(pbRequest([pbSpan()], [kv("service.name", { intValue: 3 })]))),
    );
    expect(withInt[0]!.resource).toEqual({ attributes: { "service.name": 3 }, serviceName: "" });
    const bare = encode({ resourceSpans: [{ scopeSpans: [{ spans: [pbSpan()] }] }] });
    const [span] = okSpans(decodeProtobufRequest(bare));
    expect([span!.resource, span!.scope]).toEqual([
      { attributes: {}, serviceName: "" },
      { name: "", version: "" },
    ]);
  });

  it("fails garbage and truncated bodies with what and where; accepts an empty body", () => {
    expect(decodeProtobufRequest(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toEqual({
      ok: false,
      message:
        "not a valid OTLP ExportTraceServiceRequest protobuf (4 bytes): index out of range: 4 + 1 > 4",
    });
    expect(decodeProtobufRequest(Buffer.from("hello world, this is not protobuf"))).toEqual({
      ok: false,
      message:
        "not a valid OTLP ExportTraceServiceRequest protobuf (33 bytes): invalid wire type 4 at offset 3",
    });
    const body = encode(pbRequest([pbSpan(), pbSpan()]));
    const truncated = decodeProtobufRequest(body.subarray(0, body.length - 10));
    expect(truncated).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^not a valid OTLP .*index out of range/),
    });
    expect(decodeProtobufRequest(new Uint8Array(0))).toEqual({ ok: true, spans: [], rejected: [] });
  });
});

describe("decodeJsonRequest", () => {
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
