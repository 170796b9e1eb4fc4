/**
 * The OTLP trace messages in protobufjs's JSON descriptor form, field by field after
 * opentelemetry-proto v1.5.0 (`collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`,
 * `common/v1/common.proto`, `resource/v1/resource.proto`), plus the googleapis messages a gRPC
 * error carries (`google.rpc.Status`, `google.rpc.RetryInfo`, `google.protobuf.Any`,
 * `google.protobuf.Duration`). Field names are the lowerCamelCase JSON names, so decoded
 * messages have the properties described by the `Pb*` interfaces below. The logs and metrics
 * messages are defined into the same root by `otlp-schema-logs.ts` and `otlp-schema-metrics.ts`.
 */

import protobuf from "protobufjs";

/** `name: [field number, type]`, or `[number, type, "repeated"]`. */
export type Fields = Record<string, [number, string] | [number, string, "repeated"]>;

/** A proto3 message. Strings are not UTF-8 verified: invalid bytes decode to U+FFFD. */
export function message(fields: Fields, extra: object = {}): object {
  const json: Record<string, object> = {};
  for (const [name, [id, type, rule]] of Object.entries(fields)) {
    json[name] = rule === undefined ? { id, type } : { id, type, rule };
  }
  return { options: { features: { utf8_validation: "NONE" } }, fields: json, ...extra };
}

/** The full name of `KeyValue`, for attribute fields of other packages. */
export const KEY_VALUE = "opentelemetry.proto.common.v1.KeyValue";

/** The protobufjs root holding every message defined below. */
export const otlpRoot: protobuf.Root = new protobuf.Root();

// opentelemetry/proto/collector/trace/v1/trace_service.proto
otlpRoot.define("opentelemetry.proto.collector.trace.v1", {
  TraceService: {
    methods: {
      Export: {
        requestType: "ExportTraceServiceRequest",
        responseType: "ExportTraceServiceResponse",
      },
    },
  },
  ExportTraceServiceRequest: message({
    resourceSpans: [1, "opentelemetry.proto.trace.v1.ResourceSpans", "repeated"],
  }),
  ExportTraceServiceResponse: message({ partialSuccess: [1, "ExportTracePartialSuccess"] }),
  ExportTracePartialSuccess: message({ rejectedSpans: [1, "int64"], errorMessage: [2, "string"] }),
});

// opentelemetry/proto/trace/v1/trace.proto
otlpRoot.define("opentelemetry.proto.trace.v1", {
  ResourceSpans: message(
    {
      resource: [1, "opentelemetry.proto.resource.v1.Resource"],
      scopeSpans: [2, "ScopeSpans", "repeated"],
      schemaUrl: [3, "string"],
    },
    { reserved: [[1000, 1000]] },
  ),
  ScopeSpans: message({
    scope: [1, "opentelemetry.proto.common.v1.InstrumentationScope"],
    spans: [2, "Span", "repeated"],
    schemaUrl: [3, "string"],
  }),
  Span: message(
    {
      traceId: [1, "bytes"],
      spanId: [2, "bytes"],
      traceState: [3, "string"],
      parentSpanId: [4, "bytes"],
      flags: [16, "fixed32"],
      name: [5, "string"],
      kind: [6, "SpanKind"],
      startTimeUnixNano: [7, "fixed64"],
      endTimeUnixNano: [8, "fixed64"],
      attributes: [9, KEY_VALUE, "repeated"],
      droppedAttributesCount: [10, "uint32"],
      events: [11, "Event", "repeated"],
      droppedEventsCount: [12, "uint32"],
      links: [13, "Link", "repeated"],
      droppedLinksCount: [14, "uint32"],
      status: [15, "Status"],
    },
    {
      nested: {
        SpanKind: {
          values: {
            SPAN_KIND_UNSPECIFIED: 0,
            SPAN_KIND_INTERNAL: 1,
            SPAN_KIND_SERVER: 2,
            SPAN_KIND_CLIENT: 3,
            SPAN_KIND_PRODUCER: 4,
            SPAN_KIND_CONSUMER: 5,
          },
        },
        Event: message({
          timeUnixNano: [1, "fixed64"],
          name: [2, "string"],
          attributes: [3, KEY_VALUE, "repeated"],
          droppedAttributesCount: [4, "uint32"],
        }),
        Link: message({
          traceId: [1, "bytes"],
          spanId: [2, "bytes"],
          traceState: [3, "string"],
          attributes: [4, KEY_VALUE, "repeated"],
          droppedAttributesCount: [5, "uint32"],
          flags: [6, "fixed32"],
        }),
      },
    },
  ),
  Status: message(
    { message: [2, "string"], code: [3, "StatusCode"] },
    {
      reserved: [[1, 1]],
      nested: {
        StatusCode: { values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 } },
      },
    },
  ),
  SpanFlags: {
    values: {
      SPAN_FLAGS_DO_NOT_USE: 0,
      SPAN_FLAGS_TRACE_FLAGS_MASK: 0xff,
      SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: 0x100,
      SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK: 0x200,
    },
  },
});

