/**
 * What the simulated traffic shows once normalised into `agent_outputs` rows, counted per time
 * window: the numbers each scenario is meant to move (broken parses, the order-type mix,
 * errors as data, cut or empty summaries, fetch latency …) and the ones it must leave alone.
 * Used by the simulator's test to check that a scenario changes what it says and nothing else.
 */

import { looksLikeErrorPayload } from "../../src/evaluate/error-payload.ts";
import type { AgentOutputRow } from "../../src/store/tables/agent-outputs.ts";
import { PARSE_INSTRUCTIONS, QUOTE_INSTRUCTIONS, REPLY_INSTRUCTIONS } from "./orders-agent.ts";
import { PLAN_INSTRUCTIONS, SUMMARY_INSTRUCTIONS } from "./research-agent.ts";

export interface Symptoms {
  ordersRuns: number;
  researchRuns: number;
  parseCalls: number;
  parseInvalidJson: number;
  parseMissingQuantity: number;
  parseQuantityNotInteger: number;
  /** JSON of order_type → count, keys sorted. */
  orderTypes: string;
  totalMedian: number;
  quoteCalls: number;
  checkStockCalls: number;
  /** check_stock calls with status Ok whose result is an error payload. */
  stockErrorsAsData: number;
  /** Traces with such a check_stock that still created the order. */
  authErrorTracesWithOrder: number;
  toolErrorSpans: number;
  outOfStockReplies: number;
  createOrderCalls: number;
  /** Traces with two create_order calls whose arguments are identical. */
  duplicateCreateTraces: number;
  confirmationMeanLength: number;
  summaries: number;
  summariesCutAtLength: number;
  summariesEmpty: number;
  agentAnswersEmpty: number;
  summaryMeanLength: number;
  /** JSON of plan step kind → count, keys sorted. */
  planStepKinds: string;
  searchCalls: number;
  fetchCalls: number;
  fetchP95Ms: number;
  /** The models of the chat calls, sorted, comma-separated. */
  models: string;
}

/** Milliseconds since the epoch of a row's DateTime64(9) text. */
export function rowTimeMs(row: AgentOutputRow): number {
  const [seconds = "0", nanos = "0"] = row.Timestamp.split(".");
  return Number(seconds) * 1000 + Number(nanos) / 1e6;
}

/** The start of each trace's run (its agent row), by trace id. */
export function runStarts(rows: readonly AgentOutputRow[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const row of rows) if (row.Kind === "agent") starts.set(row.TraceId, rowTimeMs(row));
  return starts;
}

/** Rows of the runs that started in [fromMs, toMs). */
export function rowsOfRunsIn(
  rows: readonly AgentOutputRow[],
  starts: ReadonlyMap<string, number>,
  fromMs: number,
  toMs: number,
): AgentOutputRow[] {
  return rows.filter((row) => {
    const start = starts.get(row.TraceId);
    return start !== undefined && start >= fromMs && start < toMs;
  });
}

export function symptomsOf(rows: readonly AgentOutputRow[]): Symptoms {
  const prompt = (row: AgentOutputRow, instructions: string) =>
    row.Kind === "llm" && row.InputText.startsWith(`system: ${instructions}`);
  const tool = (name: string) => rows.filter((row) => row.Kind === "tool" && row.ToolName === name);

  const parses = rows.filter((row) => prompt(row, PARSE_INSTRUCTIONS));
  const parsed = parses.flatMap((row) =>
    row.OutputJson === "" ? [] : [JSON.parse(row.OutputJson) as Record<string, unknown>],
  );
  const orderTypes = countBy(parsed.map((p) => String(p.order_type)));
  const totals = parsed.map((p) => p.total).filter((t): t is number => typeof t === "number");

  const stock = tool("check_stock");
  const errorsAsData = stock.filter(
    (row) => row.StatusCode === "Ok" && looksLikeErrorPayload(row.ToolResult).error,
  );
  const creates = tool("create_order");
  const createTraces = new Set(creates.map((row) => row.TraceId));
  const argsByTrace = new Map<string, string[]>();
  for (const row of creates) {
    argsByTrace.set(row.TraceId, [...(argsByTrace.get(row.TraceId) ?? []), row.ToolArguments]);
  }
  const duplicates = [...argsByTrace.values()].filter(
    (args) => new Set(args).size < args.length,
  ).length;

  const replies = rows.filter((row) => prompt(row, REPLY_INSTRUCTIONS));
  const outOfStock = replies.filter((row) => row.OutputText.includes("out of stock"));
  const confirmations = replies.filter((row) => !row.OutputText.includes("out of stock"));
  const summaries = rows.filter((row) => prompt(row, SUMMARY_INSTRUCTIONS));
  const plans = rows.flatMap((row) =>
    prompt(row, PLAN_INSTRUCTIONS)
      ? (JSON.parse(row.OutputJson) as { steps: { kind: string }[] }).steps
      : [],
  );
  const fetches = tool("fetch_page").filter((row) => row.StatusCode !== "Error");
  const agents = rows.filter((row) => row.Kind === "agent");
  const chats = rows.filter((row) => row.Kind === "llm");

  return {
    ordersRuns: agents.filter((row) => row.AgentName === "order-processor").length,
    researchRuns: agents.filter((row) => row.AgentName === "researcher").length,
    parseCalls: parses.length,
    parseInvalidJson: parses.length - parsed.length,
    parseMissingQuantity: parsed.filter((p) => !("quantity" in p)).length,
    parseQuantityNotInteger: parsed.filter((p) => "quantity" in p && !Number.isInteger(p.quantity))
      .length,
    orderTypes: JSON.stringify(orderTypes),
    totalMedian: quantile(totals, 0.5),
    quoteCalls: rows.filter((row) => prompt(row, QUOTE_INSTRUCTIONS)).length,
    checkStockCalls: stock.length,
    stockErrorsAsData: errorsAsData.length,
    authErrorTracesWithOrder: new Set(
      errorsAsData.map((row) => row.TraceId).filter((id) => createTraces.has(id)),
    ).size,
    toolErrorSpans: rows.filter((row) => row.Kind === "tool" && row.StatusCode === "Error").length,
    outOfStockReplies: outOfStock.length,
    createOrderCalls: creates.length,
    duplicateCreateTraces: duplicates,
    confirmationMeanLength: mean(confirmations.map((row) => row.OutputText.length)),
    summaries: summaries.length,
    summariesCutAtLength: summaries.filter((row) => row.FinishReason === "length").length,
    summariesEmpty: summaries.filter((row) => row.OutputText === "").length,
    agentAnswersEmpty: agents.filter((row) => row.OutputText === "").length,
    summaryMeanLength: mean(summaries.map((row) => row.OutputText.length)),
    planStepKinds: JSON.stringify(countBy(plans.map((step) => step.kind))),
    searchCalls: tool("web_search").length,
    fetchCalls: fetches.length,
    fetchP95Ms: quantile(
      fetches.map((row) => Number(row.DurationNs) / 1e6),
      0.95,
    ),
    models: [...new Set(chats.map((row) => row.Model))].sort().join(","),
  };
}

/** Shares of each key of a JSON count object (as in Symptoms.orderTypes). */
export function shares(countsJson: string): Record<string, number> {
  const counts = JSON.parse(countsJson) as Record<string, number>;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([key, n]) => [key, n / total]));
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of [...keys].sort()) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The q-quantile by linear interpolation (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const lowValue = sorted[low] ?? NaN;
  const highValue = sorted[Math.min(low + 1, sorted.length - 1)] ?? lowValue;
  return lowValue + (highValue - lowValue) * (position - low);
}
