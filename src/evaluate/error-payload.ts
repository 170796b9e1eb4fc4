/**
 * Is this value an error in disguise? Tools and APIs often fail "successfully": the span status
 * is OK, and the result is `{"error": "invalid_token"}` or the text "429 Too Many Requests".
 * The heuristic is deliberately narrow, because a false alarm on every tool result that merely
 * mentions errors would bury the real ones:
 *
 * - JSON objects (and JSON text that parses to one) are read as envelopes: `error` set to
 *   something other than null / false / "" / {} / []; `ok: false`; `success: false`;
 *   `status: "error" | "fail" | "failed" | "failure"`; `status` / `status_code` / `statusCode`
 *   / `code` holding an HTTP error status 400–599 (number or digit string); `errors` a
 *   non-empty array. Only the top level counts. Failing those, a short `message` / `detail` /
 *   `msg` / `error_message` / `error_description` string is read as error text.
 * - Text (and JSON strings) is matched, case-insensitively, against phrases that only error
 *   messages use (unauthorized, forbidden, token expired, invalid token / API key, rate limit
 *   exceeded, too many requests, quota exceeded, insufficient quota, internal server error,
 *   service unavailable, bad gateway, gateway timeout, access / permission denied,
 *   authentication failed), an HTTP error status after "HTTP", "status (code)" or "error code", or
 *   a text that starts with "Error:", "Error 4xx/5xx", "Exception:", "Fatal error:" or a
 *   Python traceback. Only
 *   the first 300 characters are read: an error message leads with the error, while a long
 *   document that mentions "rate limit exceeded" halfway through is a document.
 * Arrays, numbers, booleans and null are never error payloads.
 */

import { RE2JS } from "re2js";

export type ErrorPayloadVerdict = { error: true; reason: string } | { error: false };

/** How much of a text is read: error messages put the error first. */
const HEAD_CHARS = 300;
/** JSON text longer than this is not parsed here (it is not an error envelope). */
const MAX_JSON_CHARS = 1 << 20;

const ERROR_PHRASES = RE2JS.compile(
  [
    String.raw`\b(?:unauthori[sz]ed`,
    String.raw`forbidden`,
    String.raw`access denied`,
    String.raw`permission denied`,
    String.raw`authentication (?:failed|required)`,
    String.raw`(?:access |auth |api |bearer |refresh )?token (?:has |is )?expired`,
    String.raw`expired (?:access |auth |api |bearer )?token`,
    String.raw`invalid (?:access |auth |api |bearer |refresh )?token`,
    String.raw`invalid[ _-]api[ _-]?key`,
    String.raw`rate[ _-]?limit(?:ed|[ _-]exceeded|[ _-]reached)`,
    String.raw`too many requests`,
    String.raw`quota[ _-]exceeded`,
    String.raw`exceeded (?:your |the )?(?:current )?quota`,
    String.raw`insufficient[ _-]quota`,
    String.raw`internal server error`,
    String.raw`service (?:temporarily )?unavailable`,
    String.raw`bad gateway`,
    String.raw`gateway time-?out`,
    String.raw`(?:http(?:/\d(?:\.\d)?)?|status(?:[ _-]?code)?|error[ _-]?code)[ \t:=#]*[45]\d\d)\b`,
  ].join("|"),
  RE2JS.CASE_INSENSITIVE,
);

const ERROR_START = RE2JS.compile(
  String.raw`^\s*(?:\[?(?:error|exception|fatal error)\]?\s*:|error\s*[45]\d\d\b|traceback \(most recent call last\))`,
  RE2JS.CASE_INSENSITIVE,
);

const STATUS_KEYS = ["status", "status_code", "statusCode", "code"] as const;
const FAILED_STATUS_WORDS = new Set(["error", "fail", "failed", "failure"]);
const MESSAGE_KEYS = ["message", "detail", "msg", "error_message", "error_description"] as const;

/** Whether a value looks like an error envelope or an error message (see the module doc). */
export function looksLikeErrorPayload(value: unknown): ErrorPayloadVerdict {
  if (typeof value === "string") return textVerdict(value, true);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return envelopeVerdict(value as Record<string, unknown>);
  }
  return { error: false };
}

/** Whether a text reads as an error message, without trying it as JSON. */
export function looksLikeErrorText(text: string): ErrorPayloadVerdict {
  return textVerdict(text, false);
}

function textVerdict(text: string, mayBeJson: boolean): ErrorPayloadVerdict {
  const trimmed = text.trim();
  if (mayBeJson && trimmed.length <= MAX_JSON_CHARS) {
    const first = trimmed.charAt(0);
    if (first === "{" || first === "[" || first === '"') {
      const parsed = parseJson(trimmed);
      // JSON is judged by its structure, never by words deep inside it.
      if (parsed.ok) {
        return typeof parsed.value === "string"
          ? textVerdict(parsed.value, false)
          : looksLikeErrorPayload(parsed.value);
      }
    }
  }
  const head = trimmed.length > HEAD_CHARS ? trimmed.slice(0, HEAD_CHARS) : trimmed;
  if (ERROR_START.test(head))
    return { error: true, reason: `text starts with an error: "${firstLine(head)}"` };
  // test() runs on RE2's DFA; exec() only to quote what matched.
  if (!ERROR_PHRASES.test(head)) return { error: false };
  const match = ERROR_PHRASES.exec(head);
  return { error: true, reason: `text says "${String(match?.[0] ?? "")}"` };
}

function envelopeVerdict(record: Record<string, unknown>): ErrorPayloadVerdict {
  if (Object.hasOwn(record, "error") && isSet(record.error)) {
    return { error: true, reason: `"error" is set` };
  }
  if (record.ok === false) return { error: true, reason: `"ok" is false` };
  if (record.success === false) return { error: true, reason: `"success" is false` };
  for (const key of STATUS_KEYS) {
    const status = record[key];
    if (isHttpErrorStatus(status)) {
      return { error: true, reason: `"${key}" is HTTP ${String(status)}` };
    }
    if (
      key === "status" &&
      typeof status === "string" &&
      FAILED_STATUS_WORDS.has(status.toLowerCase())
    ) {
      return { error: true, reason: `"status" is "${status}"` };
    }
  }
  const errors = record.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return {
      error: true,
      reason: `"errors" has ${errors.length} entr${errors.length === 1 ? "y" : "ies"}`,
    };
  }
  for (const key of MESSAGE_KEYS) {
    const message = record[key];
    if (typeof message === "string" && message.length <= HEAD_CHARS) {
      const verdict = textVerdict(message, false);
      if (verdict.error) return { error: true, reason: `"${key}": ${verdict.reason}` };
    }
  }
  return { error: false };
}

/** An `error` value that reports an error: not null, false, "", {} or []. */
function isSet(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function isHttpErrorStatus(value: unknown): boolean {
  const status =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d{3}$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isInteger(status) && status >= 400 && status <= 599;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function firstLine(text: string): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}
