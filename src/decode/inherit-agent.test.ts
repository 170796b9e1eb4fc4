import { describe, expect, it } from "vitest";
import { makeSpan } from "../../test/helpers/make-span.ts";
import { inheritAgentNames } from "./inherit-agent.ts";
import { normaliseSpans } from "./normalise.ts";

const agent = (spanId: string, name: string) =>
  makeSpan({
    spanId,
    parentSpanId: "",
    name: `invoke_agent ${name}`,
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": name,
      "gen_ai.agent.id": `id-${name}`,
    },
  });
const chat = (spanId: string, parentSpanId: string, traceId = "4bf92f3577b34da6a3ce929d0e0e4736") =>
  makeSpan({
    traceId,
    spanId,
    parentSpanId,
    name: "chat",
    attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" },
  });
const plain = (spanId: string, parentSpanId: string) =>
  makeSpan({ spanId, parentSpanId, name: "step" });

describe("inheritAgentNames", () => {
  it("names an LLM call after its nearest agent ancestor, through spans that are not outputs", () => {
    const spans = [
      agent("a000000000000001", "planner"),
      plain("b000000000000001", "a000000000000001"),
      chat("c000000000000001", "b000000000000001"),
    ];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    const call = rows.find((r) => r.SpanId === "c000000000000001");
    expect(call).toMatchObject({ AgentName: "planner", AgentId: "id-planner" });
  });

  it("takes the nearest of nested agents and keeps names an output already has", () => {
    const inner = agent("a000000000000002", "researcher");
    inner.parentSpanId = "a000000000000001";
    const spans = [
      agent("a000000000000001", "planner"),
      inner,
      chat("c000000000000001", "a000000000000002"),
    ];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    expect(rows.find((r) => r.SpanId === "c000000000000001")?.AgentName).toBe("researcher");
    expect(rows.find((r) => r.SpanId === "a000000000000002")?.AgentName).toBe("researcher");
  });

  it("does not cross traces, and survives a parent cycle", () => {
    const spans = [
      agent("a000000000000001", "planner"),
      chat("c000000000000001", "a000000000000001", "ffffffffffffffffffffffffffffffff"),
      plain("d000000000000001", "d000000000000002"),
      plain("d000000000000002", "d000000000000001"),
      chat("c000000000000002", "d000000000000001"),
    ];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    expect(rows.find((r) => r.SpanId === "c000000000000001")?.AgentName).toBe("");
    expect(rows.find((r) => r.SpanId === "c000000000000002")?.AgentName).toBe("");
  });

  it("returns the unnamed rows whose ancestry leaves the spans: their agent may come later", () => {
    const spans = [
      plain("b000000000000001", "a000000000000001"), // its parent, the agent, is not here
      chat("c000000000000001", "b000000000000001"),
      plain("e000000000000001", ""), // a root with no agent: final as it is
      chat("c000000000000002", "e000000000000001"),
    ];
    const { rows } = normaliseSpans(spans);
    const unresolved = inheritAgentNames(rows, spans);
    expect(unresolved.map((r) => r.SpanId)).toEqual(["c000000000000001"]);
  });

  it("takes the conversation id of the nearest ancestor that has one", () => {
    const root = agent("a000000000000001", "planner");
    root.attributes["gen_ai.conversation.id"] = "conv-7";
    const spans = [root, chat("c000000000000001", "a000000000000001")];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    expect(rows.find((r) => r.SpanId === "c000000000000001")?.ConversationId).toBe("conv-7");
  });

  it("reads the conversation id of every convention, on outputs and on spans that are none", () => {
    const cases: [Record<string, string>, string][] = [
      [{ "session.id": "s-1" }, "s-1"],
      [{ "traceloop.association.properties.thread_id": "t-2" }, "t-2"],
      [{ "langgraph.thread_id": "lg-3" }, "lg-3"],
      [{ metadata: JSON.stringify({ thread_id: "lg-4", ls_provider: "openai" }) }, "lg-4"],
      [{ temporalWorkflowID: "onboard-5" }, "onboard-5"],
      [{ "sdk.run.id": "01HRUN6" }, "01HRUN6"],
    ];
    for (const [attributes, expected] of cases) {
      // The id is on a plain root span (a LangGraph chain, a Temporal workflow span): no output.
      const root = makeSpan({
        spanId: "e000000000000001",
        parentSpanId: "",
        name: "run",
        attributes,
      });
      const spans = [root, chat("c000000000000001", "e000000000000001")];
      const { rows } = normaliseSpans(spans);
      inheritAgentNames(rows, spans);
      expect(rows.map((r) => r.ConversationId)).toEqual([expected]);
    }
  });

  it("gives every output of a trace the id its other spans name, ancestors or not", () => {
    const tagged = chat("c000000000000001", "");
    tagged.attributes["gen_ai.conversation.id"] = "conv-9";
    const spans = [tagged, chat("c000000000000002", "")];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans);
    expect(rows.map((r) => r.ConversationId)).toEqual(["conv-9", "conv-9"]);
  });

  it("reads the configured attribute names first", () => {
    const span = chat("c000000000000001", "");
    span.attributes["gen_ai.conversation.id"] = "generic";
    span.attributes["app.ticket"] = "T-42";
    const spans = [span];
    const { rows } = normaliseSpans(spans);
    inheritAgentNames(rows, spans, ["app.ticket"]);
    expect(rows[0]?.ConversationId).toBe("T-42");
    const again = normaliseSpans(spans).rows;
    inheritAgentNames(again, spans);
    expect(again[0]?.ConversationId).toBe("generic");
  });
});
