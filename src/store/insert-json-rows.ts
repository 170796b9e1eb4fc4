/**
 * One insert of JSONEachRow text, the same statement in both modes. Embedded, the bytes go to
 * chDB as they are: its raw insert takes the Buffer without copying it into a JS string and
 * parses it on the libuv thread that runs the query, so the event loop is free meanwhile (the
 * client's own insert API would JSON-encode rows into one string, which chDB's connection then
 * copies twice more on the main thread). On a server they are the body of one HTTP request.
 * Either way it is one INSERT, which the store takes or refuses whole.
 */

import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseError, type ClickHouseClient } from "@clickhouse/client";
import { embeddedConnectionOf } from "./client.ts";
import { byteLengthOf, encodeJsonRows, recycleRows, type EncodedRows } from "./json-each-row.ts";

/** Inserts the rows into `table` (database-qualified); throws the store's error. */
export async function insertJsonEachRow(
  client: ClickHouseClient,
  table: string,
  rows: EncodedRows,
): Promise<void> {
  if (rows.rows === 0) return;
  const embedded = embeddedConnectionOf(client);
  if (embedded !== undefined) {
    const body = rows.chunks.length === 1 ? undefined : takeBody(byteLengthOf(rows));
    try {
      const values = body === undefined ? (rows.chunks[0] as Buffer) : fill(body, rows);
      await embedded.chdb.rawInsert({ table, values, format: "JSONEachRow" });
    } catch (error) {
      // The shape the client gives errors in server mode (a ClickHouse `code`), which
      // is-retryable-error.ts reads: "Code: 243. DB::Exception: … (NOT_ENOUGH_SPACE)".
      throw asClickHouseError(error);
    } finally {
      // chDB reads the body until its insert is done, which is when rawInsert settles (no
      // timeout or abort is given that could settle it earlier).
      if (body !== undefined) releaseBody(body);
    }
    return;
  }
  const result = await client.exec({
    query: `INSERT INTO ${table} FORMAT JSONEachRow`,
    values: Readable.from(rows.chunks, { objectMode: false }),
  });
  // An INSERT answers with an empty body; reading it to the end keeps the socket reusable.
  await finished(result.stream.resume());
}

// Bodies of inserts of more than one chunk (a group of requests), reused for the same reason
// as the chunks (json-each-row.ts): a fresh multi-megabyte Buffer per insert is external
// memory V8 answers with full collections. A few, as about four inserts run at once (two
// groups in flight, two tables each).
const MAX_FREE_BODY_BYTES = Number(process.env.X_BODY ?? 32 * 1024 * 1024);
const freeBodies: Buffer[] = [];

function takeBody(bytes: number): Buffer {
  const i = freeBodies.findIndex((b) => b.length >= bytes);
  if (i >= 0) return freeBodies.splice(i, 1)[0] as Buffer;
  // Some room to grow: the next group is rarely the same size.
  return Buffer.allocUnsafeSlow(Math.max(bytes + (bytes >> 2), 1 << 20));
}

function releaseBody(body: Buffer): void {
  const pooled = freeBodies.reduce((n, b) => n + b.length, 0);
  if (pooled + body.length <= MAX_FREE_BODY_BYTES) freeBodies.push(body);
}

/** The rows' chunks copied one after another into `body`; the filled part of it. */
function fill(body: Buffer, rows: EncodedRows): Buffer {
  let offset = 0;
  for (const chunk of rows.chunks) offset += chunk.copy(body, offset);
  return body.subarray(0, offset);
}

/** Row objects encoded (as JSON.stringify writes them) and inserted the same way. */
export async function insertRows(
  client: ClickHouseClient,
  table: string,
  rows: readonly object[],
): Promise<void> {
  const encoded = encodeJsonRows(rows);
  try {
    await insertJsonEachRow(client, table, encoded);
  } finally {
    recycleRows(encoded);
  }
}

function asClickHouseError(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const mapped = parseError(message);
  if (mapped !== error && mapped.cause === undefined) mapped.cause = error;
  return mapped;
}
