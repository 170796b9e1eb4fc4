import { describe, expect, it } from "vitest";
import { makeEvent, makeSpan } from "../../test/helpers/make-span.ts";
import { normaliseSpan, normaliseSpans, outputJsonText } from "./normalise.ts";
import { SpanKind, StatusCode } from "./span.ts";
import type { AttrMap, DecodedSpan } from "./span.ts";

const chat = {
  "gen_ai.operation.name": "chat",
  "gen_ai.provider.name": "openai",
  "gen_ai.request.model": "gpt-4",
  "gen_ai.response.model": "gpt-4-0613",
  "gen_ai.usage.input_tokens": 52,
  "gen_ai.usage.output_tokens": 47,
  "gen_ai.response.finish_reasons": ["stop"],
  "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"Refund status?"}]}]',
  "gen_ai.output.messages":
    '[{"role":"assistant","parts":[{"type":"text","content":"Refunded."}],"finish_reason":"stop"}]',
};

describe("normaliseSpan", () => {
  it("builds the whole agent_outputs row of a GenAI chat span", () => {
    const span = makeSpan({ name: "chat gpt-4", kind: 3, attributes: chat });
    expect(normaliseSpan(span)).toEqual({
      Timestamp: "1700000000.123456789",
      TraceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      SpanId: "00f067aa0ba902b7",
      ParentSpanId: "53995c3f42cd8ad8",
      ServiceName: "support-bot",
      ServiceVersion: "1.4.2",
      SpanName: "chat gpt-4",
      Convention: "genai",
      Kind: "llm",
      Operation: "chat",
      AgentName: "",
      AgentId: "",
      ConversationId: "",
      Provider: "openai",
      RequestModel: "gpt-4",
      ResponseModel: "gpt-4-0613",
      Model: "gpt-4-0613",
      InputText: "user: Refund status?",
      OutputText: "Refunded.",
      OutputJson: "",
      OutputIsJson: false,
      OutputType: "",
      FinishReason: "stop",
      ToolName: "",
      ToolCallId: "",
      ToolArguments: "",
      ToolResult: "",
      InputTokens: 52,
      OutputTokens: 47,
      DurationNs: "1500000000",
      StatusCode: "Unset",
      StatusMessage: "",
      ErrorType: "",
      SpanAttributes: {
        ...chat,
        "gen_ai.usage.input_tokens": "52",
        "gen_ai.usage.output_tokens": "47",
        "gen_ai.response.finish_reasons": '["stop"]',
      },
      ResourceAttributes: { "service.name": "support-bot", "service.version": "1.4.2" },
    });
  });

  it("takes the request model when the response model is unknown", () => {
    const { "gen_ai.response.model": _dropped, ...attributes } = chat;
    expect(normaliseSpan(makeSpan({ attributes }))?.Model).toBe("gpt-4");
  });

  it("returns null for spans no convention reads", () => {
    const http = makeSpan({
      name: "GET /orders/{id}",
      kind: 2,
      attributes: { "http.request.method": "GET", "http.route": "/orders/{id}" },
    });
    expect(normaliseSpan(http)).toBeNull();
  });

  it("maps status codes and keeps the status message", () => {
    const ok = makeSpan({ attributes: chat, statusCode: StatusCode.Ok });
    const unknown = makeSpan({ attributes: chat, statusCode: 7 });
    const failed = makeSpan({
      attributes: chat,
      statusCode: StatusCode.Error,
      statusMessage: "429 Too Many Requests",
    });
    expect(normaliseSpan(ok)?.StatusCode).toBe("Ok");
    expect(normaliseSpan(unknown)?.StatusCode).toBe("Unset");
    expect(normaliseSpan(failed)).toMatchObject({
      StatusCode: "Error",
      StatusMessage: "429 Too Many Requests",
    });
  });

  it("takes the error type from error.type, else the exception event, else _OTHER on Error", () => {
    const typed = makeSpan({
      attributes: { ...chat, "error.type": "rate_limit_exceeded" },
      statusCode: StatusCode.Error,
    });
    const thrown = makeSpan({
      attributes: chat,
      statusCode: StatusCode.Error,
      events: [makeEvent("exception", { "exception.type": "TimeoutError" })],
    });
    const bare = makeSpan({ attributes: chat, statusCode: StatusCode.Error });
    expect(normaliseSpan(typed)?.ErrorType).toBe("rate_limit_exceeded");
    expect(normaliseSpan(thrown)?.ErrorType).toBe("TimeoutError");
    expect(normaliseSpan(bare)?.ErrorType).toBe("_OTHER");
    expect(normaliseSpan(makeSpan({ attributes: chat }))?.ErrorType).toBe("");
  });

  it("never writes a negative duration", () => {
    const span = makeSpan({
      attributes: chat,
      startTimeUnixNano: 2_000_000_000n,
      endTimeUnixNano: 1_000_000_000n,
    });
    expect(normaliseSpan(span)?.DurationNs).toBe("0");
  });

  it("writes JSON output to OutputJson", () => {
    const span = makeSpan({
      attributes: {
        ...chat,
        "gen_ai.output.type": "json",
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [{ type: "text", content: '```json\n{"refund": true}\n```' }],
            finish_reason: "stop",
          },
        ]),
      },
    });
    expect(normaliseSpan(span)).toMatchObject({
      OutputText: '```json\n{"refund": true}\n```',
      OutputJson: '{"refund": true}',
      OutputIsJson: true,
      OutputType: "json",
    });
  });
});

