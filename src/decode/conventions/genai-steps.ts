/**
 * The GenAI operations around model calls, agent runs and tool calls (semantic-conventions-genai
 * model/gen-ai/spans.yaml): `retrieval` (gen_ai.retrieval.client), the memory operations
 * (gen_ai.memory.client), and the trace root of the OpenAI Agents SDK's GenAI instrumentation,
 * which says invoke_agent where it means a workflow.
 */

import type { AgentOutput, ConventionSpan } from "../agent-output.ts";
import { SpanKind } from "../span.ts";
import type { AttrMap } from "../span.ts";
import { getString, textOf } from "./read-attrs.ts";

/** The memory operations of gen_ai.memory.client; each becomes a `memory` row. */
export const MEMORY_OPERATIONS: readonly string[] = [
  "create_memory",
  "search_memory",
  "update_memory",
  "upsert_memory",
  "delete_memory",
  "create_memory_store",
  "delete_memory_store",
];

/**
 * A retrieval: the query in, the documents out (gen_ai.retrieval.documents, `[{id, score}]` and
 * whatever else the instrumentation records, as JSON text, so output.json reads into it).
 */
export function fillRetrieval(out: AgentOutput, attrs: AttrMap): void {
  out.inputText = getString(attrs, "gen_ai.retrieval.query.text");
  out.outputText = textOf(attrs["gen_ai.retrieval.documents"]);
}

/**
 * A memory operation. A search reads its query (gen_ai.memory.query.text) and returns records
 * (gen_ai.memory.records: `[{content, id, score, metadata}]`, as JSON text); a write
 * (create/update/upsert) takes the records; a delete names a record (gen_ai.memory.record.id, or
 * none for the whole store). Store lifecycle operations carry neither.
 */
export function fillMemory(out: AgentOutput, attrs: AttrMap): void {
  const records = textOf(attrs["gen_ai.memory.records"]);
  if (out.operation === "search_memory") {
    out.inputText = getString(attrs, "gen_ai.memory.query.text");
    out.outputText = records;
  } else if (out.operation === "delete_memory") {
    out.inputText = getString(attrs, "gen_ai.memory.record.id");
  } else {
    out.inputText = records;
  }
}

/** The OpenAI Agents SDK's GenAI instrumentation (opentelemetry-instrumentation-openai-agents-v2). */
const OPENAI_AGENTS_SCOPE = "opentelemetry.instrumentation.openai_agents";

/** The OpenAI Agents SDK's default trace name (RunConfig.workflow_name). */
const OPENAI_AGENTS_DEFAULT_TRACE_NAME = "Agent workflow";

/**
 * The span that instrumentation makes for the SDK's trace: `invoke_agent`, SERVER kind, named
 * after the trace ("Agent workflow" unless the run names it), with the real agent spans (CLIENT,
 * `invoke_agent <agent>`) inside. It groups the run's agents: a workflow. Later versions say so
 * themselves (`invoke_workflow`).
 */
export function isOpenAiAgentsGenAiRoot(span: ConventionSpan): boolean {
  if (span.scope?.name === OPENAI_AGENTS_SCOPE && span.kind === SpanKind.Server) return true;
  return (
    span.name === OPENAI_AGENTS_DEFAULT_TRACE_NAME && !("gen_ai.agent.name" in span.attributes)
  );
}
