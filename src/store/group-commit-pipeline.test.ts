/**
 * Pipelined group commits (group-commit.test.ts has the rest): up to maxInFlight groups are
 * written at once, never more, the next beside one in flight only once it is large enough
 * (flushMaxSpans / maxInFlight), and they are answered in the order they were taken whatever
 * order the store finishes them in. And requests whose rows come encoded (ingest's batches)
 * are merged, written and, when the store refuses some of their spans, isolated like rows.
 */

import { describe, expect, it } from "vitest";
import { createGroupCommitter, type CommitTarget } from "./group-commit.ts";
import { byteLengthOf, encodeJsonRows, type EncodedRows } from "./json-each-row.ts";
import type { OtelTracesRow } from "./tables/otel-traces.ts";
import type { WriteBatch } from "./write-batch.ts";

const OK = { ok: true, refused: [] };
// flushMaxSpans 2 over 2 in flight: a group of one span goes out beside one in flight.
const options = { flushIntervalMs: 5, flushMaxSpans: 2, maxQueuedSpans: 10_000, backoffMs: 1 };
const batchOf = (...ids: string[]): WriteBatch => ({
  traces: ids.map((id) => ({ TraceId: "t", SpanId: id }) as unknown as OtelTracesRow),
  outputs: [],
});

/** A store whose every write waits until the test releases it. */
function gatedTarget() {
  const writes: { ids: string[]; release(): void; fail(error: Error): void }[] = [];
  let running = 0;
  let mostRunning = 0;
  const target: CommitTarget = {
    async write(batch) {
      running++;
      mostRunning = Math.max(mostRunning, running);
      try {
        await new Promise<void>((release, fail) =>
          writes.push({ ids: batch.traces.map((r) => r.SpanId), release, fail }),
        );
      } finally {
        running--;
      }
    },
    ping: async () => true,
  };
  return { target, writes, mostRunning: () => mostRunning };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe("pipelined group commits", () => {
  it("writes the next group while the previous one is still being written", async () => {
    const { target, writes } = gatedTarget();
    const committer = createGroupCommitter(target, options);
    const first = committer.submit(batchOf("a"));
    await tick();
    const second = committer.submit(batchOf("b"));
    await tick();
    expect(writes.map((w) => w.ids)).toEqual([["a"], ["b"]]);
    writes[0]!.release();
    writes[1]!.release();
    expect(await Promise.all([first, second])).toEqual([OK, OK]);
    await committer.close();
  });

  it("never has more than maxInFlight groups in flight; the rest wait and go out together", async () => {
    const { target, writes, mostRunning } = gatedTarget();
    const committer = createGroupCommitter(target, { ...options, maxInFlight: 2 });
    const results = [committer.submit(batchOf("a"))];
    await tick();
    results.push(committer.submit(batchOf("b")));
    await tick();
    results.push(committer.submit(batchOf("c")), committer.submit(batchOf("d")));
    await tick();
    expect(writes.map((w) => w.ids)).toEqual([["a"], ["b"]]);
    writes[0]!.release();
    await tick();
    expect(writes.map((w) => w.ids)).toEqual([["a"], ["b"], ["c", "d"]]);
    writes[1]!.release();
    writes[2]!.release();
    expect(await Promise.all(results)).toEqual([OK, OK, OK, OK]);
    expect(mostRunning()).toBe(2);
    await committer.close();
  });

  it("while a group is in flight, a small one waits for it, a large one goes out beside it", async () => {
    const { target, writes } = gatedTarget();
    const committer = createGroupCommitter(target, { ...options, flushMaxSpans: 6 });
    const results = [committer.submit(batchOf("a"))];
    await tick();
    results.push(committer.submit(batchOf("b", "c")));
    await tick();
    expect(writes.map((w) => w.ids)).toEqual([["a"]]); // 2 waiting: less than 6 / 2
    results.push(committer.submit(batchOf("d")));
    await tick();
    expect(writes.map((w) => w.ids)).toEqual([["a"], ["b", "c", "d"]]);
    for (const w of writes) w.release();
    expect(await Promise.all(results)).toEqual([OK, OK, OK]);
    await committer.close();
  });

  it("maxInFlight 1 writes one group at a time", async () => {
    const { target, writes, mostRunning } = gatedTarget();
    const committer = createGroupCommitter(target, { ...options, maxInFlight: 1 });
    const first = committer.submit(batchOf("a"));
    await tick();
    const second = committer.submit(batchOf("b"));
    await tick();
    expect(writes).toHaveLength(1);
    writes[0]!.release();
    await tick();
    writes[1]!.release();
    expect(await Promise.all([first, second])).toEqual([OK, OK]);
    expect(mostRunning()).toBe(1);
    await committer.close();
  });

  it("answers groups in the order they were taken, even when a later one commits first", async () => {
    const { target, writes } = gatedTarget();
    const committer = createGroupCommitter(target, options);
    const answered: string[] = [];
    const first = committer.submit(batchOf("a")).then((r) => (answered.push("a"), r));
    await tick();
    const second = committer.submit(batchOf("b")).then((r) => (answered.push("b"), r));
    await tick();
    writes[1]!.release();
    await tick();
    expect(answered).toEqual([]); // b is committed, but a is not yet
    writes[0]!.release();
    expect(await Promise.all([first, second])).toEqual([OK, OK]);
    expect(answered).toEqual(["a", "b"]);
    await committer.close();
  });

  it("a failed group is answered 503 in its turn, and the group after it still commits", async () => {
    const { target, writes } = gatedTarget();
    const committer = createGroupCommitter(target, { ...options, attempts: 1 });
    const first = committer.submit(batchOf("a"));
    await tick();
    const second = committer.submit(batchOf("b"));
    await tick();
    writes[1]!.release();
    writes[0]!.fail(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ ok: false, error: { httpStatus: 503 } });
    expect(b).toEqual(OK);
    await committer.close();
  });

  it("close writes every group still in flight or waiting before it resolves", async () => {
    const { target, writes } = gatedTarget();
    const committer = createGroupCommitter(target, { ...options, maxInFlight: 1 });
    const first = committer.submit(batchOf("a"));
    await tick();
    const second = committer.submit(batchOf("b"));
    let closed = false;
    const closing = committer.close().then(() => (closed = true));
    writes[0]!.release();
    await tick();
    expect(closed).toBe(false);
    writes[1]!.release();
    await closing;
    expect(await Promise.all([first, second])).toEqual([OK, OK]);
  });
});

