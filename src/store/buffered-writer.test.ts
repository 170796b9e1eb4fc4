import { describe, expect, it } from "vitest";
import { createBufferedWriter } from "./buffered-writer.ts";

describe("buffered writer", () => {
  it("flush says whether the rows were written, and keeps them when not", async () => {
    let failing = true;
    const written: number[][] = [];
    const writer = createBufferedWriter<number>(
      async (rows) => {
        if (failing) throw new Error("store down");
        written.push(rows);
      },
      { intervalMs: 60_000, maxRows: 100 },
    );
    expect(await writer.flush()).toBe(true); // nothing to write
    writer.add([1, 2]);
    expect(await writer.flush()).toBe(false);
    failing = false;
    writer.add([3]);
    expect(await writer.flush()).toBe(true);
    expect(written).toEqual([[1, 2, 3]]);
    await writer.close();
  });
});
