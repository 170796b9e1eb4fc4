/**
 * What a receiver's HTTP status means for a delivery, and how long its Retry-After asks us to
 * wait. Kept apart from the transport so the table is tested on its own.
 */

/** `disable`: the receiver asked never to be called again (410 Gone). */
export type HttpStatusClass = "success" | "retry" | "failure" | "disable";

/**
 * Standard Webhooks, "Delivery success and failure": 2xx is success; 3xx is a failure (redirects
 * are not followed — the URL should be updated); 410 disables the endpoint; 429 and overloaded
 * servers are retried. We also retry 408 and every 5xx (a receiver being deployed answers 500
 * or 503 for a moment) and treat the other 4xx as final: sending the same body again cannot
 * fix it.
 */
export function classifyHttpStatus(status: number): HttpStatusClass {
  if (status >= 200 && status <= 299) return "success";
  if (status === 410) return "disable";
  if (status === 408 || status === 429) return "retry";
  if (status >= 500 && status <= 599) return "retry";
  return "failure";
}

/**
 * Milliseconds to wait from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), or undefined when absent or unreadable so the caller falls back to its backoff.
 */
export function parseRetryAfterMs(
  header: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10) * 1000;
  // An HTTP-date always names a weekday and GMT; Date.parse alone accepts too much ("7").
  if (!/GMT$/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
