import { describe, expect, it } from "vitest";
import type { DecodedResource, DecodedSpan } from "./span.ts";
import { sdkSpans } from "../../test/helpers/decode-fixtures.ts";
import { nanosToDateTime64, encodeOtelTracesRows, toOtelTracesRow } from "./span-row.ts";

const resource: DecodedResource = {
  attributes: { "service.name": "checkout", "host.cpus": 8 },
  serviceName: "checkout",
};

function makeSpan(overrides: Partial<DecodedSpan> = {}): DecodedSpan {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    parentSpanId: "00f067aa0ba902b7",
    traceState: "vendor=abc",
    name: "chat gpt-4o",
    kind: 3,
    startTimeUnixNano: 1700000000123456789n,
    endTimeUnixNano: 1700000001987654321n,
    attributes: { "gen_ai.request.model": "gpt-4o", tokens: 12, ok: true, tags: ["a", 1] },
    events: [],
    links: [],
    statusCode: 2,
    statusMessage: "rate limited",
    resource,
    scope: { name: "openai", version: "1.0.0" },
    ...overrides,
  };
}

describe("toOtelTracesRow", () => {
  it("writes the clickhouseexporter's values", () => {
    const row = toOtelTracesRow(
      makeSpan({
        events: [
          { timeUnixNano: 1700000000500000000n, name: "retry", attributes: { attempt: 2 } },
          { timeUnixNano: 1700000001000000001n, name: "done", attributes: {} },
        ],
        links: [
          {
            traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
            spanId: "1111111111111111",
            traceState: "k=v",
            attributes: { big: 9007199254740993n, raw: Uint8Array.from([1, 2]) },
          },
        ],
      }),
    );
    expect(row).toEqual({
      Timestamp: "1700000000.123456789",
      TraceId: "0af7651916cd43dd8448eb211c80319c",
      SpanId: "b7ad6b7169203331",
      ParentSpanId: "00f067aa0ba902b7",
      TraceState: "vendor=abc",
      SpanName: "chat gpt-4o",
      SpanKind: "Client",
      ServiceName: "checkout",
      ResourceAttributes: { "service.name": "checkout", "host.cpus": "8" },
      ScopeName: "openai",
      ScopeVersion: "1.0.0",
      SpanAttributes: {
        "gen_ai.request.model": "gpt-4o",
        tokens: "12",
        ok: "true",
        tags: '["a",1]',
      },
      Duration: "1864197532",
      StatusCode: "Error",
      StatusMessage: "rate limited",
      "Events.Timestamp": ["1700000000.500000000", "1700000001.000000001"],
      "Events.Name": ["retry", "done"],
      "Events.Attributes": [{ attempt: "2" }, {}],
      "Links.TraceId": ["4bf92f3577b34da6a3ce929d0e0e4736"],
      "Links.SpanId": ["1111111111111111"],
      "Links.TraceState": ["k=v"],
      "Links.Attributes": [{ big: "9007199254740993", raw: "AQI=" }],
    });
  });

  it("names span kinds and status codes as pdata's String() does, '' when unknown", () => {
    const kinds = [0, 1, 2, 3, 4, 5, 6, -1].map((kind) => toOtelTracesRow(makeSpan({ kind })));
    expect(kinds.map((r) => r.SpanKind)).toEqual([
      "Unspecified",
      "Internal",
      "Server",
      "Client",
      "Producer",
      "Consumer",
      "",
      "",
    ]);
    const codes = [0, 1, 2, 3].map((statusCode) => toOtelTracesRow(makeSpan({ statusCode })));
    expect(codes.map((r) => r.StatusCode)).toEqual(["Unset", "Ok", "Error", ""]);
  });

  it("gives Duration 0 when the span ends before it starts, and empty nested arrays", () => {
    const row = toOtelTracesRow(makeSpan({ endTimeUnixNano: 1n }));
    expect(row.Duration).toBe("0");
    expect([row["Events.Name"], row["Links.TraceId"], row["Links.Attributes"]]).toEqual([
      [],
      [],
      [],
    ]);
  });

  it("shares one ResourceAttributes object across the spans of one resource", () => {
    const a = toOtelTracesRow(makeSpan());
    const b = toOtelTracesRow(makeSpan({ name: "other" }));
    expect(a.ResourceAttributes).toBe(b.ResourceAttributes);
    const otherResource = { attributes: {}, serviceName: "" };
    const c = toOtelTracesRow(makeSpan({ resource: otherResource }));
    expect([c.ResourceAttributes, c.ServiceName]).toEqual([{}, ""]);
  });
});

describe("encodeOtelTracesRows", () => {
  const lines = (spans: DecodedSpan[]) =>
    Buffer.concat(encodeOtelTracesRows(spans).chunks as Buffer[])
      .toString("utf8")
      .split("\n");

  it("writes each span as the JSON text of its row, key for key, one line each", () => {
    const spans = [
      ...sdkSpans().expected,
      makeSpan({
        name: 'say "hi"\n\t\u0000 — naïve 🙂 \ud800',
        statusMessage: "line\r\nbreak",
        traceState: "",
        attributes: { 'quote"key': 'va"l', emoji: "🙂", nested: { b: [1, { c: null }], a: 2n } },
        events: [
          { timeUnixNano: 1700000000500000000n, name: "retry", attributes: { attempt: 2 } },
          { timeUnixNano: 0n, name: "", attributes: {} },
        ],
        links: [
          { traceId: "", spanId: "", traceState: "", attributes: { raw: Uint8Array.from([255]) } },
        ],
      }),
      makeSpan({ kind: 9, statusCode: 7, endTimeUnixNano: 1n }),
    ];
    expect(lines(spans)).toEqual([...spans.map((s) => JSON.stringify(toOtelTracesRow(s))), ""]);
  });

  it("stores an attribute named __proto__, which the decoders keep as data", () => {
    const attributes = {};
    Object.defineProperty(attributes, "__proto__", { value: "data", enumerable: true });
    const [line] = lines([makeSpan({ attributes })]);
    expect(line).toContain('"SpanAttributes":{"__proto__":"data"}');
  });

  it("counts the rows", () => {
    expect(encodeOtelTracesRows([makeSpan(), makeSpan()]).rows).toBe(2);
    expect(encodeOtelTracesRows([])).toEqual({ chunks: [], rows: 0 });
  });
});

describe("nanosToDateTime64", () => {
  it("writes <10-digit seconds>.<9 digits>", () => {
    expect(nanosToDateTime64(0n)).toBe("0000000000.000000000");
    expect(nanosToDateTime64(5n)).toBe("0000000000.000000005");
    expect(nanosToDateTime64(999999999n)).toBe("0000000000.999999999");
    expect(nanosToDateTime64(99999n * 10n ** 9n)).toBe("0000099999.000000000");
    expect(nanosToDateTime64(1700000000123456789n)).toBe("1700000000.123456789");
    expect(nanosToDateTime64(18446744073709551615n)).toBe("18446744073.709551615");
  });
});
