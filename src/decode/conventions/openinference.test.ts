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
      // Asked for in llm.invocation_parameters; llm.model_name is the model that answered.
      requestModel: "gpt-4o-mini",
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

  it("keeps the model of a failed call, which only llm.invocation_parameters names", () => {
    // openinference-instrumentation-openai on a call that raised (429): no response, so no
    // llm.model_name, output messages or token counts.
    const span = makeSpan({
      name: "ChatCompletion",
      statusCode: 2,
      statusMessage: "RateLimitError: Error code: 429",
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.invocation_parameters": '{"model": "gpt-4o", "temperature": 0.2}',
        "input.value": '{"messages": [{"role": "user", "content": "Hi"}], "model": "gpt-4o"}',
        "input.mime_type": "application/json",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Hi",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      requestModel: "gpt-4o",
      responseModel: "",
    });
  });

  it.each([
    ["azure", "azure.ai.openai"],
    ["google", "gcp.gen_ai"],
    ["aws", "aws.bedrock"],
    ["mistralai", "mistral_ai"],
    ["xai", "x_ai"],
    ["anthropic", "anthropic"],
  ])("reads llm.provider %s as %s", (provider, canonical) => {
    const span = makeSpan({ attributes: { ...chatCompletion, "llm.provider": provider } });
    expect(openInferenceConvention.extract(span)?.provider).toBe(canonical);
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

  it("reads the OpenAI Responses API's input_text, output_text and refusal parts, not reasoning", () => {
    // @arizeai/openinference-instrumentation-openai on client.responses.create.
    const span = makeSpan({
      name: "OpenAI Responses",
      attributes: {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.contents.0.message_content.type": "input_text",
        "llm.input_messages.0.message.contents.0.message_content.text": "Weather in Lisbon?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.contents.0.message_content.type": "reasoning",
        "llm.output_messages.0.message.contents.0.message_content.text": "The user wants…",
        "llm.output_messages.1.message.role": "assistant",
        "llm.output_messages.1.message.contents.0.message_content.type": "output_text",
        "llm.output_messages.1.message.contents.0.message_content.text": "Sunny, 21°C.",
        "llm.output_messages.2.message.role": "assistant",
        "llm.output_messages.2.message.contents.0.message_content.type": "refusal",
        "llm.output_messages.2.message.contents.0.message_content.text": "I can't share that.",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      inputText: "user: Weather in Lisbon?",
      outputText: "Sunny, 21°C.\nI can't share that.",
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

  it("reads a LangGraph agent's answer, not its whole state", () => {
    // openinference-instrumentation-langchain records the graph's final state; each message as
    // langchain_core's message_to_dict writes it.
    const state = {
      messages: [
        { type: "human", data: { content: "Where is order 4411?", type: "human", id: "m1" } },
        {
          type: "ai",
          data: {
            content: "",
            type: "ai",
            id: "run-1",
            tool_calls: [{ name: "lookup_order", args: { order_id: "4411" }, id: "call_1" }],
          },
        },
        {
          type: "tool",
          data: {
            content: '{"status": "shipped"}',
            type: "tool",
            name: "lookup_order",
            tool_call_id: "call_1",
            status: "success",
          },
        },
        {
          type: "ai",
          data: {
            content: [{ type: "text", text: "Order 4411 shipped yesterday." }],
            type: "ai",
            id: "run-2",
            tool_calls: [],
            usage_metadata: { input_tokens: 210, output_tokens: 9 },
          },
        },
      ],
    };
    const span = makeSpan({
      name: "support_agent",
      attributes: {
        "openinference.span.kind": "AGENT",
        "input.value": JSON.stringify({ messages: [state.messages[0]] }),
        "input.mime_type": "application/json",
        "output.value": JSON.stringify(state),
        "output.mime_type": "application/json",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      kind: "agent",
      agentName: "support_agent",
      outputText: "Order 4411 shipped yesterday.",
      // output.mime_type described the state, not the answer.
      outputType: "",
      toolName: "",
    });
  });

  it("reads a LangGraph agent that ended on a tool call, in LangChain's constructor form", () => {
    // LangChain.js (and OpenLLMetry) serialise messages as {"lc": 1, "type": "constructor", …}.
    const ai = {
      lc: 1,
      type: "constructor",
      id: ["langchain_core", "messages", "AIMessage"],
      kwargs: {
        content: "",
        tool_calls: [{ name: "request_approval", args: { amount: 120 }, id: "call_9" }],
      },
    };
    const span = makeSpan({
      name: "refund_agent",
      attributes: {
        "openinference.span.kind": "AGENT",
        "output.value": JSON.stringify({ messages: [ai] }),
        "output.mime_type": "application/json",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      outputText: "",
      toolName: "request_approval",
      toolCallId: "call_9",
      toolArguments: '{"amount":120}',
    });
  });

  it("keeps an AGENT output that is not a LangGraph state as it is", () => {
    const noAnswer = JSON.stringify({ messages: [{ type: "human", content: "Hi" }] });
    const span = makeSpan({
      attributes: {
        "openinference.span.kind": "AGENT",
        "agent.name": "greeter",
        "output.value": noAnswer,
        "output.mime_type": "application/json",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      outputText: noAnswer,
      outputType: "json",
    });
  });

  it("reads a LangChain tool's ToolMessage as its content", () => {
    const toolMessage = {
      type: "tool",
      data: {
        content: '{"status": "shipped", "eta": "2024-05-02"}',
        type: "tool",
        name: "lookup_order",
        tool_call_id: "call_1",
        artifact: null,
        status: "success",
      },
    };
    const span = makeSpan({
      name: "lookup_order",
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "lookup_order",
        "input.value": "{'order_id': '4411'}",
        "output.value": JSON.stringify(toolMessage),
        "output.mime_type": "application/json",
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      toolName: "lookup_order",
      toolCallId: "call_1",
      toolResult: '{"status": "shipped", "eta": "2024-05-02"}',
      outputText: '{"status": "shipped", "eta": "2024-05-02"}',
      outputType: "",
    });
    // The constructor form, with content blocks.
    const lc = {
      lc: 1,
      type: "constructor",
      id: ["langchain", "schema", "messages", "ToolMessage"],
      kwargs: { content: [{ type: "text", text: "sunny" }], tool_call_id: "call_2" },
    };
    const js = makeSpan({
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "weather",
        "output.value": JSON.stringify(lc),
      },
    });
    expect(openInferenceConvention.extract(js)).toMatchObject({
      toolResult: "sunny",
      toolCallId: "call_2",
    });
  });

  it("reads the OpenAI Agents SDK's trace root as a workflow, its agent spans as agents", () => {
    // openinference-instrumentation-openai-agents: one AGENT span for the trace, named after
    // it, carrying nothing but its kind; agent spans name their agent (before 2026: llm.system).
    const scope = { name: "openinference.instrumentation.openai_agents", version: "1.2.0" };
    const root = makeSpan({
      name: "Customer support",
      scope,
      attributes: { "openinference.span.kind": "AGENT" },
    });
    const agent = makeSpan({
      name: "Triage",
      scope,
      attributes: {
        "openinference.span.kind": "AGENT",
        "agent.name": "Triage",
        "graph.node.id": "Triage",
      },
    });
    const olderAgent = makeSpan({
      name: "Triage",
      scope,
      attributes: { "openinference.span.kind": "AGENT", "llm.system": "openai" },
    });
    const defaultName = makeSpan({
      name: "Agent workflow",
      attributes: { "openinference.span.kind": "AGENT" },
    });
    expect(openInferenceConvention.extract(root)).toMatchObject({
      kind: "workflow",
      operation: "invoke_workflow",
      agentName: "Customer support",
    });
    expect(openInferenceConvention.extract(defaultName)?.kind).toBe("workflow");
    expect(openInferenceConvention.extract(agent)).toMatchObject({
      kind: "agent",
      agentName: "Triage",
    });
    expect(openInferenceConvention.extract(olderAgent)?.kind).toBe("agent");
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
