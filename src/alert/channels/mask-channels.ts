/**
 * Channels as `plumbline config check` prints them: everything that works as a credential
 * replaced by `***`, everything else left as configured so the user can still read it.
 */

import type { ChannelConfig } from "./channel-config.ts";

export const MASK = "***";

/** Header and query parameter names that carry credentials. */
const SECRET_NAME = /authorization|token|key|secret|password|passwd|cookie|signature|^sig$|^code$/i;

/** Slack (and Slack-compatible) incoming webhook URLs end in their token. */
const SLACK_HOOK_PATH = /^\/(services|workflows|triggers)\//;

/** A copy of the channels with secrets, credential headers and URL credentials masked. */
export function maskChannels<T extends Record<string, ChannelConfig>>(channels: T): T {
  const masked: Record<string, ChannelConfig> = {};
  for (const [name, channel] of Object.entries(channels)) {
    const headers = Object.fromEntries(
      Object.entries(channel.headers).map(([header, value]) => [
        header,
        SECRET_NAME.test(header) ? MASK : value,
      ]),
    );
    const slackFormat = channel.type === "webhook" && channel.format === "slack";
    const copy = { ...channel, headers, url: maskUrl(channel.url, slackFormat) };
    if (copy.type === "webhook" && copy.secret !== undefined) copy.secret = MASK;
    masked[name] = copy;
  }
  return masked as T;
}

/**
 * The URL with its password, credential query parameters and, for Slack hooks (always on
 * hooks.slack.com, and for any host when the format is `slack`), the last path segment masked.
 */
export function maskUrl(url: string, slackFormat = false): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return MASK; // not a URL we could read: show nothing of it rather than a secret
  }
  if (parsed.password !== "") parsed.password = MASK;
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_NAME.test(name)) parsed.searchParams.set(name, MASK);
  }
  const slackHost = parsed.hostname === "hooks.slack.com";
  if ((slackHost && SLACK_HOOK_PATH.test(parsed.pathname)) || slackFormat) {
    const segments = parsed.pathname.split("/");
    const last = segments.findLastIndex((segment) => segment !== "");
    if (last > 0) {
      segments[last] = MASK;
      parsed.pathname = segments.join("/");
    }
  }
  return parsed.toString();
}
