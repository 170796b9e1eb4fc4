/**
 * Rows as the text of an insert: JSONEachRow, one line per row, written straight into byte
 * chunks as each request is decoded. A group commit then hands the store bytes it has only to
 * concatenate (embedded, chDB takes them without a copy and parses them on its own thread): no
 * row object lives until the insert, and no insert-sized string is built, copied, or held by
 * the garbage collector.
 *
 * The chunks are recycled once their rows are committed (`recycleRows`). Fresh ones would be
 * memory outside the V8 heap, allocated at ~100 MB/s at 20,000 spans/s, and V8 answers that
 * much external memory with full collections: in a simulation of ingest (decode, normalise,
 * encode, held for a commit) unpooled chunks took twice the major GCs of the old row objects.
 */

/** JSONEachRow text of one table's rows. */
export interface EncodedRows {
  /** Whole lines, each ending in "\n"; no line spans two chunks. */
  readonly chunks: readonly Buffer[];
  readonly rows: number;
}

/** Lines written one at a time; `done()` gives them as EncodedRows. */
export interface LineWriter {
  /** Appends one row's JSON text (no newline in it: JSON.stringify escapes them) and "\n". */
  line(json: string): void;
  done(): EncodedRows;
}

// A request's rows (~512 spans of 1.5 KB) fill a few chunks; a new chunk instead of a grown,
// copied one.
const CHUNK_BYTES = 256 * 1024;

// Free chunks, up to 16 MiB: about what waits for commit at the maximum rate (8 requests of
// 512 spans, ~4 KB of text per span with its output). Memory held for reuse is resident.
const MAX_FREE_CHUNKS = Number(process.env.X_CHUNKS ?? 64);
const freeChunks: Buffer[] = [];
// The memory of each free chunk, so that rows recycled twice cannot hand one chunk to two writers.
const free = new WeakSet<ArrayBufferLike>();

function takeChunk(bytes: number): Buffer {
  if (bytes > CHUNK_BYTES) return Buffer.allocUnsafeSlow(bytes);
  const chunk = freeChunks.pop();
  if (chunk === undefined) return Buffer.allocUnsafeSlow(CHUNK_BYTES);
  free.delete(chunk.buffer);
  return chunk;
}

/**
 * Returns the chunks of rows whose insert is done (committed or given up) for new lines to
 * reuse. The rows, and every view of them (`eachRow`), must not be read afterwards.
 */
export function recycleRows(rows: EncodedRows): void {
  for (const chunk of rows.chunks) {
    if (freeChunks.length >= MAX_FREE_CHUNKS) return;
    // Only a whole pooled chunk (a view from its start); oversized ones are left to the GC.
    if (chunk.byteOffset !== 0 || chunk.buffer.byteLength !== CHUNK_BYTES) continue;
    if (free.has(chunk.buffer)) continue;
    free.add(chunk.buffer);
    freeChunks.push(Buffer.from(chunk.buffer, 0, CHUNK_BYTES));
  }
}

/** A writer of JSONEachRow lines into fresh chunks. */
export function createLineWriter(): LineWriter {
  const chunks: Buffer[] = [];
  let chunk: Buffer | undefined;
  let used = 0;
  let rows = 0;
  const seal = () => {
    if (chunk !== undefined && used > 0) chunks.push(chunk.subarray(0, used));
    chunk = undefined;
    used = 0;
  };
  return {
    line(json) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit, so the line always fits whole.
      const most = json.length * 3 + 1;
      if (chunk === undefined || chunk.length - used < most) {
        seal();
        chunk = takeChunk(most);
      }
      used += chunk.write(json, used);
      chunk[used++] = 0x0a;
      rows++;
    },
    done() {
      seal();
      return { chunks, rows };
    },
  };
}

/** Rows as JSONEachRow text, each as JSON.stringify writes it. */
export function encodeJsonRows(rows: readonly object[]): EncodedRows {
  const writer = createLineWriter();
  for (const row of rows) writer.line(JSON.stringify(row));
  return writer.done();
}

export const NO_ROWS: EncodedRows = { chunks: [], rows: 0 };

/** The rows of all the parts, in order, without copying their bytes. */
export function concatRows(parts: readonly EncodedRows[]): EncodedRows {
  const nonEmpty = parts.filter((p) => p.rows > 0);
  if (nonEmpty.length === 0) return NO_ROWS;
  if (nonEmpty.length === 1) return nonEmpty[0] as EncodedRows;
  return {
    chunks: nonEmpty.flatMap((p) => p.chunks),
    rows: nonEmpty.reduce((n, p) => n + p.rows, 0),
  };
}

/** Bytes of all lines. */
export function byteLengthOf(rows: EncodedRows): number {
  let bytes = 0;
  for (const chunk of rows.chunks) bytes += chunk.length;
  return bytes;
}

/** Each row on its own (views into the same bytes): for finding the rows the store refuses. */
export function eachRow(rows: EncodedRows): EncodedRows[] {
  const each: EncodedRows[] = [];
  for (const chunk of rows.chunks) {
    for (let start = 0; start < chunk.length;) {
      const end = chunk.indexOf(0x0a, start) + 1 || chunk.length;
      each.push({ chunks: [chunk.subarray(start, end)], rows: 1 });
      start = end;
    }
  }
  return each;
}

/** The trace and span id of a one-row EncodedRows of otel_traces or agent_outputs. */
export function spanKeyOf(row: EncodedRows): { TraceId: string; SpanId: string } {
  const text = Buffer.concat(row.chunks as Buffer[]).toString("utf8");
  const { TraceId, SpanId } = JSON.parse(text) as { TraceId?: unknown; SpanId?: unknown };
  return { TraceId: String(TraceId ?? ""), SpanId: String(SpanId ?? "") };
}
