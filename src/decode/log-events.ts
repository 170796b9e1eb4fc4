/**
 * GenAI content sent as OTLP log records instead of on the span: the official instrumentations
 * (Python `opentelemetry-instrumentation-openai-v2`, JS `@opentelemetry/instrumentation-openai`)
 * emit one record per message (`gen_ai.system.message`, `gen_ai.user.message`,
 * `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice`), with the span's trace
 * and span id and the message as the body (`{content}`, `{message, finish_reason, index}`), and
 * newer ones one `gen_ai.client.inference.operation.details` record carrying what the span
 * attributes would (`gen_ai.input.messages`, `gen_ai.output.messages`, …).
 *
 * They are put back where the conventions read them: a message record becomes the span event
 * of the same name (its body's fields as the event's attributes), and an operation-details
 * record's attributes become span attributes the span does not have itself. So content from
 * logs fills a row exactly as span attributes or span events would.
 */

import { attrToJson } from "./attr-string.ts";
import type { StoredLogEvent } from "../store/tables/otel-logs.ts";
import type { AttrMap, AttrValue, DecodedEvent, DecodedSpan } from "./span.ts";

/** What a log record needs for this: which span, which event, and what it says. */
export interface SpanLogEvent {
  traceId: string;
  spanId: string;
  /** LogRecord.event_name, or the older `event.name` attribute. */
  eventName: string;
  timeUnixNano: bigint;
  body: AttrValue;
  attributes: AttrMap;
}

const MESSAGE_EVENTS = new Set([
  "gen_ai.system.message",
  "gen_ai.user.message",
  "gen_ai.assistant.message",
  "gen_ai.tool.message",
  "gen_ai.choice",
]);

const OPERATION_DETAILS = "gen_ai.client.inference.operation.details";

/** Whether a log record is GenAI content that belongs on its span. */
export function isGenAiLogEvent(event: Pick<SpanLogEvent, "eventName" | "spanId">): boolean {
  return (
    event.spanId !== "" &&
    (MESSAGE_EVENTS.has(event.eventName) || event.eventName === OPERATION_DETAILS)
  );
}

/** The event name of a log record: event_name, else the `event.name` attribute (older SDKs). */
export function eventNameOf(eventName: string, attributes: AttrMap): string {
  if (eventName !== "") return eventName;
  const attribute = attributes["event.name"];
  return typeof attribute === "string" ? attribute : "";
}

/**
 * A stored log record (the exporter's text columns) as a SpanLogEvent. Attribute values come
 * back as text, as span attributes read from otel_traces do; the convention readers accept
 * numbers as decimal text and containers as JSON text. A map body is JSON text (bodyFields).
 */
export function logEventFromRow(row: StoredLogEvent): SpanLogEvent {
  return {
    traceId: row.TraceId,
    spanId: row.SpanId,
    eventName: eventNameOf(row.EventName, row.LogAttributes),
    timeUnixNano: BigInt(row.TimestampNanos),
    body: row.Body,
    attributes: { ...row.LogAttributes },
  };
}

/**
 * The spans with their GenAI log events attached (new span objects where any was attached;
 * the others as they were). Events are added in time order after the span's own.
 */
export function attachLogEvents(
  spans: readonly DecodedSpan[],
  logs: readonly SpanLogEvent[],
): DecodedSpan[] {
  const bySpan = new Map<string, SpanLogEvent[]>();
  for (const log of logs) {
    if (!isGenAiLogEvent(log)) continue;
    const key = `${log.traceId}/${log.spanId}`;
    const list = bySpan.get(key) ?? [];
    list.push(log);
    bySpan.set(key, list);
  }
  if (bySpan.size === 0) return [...spans];
  return spans.map((span) => {
    const logsOfSpan = bySpan.get(`${span.traceId}/${span.spanId}`);
    if (logsOfSpan === undefined) return span;
    const sorted = [...logsOfSpan].sort((a, b) =>
      a.timeUnixNano < b.timeUnixNano ? -1 : a.timeUnixNano > b.timeUnixNano ? 1 : 0,
    );
    const events: DecodedEvent[] = [...span.events];
    const attributes: AttrMap = { ...span.attributes };
    // Message lists from several records (one per streamed output item) are joined in order.
    const lists = new Map<string, AttrValue[]>();
    for (const log of sorted) {
      if (log.eventName === OPERATION_DETAILS) {
        for (const [key, value] of Object.entries(log.attributes)) {
          if (key in span.attributes) continue;
          const list = MESSAGE_LISTS.has(key) ? listOf(value) : undefined;
          if (list !== undefined) lists.set(key, [...(lists.get(key) ?? []), ...list]);
          else if (!(key in attributes)) attributes[key] = value;
        }
        continue;
      }
      events.push({
        timeUnixNano: log.timeUnixNano,
        name: log.eventName,
        attributes: { ...log.attributes, ...bodyFields(log.body) },
      });
    }
    for (const [key, list] of lists) attributes[key] = attrToJson(list);
    return { ...span, attributes, events };
  });
}

/** The attributes of an operation-details record that hold message lists. */
const MESSAGE_LISTS = new Set([
  "gen_ai.input.messages",
  "gen_ai.output.messages",
  "gen_ai.system_instructions",
]);

/** A message list given as an array or as its JSON text; undefined for anything else. */
function listOf(value: AttrValue): AttrValue[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value !== "string" || !value.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? (parsed as AttrValue[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A message body's fields: a map as it is, anything else as its `content`. */
function bodyFields(body: AttrValue): AttrMap {
  if (
    body !== null &&
    typeof body === "object" &&
    !Array.isArray(body) &&
    !(body instanceof Uint8Array)
  ) {
    return body;
  }
  if (typeof body === "string") {
    // The exporter's table keeps a map body as JSON text.
    if (body.startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
          return parsed as AttrMap;
        }
      } catch {
        // Not JSON: plain content.
      }
    }
    return body === "" ? {} : { content: body };
  }
  return body === null ? {} : { content: body };
}
