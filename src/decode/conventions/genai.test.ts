import { describe, expect, it } from "vitest";
import { SpanKind } from "../span.ts";
import { genAiConvention, isGenAiSpan } from "./genai.ts";
import { makeEvent, makeSpan } from "../../../test/helpers/make-span.ts";

// Attribute sets from semantic-conventions docs/gen-ai/non-normative/examples-llm-calls.md
// (content captured on span attributes), gen-ai-spans.md and gen-ai-agent-spans.md.
const simpleChat = {
  "gen_ai.provider.name": "openai",
  "gen_ai.operation.name": "chat",
  "gen_ai.request.model": "gpt-4",
  "gen_ai.request.max_tokens": 200,
  "gen_ai.request.top_p": 1.0,
  "gen_ai.response.id": "chatcmpl-9J3uIL87gldCFtiIbyaOvTeYBRA3l",
  "gen_ai.response.model": "gpt-4-0613",
  "gen_ai.usage.output_tokens": 47,
  "gen_ai.usage.input_tokens": 52,
  "gen_ai.response.finish_reasons": ["stop"],
};
const jokeInput = [
  { role: "system", parts: [{ type: "text", content: "You are a helpful bot" }] },
  { role: "user", parts: [{ type: "text", content: "Tell me a joke about OpenTelemetry" }] },
];
const joke =
  " Why did the developer bring OpenTelemetry to the party? Because it always knows how to trace the fun!";
const jokeOutput = [
  { role: "assistant", parts: [{ type: "text", content: joke }], finish_reason: "stop" },
];

