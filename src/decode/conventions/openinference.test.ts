import { describe, expect, it } from "vitest";
import { makeSpan } from "../../../test/helpers/make-span.ts";
import { isOpenInferenceSpan, openInferenceConvention } from "./openinference.ts";

// Attribute sets as openinference-instrumentation-openai (ChatCompletion spans), the LangChain
// and smolagents instrumentations record them; names from spec/semantic_conventions.md.
const chatCompletion = {
  "openinference.span.kind": "LLM",
  "llm.provider": "openai",
  "llm.system": "openai",
  "llm.model_name": "gpt-4o-mini-2024-07-18",
  "llm.invocation_parameters": '{"model": "gpt-4o-mini", "temperature": 0}',
  "input.mime_type": "application/json",
  "input.value":
    '{"messages": [{"role": "user", "content": "Where is my parcel?"}], "model": "gpt-4o-mini"}',
  "output.mime_type": "application/json",
  "output.value":
    '{"id": "chatcmpl-1", "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "It left the depot today."}}]}',
  "llm.input_messages.0.message.role": "system",
  "llm.input_messages.0.message.content": "You are a delivery assistant.",
  "llm.input_messages.1.message.role": "user",
  "llm.input_messages.1.message.content": "Where is my parcel?",
  "llm.output_messages.0.message.role": "assistant",
  "llm.output_messages.0.message.content": "It left the depot today.",
  "llm.token_count.prompt": 25,
  "llm.token_count.completion": 9,
  "llm.token_count.total": 34,
  "session.id": "sess-7",
};

