/**
 * The one insert path (src/store/insert-json-rows.ts), both modes: embedded, encoded rows and
 * row objects land in their tables through chDB's raw insert, and its errors carry ClickHouse
 * codes as a server's do; on a server, the same text is the body of one
 * `INSERT … FORMAT JSONEachRow` request (here a fake server that records it).
 */

import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeOtelTracesRows, toOtelTracesRow } from "../src/decode/span-row.ts";
import { createClickHouseClient } from "../src/store/client.ts";
import { insertJsonEachRow } from "../src/store/insert-json-rows.ts";
import { isRetryableStoreError } from "../src/store/is-retryable-error.ts";
import { encodeJsonRows } from "../src/store/json-each-row.ts";
import type { Store } from "../src/store/store.ts";
import { makeSpan } from "./helpers/make-span.ts";
import { openTestStore } from "./helpers/store.ts";

describe("embedded", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openTestStore();
  });
  afterAll(async () => {
    await store.close();
  });

  it("writes encoded spans and row objects of one batch to the span table", async () => {
    const encoded = encodeOtelTracesRows([
      makeSpan({ spanId: "1111111111111111", name: "encoded ü" }),
      makeSpan({ spanId: "2222222222222222" }),
    ]);
    await store.write({
      traces: [toOtelTracesRow(makeSpan({ spanId: "3333333333333333" }))],
      outputs: [],
      encoded: { traces: encoded, outputs: encodeJsonRows([]) },
    });
    const result = await store.client.query({
      query: `SELECT SpanId, SpanName FROM ${store.tables.traces} ORDER BY SpanId`,
      format: "JSONEachRow",
    });
    const rows = await result.json<{ SpanId: string; SpanName: string }>();
    expect(rows.map((r) => r.SpanId)).toEqual([
      "1111111111111111",
      "2222222222222222",
      "3333333333333333",
    ]);
    expect(rows[0]?.SpanName).toBe("encoded ü");
  });

  it("refuses a bad row with the ClickHouse code a server would give, not retryable", async () => {
    const error = await insertJsonEachRow(
      store.client,
      store.tables.traces,
      encodeJsonRows([{ Timestamp: "not a time", TraceId: "t", SpanId: "s" }]),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toMatch(/^\d+$/);
    expect(isRetryableStoreError(error)).toBe(false);
  });

  it("does nothing for no rows", async () => {
    await expect(
      insertJsonEachRow(store.client, "plumbline.no_such_table", encodeJsonRows([])),
    ).resolves.toBeUndefined();
  });
});

describe("server", () => {
  const requests: { query: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      requests.push({
        query: url.searchParams.get("query") ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "x-clickhouse-summary": "{}" }).end();
    });
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("sends the rows as the body of one INSERT … FORMAT JSONEachRow", async () => {
    const client = createClickHouseClient({ dataDir: "", url, user: "default", password: "" });
    const rows = [{ a: 1 }, { a: "ü\n" }];
    await insertJsonEachRow(client, "plumbline.t", encodeJsonRows(rows));
    await insertJsonEachRow(client, "plumbline.t", encodeJsonRows(rows));
    await client.close();
    expect(requests).toEqual([
      { query: "INSERT INTO plumbline.t FORMAT JSONEachRow", body: '{"a":1}\n{"a":"ü\\n"}\n' },
      { query: "INSERT INTO plumbline.t FORMAT JSONEachRow", body: '{"a":1}\n{"a":"ü\\n"}\n' },
    ]);
  });
});