const text = (rows: EncodedRows | undefined) =>
  rows === undefined
    ? ""
    : Buffer.concat(rows.chunks as Buffer[], byteLengthOf(rows)).toString("utf8");

const encodedBatch = (...ids: string[]): WriteBatch => ({
  traces: [],
  outputs: [],
  encoded: {
    traces: encodeJsonRows(ids.map((id) => ({ TraceId: "t", SpanId: id }))),
    outputs: encodeJsonRows(ids.map((id) => ({ TraceId: "t", SpanId: id, Kind: "llm" }))),
  },
});

describe("group commits of encoded rows", () => {
  it("merges the encoded requests of a group into one write and counts their spans", async () => {
    // What was written, read while it is written: the committer reuses the bytes afterwards.
    const writes: { rows: number | undefined; text: string }[] = [];
    const committer = createGroupCommitter(
      {
        write: async (b) =>
          void writes.push({ rows: b.encoded?.traces.rows, text: text(b.encoded?.traces) }),
        ping: async () => true,
      },
      { ...options, flushMaxSpans: 1000, maxQueuedSpans: 3 },
    );
    const results = await Promise.all([
      committer.submit(encodedBatch("a")),
      committer.submit(encodedBatch("b", "c")),
      committer.submit(encodedBatch("d")), // a 4th span: past maxQueuedSpans
    ]);
    expect(results.slice(0, 2)).toEqual([OK, OK]);
    expect(results[2]).toMatchObject({ ok: false, error: { httpStatus: 429 } });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.rows).toBe(3);
    expect(writes[0]?.text).toBe(
      '{"TraceId":"t","SpanId":"a"}\n{"TraceId":"t","SpanId":"b"}\n{"TraceId":"t","SpanId":"c"}\n',
    );
    await committer.close();
  });

  it("isolates the spans the store refuses, with their outputs, and writes the rest once", async () => {
    const written: string[] = [];
    const target: CommitTarget = {
      async write(batch) {
        const lines = text(batch.encoded?.traces) + text(batch.encoded?.outputs);
        if (lines.includes('"SpanId":"bad')) {
          throw Object.assign(new Error("Cannot parse input\nat row 2"), { code: "27" });
        }
        written.push(...lines.split("\n").filter(Boolean));
      },
      ping: async () => true,
    };
    const committer = createGroupCommitter(target, { ...options, flushMaxSpans: 1000 });
    const [good, mixed] = await Promise.all([
      committer.submit(encodedBatch("g1")),
      committer.submit(encodedBatch("g2", "bad1", "g3", "bad2")),
    ]);
    expect(good).toEqual(OK);
    expect(mixed).toEqual({
      ok: true,
      refused: ["bad1", "bad2"].map((spanId) => ({
        traceId: "t",
        spanId,
        reason: "the store refused it: Cannot parse input",
      })),
    });
    const ids = written.map((line) => (JSON.parse(line) as { SpanId: string }).SpanId).sort();
    // Each good span once in each table: its trace row and its output row.
    expect(ids).toEqual(["g1", "g1", "g2", "g2", "g3", "g3"]);
    await committer.close();
  });
});
