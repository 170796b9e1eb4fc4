/**
 * The one error base for failures that reach a client: a stable code, the HTTP status it maps
 * to, and whether the client may retry. Mapped to responses in one place (api/app.ts onError).
 */
export class PlumblineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    readonly retryable = false,
    /** For retryable errors: how long the client should wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "PlumblineError";
  }
}

/** The store cannot take writes now (down, or failing): 503 + Retry-After. */
export function storeUnavailable(reason: string, retryAfterMs = 5_000): PlumblineError {
  return new PlumblineError("store_unavailable", reason, 503, true, retryAfterMs);
}

/** Too much is waiting to be written: 429 + Retry-After. */
export function queueFull(retryAfterMs = 1_000): PlumblineError {
  return new PlumblineError(
    "queue_full",
    "the write queue is full; retry later",
    429,
    true,
    retryAfterMs,
  );
}
