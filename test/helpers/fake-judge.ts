/**
 * A fake OpenAI-compatible judge on a free local port: `POST /v1/chat/completions` answers what
 * the test's `decide` says for each request — a verdict, any message content (malformed
 * replies), an HTTP error with headers (429 + Retry-After), a delay (timeouts), or a dropped
 * connection (a judge that is down). The default is deterministic: a reply that names the same
 * entity as the input passes. Every request is recorded.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface JudgeCallRecord {
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format?: unknown;
    max_tokens?: number;
  };
  authorization: string | undefined;
  /** What the fake answered. */
  answer: FakeJudgeAnswer["type"];
}

export type FakeJudgeAnswer =
  | { type: "verdict"; verdict: "pass" | "fail"; score: number; explanation: string }
  | { type: "content"; content: string }
  | { type: "status"; status: number; headers?: Record<string, string>; message?: string }
  | { type: "delay"; ms: number; then: FakeJudgeAnswer }
  | { type: "drop" };

export type Decide = (call: JudgeCallRecord["body"], index: number) => FakeJudgeAnswer;

export interface FakeJudge {
  /** Base URL ending in /v1, as PLUMBLINE_JUDGE_BASE_URL wants it. */
  baseUrl: string;
  calls: JudgeCallRecord[];
  /** The most requests it was answering at once. */
  maxInFlight(): number;
  /** Replaces how requests are answered from now on. */
  setDecide(decide: Decide): void;
  close(): Promise<void>;
}

/** Tokens the fake reports for every answer. */
export const FAKE_USAGE = { prompt_tokens: 120, completion_tokens: 30 };

/**
 * The deterministic judge of the "names the same entity" template: the ids (ORD-…, TCK-…,
 * CUS-…) in the user message's reply must all appear in its input.
 */
export const sameEntityJudge: Decide = (body) => {
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const [input = "", reply = ""] = user.split(/^Reply:$/m);
  const ids = (text: string) => new Set(text.match(/\b(?:ORD|TCK|CUS)-\d+\b/g) ?? []);
  const asked = ids(input);
  const named = [...ids(reply)].filter((id) => !asked.has(id));
  return named.length === 0
    ? { type: "verdict", verdict: "pass", score: 1, explanation: "names the entity asked about" }
    : {
        type: "verdict",
        verdict: "fail",
        score: 0.1,
        explanation: `names ${named.join(", ")}, which the input does not`,
      };
};

export async function startFakeJudge(decide: Decide = sameEntityJudge): Promise<FakeJudge> {
  let current = decide;
  const calls: JudgeCallRecord[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as JudgeCallRecord["body"];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once("close", () => void inFlight--);
    let answer = current(body, calls.length);
    calls.push({ body, authorization: req.headers.authorization, answer: answer.type });
    while (answer.type === "delay") {
      await new Promise((resolve) => setTimeout(resolve, (answer as { ms: number }).ms));
      if (res.destroyed) return;
      answer = answer.then;
    }
    if (answer.type === "drop") {
      req.socket.destroy();
      return;
    }
    if (answer.type === "status") {
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(JSON.stringify({ error: { message: answer.message ?? "fake error", type: "x" } }));
      return;
    }
    const content =
      answer.type === "content"
        ? answer.content
        : JSON.stringify({
            verdict: answer.verdict,
            score: answer.score,
            explanation: answer.explanation,
          });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${calls.length}`,
        object: "chat.completion",
        model: `${body.model}-2026-01-01`,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: {
          ...FAKE_USAGE,
          total_tokens: FAKE_USAGE.prompt_tokens + FAKE_USAGE.completion_tokens,
        },
      }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    maxInFlight: () => maxInFlight,
    setDecide: (next) => void (current = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
