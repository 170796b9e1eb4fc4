/**
 * The research agent ("researcher" in service research-agent): plan (JSON steps) → 2–5 web_search
 * / fetch_page tool calls → a summary with [n] citations. Legitimate noise: ~3% of searches find
 * nothing, ~1.5% of page fetches fail on a reset connection and are retried, and ~0.5% of
 * summaries run into max_tokens.
 */

import { agentSpan, chatSpan, toolSpan } from "./genai-spans.ts";
import type { LegitimateEvent, RunPlan, SpanPlan } from "./genai-spans.ts";
import type { RunInput } from "./orders-agent.ts";
import {
  pageText,
  researchQuestion,
  searchHits,
  searchQuery,
  sourceUrl,
  summary,
  title,
  TOPICS,
} from "./prose.ts";
import { categoryIndex, logNormal, pick, randomId, stepRandom, uniform } from "./random.ts";
import type { Random } from "./random.ts";
import { charsPerToken, chatDurationMs, RunClock, tokensOf } from "./timing.ts";

export const RESEARCH_AGENT = "researcher";

export const PLAN_INSTRUCTIONS =
  "Plan how to answer the research question. Reply with JSON only: " +
  '{"steps": [{"kind": "search" | "fetch" | "compare" | "summarise", ...}]}.';
export const SUMMARY_INSTRUCTIONS =
  "Answer the question from the sources below in a few paragraphs. Cite sources as [n]. Plain text.";

/** Legitimate noise rates. */
export const RESEARCH_NOISE = {
  noSearchResults: 0.03,
  fetchReset: 0.015,
  stoppedAtMaxTokens: 0.005,
} as const;

/** Shares of 2, 3, 4 and 5 tool calls per run. */
const TOOL_CALL_COUNTS: readonly number[] = [0.2, 0.35, 0.3, 0.15];
/** After the first search, the share of steps that fetch a page (the rest search again). */
const FETCH_SHARE = 0.6;
/** Share of plans that compare the sources before summarising. */
const COMPARE_SHARE = 0.3;
/** fetch_page latency: median 880 ms with log-sd 0.5 puts its p95 at 2.0 s. */
const FETCH_MEDIAN_MS = 880;
const FETCH_LOG_SD = 0.5;
export const SUMMARY_MAX_TOKENS = 512;

type Step = { kind: "search"; query: string } | { kind: "fetch"; url: string };

