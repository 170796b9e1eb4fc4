import { describe, expect, it } from "vitest";
import {
  byteLengthOf,
  concatRows,
  createLineWriter,
  eachRow,
  encodeJsonRows,
  recycleRows,
  spanKeyOf,
  type EncodedRows,
} from "./json-each-row.ts";

const text = (rows: EncodedRows) =>
  Buffer.concat(rows.chunks as Buffer[], byteLengthOf(rows)).toString("utf8");

describe("JSONEachRow lines", () => {
  it("writes each row as JSON.stringify does, one line each, multi-byte text as UTF-8", () => {
    const rows = [{ a: 1, s: 'q"\n' }, { s: "naïve 🙂 — \u2028" }, {}];
    const encoded = encodeJsonRows(rows);
    expect(encoded.rows).toBe(3);
    expect(text(encoded)).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });

  it("starts a new chunk instead of splitting a line, however long the line", () => {
    const writer = createLineWriter();
    const long = "é".repeat(300_000); // 600 KB of UTF-8, more than a chunk
    writer.line(JSON.stringify({ n: 1 }));
    writer.line(JSON.stringify({ long }));
    writer.line(JSON.stringify({ n: 2 }));
    const rows = writer.done();
    expect(rows.chunks.length).toBeGreaterThan(1);
    for (const chunk of rows.chunks) expect(chunk[chunk.length - 1]).toBe(0x0a);
    expect(text(rows)).toBe(`{"n":1}\n${JSON.stringify({ long })}\n{"n":2}\n`);
  });

  it("splits rows back into single lines and reads their span ids", () => {
    const a = encodeJsonRows([{ TraceId: "t1", SpanId: "s1" }]);
    const b = encodeJsonRows([
      { TraceId: "t2", SpanId: "s2", Body: "ü" },
      { TraceId: "t3", SpanId: "s3" },
    ]);
    const both = concatRows([a, encodeJsonRows([]), b]);
    expect(both.rows).toBe(3);
    const each = eachRow(both);
    expect(each.map((r) => r.rows)).toEqual([1, 1, 1]);
    expect(each.map(spanKeyOf)).toEqual([
      { TraceId: "t1", SpanId: "s1" },
      { TraceId: "t2", SpanId: "s2" },
      { TraceId: "t3", SpanId: "s3" },
    ]);
    expect(each.map(text).join("")).toBe(text(both));
  });

  it("reuses the chunks of recycled rows, each for one writer only", () => {
    const first = encodeJsonRows([{ a: 1 }]);
    const memory = first.chunks[0]?.buffer;
    recycleRows(first);
    recycleRows(first); // twice: still one free chunk
    const second = encodeJsonRows([{ b: 2 }]);
    const third = encodeJsonRows([{ c: 3 }]);
    expect(second.chunks[0]?.buffer).toBe(memory);
    expect(third.chunks[0]?.buffer).not.toBe(memory);
    expect([text(second), text(third)]).toEqual(['{"b":2}\n', '{"c":3}\n']);
  });
});
