/**
 * Reads a request body with a hard size limit, before and after decompression, so that
 * neither a large body nor a small gzip bomb can exhaust memory.
 */

import { gunzip } from "node:zlib";

export type BodyResult =
  { ok: true; body: Uint8Array } | { ok: false; status: 400 | 413 | 415; message: string };

/** Reads and, for `Content-Encoding: gzip`, decompresses the body, within `limit` bytes. */
export async function readBody(request: Request, limit: number): Promise<BodyResult> {
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity" && encoding !== "gzip") {
    return {
      ok: false,
      status: 415,
      message: `unsupported Content-Encoding "${encoding}": use gzip or none`,
    };
  }
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > limit) return tooLarge(limit);

  const raw = await readLimited(request, limit);
  if (raw === undefined) return tooLarge(limit);
  if (encoding === "identity") return { ok: true, body: raw };

  return new Promise((resolve) => {
    gunzip(raw, { maxOutputLength: limit }, (error, result) => {
      if (error === null) resolve({ ok: true, body: result });
      else if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        resolve(tooLarge(limit, "after decompression"));
      } else resolve({ ok: false, status: 400, message: `invalid gzip body: ${error.message}` });
    });
  });
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, total);
}

function tooLarge(limit: number, when = ""): BodyResult {
  const suffix = when ? ` ${when}` : "";
  return { ok: false, status: 413, message: `request body exceeds ${limit} bytes${suffix}` };
}
