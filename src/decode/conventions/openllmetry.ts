/**
 * OpenLLMetry (Traceloop) entity spans, made by the SDK's workflow/task/agent/tool decorators:
 * `traceloop.span.kind`, `traceloop.entity.name`, and the call's arguments and return value as
 * JSON text in `traceloop.entity.input` (`{"args": [...], "kwargs": {...}}`) and
 * `traceloop.entity.output`. Their LLM spans carry `gen_ai.*` attributes and are genai.ts's.
 */

import { emptyOutput } from "../agent-output.ts";
import type { Convention, OutputKind } from "../agent-output.ts";
import type { AttrMap } from "../span.ts";
import {
  errorTypeOf,
  firstString,
  getString,
  isRecord,
  structured,
  unquoteJsonString,
} from "./read-attrs.ts";

/**
 * Span kinds that are outputs. A workflow is the unit a Traceloop user decorates as "one run
 * of the app" (the LangChain and OpenAI Agents instrumentations also make the root of a run
 * one); agents, tools and LLM calls run inside it, so it is a workflow, not a second agent
 * run. A task is an inner step of a workflow (often plain code) and produces no output.
 */
const OUTPUT_BY_SPAN_KIND: ReadonlyMap<string, { kind: OutputKind; operation: string }> = new Map([
  ["workflow", { kind: "workflow", operation: "invoke_workflow" }],
  ["agent", { kind: "agent", operation: "invoke_agent" }],
  ["tool", { kind: "tool", operation: "execute_tool" }],
]);

const CONVERSATION_KEYS = [
  "traceloop.association.properties.session_id",
  "traceloop.association.properties.conversation_id",
];

/** An OpenLLMetry entity span: `traceloop.span.kind` is set. */
export function isOpenLlmetrySpan(attrs: AttrMap): boolean {
  return getString(attrs, "traceloop.span.kind") !== "";
}

/** The OpenLLMetry (Traceloop SDK) convention. */
export const openLlmetryConvention: Convention = {
  name: "openllmetry",
  extract(span) {
    const attrs = span.attributes;
    const spanKind = getString(attrs, "traceloop.span.kind");
    const mapped = OUTPUT_BY_SPAN_KIND.get(spanKind);
    if (mapped === undefined) return null;

    const out = emptyOutput("openllmetry", mapped.kind, mapped.operation);
    const entityName = getString(attrs, "traceloop.entity.name");
    const input = getString(attrs, "traceloop.entity.input");
    out.conversationId = firstString(attrs, CONVERSATION_KEYS);
    out.inputText = readableInput(input);
    // The output is json.dumps / JSON.stringify of the return value: a string reads as itself.
    out.outputText = unquoteJsonString(getString(attrs, "traceloop.entity.output"));
    out.errorType = errorTypeOf(span);
    // The SDK writes gen_ai.agent.name on every span started inside an @agent, tools included.
    const agentName = getString(attrs, "gen_ai.agent.name");
    if (mapped.kind === "tool") {
      out.toolName = entityName;
      out.toolArguments = keywordArguments(input);
      out.toolResult = out.outputText;
      out.agentName = agentName;
    } else if (mapped.kind === "workflow") {
      // Named after the workflow, so the calls made in it outside any agent are too.
      out.agentName = entityName || getString(attrs, "traceloop.workflow.name") || agentName;
    } else {
      out.agentName = entityName || agentName;
    }
    return out;
  },
};

/**
 * The entity input as text: when the call had exactly one argument (positional or keyword) and
 * it was a string, that string; otherwise the JSON text as recorded.
 */
function readableInput(input: string): string {
  if (!input.startsWith('{"args"')) return input;
  const call = structured(input);
  if (!isRecord(call)) return input;
  const args = Array.isArray(call.args) ? call.args : [];
  const kwargs = isRecord(call.kwargs) ? Object.values(call.kwargs) : [];
  const values = args.concat(kwargs);
  return values.length === 1 && typeof values[0] === "string" ? values[0] : input;
}

/** `{"args": [], "kwargs": {…}}` with the kwargs object captured as it was written. */
const KWARGS_ONLY = /^\{\s*"args"\s*:\s*\[\s*\]\s*,\s*"kwargs"\s*:\s*(\{[\s\S]*\})\s*\}$/;

/**
 * A tool's arguments: a call made with keyword arguments only (`{"args": [], "kwargs": {…}}`,
 * as a model's tool call is made) is its kwargs object, the text as recorded (not re-serialised,
 * so numbers beyond 2^53 stay exact); any other input as it is.
 */
function keywordArguments(input: string): string {
  const kwargs = KWARGS_ONLY.exec(input)?.[1];
  if (kwargs === undefined) return input;
  const call = structured(input);
  if (!isRecord(call) || Object.keys(call).length !== 2) return input;
  return isRecord(structured(kwargs)) ? kwargs : input;
}
