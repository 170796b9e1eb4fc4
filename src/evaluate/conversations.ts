/**
 * Conversation rules (docs/conversations.md) run twice over. As each trace goes quiet, the
 * quiet-trace evaluator hands it here: the conversation it belongs to is read from the store
 * as it is so far (nothing of it is held in memory between turns) and the new turn is checked
 * against the turns before it. Once a conversation has had no new output for `quietMs`
 * (`evaluate.conversationQuietMs`, 30 minutes), it is checked once more as a whole, for what
 * only its end can tell (a `count` below `min`). A durable cursor over insert times, as for
 * quiet traces, says how far the second has got; a restart resumes where it stopped.
 */

import type { AgentOutputRow } from "../store/tables/agent-outputs.ts";
import type { Engine, EvaluationSink } from "./engine.ts";
import { createPollLoop } from "../poll-loop.ts";

export interface ConversationStore {
  readCursor(name: string): Promise<number | undefined>;
  writeCursor(name: string, value: number): Promise<void>;
  /** Trace id → the conversation its outputs name; traces that name none are left out. */
  conversationsOfTraces(traceIds: readonly string[]): Promise<Map<string, string>>;
  /** The outputs of a conversation so far; `lean`: input text and attribute maps may be left out. */
  outputsOfConversation(conversationId: string, lean: boolean): Promise<AgentOutputRow[]>;
  /** Conversations quiet since uptoMs with an insert after afterMs. */
  quietConversationIds(
    afterMs: number,
    uptoMs: number,
  ): Promise<{ conversationId: string; lastInsertMs: number }[]>;
}

export interface ConversationEvaluatorOptions {
  store: ConversationStore;
  engine: Pick<Engine, "evaluateConversation" | "conversationRulesRead">;
  sink: EvaluationSink;
  /** A conversation is checked as a whole once it has had no new output for this long. */
  quietMs: number;
  intervalMs: number;
  /** Where a first run starts, before the cursor exists: this long before the quiet horizon. */
  firstRunLookbackMs?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

export const QUIET_CONVERSATION_CURSOR = "quiet-conversations";
const OVERLAP_MS = 10_000;

export interface ConversationEvaluator {
  /** Checks the turns these quiet traces are against their conversations; returns how many. */
  onQuietTraces(traceIds: readonly string[]): Promise<number>;
  /** One pass over the conversations gone quiet; returns how many were checked. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export function createConversationEvaluator(
  options: ConversationEvaluatorOptions,
): ConversationEvaluator {
  const now = options.now ?? Date.now;
  /** Conversation id → the last insert time it was checked as a whole at (within the overlap). */
  const finishedAt = new Map<string, number>();

  async function onQuietTraces(traceIds: readonly string[]): Promise<number> {
    const reads = options.engine.conversationRulesRead();
    if (!reads.any || traceIds.length === 0) return 0;
    const conversations = await options.store.conversationsOfTraces(traceIds);
    const turns = new Map<string, Set<string>>();
    for (const [traceId, conversationId] of conversations) {
      const set = turns.get(conversationId) ?? new Set<string>();
      set.add(traceId);
      turns.set(conversationId, set);
    }
    for (const [conversationId, traces] of turns) {
      const rows = await options.store.outputsOfConversation(conversationId, !reads.bulky);
      const { findings, evaluations } = options.engine.evaluateConversation(conversationId, rows, {
        kind: "turn",
        traceIds: traces,
      });
      options.sink.add(findings, evaluations);
    }
    return turns.size;
  }

  async function pass(): Promise<number> {
    const upto = now() - options.quietMs;
    const after =
      (await options.store.readCursor(QUIET_CONVERSATION_CURSOR)) ??
      upto - (options.firstRunLookbackMs ?? 10 * 60_000);
    if (upto <= after) return 0;
    const reads = options.engine.conversationRulesRead();
    if (!reads.any) {
      await options.store.writeCursor(QUIET_CONVERSATION_CURSOR, upto);
      return 0;
    }
    const found = await options.store.quietConversationIds(after - OVERLAP_MS, upto);
    let checked = 0;
    for (const { conversationId, lastInsertMs } of found) {
      if (finishedAt.get(conversationId) === lastInsertMs) continue;
      const rows = await options.store.outputsOfConversation(conversationId, !reads.bulky);
      const { findings, evaluations } = options.engine.evaluateConversation(conversationId, rows, {
        kind: "final",
      });
      options.sink.add(findings, evaluations);
      finishedAt.set(conversationId, lastInsertMs);
      checked++;
    }
    for (const [conversationId, last] of finishedAt) {
      if (last < after - 2 * OVERLAP_MS) finishedAt.delete(conversationId);
    }
    await options.store.writeCursor(QUIET_CONVERSATION_CURSOR, upto);
    return checked;
  }

  const loop = createPollLoop(pass, options.intervalMs, options.onError);
  return { onQuietTraces, tick: loop.tick, start: loop.start, stop: loop.stop };
}
