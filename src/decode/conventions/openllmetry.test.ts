import { describe, expect, it } from "vitest";
import { makeEvent, makeSpan } from "../../../test/helpers/make-span.ts";
import { isOpenLlmetrySpan, openLlmetryConvention } from "./openllmetry.ts";

// Spans as the Traceloop SDK's @workflow/@agent/@tool/@task decorators make them: named
// "<entity>.<kind>", with json.dumps({"args": [...], "kwargs": {...}}) as input and
// json.dumps(return value) as output.
const workflow = makeSpan({
  name: "support_workflow.workflow",
  attributes: {
    "traceloop.span.kind": "workflow",
    "traceloop.workflow.name": "support_workflow",
    "traceloop.entity.name": "support_workflow",
    "traceloop.entity.input": '{"args": ["Where is order 1234?"], "kwargs": {}}',
    "traceloop.entity.output": '"Order 1234 ships tomorrow."',
    "traceloop.association.properties.session_id": "sess-9",
  },
});

describe("openllmetry convention", () => {
  it("reads a workflow as a workflow run named after the workflow, not as an agent run", () => {
    expect(openLlmetryConvention.extract(workflow)).toEqual({
      convention: "openllmetry",
      kind: "workflow",
      operation: "invoke_workflow",
      agentName: "support_workflow",
      agentId: "",
      conversationId: "sess-9",
      provider: "",
      requestModel: "",
      responseModel: "",
      inputText: "Where is order 1234?",
      outputText: "Order 1234 ships tomorrow.",
      outputType: "",
      finishReason: "",
      toolName: "",
      toolCallId: "",
      toolArguments: "",
      toolResult: "",
      inputTokens: null,
      outputTokens: null,
      errorType: "",
    });
  });

  it("reads an agent span", () => {
    const span = makeSpan({
      name: "order_agent.agent",
      attributes: {
        "traceloop.span.kind": "agent",
        "traceloop.workflow.name": "support_workflow",
        "traceloop.entity.name": "order_agent",
        "traceloop.entity.path": "support_workflow",
        "traceloop.entity.input":
          '{"args": [], "kwargs": {"question": "Refund?", "order_id": 1234}}',
        "traceloop.entity.output": '{"refund": true}',
      },
    });
    expect(openLlmetryConvention.extract(span)).toMatchObject({
      kind: "agent",
      agentName: "order_agent",
      // More than one argument: the recorded JSON as it is.
      inputText: '{"args": [], "kwargs": {"question": "Refund?", "order_id": 1234}}',
      outputText: '{"refund": true}',
    });
  });

  it("reads a tool span's name, arguments and result", () => {
    const span = makeSpan({
      name: "lookup_order.tool",
      attributes: {
        "traceloop.span.kind": "tool",
        "traceloop.workflow.name": "support_workflow",
        "traceloop.entity.name": "lookup_order",
        "traceloop.entity.input": '{"args": [], "kwargs": {"order_id": "1234"}}',
        "traceloop.entity.output": '{"status": "shipped", "eta": "2024-05-02"}',
      },
    });
    expect(openLlmetryConvention.extract(span)).toMatchObject({
      kind: "tool",
      operation: "execute_tool",
      agentName: "",
      toolName: "lookup_order",
      // Called with keyword arguments only: the arguments are the kwargs object, as written.
      toolArguments: '{"order_id": "1234"}',
      toolResult: '{"status": "shipped", "eta": "2024-05-02"}',
      inputText: "1234",
      outputText: '{"status": "shipped", "eta": "2024-05-02"}',
    });
  });

  it("keeps a tool's recorded input when it is not keyword arguments only", () => {
    const toolWith = (input: string) =>
      openLlmetryConvention.extract(
        makeSpan({
          name: "lookup_order.tool",
          attributes: {
            "traceloop.span.kind": "tool",
            "traceloop.entity.name": "lookup_order",
            "traceloop.entity.input": input,
          },
        }),
      )?.toolArguments;
    // The JS SDK's withTool: its one object argument, with numbers beyond 2^53 kept exact.
    expect(toolWith('{"args":[],"kwargs":{"order_id":12345678901234567890}}')).toBe(
      '{"order_id":12345678901234567890}',
    );
    for (const input of [
      '{"args": ["1234"], "kwargs": {}}', // positional: which parameter it was is not recorded
      '{"args": ["1234"], "kwargs": {"verbose": true}}',
      '{"args": [], "kwargs": {}, "extra": 1}',
      '{"args": [], "kwargs": "order 1234"}',
      '{"args": [], "kwargs": {"a": 1}, "kwargs": {"b": 2}}',
      "plain text",
    ]) {
      expect(toolWith(input)).toBe(input);
    }
  });

  it("names a tool span after the agent it ran in (gen_ai.agent.name)", () => {
    // The SDK writes gen_ai.agent.name on every span started inside an @agent.
    const span = makeSpan({
      name: "lookup_order.tool",
      attributes: {
        "traceloop.span.kind": "tool",
        "traceloop.workflow.name": "support_workflow",
        "traceloop.entity.name": "lookup_order",
        "traceloop.entity.path": "order_agent",
        "gen_ai.agent.name": "order_agent",
        "traceloop.entity.input": '{"args": [], "kwargs": {"order_id": "1234"}}',
        "traceloop.entity.output": '{"status": "shipped"}',
      },
    });
    expect(openLlmetryConvention.extract(span)).toMatchObject({
      kind: "tool",
      toolName: "lookup_order",
      agentName: "order_agent",
    });
  });

  it("names an agent span by its entity name, else by gen_ai.agent.name", () => {
    const span = makeSpan({
      name: "agent",
      attributes: { "traceloop.span.kind": "agent", "gen_ai.agent.name": "order_agent" },
    });
    expect(openLlmetryConvention.extract(span)).toMatchObject({ agentName: "order_agent" });
  });

  it("reads the exception of a failed entity", () => {
    const span = makeSpan({
      name: "lookup_order.tool",
      statusCode: 2,
      attributes: {
        "traceloop.span.kind": "tool",
        "traceloop.entity.name": "lookup_order",
      },
      events: [
        makeEvent("exception", { "exception.type": "KeyError", "exception.message": "'1234'" }),
      ],
    });
    expect(openLlmetryConvention.extract(span)).toMatchObject({ errorType: "KeyError" });
  });

  it("produces nothing for tasks and for spans without traceloop.span.kind", () => {
    const task = makeSpan({
      name: "format_reply.task",
      attributes: {
        "traceloop.span.kind": "task",
        "traceloop.entity.name": "format_reply",
        "traceloop.entity.output": '"ok"',
      },
    });
    // An OpenLLMetry LLM span: genai.ts reads it.
    const llm = makeSpan({
      name: "openai.chat",
      attributes: {
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "traceloop.workflow.name": "support_workflow",
      },
    });
    expect(openLlmetryConvention.extract(task)).toBeNull();
    expect(openLlmetryConvention.extract(llm)).toBeNull();
    expect(isOpenLlmetrySpan(task.attributes)).toBe(true);
    expect(isOpenLlmetrySpan(llm.attributes)).toBe(false);
  });
});