describe("evaluation results", () => {
  const evaluation = (attributes: AttrMap) => makeEvent("gen_ai.evaluation.result", attributes);

  it("stores gen_ai.evaluation.result events of the span as plumbline.evaluation.* attributes", () => {
    const span = makeSpan({
      attributes: chat,
      events: [
        evaluation({
          "gen_ai.evaluation.name": "Relevance",
          "gen_ai.evaluation.score.value": 4,
          "gen_ai.evaluation.score.label": "relevant",
          "gen_ai.evaluation.explanation": "Answers the question asked.",
          "gen_ai.response.id": "chatcmpl-1",
        }),
        evaluation({
          "gen_ai.evaluation.name": "Groundedness",
          "gen_ai.evaluation.score.value": 0.25,
          "gen_ai.evaluation.score.label": "fail",
        }),
      ],
    });
    const attributes = normaliseSpan(span)?.SpanAttributes;
    expect(attributes).toMatchObject({
      "plumbline.evaluation.Relevance.score": "4",
      "plumbline.evaluation.Relevance.label": "relevant",
      "plumbline.evaluation.Relevance.explanation": "Answers the question asked.",
      "plumbline.evaluation.Groundedness.score": "0.25",
      "plumbline.evaluation.Groundedness.label": "fail",
    });
    expect(attributes).not.toHaveProperty("plumbline.evaluation.Groundedness.explanation");
    // The span's own attributes are all still there.
    expect(attributes).toMatchObject({ "gen_ai.request.model": "gpt-4" });
  });

  it("keeps the later result of an evaluation run twice, and skips results without a name", () => {
    const span = makeSpan({
      attributes: chat,
      events: [
        evaluation({
          "gen_ai.evaluation.name": "Relevance",
          "gen_ai.evaluation.score.value": 2,
          "gen_ai.evaluation.explanation": "Off topic.",
        }),
        evaluation({ "gen_ai.evaluation.name": "Relevance", "gen_ai.evaluation.score.value": 5 }),
        evaluation({ "gen_ai.evaluation.score.value": 1 }),
        evaluation({ "gen_ai.evaluation.name": "Tone", "gen_ai.evaluation.score.label": "" }),
      ],
    });
    const evaluations = Object.entries(normaliseSpan(span)?.SpanAttributes ?? {}).filter(([k]) =>
      k.startsWith("plumbline."),
    );
    expect(evaluations).toEqual([["plumbline.evaluation.Relevance.score", "5"]]);
  });
});

describe("one agent row per run", () => {
  const TRACE = "5b8efff798038103d269b633813fc60c";
  const span = (spanId: string, parentSpanId: string, overrides: Partial<DecodedSpan>) =>
    makeSpan({ traceId: TRACE, spanId, parentSpanId, ...overrides });
  const kinds = (spans: DecodedSpan[]) =>
    normaliseSpans(spans).rows.map((row) => `${row.Kind} ${row.AgentName}`);

  it("reads the OpenAI Agents SDK's trace root as a workflow (OpenInference)", () => {
    const scope = { name: "openinference.instrumentation.openai_agents", version: "1.2.0" };
    expect(
      kinds([
        span("1000000000000001", "", {
          name: "Agent workflow",
          scope,
          attributes: { "openinference.span.kind": "AGENT" },
        }),
        span("1000000000000002", "1000000000000001", {
          name: "Triage",
          scope,
          attributes: { "openinference.span.kind": "AGENT", "agent.name": "Triage" },
        }),
        span("1000000000000003", "1000000000000002", {
          name: "response",
          scope,
          attributes: { ...chat, "openinference.span.kind": "LLM", "llm.system": "openai" },
        }),
      ]),
    ).toEqual(["workflow Agent workflow", "agent Triage", "llm "]);
  });

  it("reads the OpenAI Agents SDK's trace root as a workflow (GenAI)", () => {
    const scope = { name: "opentelemetry.instrumentation.openai_agents", version: "0.1.0" };
    const genai = { "gen_ai.provider.name": "openai", "gen_ai.operation.name": "invoke_agent" };
    expect(
      kinds([
        span("2000000000000001", "", {
          name: "Agent workflow",
          kind: SpanKind.Server,
          scope,
          attributes: genai,
        }),
        span("2000000000000002", "2000000000000001", {
          name: "invoke_agent Triage",
          kind: SpanKind.Client,
          scope,
          attributes: { ...genai, "gen_ai.agent.name": "Triage" },
        }),
      ]),
    ).toEqual(["workflow Agent workflow", "agent Triage"]);
  });

  it("reads an OpenLLMetry workflow (LangChain's root chain) as a workflow", () => {
    expect(
      kinds([
        span("3000000000000001", "", {
          name: "LangGraph.workflow",
          attributes: {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "LangGraph",
            "traceloop.workflow.name": "LangGraph",
          },
        }),
        span("3000000000000002", "3000000000000001", {
          name: "support_agent.agent",
          attributes: {
            "traceloop.span.kind": "agent",
            "traceloop.entity.name": "support_agent",
            "traceloop.workflow.name": "LangGraph",
          },
        }),
      ]),
    ).toEqual(["workflow LangGraph", "agent support_agent"]);
  });
});

