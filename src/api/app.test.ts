import { describe, expect, it } from "vitest";
import type { GroupCommitter } from "../store/group-commit.ts";
import type { Store } from "../store/store.ts";
import { createApp } from "./app.ts";

function deps(
  overrides: {
    ping?: boolean;
    health?: ReturnType<GroupCommitter["health"]>;
    apiKey?: string;
  } = {},
) {
  const queries: string[] = [];
  const store = {
    tables: {
      outputs: "db.agent_outputs",
      traces: "db.otel_traces",
      ingestStats: "db.ingest_stats",
    },
    client: {
      query: async ({ query }: { query: string }) => {
        queries.push(query);
        return { json: async () => [] };
      },
    },
    ping: async () =>
      overrides.ping === false ? { ok: false, reason: "connect ECONNREFUSED" } : { ok: true },
  } as unknown as Store;
  const committer = { health: () => overrides.health ?? { ok: true } } as unknown as GroupCommitter;
  const app = createApp({
    store,
    committer,
    stats: { flush: async () => undefined },
    ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
    maxBodyBytes: 1 << 20,
    ingestKeys: [],
    apiKey: overrides.apiKey,
  });
  return { app, queries };
}

describe("API", () => {
  it("answers health and readiness, and says why it is not ready", async () => {
    expect((await deps().app.request("/healthz")).status).toBe(200);
    expect(await (await deps().app.request("/readyz")).json()).toEqual({ ready: true });
    const down = await deps({ ping: false }).app.request("/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      ready: false,
      reason: "store unreachable: connect ECONNREFUSED",
    });
    const failing = await deps({
      health: { ok: false, reason: "insert timed out", sinceMs: 0, retryAfterMs: 1000 },
    }).app.request("/readyz");
    expect(await failing.json()).toEqual({ ready: false, reason: "insert timed out" });
  });

  it("rejects bad query parameters with a 400 that names them", async () => {
    const { app, queries } = deps();
    const res = await app.request("/api/outputs?since=yesterday&limit=0");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_input");
    expect(body.error.message).toMatch(/"since": "yesterday" is not a time/);
    expect(body.error.message).toMatch(/"limit"/);
    expect(queries).toEqual([]);
  });

  it("binds filters as parameters, never as SQL text", async () => {
    const { app, queries } = deps();
    const res = await app.request("/api/outputs?service=x%27%20OR%201%3D1&since=15m");
    expect(res.status).toBe(200);
    expect(queries[0]).toContain("ServiceName = {service:String}");
    expect(queries[0]).not.toContain("OR 1=1");
  });

  it("checks trace ids and answers 404 for unknown ones", async () => {
    const { app } = deps();
    expect((await app.request("/api/traces/not-hex")).status).toBe(400);
    const res = await app.request(`/api/traces/${"ab".repeat(16)}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("requires the API key on /api/* when one is set, but not on probes", async () => {
    const { app } = deps({ apiKey: "s3cret" });
    expect((await app.request("/api/outputs")).status).toBe(401);
    expect(
      (await app.request("/api/outputs", { headers: { authorization: "Bearer nope" } })).status,
    ).toBe(401);
    expect(
      (await app.request("/api/outputs", { headers: { authorization: "Bearer s3cret" } })).status,
    ).toBe(200);
    expect(
      (await app.request("/api/outputs", { headers: { "x-plumbline-key": "s3cret" } })).status,
    ).toBe(200);
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await deps().app.request("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "not_found", message: "no route GET /nope" },
    });
  });
});
