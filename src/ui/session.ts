/**
 * The web UI's login session when PLUMBLINE_API_KEY is set: after the key is typed once, a
 * cookie carries `<expiry>.<HMAC-SHA256 of the expiry, keyed by the API key>`. Nothing is kept
 * on the server, so every process with the same key accepts it, and changing the key logs
 * everyone out. The cookie is HttpOnly (no script reads it), Secure and SameSite=Strict.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

export const SESSION_COOKIE = "plumbline_session";

/** 12 hours: a working day, after which the key is asked again. */
export const SESSION_MS = 12 * 3_600_000;

function signature(apiKey: string, expiresAtMs: number): Buffer {
  return createHmac("sha256", apiKey).update(`plumbline-ui-session:${expiresAtMs}`).digest();
}

/** A session token valid until `now + SESSION_MS`. */
export function createSessionToken(apiKey: string, now: number): string {
  const expiresAtMs = now + SESSION_MS;
  return `${expiresAtMs}.${signature(apiKey, expiresAtMs).toString("base64url")}`;
}

/** Whether `token` was made with this key and has not expired at `now`. */
export function isValidSession(apiKey: string, token: string | undefined, now: number): boolean {
  const match = /^(\d{13,16})\.([A-Za-z0-9_-]{43})$/.exec(token ?? "");
  if (match === null) return false;
  const expiresAtMs = Number(match[1]);
  if (!(expiresAtMs > now)) return false;
  const presented = Buffer.from(match[2] as string, "base64url");
  const expected = signature(apiKey, expiresAtMs);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * Whether a state-changing request (a form post, a backtest) comes from a page of this
 * Plumbline and not from another site the browser has open: browsers send `Origin` on every
 * POST, and `Sec-Fetch-Site` where they support it. A request with neither (curl) is allowed;
 * it carries no ambient cookie a third party could abuse.
 */
export function isSameOrigin(headers: { get(name: string): string | null }): boolean {
  const site = headers.get("sec-fetch-site");
  if (site === "same-origin") return true;
  if (site !== null && site !== "none") return false;
  const origin = headers.get("origin");
  if (origin === null) return true;
  if (origin === "null") return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  // Behind a reverse proxy the Host header may be the proxy's upstream; it says the original.
  return host === headers.get("host") || host === headers.get("x-forwarded-host");
}
