/**
 * Channels and routes as the config file states them (`channels`, `routes`, `defaultChannels`;
 * see docs/alerts.md "Channels and routes"). Validated once at start; every message names the
 * key that is wrong and never repeats a secret.
 */

import { z } from "zod";
import type { Severity } from "../../rules/rule.ts";
import { webhookSecretProblem } from "./sign.ts";

const severity = z.enum(["info", "warning", "critical"] as const satisfies readonly Severity[]);

const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const CHANNEL_NAME_RULE =
  "a channel name: letters, digits, _ and -, starting with a letter or digit, at most 64";

/** Channel names appear in `/api/channels/:name/test`, in logs and as the Alertmanager receiver. */
export const channelName = z.string().regex(CHANNEL_NAME, CHANNEL_NAME_RULE);

/**
 * A record whose keys are checked one by one: zod reports a bad record key only as "Invalid
 * key in record", and the user needs to read which rule the key broke.
 */
function recordOf<V extends z.ZodType>(
  problemOfKey: (key: string) => string | undefined,
  value: V,
) {
  return z.record(z.string(), value).check((ctx) => {
    for (const key of Object.keys(ctx.value)) {
      const problem = problemOfKey(key);
      if (problem !== undefined) {
        ctx.issues.push({ code: "custom", path: [key], input: key, message: problem });
      }
    }
  });
}

const httpUrl = z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" });

/** Headers we set ourselves: a configured value would break the body or the signature. */
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "transfer-encoding",
  "host",
  "connection",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

const headers = recordOf(
  (name) => {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      return `"${name}" is not a header name (an HTTP token)`;
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      return `${name} is set by Plumbline and cannot be configured`;
    return undefined;
  },
  // Not the value in the message: header values are often credentials.
  z.string().regex(/^[^\r\n\0]*$/, "a header value on one line"),
).default({});

const timeoutMs = z.number().int().min(100).max(300_000).default(10_000);

const webhookSecret = z.string().check((ctx) => {
  const problem = webhookSecretProblem(ctx.value);
  // The input is masked on purpose: issues get printed, and this one is a secret.
  if (problem !== undefined) ctx.issues.push({ code: "custom", message: problem, input: "***" });
});

export const webhookChannelSchema = z.strictObject({
  type: z.literal("webhook"),
  url: httpUrl,
  headers,
  timeoutMs,
  /** `plumbline`: our versioned JSON; `alertmanager`: the Alertmanager webhook body; `slack`. */
  format: z.enum(["plumbline", "alertmanager", "slack"]).default("plumbline"),
  /** `whsec_<base64>`: when set, every request carries Standard Webhooks signature headers. */
  secret: webhookSecret.optional(),
});

export const alertmanagerChannelSchema = z.strictObject({
  type: z.literal("alertmanager"),
  /** An Alertmanager's base URL (`http://alertmanager:9093`); we POST to `/api/v2/alerts`. */
  url: httpUrl,
  headers,
  timeoutMs,
  /**
   * How often a firing alert is posted again. Alertmanager resolves an alert by itself once its
   * endsAt (now + 2 × this) passes, so a Plumbline that stops sending does not leave it firing.
   */
  resendMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
});

export const channelSchema = z.discriminatedUnion("type", [
  webhookChannelSchema,
  alertmanagerChannelSchema,
]);

const matchValue = z.union([z.string(), z.array(z.string()).min(1)]);

export const routeSchema = z.strictObject({
  /** Every given condition must hold; no `match` matches every alert. */
  match: z
    .strictObject({
      severity: z.union([severity, z.array(severity).min(1)]).optional(),
      /** Label → value, glob (`*`, `?`) or list of them; the alert must carry the label. */
      labels: z.record(z.string().min(1), matchValue).optional(),
    })
    .optional(),
  channels: z.array(channelName).min(1),
  /** Keep looking at the routes below after this one matched (Alertmanager's `continue`). */
  continue: z.boolean().default(false),
});

export const notificationConfigShape = {
  channels: recordOf(
    (name) => (CHANNEL_NAME.test(name) ? undefined : `"${name}" is not ${CHANNEL_NAME_RULE}`),
    channelSchema,
  ).default({}),
  routes: z.array(routeSchema).default([]),
  /** Where alerts that match no route go. Unset without routes: every channel. */
  defaultChannels: z.array(channelName).optional(),
};

/**
 * `channels`, `routes` and `defaultChannels`, checked together: every named channel exists, and
 * once there are routes the user says where unmatched alerts go. (zod runs this once the parts
 * themselves are valid.)
 */
export const notificationConfigSchema = z
  .object(notificationConfigShape)
  .check(checkRouteChannels)
  .transform(({ channels, routes, defaultChannels }) => ({
    channels,
    routes,
    defaultChannels: defaultChannels ?? Object.keys(channels),
  }));

export type ChannelConfig = z.output<typeof channelSchema>;
export type RouteConfig = z.output<typeof routeSchema>;

/** A zod check reporting every routeChannelIssues entry at its path (for any schema holding the shape). */
export function checkRouteChannels<T extends Parameters<typeof routeChannelIssues>[0]>(
  ctx: z.core.ParsePayload<T>,
): void {
  for (const issue of routeChannelIssues(ctx.value)) {
    ctx.issues.push({
      code: "custom",
      input: issue.channel,
      path: issue.path,
      message: issue.message,
    });
  }
}

export interface RouteChannelIssue {
  path: (string | number)[];
  channel: string | undefined;
  message: string;
}

/**
 * Every route and default naming a channel that is not defined (the message names the route
 * index and the channel), and routes without `defaultChannels`.
 */
export function routeChannelIssues(config: {
  channels: Record<string, unknown>;
  routes: readonly { channels: readonly string[] }[];
  defaultChannels?: readonly string[] | undefined;
}): RouteChannelIssue[] {
  const defined = Object.keys(config.channels);
  const known = defined.length === 0 ? "no channels are defined" : `defined: ${defined.join(", ")}`;
  const issues: RouteChannelIssue[] = [];
  config.routes.forEach((route, index) => {
    route.channels.forEach((channel, position) => {
      if (Object.hasOwn(config.channels, channel)) return;
      issues.push({
        path: ["routes", index, "channels", position],
        channel,
        message: `routes[${index}] sends to channel "${channel}", which is not in channels (${known})`,
      });
    });
  });
  (config.defaultChannels ?? []).forEach((channel, position) => {
    if (Object.hasOwn(config.channels, channel)) return;
    issues.push({
      path: ["defaultChannels", position],
      channel,
      message: `defaultChannels names channel "${channel}", which is not in channels (${known})`,
    });
  });
  if (config.routes.length > 0 && config.defaultChannels === undefined) {
    issues.push({
      path: ["defaultChannels"],
      channel: undefined,
      message:
        "routes are set, so say where alerts that match none of them go: defaultChannels is a list of channels, or [] to send them nowhere",
    });
  }
  return issues;
}

export { compileRoutes, routeChannels, type RoutedAlert } from "./route-channels.ts";
export { maskChannels, maskUrl } from "./mask-channels.ts";
