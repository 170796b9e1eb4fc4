/**
 * OTLP/HTTP trace receiver, `POST /v1/traces`, after the OTLP specification ("OTLP/HTTP"):
 * binary protobuf or JSON in, the same content type back; an empty ExportTraceServiceResponse
 * on full success, `partialSuccess` for rejected spans; a google.rpc.Status body on errors,
 * 400 for bad data (the client must not retry), 429/503 + Retry-After when it should.
 */

import { Hono } from "hono";
import { decodeJsonRequest } from "../decode/decode-json-request.ts";
import { decodeProtobufRequest } from "../decode/decode-protobuf-request.ts";
import {
  encodeExportResponseJson,
  encodeExportResponseProtobuf,
  encodeStatusJson,
  encodeStatusProtobuf,
} from "../decode/encode-response.ts";
import type { PlumblineError } from "../errors.ts";
import { keyChecker, presentedKey } from "./auth.ts";
import type { Ingest } from "./ingest.ts";
import { readBody } from "./read-body.ts";

export interface OtlpHttpOptions {
  ingest: Ingest;
  maxBodyBytes: number;
  ingestKeys: readonly string[];
}

type Encoding = "protobuf" | "json";

const CONTENT_TYPES: Record<Encoding, string> = {
  protobuf: "application/x-protobuf",
  json: "application/json",
};

// google.rpc.Code values used in Status bodies.
const RPC_CODE = {
  invalidArgument: 3,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
};

/** The `/v1/traces` route. */
export function otlpHttpRoutes(options: OtlpHttpOptions): Hono {
  const app = new Hono();
  const isValidKey = options.ingestKeys.length > 0 ? keyChecker(options.ingestKeys) : undefined;

  app.post("/v1/traces", async (c) => {
    const encoding = encodingOf(c.req.header("content-type"));
    if (encoding === undefined) {
      return c.json(
        {
          code: RPC_CODE.invalidArgument,
          message: `unsupported Content-Type "${c.req.header("content-type") ?? ""}": use application/x-protobuf or application/json`,
        },
        415,
      );
    }
    if (isValidKey !== undefined && !isValidKey(presentedKey((h) => c.req.header(h)))) {
      return status(encoding, 401, RPC_CODE.unauthenticated, "missing or invalid ingest key");
    }
    const body = await readBody(c.req.raw, options.maxBodyBytes);
    if (!body.ok) return status(encoding, body.status, RPC_CODE.invalidArgument, body.message);

    const decoded =
      encoding === "protobuf" ? decodeProtobufRequest(body.body) : decodeJsonRequest(body.body);
    if (!decoded.ok) return status(encoding, 400, RPC_CODE.invalidArgument, decoded.message);

    const result = await options.ingest(decoded.spans, decoded.rejected);
    if (!result.ok) return errorStatus(encoding, result.error);

    const bytes =
      encoding === "protobuf"
        ? encodeExportResponseProtobuf(result.rejectedSpans, result.errorMessage)
        : encodeExportResponseJson(result.rejectedSpans, result.errorMessage);
    return c.body(bytes as Uint8Array<ArrayBuffer> | string, 200, {
      "content-type": CONTENT_TYPES[encoding],
    });
  });

  return app;
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/x-protobuf" || mediaType === "application/protobuf") {
    return "protobuf";
  }
  if (mediaType === "application/json") return "json";
  return undefined;
}

function errorStatus(encoding: Encoding, error: PlumblineError): Response {
  const code =
    error.httpStatus === 429
      ? RPC_CODE.resourceExhausted
      : error.httpStatus === 503
        ? RPC_CODE.unavailable
        : RPC_CODE.internal;
  const headers: Record<string, string> = {};
  if (error.retryable && error.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  return status(encoding, error.httpStatus, code, error.message, headers);
}

function status(
  encoding: Encoding,
  httpStatus: number,
  rpcCode: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body =
    encoding === "protobuf"
      ? encodeStatusProtobuf(rpcCode, message)
      : encodeStatusJson(rpcCode, message);
  return new Response(body as Uint8Array<ArrayBuffer> | string, {
    status: httpStatus,
    headers: { ...headers, "content-type": CONTENT_TYPES[encoding] },
  });
}