describe("openinference convention", () => {
  it("reads an LLM span's flattened messages, model and tokens", () => {
    const span = makeSpan({ name: "ChatCompletion", attributes: chatCompletion });
    expect(openInferenceConvention.extract(span)).toEqual({
      convention: "openinference",
      kind: "llm",
      operation: "chat",
      agentName: "",
      agentId: "",
      conversationId: "sess-7",
      provider: "openai",
      requestModel: "gpt-4o-mini-2024-07-18",
      responseModel: "gpt-4o-mini-2024-07-18",
      inputText: "system: You are a delivery assistant.\nuser: Where is my parcel?",
      // The messages, not output.value (the provider's whole response body).
      outputText: "It left the depot today.",
      outputType: "",
      finishReason: "",
      toolName: "",
      toolCallId: "",
      toolArguments: "",
      toolResult: "",
      inputTokens: 25,
      outputTokens: 9,
      errorType: "",
    });
  });

  it("reads separate request and response model names when recorded", () => {
    const span = makeSpan({
      attributes: {
        ...chatCompletion,
        "llm.model_name": "claude-opus-4",
        "llm.request.model_name": "claude-opus",
        "llm.response.model_name": "claude-opus-4",
        "llm.finish_reason": "Length",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      requestModel: "claude-opus",
      responseModel: "claude-opus-4",
      finishReason: "length",
    });
  });

  it("reads message contents arrays and a lone tool call", () => {
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "text",
        "llm.input_messages.0.message.contents.0.message_content.text": "What is in ",
        "llm.input_messages.0.message.contents.1.message_content.type": "image",
        "llm.input_messages.0.message.contents.1.message_content.image.image.url":
          "https://x/y.png",
        "llm.input_messages.0.message.contents.2.message_content.type": "text",
        "llm.input_messages.0.message.contents.2.message_content.text": "this image?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_62136355",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments":
          '{"city": "London"}',
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      inputText: "user: What is in this image?",
      outputText: "",
      toolName: "get_weather",
      toolCallId: "call_62136355",
      toolArguments: '{"city": "London"}',
    });
  });

  it("shows an assistant turn that only called tools as its calls in the input", () => {
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.input_messages.0.message.role": "assistant",
        "llm.input_messages.0.message.tool_calls.0.tool_call.id": "c1",
        "llm.input_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
        "llm.input_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
        "llm.input_messages.1.message.role": "tool",
        "llm.input_messages.1.message.content": "found",
      },
    });
    expect(openInferenceConvention.extract(span)?.inputText).toBe(
      'assistant: [{"arguments":"{}","id":"c1","name":"lookup"}]\ntool: found',
    );
  });

  it("falls back to input.value and output.value for an LLM span without messages", () => {
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "LLM",
        "input.value": "Summarise: the parcel is late.",
        "input.mime_type": "text/plain",
        "output.value": "Late parcel.",
        "output.mime_type": "text/plain",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      inputText: "Summarise: the parcel is late.",
      outputText: "Late parcel.",
      outputType: "text",
    });
  });

  it("reads the legacy completions prompts and choices", () => {
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.prompts.0.prompt.text": "def fib(n):",
        "llm.choices.0.completion.text": " return n if n < 2 else fib(n-1) + fib(n-2)",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      inputText: "def fib(n):",
      outputText: " return n if n < 2 else fib(n-1) + fib(n-2)",
    });
  });

  it("reads an AGENT span, named by agent.name or else by the span", () => {
    const named = makeSpan({
      name: "CodeAgent.run",
      attributes: {
        "openinference.span.kind": "AGENT",
        "agent.name": "researcher",
        "input.value": '{"task": "Find the refund policy"}',
        "input.mime_type": "application/json",
        "output.value": '{"answer": "30 days"}',
        "output.mime_type": "application/json",
        "session.id": "26bcd3d2-cad2-443d-a23c-625e47f3324a",
      },
    });
    expect(openInferenceConvention.extract(named)).toMatchObject({
      kind: "agent",
      operation: "invoke_agent",
      agentName: "researcher",
      conversationId: "26bcd3d2-cad2-443d-a23c-625e47f3324a",
      inputText: '{"task": "Find the refund policy"}',
      outputText: '{"answer": "30 days"}',
      outputType: "json",
    });
    const unnamed = makeSpan({
      name: "RefundAgent",
      attributes: { "openinference.span.kind": "AGENT", "output.value": "done" },
    });
    expect(openInferenceConvention.extract(unnamed)).toMatchObject({ agentName: "RefundAgent" });
  });

  it("reads a TOOL span: arguments from input.value, not the parameter schema", () => {
    const span = makeSpan({
      name: "get_weather",
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "get_weather",
        "tool.description": "Current weather in a city",
        "tool.parameters": '{"city": {"type": "string"}}',
        "tool.id": "call_62136355",
        "input.value": '{"city": "Paris"}',
        "input.mime_type": "application/json",
        "output.value": "sunny, 21 °C",
        "output.mime_type": "text/plain",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      kind: "tool",
      operation: "execute_tool",
      toolName: "get_weather",
      toolCallId: "call_62136355",
      toolArguments: '{"city": "Paris"}',
      toolResult: "sunny, 21 °C",
      inputText: '{"city": "Paris"}',
      outputText: "sunny, 21 °C",
      outputType: "text",
    });
  });

  it("reads an EMBEDDING span's model and texts", () => {
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "EMBEDDING",
        "embedding.model_name": "text-embedding-3-small",
        "embedding.embeddings.0.embedding.text": "refund policy",
        "embedding.embeddings.0.embedding.vector": [0.1, 0.2],
        "llm.token_count.prompt": 2,
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      kind: "llm",
      operation: "embeddings",
      requestModel: "text-embedding-3-small",
      inputText: "refund policy",
      outputText: "",
      inputTokens: 2,
    });
  });

  it("accepts a lowercase span kind", () => {
    const span = makeSpan({ attributes: { ...chatCompletion, "openinference.span.kind": "llm" } });
    expect(openInferenceConvention.extract(span)?.kind).toBe("llm");
  });

  it("produces nothing for CHAIN, RETRIEVER, RERANKER, GUARDRAIL, EVALUATOR and PROMPT spans", () => {
    for (const kind of ["CHAIN", "RETRIEVER", "RERANKER", "GUARDRAIL", "EVALUATOR", "PROMPT"]) {
      const span = makeSpan({
        attributes: { "openinference.span.kind": kind, "input.value": "q", "output.value": "a" },
      });
      expect(openInferenceConvention.extract(span)).toBeNull();
    }
    expect(
      openInferenceConvention.extract(makeSpan({ attributes: { "llm.model_name": "x" } })),
    ).toBeNull();
  });

  it("recognises spans by openinference.span.kind", () => {
    expect(isOpenInferenceSpan({ "openinference.span.kind": "CHAIN" })).toBe(true);
    expect(isOpenInferenceSpan({ "gen_ai.operation.name": "chat" })).toBe(false);
  });
});
