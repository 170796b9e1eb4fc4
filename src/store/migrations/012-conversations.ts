import type { Migration } from "./types.ts";
import { addIndex } from "./ddl.ts";

export const migration12: Migration = {
  version: 12,
  name: "agent_outputs conversation index",
  // Conversation rules read a conversation's outputs each time one of its traces goes quiet
  // (evaluate/conversation-queries.ts), and the API lists a conversation's turns: a bloom
  // filter on ConversationId lets those reads skip the granules of other conversations, as
  // idx_trace_id does for traces.
  statements: (ctx) => [
    addIndex(
      ctx,
      ctx.tables.outputs,
      "idx_conversation_id ConversationId TYPE bloom_filter(0.001) GRANULARITY 1",
    ),
  ],
};
