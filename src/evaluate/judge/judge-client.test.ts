import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeJudge, type FakeJudge } from "../../../test/helpers/fake-judge.ts";
import {
  createJudgeClient,
  parseVerdict,
  retryAfterMs,
  type JudgeRequest,
} from "./judge-client.ts";

let judge: FakeJudge;
const request: JudgeRequest = {
  model: "judge-small",
  system: "criteria",
  user: "Input: where is ORD-1?\nReply:\nORD-1 shipped",
  maxTokens: 50,
};

beforeAll(async () => {
  judge = await startFakeJudge();
});
afterAll(() => judge.close());

function client(timeoutMs = 2_000) {
  return createJudgeClient({ baseUrl: judge.baseUrl, apiKey: "sk-test", timeoutMs });
}

describe("the judge client, against a fake OpenAI-compatible server", () => {
  it("asks through response_format for exactly verdict, score and explanation", async () => {
    judge.setDecide(() => ({ type: "verdict", verdict: "pass", score: 0.9, explanation: "ok" }));
    const reply = await client()(request);
    expect(reply).toEqual({
      type: "verdict",
      verdict: { verdict: "pass", score: 0.9, explanation: "ok" },
      model: "judge-small-2026-01-01",
      usage: { inputTokens: 120, outputTokens: 30 },
    });
    const sent = judge.calls.at(-1);
    expect(sent?.authorization).toBe("Bearer sk-test");
    expect(sent?.body.model).toBe("judge-small");
    expect(sent?.body.max_tokens).toBe(50);
    expect(sent?.body.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(sent?.body.response_format).toMatchObject({
      type: "json_schema",
      json_schema: {
        strict: true,
        schema: {
          required: ["verdict", "score", "explanation"],
          additionalProperties: false,
        },
      },
    });
  });

  it("returns a fail verdict as a verdict", async () => {
    judge.setDecide(() => ({ type: "verdict", verdict: "fail", score: 0.2, explanation: "wrong" }));
    const reply = await client()(request);
    expect(reply).toMatchObject({ type: "verdict", verdict: { verdict: "fail", score: 0.2 } });
  });

  it("calls a reply that does not follow the schema malformed, with its usage", async () => {
    for (const content of [
      "not json",
      '{"verdict":"maybe","score":0.5,"explanation":""}',
      '{"verdict":"pass","score":7,"explanation":""}',
    ]) {
      judge.setDecide(() => ({ type: "content", content }));
      const reply = await client()(request);
      expect(reply.type).toBe("malformed");
      expect(reply).toMatchObject({ usage: { inputTokens: 120 } });
    }
  });

  it("makes 429 retryable after the server's Retry-After", async () => {
    judge.setDecide(() => ({ type: "status", status: 429, headers: { "retry-after": "3" } }));
    expect(await client()(request)).toMatchObject({
      type: "retryable",
      afterMs: 3_000,
      rateLimited: true,
    });
  });

  it("makes 5xx, timeouts and a dropped connection retryable, and a 401 not", async () => {
    judge.setDecide(() => ({ type: "status", status: 503 }));
    expect(await client()(request)).toMatchObject({ type: "retryable", rateLimited: false });
    judge.setDecide(() => ({
      type: "delay",
      ms: 300,
      then: { type: "verdict", verdict: "pass", score: 1, explanation: "" },
    }));
    const timedOut = await client(50)(request);
    expect(timedOut).toMatchObject({ type: "retryable" });
    expect(timedOut.type === "retryable" && timedOut.message).toMatch(/within 50 ms/);
    judge.setDecide(() => ({ type: "drop" }));
    expect(await client()(request)).toMatchObject({ type: "retryable" });
    judge.setDecide(() => ({ type: "status", status: 401, message: "bad key" }));
    expect(await client()(request)).toEqual({
      type: "failed",
      message: "the judge answered HTTP 401: bad key",
    });
  });
});

describe("parseVerdict and retryAfterMs", () => {
  it("read a fenced verdict and refuse a missing explanation", () => {
    expect(parseVerdict('```json\n{"verdict":"fail","score":0,"explanation":"x"}\n```')).toEqual({
      verdict: "fail",
      score: 0,
      explanation: "x",
    });
    expect(parseVerdict('{"verdict":"pass","score":1}')).toBe("explanation must be text");
  });

  it("read delay-seconds and HTTP dates", () => {
    const now = Date.parse("2026-12-03T12:00:00Z");
    expect(retryAfterMs("2", now)).toBe(2_000);
    expect(retryAfterMs("Thu, 03 Dec 2026 12:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
