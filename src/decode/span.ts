/**
 * The decoded form of one OTLP span, independent of the wire encoding (protobuf or JSON).
 * Field meanings follow opentelemetry-proto v1.5.0 `trace/v1/trace.proto`.
 */

/**
 * An OTLP AnyValue as a plain value. int64 becomes a number when it is a safe integer and a
 * bigint otherwise (no precision is lost); bytes become a Uint8Array; an empty AnyValue is null.
 */
export type AttrValue =
  string | number | bigint | boolean | Uint8Array | null | AttrValue[] | AttrMap;

/** Attributes (or a kvlist value) by key; a repeated key keeps its last value. */
export interface AttrMap {
  [key: string]: AttrValue;
}

/** OTLP SpanKind numbers (trace.proto `Span.SpanKind`). */
export const SpanKind = {
  Unspecified: 0,
  Internal: 1,
  Server: 2,
  Client: 3,
  Producer: 4,
  Consumer: 5,
} as const;

/** OTLP Status.StatusCode numbers. */
export const StatusCode = { Unset: 0, Ok: 1, Error: 2 } as const;

export interface DecodedEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: AttrMap;
}

export interface DecodedLink {
  /** Lowercase hex, 32 characters. */
  traceId: string;
  /** Lowercase hex, 16 characters. */
  spanId: string;
  traceState: string;
  attributes: AttrMap;
}

export interface DecodedResource {
  attributes: AttrMap;
  /** `service.name` as a string, or "" when absent. */
  serviceName: string;
}

export interface DecodedScope {
  name: string;
  version: string;
}

/** One span with its resource and scope attached (shared objects, do not mutate). */
export interface DecodedSpan {
  /** Lowercase hex, 32 characters, never all zero. */
  traceId: string;
  /** Lowercase hex, 16 characters, never all zero. */
  spanId: string;
  /** Lowercase hex, 16 characters, or "" for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** A SpanKind number; unknown numbers are kept as they came. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: AttrMap;
  events: DecodedEvent[];
  links: DecodedLink[];
  /** A StatusCode number. */
  statusCode: number;
  statusMessage: string;
  resource: DecodedResource;
  scope: DecodedScope;
}