export function researchRun(input: RunInput): RunPlan {
  const { runSeed, effects } = input;
  const step = (name: string) => stepRandom(runSeed, name);
  const model = effects.model;
  const clock = new RunClock();
  const children: SpanPlan[] = [];
  const legitimate: LegitimateEvent[] = [];

  const ask = step("question");
  const topic = pick(ask, TOPICS);
  const question = researchQuestion(ask, topic);
  const conversationId = randomId(ask, "conv_", 20);

  const chat = (
    random: Random,
    call: { instructions: string; input: string; output: string; outputType: "json" | "text" },
    options: { maxTokens: number; temperature: number; finishReason?: "stop" | "length" },
  ) => {
    const perToken = charsPerToken(random);
    const outputTokens =
      options.finishReason === "length"
        ? options.maxTokens
        : Math.min(options.maxTokens - 1, tokensOf(call.output.length, perToken));
    const time = clock.step(random, chatDurationMs(random, model, outputTokens));
    children.push(
      chatSpan({
        ...call,
        ...time,
        model,
        parent: 0,
        finishReason: options.finishReason ?? "stop",
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        inputTokens: tokensOf(call.instructions.length + call.input.length, perToken) + 12,
        outputTokens,
        responseId: randomId(random, "chatcmpl-", 29),
      }),
    );
  };

  // 1. Plan.
  const planRandom = step("plan");
  const toolCalls = 2 + categoryIndex(planRandom(), TOOL_CALL_COUNTS);
  const steps: Step[] = [];
  const draw = (i: number): Step =>
    i > 0 && planRandom() < FETCH_SHARE
      ? { kind: "fetch", url: sourceUrl(planRandom, topic) }
      : { kind: "search", query: searchQuery(planRandom, topic) };
  const same = (a: Step, b: Step) => JSON.stringify(a) === JSON.stringify(b);
  for (let i = 0; i < toolCalls; i++) {
    // A healthy plan does not call a tool a third time with the same arguments (a loop, which
    // builtin.loop reports): such a step is drawn again. Runs without one draw as before.
    let next = draw(i);
    for (let tries = 0; tries < 20 && steps.filter((s) => same(s, next)).length >= 2; tries++)
      next = draw(i);
    steps.push(next);
  }
  const compare = planRandom() < COMPARE_SHARE;
  const plan = [...steps, ...(compare ? [{ kind: "compare" }] : []), { kind: "summarise" }];
  chat(
    planRandom,
    {
      instructions: PLAN_INSTRUCTIONS,
      input: question,
      output: JSON.stringify({ steps: plan }),
      outputType: "json",
    },
    { maxTokens: 400, temperature: 0.2 },
  );

  // 2. Tools.
  const sources: string[] = [];
  steps.forEach((planned, i) => {
    const random = step(`tool-${i}`);
    const callId = randomId(random, "call_", 24);
    if (planned.kind === "search") {
      const empty = random() < RESEARCH_NOISE.noSearchResults;
      const hits = searchHits(random, topic, 5);
      if (empty) legitimate.push("no-search-results");
      else sources.push(...hits.slice(0, 2).map((hit) => hit.title));
      const time = clock.step(random, logNormal(random, 600, 0.4));
      children.push(
        toolSpan({
          name: "web_search",
          callId,
          parent: 0,
          ...time,
          args: { query: planned.query, top_k: 5 },
          result: { query: planned.query, results: empty ? [] : hits },
        }),
      );
      return;
    }
    const args = { url: planned.url };
    if (random() < RESEARCH_NOISE.fetchReset) {
      const time = clock.step(random, logNormal(random, 300, 0.3));
      children.push(
        toolSpan({
          name: "fetch_page",
          callId,
          parent: 0,
          ...time,
          args,
          error: { type: "ConnectionResetError", message: "connection reset by peer" },
        }),
      );
      legitimate.push("tool-error-retried");
    }
    const fetched = step(`tool-${i}-fetched`);
    const pageTitle = title(fetched, topic);
    const text = pageText(fetched, topic, uniform(fetched, 500, 1200));
    const latency = logNormal(fetched, FETCH_MEDIAN_MS, FETCH_LOG_SD) * effects.fetchLatencyFactor;
    const time = clock.step(fetched, latency);
    children.push(
      toolSpan({
        name: "fetch_page",
        callId: randomId(fetched, "call_", 24),
        parent: 0,
        ...time,
        args,
        result: { url: planned.url, status: 200, title: pageTitle, text },
      }),
    );
    sources.push(pageTitle);
  });

  // 3. Summarise.
  const write = step("summary");
  const cited = Math.max(1, Math.min(5, sources.length));
  const target = uniform(write, 600, 1500) * model.lengthFactor;
  const stoppedAtLimit = write() < RESEARCH_NOISE.stoppedAtMaxTokens;
  let answer: string;
  let finishReason: "stop" | "length" = "stop";
  if (effects.emptySummary) {
    answer = "";
  } else if (effects.truncatedSummary || stoppedAtLimit) {
    // A summary that wanted more than max_tokens: cut where the tokens ran out, mid-word.
    const perToken = uniform(write, 3.8, 4.2);
    const long = summary(write, topic, cited, SUMMARY_MAX_TOKENS * perToken + 400);
    answer = long.slice(0, Math.round(SUMMARY_MAX_TOKENS * perToken));
    finishReason = "length";
    if (!effects.truncatedSummary) legitimate.push("stopped-at-max-tokens");
  } else {
    answer = summary(write, topic, cited, target);
  }
  const sourceList = sources
    .slice(0, cited)
    .map((source, i) => `[${i + 1}] ${source}`)
    .join("\n");
  chat(
    write,
    {
      instructions: SUMMARY_INSTRUCTIONS,
      input: `${question}\n\nSources:\n${sourceList}`,
      output: answer,
      outputType: "text",
    },
    { maxTokens: SUMMARY_MAX_TOKENS, temperature: 0.3, finishReason },
  );

  const root = agentSpan({
    agentName: RESEARCH_AGENT,
    agentId: "asst_researcher_v2",
    conversationId,
    model,
    startOffsetMs: 0,
    endOffsetMs: clock.end(ask),
    input: question,
    answer,
  });
  return { startMs: input.startMs, spans: [root, ...children], legitimate };
}
