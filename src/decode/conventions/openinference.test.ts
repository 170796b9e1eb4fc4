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

// LangChain.js messages as @arizeai/openinference-instrumentation-langchain 4.x serialises them
// into input.value / output.value: the constructor form.
const lcMessage = (type: string, kwargs: Record<string, unknown>) => ({
  lc: 1,
  type: "constructor",
  id: ["langchain_core", "messages", type],
  kwargs,
});
const weatherCall = lcMessage("AIMessage", {
  id: "chatcmpl-1",
  content: "",
  additional_kwargs: {
    tool_calls: [
      {
        id: "call_w1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Lisbon"}' },
      },
    ],
  },
  response_metadata: { finish_reason: "tool_calls", model_name: "gpt-4o-mini-2024-07-18" },
  tool_calls: [{ name: "get_weather", args: { city: "Lisbon" }, type: "tool_call", id: "call_w1" }],
});
const weatherResult = lcMessage("ToolMessage", {
  status: "success",
  content: '{"sky":"sunny"}',
  tool_call_id: "call_w1",
  name: "get_weather",
});
const weatherAnswer = lcMessage("AIMessage", {
  content: "Sunny in Lisbon.",
  response_metadata: { finish_reason: "stop", model_name: "gpt-4o-mini-2024-07-18" },
  tool_calls: [],
});
const agentMetadata = { ls_integration: "langchain_create_agent", lc_agent_name: "weather-agent" };
// ChatOpenAI inside createAgent: the system prompt's content is a part array, which the
// instrumentation leaves out of llm.input_messages; no tool call ids, no provider attribute,
// and llm.model_name is the model asked for.
const langChainChat = {
  "openinference.span.kind": "LLM",
  "llm.model_name": "gpt-4o-mini",
  "llm.invocation_parameters": '{"model":"gpt-4o-mini","stream":false}',
  "llm.input_messages.0.message.role": "system",
  "llm.input_messages.1.message.role": "user",
  "llm.input_messages.1.message.content": "Weather in Lisbon?",
  "llm.output_messages.0.message.role": "assistant",
  "llm.output_messages.0.message.content": "",
  "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
  "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city":"Lisbon"}',
  "llm.finish_reason": "tool_calls",
  "input.mime_type": "application/json",
  "input.value": JSON.stringify({
    messages: [
      [
        lcMessage("SystemMessage", { content: [{ type: "text", text: "You forecast." }] }),
        lcMessage("HumanMessage", { content: "Weather in Lisbon?" }),
      ],
    ],
  }),
  "output.mime_type": "application/json",
  "output.value": JSON.stringify({
    generations: [[{ text: "", message: weatherCall, generationInfo: {} }]],
    llmOutput: { tokenUsage: { promptTokens: 21, completionTokens: 9 } },
  }),
  metadata: JSON.stringify({
    ...agentMetadata,
    ls_integration: "langchain_chat_model",
    langgraph_node: "model_request",
    ls_provider: "openai",
    ls_model_name: "gpt-4o-mini",
  }),
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

  it("reads a LangChain createAgent run (a CHAIN named after its lc_agent_name) as the agent", () => {
    const state = {
      messages: [
        lcMessage("HumanMessage", { content: "Weather in Lisbon?" }),
        weatherCall,
        weatherResult,
        weatherAnswer,
      ],
    };
    const run = makeSpan({
      name: "weather-agent",
      attributes: {
        "openinference.span.kind": "CHAIN",
        metadata: JSON.stringify(agentMetadata),
        "input.value": '{"messages":[{"role":"user","content":"Weather in Lisbon?"}]}',
        "input.mime_type": "application/json",
        "output.value": JSON.stringify(state),
        "output.mime_type": "application/json",
      },
    });
    expect(openInferenceConvention.extract(run)).toMatchObject({
      kind: "agent",
      operation: "invoke_agent",
      agentName: "weather-agent",
      inputText: '{"messages":[{"role":"user","content":"Weather in Lisbon?"}]}',
      // The final answer, not the graph's state.
      outputText: "Sunny in Lisbon.",
      outputType: "",
    });
    // The graph's nodes carry the agent's metadata too, and are steps of the run.
    for (const node of ["__start__", "model_request", "tools", "RunnableLambda"]) {
      const span = makeSpan({
        name: node,
        attributes: {
          "openinference.span.kind": "CHAIN",
          metadata: JSON.stringify({ ...agentMetadata, langgraph_node: node }),
          "output.value": JSON.stringify(state),
        },
      });
      expect(openInferenceConvention.extract(span)).toBeNull();
    }
  });

  it("reads a LangChain.js chat model span: provider, models, prompt and tool call id", () => {
    const span = makeSpan({ name: "ChatOpenAI", attributes: langChainChat });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      kind: "llm",
      // lc_agent_name: the createAgent run it is part of.
      agentName: "weather-agent",
      // metadata.ls_provider, there being no llm.provider or llm.system.
      provider: "openai",
      requestModel: "gpt-4o-mini",
      // The generation's response_metadata.model_name; llm.model_name is the requested model.
      responseModel: "gpt-4o-mini-2024-07-18",
      // The system prompt's part-array content, from input.value.
      inputText: "system: You forecast.\nuser: Weather in Lisbon?",
      outputText: "",
      toolName: "get_weather",
      // Only the generation's message in output.value has the call's id.
      toolCallId: "call_w1",
      toolArguments: '{"city":"Lisbon"}',
    });
    // Named providers are spelt as the semantic conventions spell them; llm.provider wins.
    const gemini = { ...langChainChat, metadata: '{"ls_provider":"google_genai"}' };
    expect(openInferenceConvention.extract(makeSpan({ attributes: gemini }))?.provider).toBe(
      "gcp.gemini",
    );
    const both = { ...gemini, "llm.provider": "openai" };
    expect(openInferenceConvention.extract(makeSpan({ attributes: both }))?.provider).toBe(
      "openai",
    );
  });

  it("reads the answering model where LangChain puts it: message, generation info, llm_output", () => {
    const withOutput = (output: unknown) =>
      openInferenceConvention.extract(
        makeSpan({
          attributes: {
            ...langChainChat,
            "output.value": typeof output === "string" ? output : JSON.stringify(output),
          },
        }),
      )?.responseModel;
    const chunk = lcMessage("AIMessageChunk", { content: "Sunny.", response_metadata: {} });
    // A stream: the chunk's generationInfo.
    expect(
      withOutput({
        generations: [[{ text: "Sunny.", generationInfo: { model_name: "gpt-4o-2024-08-06" } }]],
      }),
    ).toBe("gpt-4o-2024-08-06");
    expect(
      withOutput({
        generations: [[{ text: "Sunny.", message: chunk, generationInfo: { model: "llama3.2" } }]],
      }),
    ).toBe("llama3.2");
    // Python's LLMResult (json.dumps): llm_output.model_name.
    expect(
      withOutput(
        '{"generations": [[{"text": "Sunny.", "generation_info": null, "type": "ChatGeneration"}]], ' +
          '"llm_output": {"model_name": "gpt-4o-mini-2024-07-18"}, "run": null, "type": "LLMResult"}',
      ),
    ).toBe("gpt-4o-mini-2024-07-18");
    // Nowhere: llm.model_name.
    expect(withOutput({ generations: [[{ text: "Sunny." }]] })).toBe("gpt-4o-mini");
    expect(withOutput({ id: "chatcmpl-1", model: "gpt-4o-2024-08-06" })).toBe("gpt-4o-mini");
  });

  it("fills LangChain.js turns from input.value only where the roles agree", () => {
    const input = JSON.stringify({
      messages: [
        [
          lcMessage("SystemMessage", { content: [{ type: "text", text: "You forecast." }] }),
          lcMessage("HumanMessage", { content: "Weather in Lisbon?" }),
          weatherCall,
          weatherResult,
        ],
      ],
    });
    const span = makeSpan({
      attributes: {
        ...langChainChat,
        "input.value": input,
        "llm.input_messages.2.message.role": "assistant",
        "llm.input_messages.2.message.content": "",
        "llm.input_messages.2.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments":
          '{"city":"Lisbon"}',
        "llm.input_messages.3.message.role": "tool",
        "llm.input_messages.3.message.content": '{"sky":"sunny"}',
      },
    });
    expect(openInferenceConvention.extract(span)?.inputText).toBe(
      [
        "system: You forecast.",
        "user: Weather in Lisbon?",
        // The earlier call, with the id only input.value has.
        'assistant: [{"arguments":"{\\"city\\":\\"Lisbon\\"}","id":"call_w1","name":"get_weather"}]',
        'tool: {"sky":"sunny"}',
      ].join("\n"),
    );
    // A message of another role at that position is not this one's source.
    const shifted = JSON.stringify({
      messages: [[lcMessage("HumanMessage", { content: "Weather in Lisbon?" })]],
    });
    const mismatched = makeSpan({ attributes: { ...langChainChat, "input.value": shifted } });
    expect(openInferenceConvention.extract(mismatched)?.inputText).toBe(
      "system: \nuser: Weather in Lisbon?",
    );
    // json.dumps spacing, and Python's message_to_dict form.
    const python =
      '{"messages": [[{"type": "system", "data": {"content": [{"type": "text", "text": "You forecast."}]}}]]}';
    const fromPython = makeSpan({ attributes: { ...langChainChat, "input.value": python } });
    expect(openInferenceConvention.extract(fromPython)?.inputText).toBe(
      "system: You forecast.\nuser: Weather in Lisbon?",
    );
  });

  it("reads only the text blocks of a LangChain answer whose content is a block array", () => {
    // ChatAnthropic: text and tool_use blocks; the tool call is in tool_calls.
    const answer = lcMessage("AIMessage", {
      content: [
        { type: "text", text: "Checking the weather." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Lisbon" } },
      ],
      tool_calls: [{ name: "get_weather", args: { city: "Lisbon" }, id: "toolu_1" }],
    });
    const llm = makeSpan({
      attributes: {
        ...langChainChat,
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "output.value": JSON.stringify({ generations: [[{ text: "", message: answer }]] }),
      },
    });
    expect(openInferenceConvention.extract(llm)).toMatchObject({
      outputText: "Checking the weather.",
      toolName: "",
    });
    const run = makeSpan({
      name: "weather-agent",
      attributes: {
        "openinference.span.kind": "CHAIN",
        metadata: JSON.stringify(agentMetadata),
        "output.value": JSON.stringify({ messages: [answer] }),
      },
    });
    expect(openInferenceConvention.extract(run)?.outputText).toBe("Checking the weather.");
  });

  it("reads a LangChain.js tool's ToolMessage from the run's outputs wrapper", () => {
    const span = makeSpan({
      name: "get_weather",
      attributes: {
        "openinference.span.kind": "TOOL",
        "tool.name": "get_weather",
        "input.value": "Lisbon",
        "input.mime_type": "text/plain",
        "output.value": JSON.stringify({ output: weatherResult }),
        "output.mime_type": "application/json",
        metadata: JSON.stringify({ ...agentMetadata, langgraph_node: "tools" }),
      },
    });
    expect(openInferenceConvention.extract(span)).toMatchObject({
      agentName: "weather-agent",
      toolName: "get_weather",
      toolCallId: "call_w1",
      toolArguments: "Lisbon",
      toolResult: '{"sky":"sunny"}',
      outputText: '{"sky":"sunny"}',
      outputType: "",
    });
    // Python's message_to_dict form in the wrapper; any other wrapped value is kept.
    const python = { type: "tool", data: { content: "sunny", tool_call_id: "call_2" } };
    const wrapped = (output: unknown) =>
      openInferenceConvention.extract(
        makeSpan({
          attributes: {
            "openinference.span.kind": "TOOL",
            "tool.name": "get_weather",
            "output.value": JSON.stringify(output),
          },
        }),
      );
    expect(wrapped({ output: python })).toMatchObject({
      toolResult: "sunny",
      toolCallId: "call_2",
    });
    const notAMessage = { output: { sky: "sunny" } };
    expect(wrapped(notAMessage)?.toolResult).toBe(JSON.stringify(notAMessage));
    const notOnlyOutput = { output: weatherResult, extra: 1 };
    expect(wrapped(notOnlyOutput)?.toolResult).toBe(JSON.stringify(notOnlyOutput));
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
