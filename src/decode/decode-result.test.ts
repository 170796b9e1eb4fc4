import { describe, expect, it } from "vitest";
import {
  idsProblem,
  linkId,
  rejection,
  setAttr,
  toResource,
  ZERO_SPAN_ID,
  ZERO_TRACE_ID,
} from "./decode-result.ts";
import type { AttrMap } from "./span.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";

describe("idsProblem", () => {
  it.each([
    [TRACE, SPAN, "", ""],
    [TRACE, SPAN, SPAN, ""],
    [TRACE, SPAN, ZERO_SPAN_ID, ""], // an all-zero parent means a root span
    [null, SPAN, "", "traceId is not a hex string"],
    ["", SPAN, "", "traceId is 0 bytes, expected 16"],
    [TRACE.slice(2), SPAN, "", "traceId is 15 bytes, expected 16"],
    [ZERO_TRACE_ID, SPAN, "", "traceId is all zero"],
    [TRACE, null, "", "spanId is not a hex string"],
    [TRACE, `${SPAN}00`, "", "spanId is 9 bytes, expected 8"],
    [TRACE, ZERO_SPAN_ID, "", "spanId is all zero"],
    [TRACE, SPAN, null, "parentSpanId is not a hex string"],
    [TRACE, SPAN, "0102", "parentSpanId is 2 bytes, expected 8 or none"],
  ])("trace %j, span %j, parent %j → %j", (traceId, spanId, parent, problem) => {
    expect(idsProblem(traceId, spanId, parent)).toBe(problem);
  });
});

describe("linkId", () => {
  it("keeps a valid id and writes empty, zero, short or non-hex ids as empty", () => {
    expect(linkId(SPAN, ZERO_SPAN_ID)).toBe(SPAN);
    expect(linkId("", ZERO_SPAN_ID)).toBe("");
    expect(linkId(ZERO_SPAN_ID, ZERO_SPAN_ID)).toBe("");
    expect(linkId("0102", ZERO_SPAN_ID)).toBe("");
    expect(linkId(null, ZERO_TRACE_ID)).toBe("");
  });
});

describe("rejection", () => {
  it("names the span's place, its service and its span id only when that is valid", () => {
    const resource = toResource({ "service.name": "svc" });
    expect(rejection(1, 2, 3, resource, SPAN, "traceId is all zero")).toEqual({
      path: "resourceSpans[1].scopeSpans[2].spans[3]",
      serviceName: "svc",
      spanId: SPAN,
      reason: "traceId is all zero",
    });
    for (const bad of [null, "", "0102", ZERO_SPAN_ID]) {
      expect(rejection(0, 0, 0, resource, bad, "r").spanId).toBe("");
    }
  });
});

describe("toResource", () => {
  it("reads service.name only when it is a string", () => {
    expect(toResource({ "service.name": "svc", x: 1 })).toEqual({
      attributes: { "service.name": "svc", x: 1 },
      serviceName: "svc",
    });
    expect(toResource({ "service.name": 3 }).serviceName).toBe("");
    expect(toResource({}).serviceName).toBe("");
  });
});

describe("setAttr", () => {
  it("lets the last duplicate win and stores __proto__ as data", () => {
    const map: AttrMap = {};
    setAttr(map, "k", "first");
    setAttr(map, "k", "last");
    setAttr(map, "__proto__", "data");
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(["k", "__proto__"]);
    expect(map["k"]).toBe("last");
    expect(Object.getOwnPropertyDescriptor(map, "__proto__")?.value).toBe("data");
  });
});
