/**
 * One channel's HTTP sender: builds the body for the channel's format, signs it when the
 * channel has a secret, POSTs it with the channel's timeout, and says what happened as a value
 * (success, failure, or retry after some time). It never throws and never retries by itself:
 * the delivery worker owns retries, backoff and the outbox.
 */

import type { DeliveryResult, Notification } from "../types.ts";
import type { ChannelConfig } from "./channel-config.ts";
import { classifyHttpStatus, parseRetryAfterMs } from "./classify-http-status.ts";
import { alertmanagerApiAlerts, alertmanagerWebhookPayload, plumblinePayload } from "./payloads.ts";
import { slackPayload } from "./slack-payload.ts";
import { signWebhook } from "./sign.ts";

const USER_AGENT = "plumbline";
/** How much of a refusing receiver's body goes into the delivery record. */
const MAX_ERROR_BODY = 300;

export interface ChannelSenderOptions {
  /** Where people reach this Plumbline; the payloads link back to it. */
  externalUrl: string;
  fetch?: typeof fetch;
  /** Unix ms; the signature timestamp and the payload times come from it. */
  now?: () => number;
}

export interface ChannelSender {
  readonly name: string;
  send(notification: Notification): Promise<DeliveryResult>;
}

export interface ChannelRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A sender for one configured channel. */
export function createChannelSender(
  name: string,
  channel: ChannelConfig,
  options: ChannelSenderOptions,
): ChannelSender {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  return {
    name,
    async send(notification) {
      const started = performance.now();
      const latencyMs = () => Math.round(performance.now() - started);
      let request: ChannelRequest;
      try {
        request = buildChannelRequest(name, channel, notification, {
          externalUrl: options.externalUrl,
          now: now(),
        });
      } catch (error) {
        // A bug or a config the schema should have refused: sending it again cannot help.
        return {
          outcome: "failure",
          status: undefined,
          error: `cannot build the request: ${messageOf(error)}`,
          latencyMs: 0,
        };
      }
      let response: Response;
      try {
        response = await fetchImpl(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          // Standard Webhooks: a redirect is a failure, the configured URL should be updated.
          redirect: "manual",
          signal: AbortSignal.timeout(channel.timeoutMs),
        });
      } catch (error) {
        return requestError(error, channel.timeoutMs, latencyMs());
      }
      const { status } = response;
      const verdict = classifyHttpStatus(status);
      if (verdict === "success") {
        await response.body?.cancel().catch(() => undefined);
        return { outcome: "success", status, latencyMs: latencyMs() };
      }
      const detail = await bodyExcerpt(response);
      const error = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}${detail === "" ? "" : `: ${detail}`}`;
      switch (verdict) {
        case "retry":
          return {
            outcome: "retry",
            status,
            error,
            latencyMs: latencyMs(),
            afterMs: parseRetryAfterMs(response.headers.get("retry-after"), now()),
          };
        case "disable":
          return {
            outcome: "failure",
            status,
            error: `${error} (the receiver is gone: channel ${name} is disabled)`,
            latencyMs: latencyMs(),
            disableChannel: true,
          };
        case "failure": {
          const location = status >= 300 && status < 400 ? response.headers.get("location") : null;
          const hint =
            location === null ? "" : ` (redirects are not followed: it points to ${location})`;
          return { outcome: "failure", status, error: `${error}${hint}`, latencyMs: latencyMs() };
        }
      }
    },
  };
}

/**
 * The request a channel sends for a notification: URL, headers (signature included) and the
 * exact body. Throws only on bugs (a notification id with a ".", a malformed secret).
 */
export function buildChannelRequest(
  name: string,
  channel: ChannelConfig,
  notification: Notification,
  options: { externalUrl: string; now: number },
): ChannelRequest {
  const { externalUrl, now } = options;
  let url: string;
  let body: string;
  if (channel.type === "alertmanager") {
    url = alertmanagerAlertsUrl(channel.url);
    body = JSON.stringify(
      alertmanagerApiAlerts(notification, { externalUrl, now, resendMs: channel.resendMs }),
    );
  } else {
    url = channel.url;
    switch (channel.format) {
      case "plumbline":
        body = JSON.stringify(plumblinePayload(notification, { externalUrl, now }));
        break;
      case "alertmanager":
        body = JSON.stringify(
          alertmanagerWebhookPayload(notification, { receiver: name, externalUrl }),
        );
        break;
      case "slack":
        body = JSON.stringify(slackPayload(notification, { externalUrl }));
        break;
    }
  }
  const { url: bareUrl, authorization } = splitCredentials(url);
  const headers: Record<string, string> = { "user-agent": USER_AGENT };
  if (authorization !== undefined) headers["authorization"] = authorization;
  // Configured headers win over ours (an explicit Authorization over URL credentials)…
  for (const [header, value] of Object.entries(channel.headers))
    headers[header.toLowerCase()] = value;
  // …but not over the ones the body and the signature depend on.
  headers["content-type"] = "application/json";
  if (channel.type === "webhook" && channel.secret !== undefined) {
    Object.assign(
      headers,
      signWebhook(channel.secret, notification.id, Math.floor(now / 1000), body),
    );
  }
  return { url: bareUrl, headers, body };
}

/**
 * `http://am:9093` and `http://am:9093/prefix/` → `…/api/v2/alerts`; a full API URL is kept, and
 * so is a query (a proxy in front of Alertmanager may want one).
 */
export function alertmanagerAlertsUrl(base: string): string {
  const url = new URL(base);
  url.hash = "";
  if (!url.pathname.endsWith("/api/v2/alerts")) {
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/v2/alerts`;
  }
  return url.toString();
}

/** fetch refuses URLs with credentials: move them to a Basic Authorization header. */
function splitCredentials(raw: string): { url: string; authorization?: string } {
  const url = new URL(raw);
  if (url.username === "" && url.password === "") return { url: raw };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  const token = Buffer.from(`${user}:${password}`, "utf8").toString("base64");
  return { url: url.toString(), authorization: `Basic ${token}` };
}

/** fetch rejected: a timeout, a refused or reset connection, DNS — all worth another try. */
function requestError(error: unknown, timeoutMs: number, latencyMs: number): DeliveryResult {
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return {
      outcome: "retry",
      status: undefined,
      error: `no response within ${timeoutMs} ms`,
      latencyMs,
      afterMs: undefined,
    };
  }
  // undici reports every network failure as TypeError("fetch failed") with the reason as cause.
  if (error instanceof TypeError && error.message === "fetch failed") {
    return {
      outcome: "retry",
      status: undefined,
      error: `connection failed: ${causeOf(error)}`,
      latencyMs,
      afterMs: undefined,
    };
  }
  if (name === "AbortError") {
    return {
      outcome: "retry",
      status: undefined,
      error: "request aborted",
      latencyMs,
      afterMs: undefined,
    };
  }
  return {
    outcome: "failure",
    status: undefined,
    error: `request refused before sending: ${messageOf(error)}`,
    latencyMs,
  };
}

function causeOf(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === "string" && !cause.message.includes(code)
      ? `${code} ${cause.message}`
      : cause.message;
  }
  return error.message;
}

/** The start of a refusal's body, read no further than needed (an error page can be huge). */
async function bodyExcerpt(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < MAX_ERROR_BODY * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The body timed out or broke off; what arrived, and the status, say enough.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.replace(/\s+/g, " ").trim().slice(0, MAX_ERROR_BODY);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
