/**
 * The conversations API through app.request() on a seeded embedded store: recent
 * conversations a page at a time with their turns, outputs and findings counted, and one
 * conversation's turns in order with their outputs and findings; bad parameters are 400s that
 * name them.
 */

import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import type { GroupCommitter } from "../src/store/group-commit.ts";
import type { Store } from "../src/store/store.ts";
import { writeFindings } from "../src/store/tables/checks.ts";
import { makeFinding } from "./helpers/findings.ts";
import type { Json } from "./helpers/http.ts";
import { makeRow } from "./helpers/make-row.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;
let app: Hono;
const NOW_S = Math.floor(Date.now() / 1000);

/** Turn `n` of conversation `id`: an agent run naming it, and a tool call naming nothing. */
function turn(id: string, n: number, secondsAgo: number) {
  const traceId = `${id.length.toString(16)}${n}`.padEnd(32, "c").slice(0, 32);
  const at = `${NOW_S - secondsAgo}.000000000`;
  return [
    makeRow({
      TraceId: traceId,
      SpanId: `a${n}`.padEnd(16, "0"),
      Timestamp: at,
      Kind: "agent",
      Operation: "invoke_agent",
      AgentName: "onboarding",
      ServiceName: "onboarding-agent",
      ConversationId: id,
      InputText: `user: message ${n}`,
      OutputText: `answer ${n}`,
    }),
    makeRow({
      TraceId: traceId,
      SpanId: `b${n}`.padEnd(16, "0"),
      ParentSpanId: `a${n}`.padEnd(16, "0"),
      Timestamp: `${NOW_S - secondsAgo}.500000000`,
      Kind: "tool",
      Operation: "execute_tool",
      ToolName: "send_email",
      ToolArguments: '{"to":"ada@example.com"}',
      AgentName: "onboarding",
      ServiceName: "onboarding-agent",
      ConversationId: "",
    }),
  ];
}

const [T1, T2, T3] = [turn("onb-1", 1, 600), turn("onb-1", 2, 400), turn("onb-1", 3, 200)];
const OTHER = turn("onb-22", 1, 3_000);

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: [],
    outputs: [...(T1 ?? []), ...(T2 ?? []), ...(T3 ?? []), ...OTHER],
  });
  const resent = T3?.[1];
  if (resent === undefined) throw new Error("seed");
  await writeFindings(store, [
    makeFinding({
      ruleId: "builtin.duplicate-side-effect-in-conversation",
      scope: "conversation",
      code: "duplicate",
      path: "tool.name, tool.arguments",
      message: "conversation onb-1: the e-mail was sent again",
      traceId: resent.TraceId,
      spanId: resent.SpanId,
      time: resent.Timestamp,
    }),
  ]);
  app = createApp({
    store,
    committer: { health: () => ({ ok: true }) } as unknown as GroupCommitter,
    stats: { flush: async () => undefined },
    ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
    maxBodyBytes: 1 << 20,
    ingestKeys: [],
  });
});
afterAll(async () => {
  await store?.close();
});

async function get(path: string): Promise<{ status: number; body: Json }> {
  const response = await app.request(path);
  return { status: response.status, body: (await response.json()) as Json };
}

