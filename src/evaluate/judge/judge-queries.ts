/**
 * The judge worker's store: its queue, cache and scores tables (src/store/tables/), and the
 * reads of what a prompt names beyond the output itself: the tool calls of the same trace that
 * started no later than it ({{trace.tool_results}}), the earlier turns of its conversation
 * ({{conversation}}). Values are bound as parameters.
 */

import { UNIX_TIMESTAMPS } from "../../store/read-settings.ts";
import type { Store } from "../../store/store.ts";
import {
  SPAN_JOIN_SETTINGS,
  withSpanAttributes,
  type AgentOutputRow,
} from "../../store/tables/agent-outputs.ts";
import {
  cachedVerdicts,
  judgeTokensSince,
  writeJudgeCache,
} from "../../store/tables/judge-cache.ts";
import { dueJudgeItems, writeJudgeQueue } from "../../store/tables/judge-queue.ts";
import { writeEvaluationScores } from "../../store/tables/evaluation-scores.ts";
import type { JudgeContext } from "../checks/judge.ts";
import type { JudgeWorkerStore } from "./judge-worker.ts";

/** Tool calls and turns shown to the judge, at most this many per output (newest kept). */
const MAX_CONTEXT_ITEMS = 20;

export function judgeStore(store: Store): JudgeWorkerStore {
  return {
    writeQueue: (items) => writeJudgeQueue(store, items),
    due: (nowMs, limit) => dueJudgeItems(store, nowMs, limit),
    async outputs(items) {
      if (items.length === 0) return [];
      const result = await store.client.query({
        query: withSpanAttributes(
          store,
          `SELECT * EXCEPT InsertedAt FROM ${store.tables.outputs} FINAL
WHERE TraceId IN {traces:Array(String)} AND concat(TraceId, '/', SpanId) IN {keys:Array(String)}`,
        ),
        query_params: {
          traces: [...new Set(items.map((i) => i.traceId))],
          keys: items.map((i) => `${i.traceId}/${i.spanId}`),
        },
        format: "JSONEachRow",
        clickhouse_settings: { ...UNIX_TIMESTAMPS, ...SPAN_JOIN_SETTINGS },
      });
      return result.json<AgentOutputRow>();
    },
    async context(wanted) {
      const contexts = new Map<string, JudgeContext>();
      if (wanted.length === 0) return contexts;
      const traces = [
        ...new Set(wanted.filter((w) => w.reads.toolResults).map((w) => w.row.TraceId)),
      ];
      const conversations = [
        ...new Set(
          wanted
            .filter((w) => w.reads.conversation && w.row.ConversationId !== "")
            .map((w) => w.row.ConversationId),
        ),
      ];
      type ToolRow = Pick<
        AgentOutputRow,
        | "TraceId"
        | "SpanId"
        | "Timestamp"
        | "ToolName"
        | "ToolArguments"
        | "ToolResult"
        | "StatusCode"
      >;
      type TurnRow = Pick<
        AgentOutputRow,
        "ConversationId" | "SpanId" | "Timestamp" | "InputText" | "OutputText"
      >;
      const tools =
        traces.length === 0
          ? []
          : await (
              await store.client.query({
                query: `SELECT TraceId, SpanId, Timestamp, ToolName, ToolArguments, ToolResult, StatusCode
FROM ${store.tables.outputs} FINAL
WHERE TraceId IN {traces:Array(String)} AND Kind = 'tool' ORDER BY TraceId, Timestamp`,
                query_params: { traces },
                format: "JSONEachRow",
                clickhouse_settings: UNIX_TIMESTAMPS,
              })
            ).json<ToolRow>();
      const turns =
        conversations.length === 0
          ? []
          : await (
              await store.client.query({
                query: `SELECT ConversationId, SpanId, Timestamp, InputText, OutputText
FROM ${store.tables.outputs} FINAL
WHERE ConversationId IN {conversations:Array(String)} AND Kind IN ('llm', 'agent')
ORDER BY ConversationId, Timestamp`,
                query_params: { conversations },
                format: "JSONEachRow",
                clickhouse_settings: UNIX_TIMESTAMPS,
              })
            ).json<TurnRow>();
      for (const { row, reads } of wanted) {
        // Started no later than the output: spans often share a millisecond.
        const before = (time: string) => Number(time) <= Number(row.Timestamp);
        const toolResults = reads.toolResults
          ? tools
              .filter(
                (t) => t.TraceId === row.TraceId && t.SpanId !== row.SpanId && before(t.Timestamp),
              )
              .slice(-MAX_CONTEXT_ITEMS)
              .map(
                (t) =>
                  `tool ${t.ToolName}(${t.ToolArguments})${t.StatusCode === "Error" ? " failed" : ""} returned: ${t.ToolResult}`,
              )
              .join("\n")
          : "";
        const conversation =
          reads.conversation && row.ConversationId !== ""
            ? turns
                .filter(
                  (t) =>
                    t.ConversationId === row.ConversationId &&
                    t.SpanId !== row.SpanId &&
                    before(t.Timestamp),
                )
                .slice(-MAX_CONTEXT_ITEMS)
                .map((t) => `user: ${t.InputText}\nassistant: ${t.OutputText}`)
                .join("\n")
            : "";
        contexts.set(`${row.TraceId}/${row.SpanId}`, { toolResults, conversation });
      }
      return contexts;
    },
    cached: (ruleId, version, hashes) => cachedVerdicts(store, ruleId, version, hashes),
    saveVerdict: (verdict) => writeJudgeCache(store, [verdict]),
    saveScores: (scores) => writeEvaluationScores(store, scores),
    tokensSince: (ms) => judgeTokensSince(store, ms),
  };
}