// opentelemetry/proto/common/v1/common.proto
otlpRoot.define("opentelemetry.proto.common.v1", {
  AnyValue: message(
    {
      stringValue: [1, "string"],
      boolValue: [2, "bool"],
      intValue: [3, "int64"],
      doubleValue: [4, "double"],
      arrayValue: [5, "ArrayValue"],
      kvlistValue: [6, "KeyValueList"],
      bytesValue: [7, "bytes"],
    },
    {
      oneofs: {
        value: {
          oneof: [
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
          ],
        },
      },
    },
  ),
  ArrayValue: message({ values: [1, "AnyValue", "repeated"] }),
  KeyValueList: message({ values: [1, "KeyValue", "repeated"] }),
  KeyValue: message({ key: [1, "string"], value: [2, "AnyValue"] }),
  InstrumentationScope: message({
    name: [1, "string"],
    version: [2, "string"],
    attributes: [3, "KeyValue", "repeated"],
    droppedAttributesCount: [4, "uint32"],
  }),
});

// opentelemetry/proto/resource/v1/resource.proto (v1.5.0 has no entity_refs; later versions'
// field 3 is skipped as unknown)
otlpRoot.define("opentelemetry.proto.resource.v1", {
  Resource: message({
    attributes: [1, KEY_VALUE, "repeated"],
    droppedAttributesCount: [2, "uint32"],
  }),
});

// googleapis google/rpc/status.proto, google/rpc/error_details.proto and the well-known types
otlpRoot.define("google.rpc", {
  Status: message({
    code: [1, "int32"],
    message: [2, "string"],
    details: [3, "google.protobuf.Any", "repeated"],
  }),
  RetryInfo: message({ retryDelay: [1, "google.protobuf.Duration"] }),
});
otlpRoot.define("google.protobuf", {
  Any: message({ typeUrl: [1, "string"], value: [2, "bytes"] }),
  Duration: message({ seconds: [1, "int64"], nanos: [2, "int32"] }),
});
otlpRoot.resolveAll();

const traceService = "opentelemetry.proto.collector.trace.v1";

/** Message types by role, for decoding requests and encoding replies (gRPC and HTTP). */
export const otlpTypes = {
  exportTraceServiceRequest: otlpRoot.lookupType(`${traceService}.ExportTraceServiceRequest`),
  exportTraceServiceResponse: otlpRoot.lookupType(`${traceService}.ExportTraceServiceResponse`),
  rpcStatus: otlpRoot.lookupType("google.rpc.Status"),
  retryInfo: otlpRoot.lookupType("google.rpc.RetryInfo"),
  any: otlpRoot.lookupType("google.protobuf.Any"),
} as const;

/** A 64-bit integer as protobufjs decodes it (a long.js Long, or a number without long.js). */
export type PbLong = number | { low: number; high: number; unsigned: boolean };

/**
 * Decoded `AnyValue`. The member that was on the wire is an own property; the others read as
 * prototype defaults, so test with `Object.hasOwn`-style checks, not by value.
 */
export interface PbAnyValue {
  stringValue: string;
  boolValue: boolean;
  intValue: PbLong;
  doubleValue: number;
  arrayValue: { values: PbAnyValue[] } | null;
  kvlistValue: { values: PbKeyValue[] } | null;
  bytesValue: Uint8Array;
}

export interface PbKeyValue {
  key: string;
  value: PbAnyValue | null;
}

export interface PbEvent {
  timeUnixNano: PbLong;
  name: string;
  attributes: PbKeyValue[];
}

export interface PbLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  attributes: PbKeyValue[];
}

export interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState: string;
  parentSpanId: Uint8Array;
  name: string;
  kind: number;
  startTimeUnixNano: PbLong;
  endTimeUnixNano: PbLong;
  attributes: PbKeyValue[];
  events: PbEvent[];
  links: PbLink[];
  status: { message: string; code: number } | null;
}

export interface PbScopeSpans {
  scope: { name: string; version: string } | null;
  spans: PbSpan[];
}

export interface PbResourceSpans {
  resource: { attributes: PbKeyValue[] } | null;
  scopeSpans: PbScopeSpans[];
}

/** Decoded `ExportTraceServiceRequest`; absent repeated fields are empty arrays. */
export interface PbExportTraceServiceRequest {
  resourceSpans: PbResourceSpans[];
}