describe("GET /api/conversations", () => {
  it("lists recent conversations, most recently active first, with their counts", async () => {
    const { status, body } = await get("/api/conversations?since=2h");
    expect(status).toBe(200);
    expect(body.conversations).toEqual([
      expect.objectContaining({
        conversationId: "onb-1",
        turns: 3,
        outputs: 6,
        findings: 1,
        services: ["onboarding-agent"],
        agents: ["onboarding"],
      }),
      expect.objectContaining({ conversationId: "onb-22", turns: 1, findings: 0 }),
    ]);
    expect(body.nextCursor).toBeNull();
  });

  it("pages with nextCursor, each conversation once, and honours since", async () => {
    const first = await get("/api/conversations?since=2h&limit=1");
    expect(first.body.conversations.map((c: Json) => c.conversationId)).toEqual(["onb-1"]);
    const next = await get(
      `/api/conversations?since=2h&limit=1&cursor=${first.body.nextCursor as string}`,
    );
    expect(next.body.conversations.map((c: Json) => c.conversationId)).toEqual(["onb-22"]);
    expect(next.body.nextCursor).toBeNull();
    const recent = await get("/api/conversations?since=30m");
    expect(recent.body.conversations.map((c: Json) => c.conversationId)).toEqual(["onb-1"]);
  });

  it("names a bad parameter", async () => {
    const { status, body } = await get("/api/conversations?cursor=nope");
    expect(status).toBe(400);
    expect(body.error.message).toContain("cursor");
  });
});

describe("GET /api/conversations/:id", () => {
  it("answers its turns in order with their outputs and findings", async () => {
    const { status, body } = await get("/api/conversations/onb-1");
    expect(status).toBe(200);
    expect(body.turns.map((t: Json) => t.traceId)).toEqual(
      [T1, T2, T3].map((t) => t?.[0]?.TraceId),
    );
    // The tool call named no conversation; it belongs to its trace's.
    expect(body.turns[0].outputs.map((o: Json) => [o.Kind, o.ConversationId])).toEqual([
      ["agent", "onb-1"],
      ["tool", "onb-1"],
    ]);
    expect(body.turns[2].findings).toEqual([
      expect.objectContaining({ Scope: "conversation", Code: "duplicate" }),
    ]);
    expect(body.findings).toHaveLength(1);
  });

  it("is a 404 for an unknown conversation", async () => {
    const { status, body } = await get("/api/conversations/nobody");
    expect(status).toBe(404);
    expect(body.error.code).toBe("not_found");
  });
});

describe("the conversation pages of the web UI", () => {
  async function html(path: string): Promise<{ status: number; text: string }> {
    const response = await app.request(path);
    return { status: response.status, text: await response.text() };
  }

  it("lists conversations with the API's numbers, linked to their pages, from the nav", async () => {
    const { status, text } = await html("/conversations?since=2h");
    expect(status).toBe(200);
    expect(text).toContain('<a href="/conversations" aria-current="page">Conversations</a>');
    expect(text).toContain('href="/conversations/onb-1"');
    expect(text).toContain('href="/conversations/onb-22"');
    const row = text.slice(text.indexOf('href="/conversations/onb-1"'));
    expect(row.slice(0, row.indexOf("</tr>"))).toMatch(/<td>3<\/td><td>6<\/td>/);
  });

  it("shows a conversation's turns in order, with their answers, tool calls and findings", async () => {
    const { status, text } = await html("/conversations/onb-1");
    expect(status).toBe(200);
    const turns = [1, 2, 3].map((n) => text.indexOf(`Turn ${n}`));
    expect(turns.every((at, i) => at > 0 && (i === 0 || at > (turns[i - 1] ?? 0)))).toBe(true);
    // Wrapped, so that a long answer fits a narrow screen.
    expect(text).toContain('<pre class="text">answer 2</pre>');
    expect(text).toContain("send_email");
    expect(text).toContain("Findings across the conversation");
    expect(text).toContain("the e-mail was sent again");
    const resent = T3?.[1];
    expect(text).toContain(`/traces/${resent?.TraceId}?span=${resent?.SpanId}`);
  });

  it("links a trace to its conversation", async () => {
    const { text } = await html(`/traces/${T2?.[0]?.TraceId}`);
    expect(text).toContain('A turn of conversation <a href="/conversations/onb-1">');
  });

  it("answers an unknown conversation with a page that says so", async () => {
    const { status, text } = await html("/conversations/nobody");
    expect(status).toBe(404);
    expect(text).toContain("no outputs stored for conversation nobody");
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
  });
});
