/**
 * The conversations API (docs/conversations.md "API"): recent conversations, a page at a time,
 * and one conversation's turns in order with their outputs and findings. The web UI's
 * conversation pages draw exactly these answers.
 */

import { Hono } from "hono";
import { z } from "zod";
import { PlumblineError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import {
  decodeConversationCursor,
  getConversation,
  listConversations,
} from "./conversations-queries.ts";
import { parseInput } from "./parse-input.ts";
import { timeParam } from "./time-param.ts";

export interface ConversationsApiDeps {
  store: Store;
  /** Unix ms; Date.now unless a test sets the clock. */
  now?: () => number;
}

const listQuery = z.object({
  since: timeParam.prefault("24h"),
  until: timeParam.optional(),
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(50),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeConversationCursor(text);
      if (cursor === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `"${text}" is not a nextCursor of GET /api/conversations`,
        });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
});

/** Conversation ids as instrumentations write them: anything printable, within reason. */
const CONVERSATION_ID = /^[^\p{Cc}]{1,512}$/u;

export function conversationsRoutes(deps: ConversationsApiDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;

  app.get("/api/conversations", async (c) => {
    const query = parseInput(listQuery, c.req.query(), "query parameter");
    const until = query.until ?? now();
    if (until <= query.since) {
      throw new PlumblineError(
        "invalid_input",
        `query parameter "until" (${new Date(until).toISOString()}) is not after "since" (${new Date(query.since).toISOString()})`,
        400,
      );
    }
    const page = await listConversations(deps.store, { ...query, until });
    return c.json({
      since: new Date(query.since).toISOString(),
      until: new Date(until).toISOString(),
      ...page,
    });
  });

  app.get("/api/conversations/:id", async (c) => {
    const id = c.req.param("id");
    if (!CONVERSATION_ID.test(id)) {
      throw new PlumblineError(
        "invalid_conversation_id",
        "a conversation id is 1 to 512 characters without control characters",
        400,
      );
    }
    const conversation = await getConversation(deps.store, id);
    if (conversation === undefined) {
      throw new PlumblineError("not_found", `no outputs stored for conversation ${id}`, 404);
    }
    return c.json(conversation);
  });

  return app;
}
