import { describe, expect, it } from "vitest";
import { createStatsRecorder } from "./stats-recorder.ts";
import type { IngestStatRow } from "./tables/ingest-stats.ts";

const row = (
  service: string,
  received: number,
  extra: Partial<IngestStatRow> = {},
): IngestStatRow => ({
  Minute: 1_764_158_400,
  ServiceName: service,
  SpanName: "chat",
  Received: received,
  Rejected: 0,
  Outputs: 0,
  Unrecognised: 0,
  ...extra,
});

describe("stats recorder", () => {
  it("sums counters per minute, service and span name, and writes them in one insert", async () => {
    const writes: IngestStatRow[][] = [];
    const stats = createStatsRecorder(async (rows) => void writes.push(rows), 60_000);
    stats.add([row("a", 2, { Outputs: 2 }), row("b", 1)]);
    stats.add([row("a", 3, { Unrecognised: 1 })]);
    await stats.flush();
    expect(writes).toEqual([[row("a", 5, { Outputs: 2, Unrecognised: 1 }), row("b", 1)]]);
    await stats.flush();
    expect(writes).toHaveLength(1);
    await stats.close();
  });

  it("keeps the counts of a failed write for the next one", async () => {
    const writes: IngestStatRow[][] = [];
    let fail = true;
    const errors: unknown[] = [];
    const stats = createStatsRecorder(
      async (rows) => {
        if (fail) throw new Error("store down");
        writes.push(rows);
      },
      60_000,
      (error) => errors.push(error),
    );
    stats.add([row("a", 2)]);
    await stats.flush();
    expect(errors).toHaveLength(1);
    stats.add([row("a", 1)]);
    fail = false;
    await stats.close();
    expect(writes).toEqual([[row("a", 3)]]);
  });

  it("writes on its own every interval", async () => {
    const writes: IngestStatRow[][] = [];
    const stats = createStatsRecorder(async (rows) => void writes.push(rows), 20);
    stats.add([row("a", 1)]);
    await new Promise((r) => setTimeout(r, 80));
    expect(writes).toEqual([[row("a", 1)]]);
    await stats.close();
  });
});