describe("convention precedence", () => {
  it("prefers OpenInference over the gen_ai.* attributes it also writes", () => {
    const span = makeSpan({
      attributes: {
        ...chat,
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4-0613",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Refunded (openinference).",
      },
    });
    expect(normaliseSpan(span)).toMatchObject({
      Convention: "openinference",
      OutputText: "Refunded (openinference).",
    });
  });

  it("prefers OpenLLMetry entity spans over generic GenAI", () => {
    const span = makeSpan({
      attributes: {
        "traceloop.span.kind": "agent",
        "traceloop.entity.name": "refund_agent",
        "gen_ai.agent.name": "refund_agent",
        "gen_ai.operation.name": "invoke_agent",
      },
    });
    expect(normaliseSpan(span)).toMatchObject({
      Convention: "openllmetry",
      AgentName: "refund_agent",
    });
  });

  it("prefers the Vercel AI SDK reading of doGenerate spans, which also carry gen_ai.*", () => {
    const span = makeSpan({
      name: "ai.generateText.doGenerate",
      attributes: {
        "ai.operationId": "ai.generateText.doGenerate",
        "ai.telemetry.functionId": "support-agent",
        "ai.model.id": "gpt-4o",
        "ai.response.text": "Refunded.",
        "gen_ai.system": "openai.chat",
        "gen_ai.request.model": "gpt-4o",
      },
    });
    expect(normaliseSpan(span)).toMatchObject({
      Convention: "vercel-ai",
      AgentName: "support-agent",
      OutputText: "Refunded.",
    });
  });

  it("passes a span on when the first convention finds no output in it", () => {
    // OpenInference's Vercel span processor marks ai.generateText as a CHAIN.
    const span = makeSpan({
      name: "ai.generateText",
      attributes: {
        "openinference.span.kind": "CHAIN",
        "ai.operationId": "ai.generateText",
        "ai.telemetry.functionId": "support-agent",
        "ai.response.text": "Refunded.",
      },
    });
    expect(normaliseSpan(span)).toMatchObject({
      Convention: "vercel-ai",
      Kind: "agent",
      AgentName: "support-agent",
    });
  });
});

describe("normaliseSpans", () => {
  it("splits rows from spans that are no agent output", () => {
    const llm = makeSpan({ spanId: "1111111111111111", attributes: chat });
    const http = makeSpan({ spanId: "2222222222222222", attributes: { "http.route": "/" } });
    const chain = makeSpan({
      spanId: "3333333333333333",
      attributes: { "openinference.span.kind": "CHAIN" },
    });
    const { rows, unrecognised } = normaliseSpans([llm, http, chain]);
    expect(rows.map((row) => row.SpanId)).toEqual(["1111111111111111"]);
    expect(unrecognised).toEqual([http, chain]);
  });
});

describe("outputJsonText", () => {
  it.each([
    ['{"a": 1}', '{"a": 1}'],
    ["  [1, 2]\n", "[1, 2]"],
    ['```json\n{"a": 1}\n```', '{"a": 1}'],
    ['```JSON\n[{"a": 1}]\n```', '[{"a": 1}]'],
    ['```\n{"a": 1}\n```', '{"a": 1}'],
    ['{"id": 12345678901234567890}', '{"id": 12345678901234567890}'],
  ])("reads %j as JSON", (text, json) => {
    expect(outputJsonText(text)).toBe(json);
  });

  it.each([
    "Refunded.",
    "42",
    '"a string"',
    "{not json}",
    "",
    '```python\n{"a": 1}\n```',
    'Here you go:\n```json\n{"a": 1}\n```',
    '```json\n{"a": 1}\n```\n```json\n{"b": 2}\n```',
    "```json\n```",
  ])("does not read %j as JSON", (text) => {
    expect(outputJsonText(text)).toBe("");
  });
});
