import { describe, expect, it } from "vitest";
import { makeSpan, START_NANOS } from "../../test/helpers/make-span.ts";
import { attachLogEvents, eventNameOf, logEventFromRow, type SpanLogEvent } from "./log-events.ts";
import { normaliseSpans } from "./normalise.ts";

// A chat span as @opentelemetry/instrumentation-openai leaves it: no content on the span.
const chat = makeSpan({
  name: "chat gpt-4o",
  attributes: {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
  },
});
const log = (eventName: string, body: SpanLogEvent["body"], at = 1n): SpanLogEvent => ({
  traceId: chat.traceId,
  spanId: chat.spanId,
  eventName,
  timeUnixNano: START_NANOS + at,
  body,
  attributes: { "gen_ai.system": "openai" },
});

describe("GenAI content from log records", () => {
  it("fills input, output and finish reason as the span events of the same name would", () => {
    const spans = attachLogEvents(
      [chat],
      [
        log(
          "gen_ai.choice",
          { index: 0, finish_reason: "length", message: { content: "It is 4" } },
          3n,
        ),
        log("gen_ai.system.message", { content: "Be brief." }, 1n),
        log("gen_ai.user.message", { content: "What is 2+2?" }, 2n),
      ],
    );
    const [row] = normaliseSpans(spans).rows;
    expect(row).toMatchObject({
      InputText: expect.stringContaining("What is 2+2?"),
      OutputText: "It is 4",
      FinishReason: "length",
    });
    expect(row?.InputText.indexOf("Be brief.")).toBeLessThan(
      row?.InputText.indexOf("What is 2+2?") ?? -1,
    );
    // The span itself is not changed: it is shared with its otel_traces row.
    expect(chat.events).toEqual([]);
  });

  it("reads a tool call chosen by the model, and a body stored as JSON text", () => {
    const choice = JSON.stringify({
      index: 0,
      finish_reason: "tool_calls",
      message: {
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "lookup_order", arguments: '{"id":7}' },
          },
        ],
      },
    });
    const [row] = normaliseSpans(attachLogEvents([chat], [log("gen_ai.choice", choice)])).rows;
    expect(row).toMatchObject({
      ToolName: "lookup_order",
      ToolCallId: "call_1",
      FinishReason: "tool_calls",
    });
  });

  it("takes the attributes of gen_ai.client.inference.operation.details the span lacks", () => {
    const details: SpanLogEvent = {
      ...log("gen_ai.client.inference.operation.details", null),
      attributes: {
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "hi" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          { role: "assistant", parts: [{ type: "text", content: "hello" }], finish_reason: "stop" },
        ]),
        "gen_ai.request.model": "not-this-one",
      },
    };
    const [row] = normaliseSpans(attachLogEvents([chat], [details])).rows;
    expect(row).toMatchObject({
      InputText: expect.stringContaining("hi"),
      OutputText: "hello",
      RequestModel: "gpt-4o",
    });
  });

  it("joins the message lists of several operation-details records in time order", () => {
    const details = (at: bigint, key: string, text: string): SpanLogEvent => ({
      ...log("gen_ai.client.inference.operation.details", null, at),
      attributes: {
        [key]: JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: text }] }]),
      },
    });
    // A streamed Responses API call: the input first, then one record per output item.
    const [row] = normaliseSpans(
      attachLogEvents(
        [chat],
        [
          details(3n, "gen_ai.output.messages", "second."),
          details(2n, "gen_ai.output.messages", "First,"),
          {
            ...details(1n, "gen_ai.input.messages", ""),
            attributes: {
              "gen_ai.input.messages": JSON.stringify([
                { role: "user", parts: [{ type: "text", content: "Two parts, please" }] },
              ]),
            },
          },
        ],
      ),
    ).rows;
    expect(row?.InputText).toBe("user: Two parts, please");
    expect(row?.OutputText).toMatch(/^First,\s*second\.$/);
  });

  it("reads a stored otel_logs row back: event name, time, JSON body, text attributes", () => {
    const event = logEventFromRow({
      TraceId: chat.traceId,
      SpanId: chat.spanId,
      EventName: "",
      TimestampNanos: "1700000000123456789",
      Body: '{"content":"What is 2+2?"}',
      LogAttributes: { "event.name": "gen_ai.user.message", "gen_ai.system": "openai" },
    });
    expect(event).toMatchObject({
      eventName: "gen_ai.user.message",
      timeUnixNano: 1700000000123456789n,
    });
    const [row] = normaliseSpans(attachLogEvents([chat], [event])).rows;
    expect(row?.InputText).toContain("What is 2+2?");
  });

  it("ignores records of other spans and records that are not GenAI content", () => {
    const other = {
      ...log("gen_ai.user.message", { content: "not mine" }),
      spanId: "ffffffffffffffff",
    };
    const plain = log("", "GET /health 200");
    const spans = attachLogEvents([chat], [other, plain]);
    expect(spans[0]).toBe(chat);
  });

  it("names an event by event_name, else by the older event.name attribute", () => {
    expect(eventNameOf("gen_ai.choice", {})).toBe("gen_ai.choice");
    expect(eventNameOf("", { "event.name": "gen_ai.user.message" })).toBe("gen_ai.user.message");
    expect(eventNameOf("", {})).toBe("");
  });
});
