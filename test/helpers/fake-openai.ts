/**
 * A fake OpenAI-compatible server on a free local port, so that the real client libraries (and
 * the instrumentations that wrap them) can be driven without the network. Each request takes the
 * next scripted reply: a text answer, tool calls, or an HTTP error. `POST /v1/chat/completions`
 * answers as JSON or, when the request says `stream: true`, as server-sent events (with a usage
 * chunk when `stream_options.include_usage` is set); `POST /v1/responses` answers as JSON.
 * Every request is recorded with the reply it got, so tests can state what the library sent
 * and what it was told.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeToolCall {
  id: string;
  name: string;
  /** JSON text, as the API sends function arguments. */
  arguments: string;
}

export interface FakeUsage {
  input: number;
  output: number;
}

/** One scripted answer: text (possibly empty) and/or tool calls. */
export interface FakeAnswer {
  text?: string;
  toolCalls?: FakeToolCall[];
  /** `stop` by default, `tool_calls` when there are tool calls. */
  finishReason?: "stop" | "length" | "tool_calls" | "content_filter";
  /** The model the API says answered; by default the requested one with a date suffix. */
  model?: string;
  usage?: FakeUsage;
}

/** One scripted failure: the HTTP status and the OpenAI error body. */
export interface FakeError {
  status: number;
  message: string;
  type: string;
  code: string | null;
}

export type FakeReply = FakeAnswer | FakeError;

export interface RecordedRequest {
  path: string;
  body: Record<string, unknown>;
  stream: boolean;
  reply: FakeReply;
  /** The id given to the response (`chatcmpl-…`, `resp_…`); "" for errors. */
  responseId: string;
  /** The model named in the response; "" for errors. */
  responseModel: string;
}

export interface FakeOpenAI {
  /** Base URL as the clients want it, ending in `/v1`. */
  baseURL: string;
  /** Appends replies to the queue; each request takes the first one. */
  script(...replies: FakeReply[]): void;
  readonly requests: RecordedRequest[];
  /** Replies scripted and not yet taken. */
  pending(): number;
  close(): Promise<void>;
}

export const DEFAULT_USAGE: FakeUsage = { input: 21, output: 9 };

/** The model the fake says answered a request for `requested`, unless the reply names one. */
export function answeringModel(requested: string, reply: FakeAnswer): string {
  return reply.model ?? `${requested}-2024-07-18`;
}

export function isFakeError(reply: FakeReply): reply is FakeError {
  return "status" in reply;
}

export function finishReasonOf(reply: FakeAnswer): string {
  return reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop");
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error), type: "fake_error" } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? "").split("?")[0] ?? "";
    const body = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
    const reply = queue.shift();
    if (reply === undefined) {
      sendJson(res, 500, errorBody("the fake has no reply scripted for this request", "fake"));
      return;
    }
    const stream = body["stream"] === true;
    const requested = typeof body["model"] === "string" ? body["model"] : "";
    counter += 1;
    const recorded: RecordedRequest = {
      path,
      body,
      stream,
      reply,
      responseId: "",
      responseModel: "",
    };
    requests.push(recorded);
    if (isFakeError(reply)) {
      sendJson(res, reply.status, {
        error: { message: reply.message, type: reply.type, param: null, code: reply.code },
      });
      return;
    }
    recorded.responseModel = answeringModel(requested, reply);
    if (path === "/v1/chat/completions") {
      recorded.responseId = `chatcmpl-fake${counter}`;
      const includeUsage =
        typeof body["stream_options"] === "object" &&
        body["stream_options"] !== null &&
        (body["stream_options"] as Record<string, unknown>)["include_usage"] === true;
      if (stream) sendChatStream(res, recorded, reply, includeUsage);
      else sendJson(res, 200, chatCompletion(recorded, reply));
      return;
    }
    if (path === "/v1/responses" && !stream) {
      recorded.responseId = `resp_fake${counter}`;
      sendJson(res, 200, response(recorded, reply));
      return;
    }
    sendJson(res, 404, errorBody(`the fake does not serve ${req.method} ${path}`, "fake"));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    script: (...replies) => void queue.push(...replies),
    requests,
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CREATED = 1_760_000_000;

function chatCompletion(recorded: RecordedRequest, reply: FakeAnswer): unknown {
  const usage = reply.usage ?? DEFAULT_USAGE;
  return {
    id: recorded.responseId,
    object: "chat.completion",
    created: CREATED,
    model: recorded.responseModel,
    system_fingerprint: "fp_fake",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.text ?? null,
          refusal: null,
          ...(reply.toolCalls?.length
            ? {
                tool_calls: reply.toolCalls.map((call) => ({
                  id: call.id,
                  type: "function",
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: finishReasonOf(reply),
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  };
}

/** The answer as chat.completion.chunk events: text in pieces, each tool call in two. */
function sendChatStream(
  res: ServerResponse,
  recorded: RecordedRequest,
  reply: FakeAnswer,
  includeUsage: boolean,
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({
        id: recorded.responseId,
        object: "chat.completion.chunk",
        created: CREATED,
        model: recorded.responseModel,
        system_fingerprint: "fp_fake",
        choices,
        ...extra,
      })}\n\n`,
    );
  const delta = (d: Record<string, unknown>) =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: null }]);
  delta({ role: "assistant", content: "", refusal: null });
  for (const piece of pieces(reply.text ?? "")) delta({ content: piece });
  (reply.toolCalls ?? []).forEach((call, index) => {
    delta({
      tool_calls: [
        { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } },
      ],
    });
    delta({ tool_calls: [{ index, function: { arguments: call.arguments } }] });
  });
  chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReasonOf(reply) }]);
  if (includeUsage) {
    const usage = reply.usage ?? DEFAULT_USAGE;
    chunk([], {
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      },
    });
  }
  res.end("data: [DONE]\n\n");
}

/** A Responses API `response` object: a message item, or function_call items. */
function response(recorded: RecordedRequest, reply: FakeAnswer): unknown {
  const usage = reply.usage ?? DEFAULT_USAGE;
  const output: unknown[] = [];
  if (reply.text !== undefined) {
    output.push({
      type: "message",
      id: `msg_${recorded.responseId}`,
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: reply.text, annotations: [] }],
    });
  }
  for (const call of reply.toolCalls ?? []) {
    output.push({
      type: "function_call",
      id: `fc_${call.id}`,
      call_id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: "completed",
    });
  }
  const incomplete = reply.finishReason === "length";
  return {
    id: recorded.responseId,
    object: "response",
    created_at: CREATED,
    status: incomplete ? "incomplete" : "completed",
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    error: null,
    model: recorded.responseModel,
    output,
    usage: {
      input_tokens: usage.input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input + usage.output,
    },
  };
}

/** Text in up to three pieces, as a stream delivers it. */
function pieces(text: string): string[] {
  if (text.length < 3) return text === "" ? [] : [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)];
}

function errorBody(message: string, type: string): unknown {
  return { error: { message, type, param: null, code: null } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
