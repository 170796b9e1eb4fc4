import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import protobuf from "protobufjs";
import { describe, expect, it, vi } from "vitest";
import {
  LINK_SPAN,
  LINK_TRACE,
  nest,
  nestedArrays,
  okSpans,
  PARENT,
  sdkSpans,
  TRACE,
} from "../../test/helpers/decode-fixtures.ts";
import { decodeProtobufRequest, MAX_MESSAGE_DEPTH } from "./decode-protobuf-request.ts";
import { TOO_DEEP_VALUE } from "./decode-result.ts";
import { otlpRoot, otlpTypes } from "./otlp-schema.ts";
import type { AttrValue } from "./span.ts";

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

/** A length-delimited field written by hand: protobufjs's own encoder refuses deep objects. */
function field(id: number, bytes: Uint8Array | string): Uint8Array {
  const writer = protobuf.Writer.create().uint32((id << 3) | 2);
  return (typeof bytes === "string" ? writer.string(bytes) : writer.bytes(bytes)).finish();
}

/** A request whose one span has attribute "deep": a string wrapped `levels` times by `wrap`. */
function deepAttribute(levels: number, wrap: (anyValue: Uint8Array) => Uint8Array): Uint8Array {
  let value = encode({ stringValue: "x" }, anyValueType);
  for (let i = 0; i < levels; i++) value = wrap(value);
  const attribute = Buffer.concat([field(1, "deep"), field(2, value)]);
  const span = Buffer.concat([encode(pbSpan(), spanType), field(9, attribute)]);
  return field(1, field(2, field(2, span))); // request → resourceSpans → scopeSpans → span
}

describe("decodeProtobufRequest", () => {
  it("decodes ProtobufTraceSerializer output field by field", () => {
    const { spans, expected } = sdkSpans();
    const result = decodeProtobufRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(result).toEqual({ ok: true, spans: expected, rejected: [] });
    const [a, b] = okSpans(result);
    expect(a?.resource).toBe(b?.resource); // one shared object per resource
  });

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

  it("keeps a kvlist nested past the cap, down to MAX_MESSAGE_DEPTH messages", () => {
    // 3 messages a kvlist level: past protobufjs's default limit of 100 from ~31 levels on.
    const kvlist = (levels: number) =>
      deepAttribute(levels, (value) =>
        field(6, field(1, Buffer.concat([field(1, "k"), field(2, value)]))),
      );
    const capped = (levels: number): AttrValue =>
      levels === 0 ? TOO_DEEP_VALUE : { k: capped(levels - 1) };
    for (const levels of [40, 330]) {
      const [span] = okSpans(decodeProtobufRequest(kvlist(levels)));
      expect(span!.attributes["deep"]).toEqual(capped(32));
    }
    expect(decodeProtobufRequest(kvlist(340))).toEqual({
      ok: false,
      message: "the request body nests too deeply to decode",
    });
  });

  it("fails a body nested past MAX_MESSAGE_DEPTH, or that overflows the stack", () => {
    const array = (levels: number) => deepAttribute(levels, (value) => field(5, field(1, value)));
    expect(MAX_MESSAGE_DEPTH).toBe(1000);
    const [span] = okSpans(decodeProtobufRequest(array(495))); // 2 messages a level, + envelope
    expect(span!.attributes["deep"]).toEqual(nestedArrays(32, TOO_DEEP_VALUE));
    expect(decodeProtobufRequest(array(500))).toEqual({
      ok: false,
      message: "the request body nests too deeply to decode",
    });
    expect(protobuf.Reader.recursionLimit).toBe(100); // restored for everyone else
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