describe("genai convention", () => {
  it("reads a chat span with messages as JSON text", () => {
    const span = makeSpan({
      name: "chat gpt-4",
      attributes: {
        ...simpleChat,
        "gen_ai.input.messages": JSON.stringify(jokeInput),
        "gen_ai.output.messages": JSON.stringify(jokeOutput),
      },
    });
    expect(genAiConvention.extract(span)).toEqual({
      convention: "genai",
      kind: "llm",
      operation: "chat",
      agentName: "",
      agentId: "",
      conversationId: "",
      provider: "openai",
      requestModel: "gpt-4",
      responseModel: "gpt-4-0613",
      inputText: "system: You are a helpful bot\nuser: Tell me a joke about OpenTelemetry",
      outputText: joke,
      outputType: "",
      finishReason: "stop",
      toolName: "",
      toolCallId: "",
      toolArguments: "",
      toolResult: "",
      inputTokens: 52,
      outputTokens: 47,
      errorType: "",
    });
  });

  it("reads messages recorded as structured (array and kvlist) values", () => {
    const span = makeSpan({
      attributes: {
        ...simpleChat,
        "gen_ai.system_instructions": [{ type: "text", content: "Answer in French." }],
        "gen_ai.input.messages": [jokeInput[1] ?? {}],
        "gen_ai.output.messages": jokeOutput,
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      inputText: "system: Answer in French.\nuser: Tell me a joke about OpenTelemetry",
      outputText: joke,
    });
  });

  it("reads the instructions once when the input messages also begin with them", () => {
    const system = { role: "system", parts: [{ type: "text", content: "Answer in French." }] };
    const span = makeSpan({
      attributes: {
        ...simpleChat,
        "gen_ai.system_instructions": JSON.stringify(system.parts),
        "gen_ai.input.messages": JSON.stringify([system, jokeInput[1] ?? {}]),
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      inputText: "system: Answer in French.\nuser: Tell me a joke about OpenTelemetry",
    });
  });

  it("puts a lone tool call into the tool fields", () => {
    const span = makeSpan({
      attributes: {
        ...simpleChat,
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "Weather in Paris?" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [
              {
                type: "tool_call",
                id: "call_VSPygqKTWdrhaFErNvMV18Yl",
                name: "get_weather",
                arguments: { location: "Paris" },
              },
            ],
            finish_reason: "tool_call",
          },
        ]),
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      outputText: "",
      finishReason: "tool_calls",
      toolName: "get_weather",
      toolCallId: "call_VSPygqKTWdrhaFErNvMV18Yl",
      toolArguments: '{"location":"Paris"}',
    });
  });

  it("keeps the text and leaves the tool fields empty when the model also wrote text", () => {
    const span = makeSpan({
      attributes: {
        ...simpleChat,
        "gen_ai.output.messages": JSON.stringify([
          {
            role: "assistant",
            parts: [
              { type: "text", content: "Let me check." },
              { type: "tool_call", id: "c1", name: "get_weather", arguments: {} },
            ],
            finish_reason: "tool_call",
          },
        ]),
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      outputText: "Let me check.",
      toolName: "",
    });
  });

  it("reads an execute_tool span", () => {
    const span = makeSpan({
      name: "execute_tool get_weather",
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.call.id": "call_VSPygqKTWdrhaFErNvMV18Yl",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.arguments": '{"location":"Paris"}',
        "gen_ai.tool.call.result": { conditions: "rainy", temperature_f: 57 },
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "tool",
      operation: "execute_tool",
      toolName: "get_weather",
      toolCallId: "call_VSPygqKTWdrhaFErNvMV18Yl",
      toolArguments: '{"location":"Paris"}',
      toolResult: '{"conditions":"rainy","temperature_f":57}',
      inputText: '{"location":"Paris"}',
      outputText: '{"conditions":"rainy","temperature_f":57}',
    });
  });

  it("reads an invoke_agent span", () => {
    const span = makeSpan({
      name: "invoke_agent Math Tutor",
      attributes: {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": "Math Tutor",
        "gen_ai.agent.id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
        "gen_ai.conversation.id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.output.type": "text",
        "gen_ai.output.messages": JSON.stringify([
          { role: "assistant", parts: [{ type: "text", content: "x = 4" }], finish_reason: "stop" },
        ]),
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "agent",
      operation: "invoke_agent",
      agentName: "Math Tutor",
      agentId: "asst_5j66UpCpwteGg4YSxUnt7lPY",
      conversationId: "conv_5j66UpCpwteGg4YSxUnt7lPY",
      outputText: "x = 4",
      outputType: "text",
      finishReason: "stop",
    });
  });

  it("maps create_agent to a definition, which answers nothing, and embeddings to an llm output", () => {
    const create = makeSpan({
      name: "create_agent Helper",
      attributes: {
        "gen_ai.operation.name": "create_agent",
        "gen_ai.provider.name": "azure.ai.inference",
        "gen_ai.agent.name": "Helper",
        "gen_ai.agent.id": "asst_8Yz2",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.system_instructions": '[{"type":"text","content":"You help with invoices."}]',
      },
    });
    const embeddings = makeSpan({
      attributes: {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.request.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": 8,
      },
    });
    expect(genAiConvention.extract(create)).toMatchObject({
      kind: "definition",
      operation: "create_agent",
      agentName: "Helper",
      agentId: "asst_8Yz2",
      requestModel: "gpt-4o",
      inputText: "system: You help with invoices.",
      outputText: "",
    });
    expect(genAiConvention.extract(embeddings)).toMatchObject({
      kind: "llm",
      operation: "embeddings",
      inputTokens: 8,
    });
  });

  it("reads invoke_workflow as a workflow named after gen_ai.workflow.name", () => {
    const span = makeSpan({
      name: "invoke_workflow customer_support_pipeline",
      attributes: {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "customer_support_pipeline",
        "gen_ai.input.messages": JSON.stringify([
          { role: "user", parts: [{ type: "text", content: "Refund order 4411" }] },
        ]),
        "gen_ai.output.messages": JSON.stringify([
          { role: "assistant", parts: [{ type: "text", content: "Refunded." }] },
        ]),
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "workflow",
      operation: "invoke_workflow",
      agentName: "customer_support_pipeline",
      inputText: "user: Refund order 4411",
      outputText: "Refunded.",
    });
  });

  it("reads the OpenAI Agents SDK's trace root as a workflow, its agent spans as agents", () => {
    // opentelemetry-instrumentation-openai-agents-v2: the trace becomes a SERVER invoke_agent
    // span named after the trace; each agent a CLIENT `invoke_agent <agent>` span inside it.
    const scope = { name: "opentelemetry.instrumentation.openai_agents", version: "0.1.0" };
    const common = { "gen_ai.provider.name": "openai", "gen_ai.system": "openai" };
    const root = makeSpan({
      name: "Customer support",
      kind: SpanKind.Server,
      scope,
      attributes: { ...common, "gen_ai.operation.name": "invoke_agent" },
    });
    const agent = makeSpan({
      name: "invoke_agent Triage",
      kind: SpanKind.Client,
      scope,
      attributes: {
        ...common,
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "Triage",
      },
    });
    // Another exporter's root with the SDK's default trace name and no agent name.
    const defaultName = makeSpan({
      name: "Agent workflow",
      attributes: { ...common, "gen_ai.operation.name": "invoke_agent" },
    });
    expect(genAiConvention.extract(root)).toMatchObject({
      kind: "workflow",
      operation: "invoke_workflow",
      agentName: "Customer support",
    });
    expect(genAiConvention.extract(defaultName)).toMatchObject({
      kind: "workflow",
      agentName: "Agent workflow",
    });
    expect(genAiConvention.extract(agent)).toMatchObject({
      kind: "agent",
      operation: "invoke_agent",
      agentName: "Triage",
    });
    // A remote agent's server span is an agent run, whoever records it.
    const server = makeSpan({
      name: "invoke_agent Billing",
      kind: SpanKind.Server,
      attributes: { ...common, "gen_ai.operation.name": "invoke_agent" },
    });
    expect(genAiConvention.extract(server)?.kind).toBe("agent");
  });

  it("reads a plan span as a plan of its agent", () => {
    const span = makeSpan({
      name: "plan Researcher",
      attributes: {
        "gen_ai.operation.name": "plan",
        "gen_ai.agent.name": "Researcher",
        "gen_ai.agent.id": "agent-7",
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "plan",
      operation: "plan",
      agentName: "Researcher",
      agentId: "agent-7",
    });
  });

  it("reads a retrieval: the query in, the documents out", () => {
    const documents = [
      { id: "doc_123", score: 0.95 },
      { id: "doc_456", score: 0.87 },
    ];
    const span = makeSpan({
      name: "retrieval vs_abc123",
      kind: SpanKind.Client,
      attributes: {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.provider.name": "openai",
        "gen_ai.data_source.id": "vs_abc123",
        "gen_ai.request.top_k": 2,
        "gen_ai.retrieval.query.text": "refund policy for damaged items",
        "gen_ai.retrieval.documents": JSON.stringify(documents),
      },
    });
    const out = genAiConvention.extract(span);
    expect(out).toMatchObject({
      kind: "retrieval",
      operation: "retrieval",
      provider: "openai",
      inputText: "refund policy for damaged items",
    });
    expect(JSON.parse(out?.outputText ?? "")).toEqual(documents);
  });

  it("reads memory operations: a search's query and records, a write's records, a delete's id", () => {
    const records = [{ content: "prefers email", id: "mem_1", score: 0.91 }];
    const memory = (operation: string, attributes: Record<string, string>) =>
      genAiConvention.extract(
        makeSpan({
          name: operation,
          attributes: {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": "aws.bedrock",
            "gen_ai.memory.store.id": "mem-store-1",
            "gen_ai.agent.name": "Concierge",
            ...attributes,
          },
        }),
      );
    expect(
      memory("search_memory", {
        "gen_ai.memory.query.text": "contact preference",
        "gen_ai.memory.records": JSON.stringify(records),
      }),
    ).toMatchObject({
      kind: "memory",
      operation: "search_memory",
      agentName: "Concierge",
      provider: "aws.bedrock",
      inputText: "contact preference",
      outputText: JSON.stringify(records),
    });
    for (const operation of ["create_memory", "update_memory", "upsert_memory"]) {
      expect(memory(operation, { "gen_ai.memory.records": JSON.stringify(records) })).toMatchObject(
        { kind: "memory", operation, inputText: JSON.stringify(records), outputText: "" },
      );
    }
    expect(memory("delete_memory", { "gen_ai.memory.record.id": "mem_1" })).toMatchObject({
      kind: "memory",
      inputText: "mem_1",
    });
    expect(memory("create_memory_store", {})).toMatchObject({ kind: "memory" });
    expect(memory("delete_memory_store", {})).toMatchObject({ kind: "memory" });
  });

  it.each([
    ["openai", "openai"],
    ["Anthropic", "anthropic"], // OpenLLMetry's spelling
    ["az.ai.openai", "azure.ai.openai"], // semantic conventions ≤ 1.36
    ["az.ai.inference", "azure.ai.inference"],
    ["vertex_ai", "gcp.vertex_ai"],
    ["gemini", "gcp.gemini"],
    ["xai", "x_ai"],
    ["MistralAI", "mistral_ai"],
    ["AWS", "aws.bedrock"],
    ["Langchain", "Langchain"], // not a provider name we know: kept as it came
  ])("reads provider %s as %s", (system, provider) => {
    const span = makeSpan({
      attributes: { "gen_ai.operation.name": "chat", "gen_ai.system": system },
    });
    expect(genAiConvention.extract(span)?.provider).toBe(provider);
  });

  it("reads the deprecated gen_ai.system, token names and message events", () => {
    // As recorded on span events by instrumentations of semantic conventions ≤ 1.36.
    const span = makeSpan({
      attributes: {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.prompt_tokens": 21,
        "gen_ai.usage.completion_tokens": 3,
      },
      events: [
        makeEvent("gen_ai.system.message", {
          "gen_ai.system": "openai",
          content: "You greet people",
        }),
        makeEvent("gen_ai.user.message", {
          "gen_ai.system": "openai",
          content: "Hello, say 'Hi' back to me",
        }),
        makeEvent("gen_ai.choice", {
          "gen_ai.system": "openai",
          message: '{"content":"Hi!","role":"assistant"}',
          index: 0,
          finish_reason: "stop",
        }),
      ],
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      provider: "openai",
      inputText: "system: You greet people\nuser: Hello, say 'Hi' back to me",
      outputText: "Hi!",
      finishReason: "stop",
      inputTokens: 21,
      outputTokens: 3,
    });
  });

  it("reads a gen_ai.choice event carrying a tool call", () => {
    const span = makeSpan({
      attributes: { "gen_ai.operation.name": "chat", "gen_ai.system": "openai" },
      events: [
        makeEvent("gen_ai.choice", {
          finish_reason: "tool_calls",
          message: JSON.stringify({
            role: "assistant",
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "get_weather", arguments: '{"location":"Paris"}' },
              },
            ],
          }),
        }),
      ],
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      outputText: "",
      finishReason: "tool_calls",
      toolName: "get_weather",
      toolCallId: "call_1",
      toolArguments: '{"location":"Paris"}',
    });
  });

  it("reads OpenLLMetry's indexed prompts and completions", () => {
    // opentelemetry-instrumentation-openai (traceloop) with content tracing on.
    const span = makeSpan({
      name: "openai.chat",
      kind: 3,
      attributes: {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "You are a travel agent.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "Plan a day in Rome.",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "Start at the Colosseum.",
        "gen_ai.completion.0.finish_reason": "length",
        "gen_ai.usage.prompt_tokens": 20,
        "gen_ai.usage.completion_tokens": 6,
        "llm.usage.total_tokens": 26,
        "traceloop.workflow.name": "plan_trip",
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "llm",
      operation: "chat",
      provider: "openai",
      responseModel: "gpt-4o-2024-08-06",
      inputText: "system: You are a travel agent.\nuser: Plan a day in Rome.",
      outputText: "Start at the Colosseum.",
      finishReason: "length",
      inputTokens: 20,
      outputTokens: 6,
    });
  });

  it("reads OpenLLMetry's indexed tool calls and content blocks", () => {
    const span = makeSpan({
      attributes: {
        "llm.request.type": "chat",
        "gen_ai.system": "Anthropic",
        "gen_ai.request.model": "claude-3-5-sonnet",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": '[{"type": "text", "text": "Weather in Oslo?"}]',
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "tool_use",
        "gen_ai.completion.0.tool_calls.0.id": "toolu_01",
        "gen_ai.completion.0.tool_calls.0.name": "get_weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Oslo"}',
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      inputText: "user: Weather in Oslo?",
      outputText: "",
      finishReason: "tool_use",
      toolName: "get_weather",
      toolCallId: "toolu_01",
      toolArguments: '{"city": "Oslo"}',
    });
  });

  it("maps llm.request.type completion to text_completion", () => {
    const span = makeSpan({
      attributes: {
        "llm.request.type": "completion",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-3.5-turbo-instruct",
        "gen_ai.prompt.0.content": "Say this is a test",
        "gen_ai.completion.0.content": "This is a test.",
        "llm.usage.prompt_tokens": 5,
        "llm.usage.completion_tokens": 5,
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      operation: "text_completion",
      inputText: "Say this is a test",
      outputText: "This is a test.",
      inputTokens: 5,
      outputTokens: 5,
    });
  });

  it("reads finish reasons given as JSON text and lowercases them", () => {
    const span = makeSpan({
      attributes: {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-2.0-flash",
        "gen_ai.response.finish_reasons": '["MAX_TOKENS"]',
      },
    });
    expect(genAiConvention.extract(span)).toMatchObject({
      kind: "llm",
      operation: "generate_content",
      finishReason: "max_tokens",
    });
  });

  it("reads error.type, else the exception event's type", () => {
    const withType = makeSpan({
      attributes: { ...simpleChat, "error.type": "timeout" },
    });
    const withException = makeSpan({
      attributes: simpleChat,
      events: [
        makeEvent("exception", {
          "exception.type": "openai.RateLimitError",
          "exception.message": "Rate limit reached",
        }),
      ],
    });
    expect(genAiConvention.extract(withType)?.errorType).toBe("timeout");
    expect(genAiConvention.extract(withException)?.errorType).toBe("openai.RateLimitError");
  });

  it("recognises GenAI spans by operation, provider with model, or indexed prompts", () => {
    expect(isGenAiSpan({ "gen_ai.operation.name": "chat" })).toBe(true);
    expect(isGenAiSpan({ "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4" })).toBe(true);
    expect(isGenAiSpan({ "gen_ai.prompt.0.content": "hi" })).toBe(true);
    expect(isGenAiSpan({ "gen_ai.system": "openai" })).toBe(false);
    expect(isGenAiSpan({ "http.request.method": "POST" })).toBe(false);
  });

  it("produces nothing for spans of other kinds and unknown operations", () => {
    const http = makeSpan({ name: "GET /health", attributes: { "http.request.method": "GET" } });
    const rerank = makeSpan({
      attributes: {
        "llm.request.type": "rerank",
        "gen_ai.system": "cohere",
        "gen_ai.request.model": "rerank-v3",
      },
    });
    const custom = makeSpan({ attributes: { "gen_ai.operation.name": "create_vector_store" } });
    expect(genAiConvention.extract(http)).toBeNull();
    expect(genAiConvention.extract(rerank)).toBeNull();
    expect(genAiConvention.extract(custom)).toBeNull();
  });
});
