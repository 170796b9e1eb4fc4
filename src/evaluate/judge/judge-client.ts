/**
 * The judge: any OpenAI-compatible chat-completions endpoint, asked through `response_format`
 * (a strict JSON schema) for exactly {verdict, score, explanation}. Plain `fetch`, no SDK. Every
 * outcome is a value: a verdict, a reply that does not parse (`malformed`, which the worker
 * retries once), a failure worth retrying later (429, 408, 5xx, a timeout, the network, with
 * the server's Retry-After), or one that is not (another 4xx: a bad key, an unknown model).
 */

import type { JudgeMessages, Verdict } from "../checks/judge.ts";

export interface JudgeRequest extends JudgeMessages {
  model: string;
  /** The most tokens the reply may use (max_tokens). */
  maxTokens: number;
}

export interface JudgeUsage {
  inputTokens: number;
  outputTokens: number;
}

export type JudgeReply =
  | { type: "verdict"; verdict: Verdict; model: string; usage: JudgeUsage }
  | { type: "malformed"; message: string; usage: JudgeUsage }
  | { type: "retryable"; message: string; afterMs: number | undefined; rateLimited: boolean }
  | { type: "failed"; message: string };

export type JudgeCall = (request: JudgeRequest) => Promise<JudgeReply>;

export interface JudgeClientOptions {
  /** The API base, e.g. https://api.openai.com/v1; `/chat/completions` is appended. */
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The schema the reply must follow: exactly the three keys. */
export const VERDICT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["verdict", "score", "explanation"],
  properties: {
    verdict: { type: "string", enum: ["pass", "fail"] },
    score: { type: "number", minimum: 0, maximum: 1 },
    explanation: { type: "string" },
  },
} as const;

/** A client for one endpoint. */
export function createJudgeClient(options: JudgeClientOptions): JudgeCall {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  return async (request) => {
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(options.apiKey !== undefined && { authorization: `Bearer ${options.apiKey}` }),
        },
        body: JSON.stringify({
          model: request.model,
          messages: [
            { role: "system", content: request.system },
            { role: "user", content: request.user },
          ],
          temperature: 0,
          max_tokens: request.maxTokens,
          response_format: {
            type: "json_schema",
            json_schema: { name: "plumbline_verdict", strict: true, schema: VERDICT_SCHEMA },
          },
        }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      return {
        type: "retryable",
        message: timedOut
          ? `the judge did not answer within ${options.timeoutMs} ms`
          : `the judge could not be reached: ${describe(error)}`,
        afterMs: undefined,
        rateLimited: false,
      };
    }
    if (!response.ok) {
      const message = `the judge answered HTTP ${response.status}: ${errorMessage(text)}`;
      const status = response.status;
      // Retryable as OpenAI documents its errors: 429 (rate limit), 408, 409 and 5xx.
      if (status === 429 || status === 408 || status === 409 || status >= 500) {
        const afterMs = retryAfterMs(response.headers.get("retry-after"), now());
        return { type: "retryable", message, afterMs, rateLimited: status === 429 };
      }
      return { type: "failed", message };
    }
    return parseCompletion(text, request.model);
  };
}

/** A chat completion's body → the verdict in its first choice, or why not. */
export function parseCompletion(body: string, requestedModel: string): JudgeReply {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { type: "malformed", message: "the reply is not JSON", usage: noUsage() };
  }
  const record = asRecord(json);
  const usage = usageOf(record?.["usage"]);
  const choice = asRecord(Array.isArray(record?.["choices"]) ? record["choices"][0] : undefined);
  const content = asRecord(choice?.["message"])?.["content"];
  if (typeof content !== "string") {
    return { type: "malformed", message: "the reply has no message content", usage };
  }
  const verdict = parseVerdict(content);
  if (typeof verdict === "string") return { type: "malformed", message: verdict, usage };
  const model = typeof record?.["model"] === "string" ? record["model"] : requestedModel;
  return { type: "verdict", verdict, model, usage };
}

/** The message content as a verdict, or what is wrong with it. */
export function parseVerdict(content: string): Verdict | string {
  // Some servers fence JSON even when asked for a schema.
  const unfenced = content.trim().replace(/^```(?:json)?\s*([^]*?)\s*```$/, "$1");
  let value: unknown;
  try {
    value = JSON.parse(unfenced);
  } catch {
    return `the verdict is not JSON: ${excerpt(content)}`;
  }
  const record = asRecord(value);
  if (record === undefined) return `the verdict is not an object: ${excerpt(content)}`;
  const { verdict, score, explanation } = record;
  if (verdict !== "pass" && verdict !== "fail") {
    return `verdict must be "pass" or "fail", not ${excerpt(JSON.stringify(verdict) ?? "undefined")}`;
  }
  if (typeof score !== "number" || !Number.isFinite(score) || score < 0 || score > 1) {
    return `score must be a number from 0 to 1, not ${excerpt(JSON.stringify(score) ?? "undefined")}`;
  }
  if (typeof explanation !== "string") return "explanation must be text";
  return { verdict, score, explanation };
}

/**
 * Retry-After as RFC 9110 §10.2.3 gives it: delay-seconds or an HTTP date; undefined when
 * absent or unreadable.
 */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

function usageOf(value: unknown): JudgeUsage {
  const usage = asRecord(value);
  const number = (key: string) => {
    const n = usage?.[key];
    return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : 0;
  };
  return { inputTokens: number("prompt_tokens"), outputTokens: number("completion_tokens") };
}

function noUsage(): JudgeUsage {
  return { inputTokens: 0, outputTokens: 0 };
}

function errorMessage(body: string): string {
  try {
    const message = asRecord(asRecord(JSON.parse(body))?.["error"])?.["message"];
    if (typeof message === "string") return excerpt(message);
  } catch {
    // not JSON: the body itself
  }
  return excerpt(body);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function excerpt(text: string): string {
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
