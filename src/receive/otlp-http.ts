/**
 * OTLP/HTTP receiver, `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, after the OTLP
 * specification ("OTLP/HTTP"): binary protobuf or JSON in, the same content type back; an empty
 * Export…ServiceResponse on full success, `partialSuccess` for rejected spans, log records or
 * data points; a google.rpc.Status body on errors, 400 for bad data (the client must not
 * retry), 429/503 + Retry-After when it should. The same rules for every signal.
 */

import { Hono } from "hono";
import { encodeStatusJson, encodeStatusProtobuf } from "../decode/encode-response.ts";
import type { PlumblineError } from "../errors.ts";
import { keyChecker, presentedKey } from "./auth.ts";
import { otlpSignals, type Encoding, type OtlpSignal, type SignalIngests } from "./otlp-signals.ts";
import { readBody } from "./read-body.ts";

/** Logs and metrics are received when their ingest is given (the service always gives it). */
export interface OtlpHttpOptions extends SignalIngests {
  maxBodyBytes: number;
  ingestKeys: readonly string[];
}

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

/** The `/v1/traces`, `/v1/logs` and `/v1/metrics` routes. */
export function otlpHttpRoutes(options: OtlpHttpOptions): Hono {
  const app = new Hono();
  const isValidKey = options.ingestKeys.length > 0 ? keyChecker(options.ingestKeys) : undefined;

  const handle = async (signal: OtlpSignal, request: Request): Promise<Response> => {
    const contentType = request.headers.get("content-type");
    const encoding = encodingOf(contentType ?? undefined);
    if (encoding === undefined) {
      return Response.json(
        {
          code: RPC_CODE.invalidArgument,
          message: `unsupported Content-Type "${contentType ?? ""}": use application/x-protobuf or application/json`,
        },
        { status: 415 },
      );
    }
    if (isValidKey !== undefined && !isValidKey(presentedKey((h) => request.headers.get(h)))) {
      return status(encoding, 401, RPC_CODE.unauthenticated, "missing or invalid ingest key");
    }
    const body = await readBody(request, options.maxBodyBytes);
    if (!body.ok) return status(encoding, body.status, RPC_CODE.invalidArgument, body.message);

    const outcome = await signal.export(encoding, body.body);
    if (outcome.kind === "invalid") {
      return status(encoding, 400, RPC_CODE.invalidArgument, outcome.message);
    }
    if (outcome.kind === "failed") return errorStatus(encoding, outcome.error);
    const bytes = signal.response(encoding, outcome.rejected, outcome.errorMessage);
    return new Response(bytes as Uint8Array<ArrayBuffer> | string, {
      status: 200,
      headers: { "content-type": CONTENT_TYPES[encoding] },
    });
  };

  for (const signal of otlpSignals(options)) {
    app.post(signal.httpPath, (c) => handle(signal, c.req.raw));
  }
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
