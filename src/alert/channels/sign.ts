/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec "Signature scheme"):
 * HMAC-SHA256 over `${id}.${timestamp}.${body}` with the secret's bytes, sent as
 * `webhook-signature: v1,<base64>` beside `webhook-id` and `webhook-timestamp`.
 */

import { createHmac } from "node:crypto";

export const WEBHOOK_SECRET_PREFIX = "whsec_";

/** Spec, "Symmetric": the signing secret is random, 24 bytes at least, 64 at most. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface WebhookSignatureHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/**
 * Why a string is not a usable `whsec_` secret, or undefined when it is. The message never
 * repeats the secret, so it can be printed.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    return `a webhook secret starts with "${WEBHOOK_SECRET_PREFIX}" (Standard Webhooks)`;
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (encoded === "" || !BASE64.test(encoded)) {
    return `after "${WEBHOOK_SECRET_PREFIX}" a webhook secret is standard base64 (A-Z a-z 0-9 + /, padded with =)`;
  }
  const bytes = Buffer.from(encoded, "base64").length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
    return `a webhook secret holds ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes; this one holds ${bytes}`;
  }
  return undefined;
}

/** The HMAC key of a `whsec_` secret: its base64 part, decoded. Throws on a malformed secret. */
export function webhookSecretKey(secret: string): Buffer {
  const problem = webhookSecretProblem(secret);
  if (problem !== undefined) throw new TypeError(problem);
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), "base64");
}

/**
 * The three Standard Webhooks headers for one attempt. `id` is stable across retries (receivers
 * dedupe on it); `timestampSeconds` is the time of this attempt (receivers reject old ones).
 */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): WebhookSignatureHeaders {
  // Spec: the id and timestamp must not hold "." or the signed content would be ambiguous.
  if (id === "" || id.includes(".")) {
    throw new TypeError(`a webhook id is non-empty and has no "." (got ${JSON.stringify(id)})`);
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError(`a webhook timestamp is whole seconds since the epoch`);
  }
  const signature = createHmac("sha256", webhookSecretKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`, "utf8")
    .digest("base64");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}
