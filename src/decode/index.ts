/**
 * The decode stage: OTLP trace export requests (protobuf or JSON) to DecodedSpans, spans to
 * `otel_traces` rows and `agent_outputs` rows, and OTLP responses and error statuses back.
 */

export { decodeProtobufRequest } from "./decode-protobuf-request.ts";
export { decodeJsonRequest } from "./decode-json-request.ts";
export {
  MAX_VALUE_DEPTH,
  TOO_DEEP_VALUE,
  type DecodeResult,
  type RejectedSpan,
} from "./decode-result.ts";
export {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeRetryInfo,
  encodeStatusJson,
  encodeStatusProtobuf,
  RETRY_INFO_TYPE_URL,
} from "./encode-response.ts";
export { nanosToDateTime64, toOtelTracesRow } from "./span-row.ts";
export { normaliseSpan, normaliseSpans } from "./normalise.ts";
export { inheritAgentNames } from "./inherit-agent.ts";
export { attrToString, attrsToStrings } from "./attr-string.ts";
export {
  SpanKind,
  StatusCode,
  type AttrMap,
  type AttrValue,
  type DecodedEvent,
  type DecodedLink,
  type DecodedResource,
  type DecodedScope,
  type DecodedSpan,
} from "./span.ts";
export type {
  AgentOutput,
  Convention,
  ConventionName,
  OperationName,
  OutputKind,
} from "./agent-output.ts";
