import { describe, expect, it } from "vitest";
import { until } from "../../test/helpers/until.ts";
import { createGroupCommitter, type CommitTarget } from "./group-commit.ts";
import type { WriteBatch } from "./write-batch.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";

const span = (id: string) => ({ TraceId: "t", SpanId: id }) as unknown as OtelTracesRow;
const OK = { ok: true, refused: [] };
const batchOf = (...ids: string[]): WriteBatch => ({
  traces: ids.map(span),
  outputs: [],
});

function recordingTarget(behaviour: (batch: WriteBatch, call: number) => void | Promise<void>) {
  const writes: WriteBatch[] = [];
  let healthy = true;
  const target: CommitTarget & { writes: WriteBatch[]; setHealthy(v: boolean): void } = {
    writes,
    setHealthy: (v) => (healthy = v),
    async write(batch) {
      await behaviour(batch, writes.length);
      writes.push(batch);
    },
    ping: async () => healthy,
  };
  return target;
}

const options = { flushIntervalMs: 20, flushMaxSpans: 1000, maxQueuedSpans: 10_000, backoffMs: 1 };

describe("group commit", () => {
  it("writes concurrent requests in one insert and answers each after the commit", async () => {
    const target = recordingTarget(() => undefined);
    const committer = createGroupCommitter(target, options);
    const results = await Promise.all([
      committer.submit(batchOf("a")),
      committer.submit(batchOf("b", "c")),
      committer.submit(batchOf("d")),
    ]);
    expect(results).toEqual([OK, OK, OK]);
    expect(target.writes).toHaveLength(1);
    expect(target.writes[0]?.traces.map((r) => r.SpanId)).toEqual(["a", "b", "c", "d"]);
    await committer.close();
  });

  it("does not answer before the write has finished", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const target = recordingTarget(() => gate);
    const committer = createGroupCommitter(target, options);
    let answered = false;
    const done = committer.submit(batchOf("a")).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 60));
    expect(answered).toBe(false);
    release();
    expect(await done).toEqual(OK);
    await committer.close();
  });

  it("flushes early once flushMaxSpans are waiting", async () => {
    const target = recordingTarget(() => undefined);
    const committer = createGroupCommitter(target, {
      ...options,
      flushIntervalMs: 10_000,
      flushMaxSpans: 3,
    });
    const started = Date.now();
    await committer.submit(batchOf("a", "b", "c"));
    expect(Date.now() - started).toBeLessThan(1_000);
    await committer.close();
  });

  it("answers 429 when the queue is full", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const target = recordingTarget(() => gate);
    const committer = createGroupCommitter(target, { ...options, maxQueuedSpans: 3 });
    const first = committer.submit(batchOf("a", "b"));
    const second = await committer.submit(batchOf("c", "d"));
    expect(second).toMatchObject({ ok: false, error: { httpStatus: 429, retryable: true } });
    release();
    expect(await first).toEqual(OK);
    await committer.close();
  });

  it("retries transient failures, then answers 503 and recovers when the store answers again", async () => {
    let failing = true;
    const target = recordingTarget(() => {
      if (failing) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    });
    target.setHealthy(false);
    const committer = createGroupCommitter(target, {
      ...options,
      attempts: 2,
      probeIntervalMs: 20,
    });
    const result = await committer.submit(batchOf("a"));
    expect(result).toMatchObject({ ok: false, error: { httpStatus: 503, retryable: true } });
    expect(committer.health()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    // While failing, new requests are turned away at once, without touching the store.
    expect(await committer.submit(batchOf("b"))).toMatchObject({
      ok: false,
      error: { httpStatus: 503 },
    });

    failing = false;
    target.setHealthy(true);
    await new Promise((r) => setTimeout(r, 80));
    expect(committer.health()).toEqual({ ok: true });
    expect(await committer.submit(batchOf("c"))).toEqual(OK);
    expect(target.writes.map((b) => b.traces.map((r) => r.SpanId))).toEqual([["c"]]);
    await committer.close();
  });

  it("isolates a request the store refuses from the good ones in the same group", async () => {
    const target = recordingTarget((batch) => {
      if (batch.traces.some((r) => r.SpanId === "bad")) {
        throw Object.assign(new Error("Cannot parse input"), { code: "27" });
      }
    });
    const committer = createGroupCommitter(target, options);
    const [good1, bad, good2] = await Promise.all([
      committer.submit(batchOf("g1")),
      committer.submit(batchOf("bad")),
      committer.submit(batchOf("g2")),
    ]);
    expect(good1).toEqual(OK);
    expect(good2).toEqual(OK);
    expect(bad).toEqual({
      ok: true,
      refused: [
        { traceId: "t", spanId: "bad", reason: "the store refused it: Cannot parse input" },
      ],
    });
    expect(target.writes.flatMap((b) => b.traces.map((r) => r.SpanId)).sort()).toEqual([
      "g1",
      "g2",
    ]);
    await committer.close();
  });

  it("within one refused request, commits every span but the ones the store refuses", async () => {
    const bad = new Set(["b3", "b7"]);
    const target = recordingTarget((batch) => {
      if (batch.traces.some((r) => bad.has(r.SpanId))) {
        throw Object.assign(new Error("Decimal math overflow\nat row 3"), { code: "407" });
      }
    });
    const committer = createGroupCommitter(target, options);
    const ids = Array.from({ length: 10 }, (_, i) => (bad.has(`b${i}`) ? `b${i}` : `g${i}`));
    const result = await committer.submit(batchOf(...ids));
    expect(result).toEqual({
      ok: true,
      refused: ["b3", "b7"].map((spanId) => ({
        traceId: "t",
        spanId,
        reason: "the store refused it: Decimal math overflow",
      })),
    });
    const written = target.writes.flatMap((b) => b.traces.map((r) => r.SpanId)).sort();
    expect(written).toEqual(ids.filter((id) => !bad.has(id)).sort());
    await committer.close();
  });

  it("a full disk is a 503, and the store is healthy again only once a write works", async () => {
    let full = true;
    const target = recordingTarget(() => {
      if (full) {
        throw Object.assign(
          new Error("Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"),
          { code: "243" },
        );
      }
    });
    let probes = 0;
    const committer = createGroupCommitter(
      {
        ...target,
        write: (batch) => target.write(batch),
        ping: async () => true,
        probeWrite: async () => (probes++, !full),
      },
      { ...options, probeIntervalMs: 10 },
    );
    const result = await committer.submit(batchOf("a"));
    expect(result).toMatchObject({ ok: false, error: { httpStatus: 503, retryable: true } });
    // The store answers pings all along; its inserts still fail, so it stays failing.
    await until("a second probe", () => (probes > 1 ? true : undefined), 5_000);
    expect(committer.health()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not enough space/),
    });
    full = false;
    await until("a healthy store", () => (committer.health().ok ? true : undefined), 5_000);
    expect(await committer.submit(batchOf("b"))).toEqual(OK);
    await committer.close();
  });

  it("writes what was accepted before closing and refuses what comes after", async () => {
    const target = recordingTarget(() => undefined);
    const committer = createGroupCommitter(target, { ...options, flushIntervalMs: 10_000 });
    const accepted = committer.submit(batchOf("a"));
    await committer.close();
    expect(await accepted).toEqual(OK);
    expect(await committer.submit(batchOf("b"))).toMatchObject({
      ok: false,
      error: { httpStatus: 503 },
    });
    expect(target.writes).toHaveLength(1);
  });
});

describe("group commit timing", () => {
  it("writes a lone request at once when the store is idle, and batches within the interval after", async () => {
    const target = recordingTarget(() => undefined);
    const committer = createGroupCommitter(target, { ...options, flushIntervalMs: 300 });
    let started = Date.now();
    await committer.submit(batchOf("a"));
    expect(Date.now() - started).toBeLessThan(150);

    // Within the interval after that insert, requests wait for the next slot, together.
    started = Date.now();
    const results = await Promise.all([
      committer.submit(batchOf("b")),
      committer.submit(batchOf("c")),
    ]);
    expect(results).toEqual([OK, OK]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(target.writes.map((b) => b.traces.map((r) => r.SpanId))).toEqual([["a"], ["b", "c"]]);
    await committer.close();
  });
});
