import { describe, expect, it } from "vitest";
import type { DecodedLogRecord } from "../decode/log-record.ts";
import { storeUnavailable } from "../errors.ts";
import type { CommitResult } from "../store/group-commit.ts";
import type { WriteBatch } from "../store/write-batch.ts";
import { createLogsIngest } from "./ingest-logs.ts";

const NOW_MS = 1_800_000_000_000;
const resource = { attributes: { "service.name": "svc" }, serviceName: "svc", schemaUrl: "" };
const scope = { name: "", version: "", attributes: {}, droppedAttributesCount: 0, schemaUrl: "" };

const record = (n: number, timeUnixNano = BigInt(NOW_MS) * 1_000_000n): DecodedLogRecord => ({
  resource,
  scope,
  timeUnixNano,
  observedTimeUnixNano: 0n,
  severityNumber: 9,
  severityText: "INFO",
  body: `line ${n}`,
  attributes: {},
  traceId: "",
  spanId: "",
  flags: 0,
  eventName: "",
  path: `resourceLogs[0].scopeLogs[0].logRecords[${n}]`,
});

/** A committer that records batches and answers with `answer(batch)`. */
function fakeCommitter(
  answer: (batch: WriteBatch) => CommitResult = () => ({ ok: true, refused: [] }),
) {
  const batches: WriteBatch[] = [];
  return {
    batches,
    submit: async (batch: WriteBatch) => {
      batches.push(batch);
      return answer(batch);
    },
  };
}

describe("createLogsIngest", () => {
  it("commits one otel_logs row per record and answers after the commit", async () => {
    const committer = fakeCommitter();
    const stored: DecodedLogRecord[][] = [];
    const ingest = createLogsIngest(committer, {
      retentionDays: 0,
      now: () => NOW_MS,
      listeners: [(records) => stored.push(records)],
    });
    expect(await ingest([record(0), record(1)], [])).toEqual({
      ok: true,
      rejected: 0,
      errorMessage: "",
    });
    expect(committer.batches).toHaveLength(1);
    expect(committer.batches[0]?.logs?.map((r) => r.Body)).toEqual(["line 0", "line 1"]);
    expect(committer.batches[0]).toMatchObject({ traces: [], outputs: [] });
    expect(stored[0]?.map((r) => r.body)).toEqual(["line 0", "line 1"]);
  });

  it("counts records rejected by decoding, by their time and by the store in one partial success", async () => {
    const committer = fakeCommitter((batch) => ({
      ok: true,
      refused: [],
      refusedRows: [{ row: batch.logs![1]!, reason: "the store refused it: Cannot parse" }],
    }));
    const stored: DecodedLogRecord[][] = [];
    const ingest = createLogsIngest(committer, {
      retentionDays: 1,
      now: () => NOW_MS,
      listeners: [(records) => stored.push(records)],
    });
    const decodeRejected = [
      { path: "resourceLogs[0].scopeLogs[0].logRecords[9]", serviceName: "svc", reason: "bad id" },
    ];
    const result = await ingest([record(0), record(1), record(2, 1n)], decodeRejected);
    expect(result).toEqual({
      ok: true,
      rejected: 3,
      errorMessage:
        "3 log record(s) rejected: resourceLogs[0].scopeLogs[0].logRecords[9]: bad id; " +
        "resourceLogs[0].scopeLogs[0].logRecords[2]: time 1970-01-01T00:00:00.000Z is older than " +
        "the retention of 1 days (PLUMBLINE_RETENTION_DAYS): it would be deleted at once; " +
        "resourceLogs[0].scopeLogs[0].logRecords[1]: the store refused it: Cannot parse",
    });
    // The listeners see what was stored, and nothing else.
    expect(stored[0]?.map((r) => r.body)).toEqual(["line 0"]);
  });

  it("answers a failed commit with its error, tells no listener and counts nothing", async () => {
    const error = storeUnavailable("down", 2_000);
    const committer = fakeCommitter(() => ({ ok: false, error }));
    const stored: unknown[] = [];
    const ingest = createLogsIngest(committer, {
      retentionDays: 0,
      listeners: [(records) => stored.push(records)],
    });
    expect(await ingest([record(0)], [])).toEqual({ ok: false, error });
    expect(stored).toEqual([]);
  });
});
