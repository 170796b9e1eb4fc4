/**
 * The `slack` format: an incoming-webhook message (`text` for notifications and old clients,
 * `blocks` for the message itself), kept inside Slack's Block Kit limits so that no alert is
 * refused for being too long.
 */

import type { Severity } from "../../rules/rule.ts";
import type { Alert, AlertExample, Notification } from "../types.ts";
import {
  alertSummary,
  alertUrl,
  whatText,
  failedShare,
  notificationStatus,
  scopeText,
  traceUrl,
  truncate,
} from "./alert-text.ts";

/** Block Kit limits (docs.slack.dev/reference/block-kit/blocks). */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  contextElements: 10,
  /** Our own bound for `text`: it is a notification preview, not the message. */
  fallbackText: 3000,
} as const;

/** Bounds for the parts of a line, so that a few examples always fit in one section. */
const MAX_ID = 64;
const MAX_FIELD_PATH = 200;
const MAX_MESSAGE = 500;
const MAX_OBSERVED = 300;
const MAX_LABEL = 100;
const MAX_VALUE = 300;

export type SlackText =
  { type: "plain_text"; text: string; emoji: true } | { type: "mrkdwn"; text: string };

export type SlackBlock =
  | { type: "header"; text: { type: "plain_text"; text: string; emoji: true } }
  | { type: "section"; text: SlackText }
  | { type: "section"; fields: SlackText[] }
  | { type: "context"; elements: SlackText[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export interface SlackPayloadOptions {
  externalUrl: string;
}

const SEVERITY_EMOJI: Record<Severity, string> = {
  critical: ":red_circle:",
  warning: ":large_orange_circle:",
  info: ":large_blue_circle:",
};

/** The message for one notification. */
export function slackPayload(
  notification: Notification,
  options: SlackPayloadOptions,
): SlackMessage {
  const { alert } = notification;
  const status = notificationStatus(notification);
  const headline = headlineOf(notification);
  const emoji = status === "resolved" ? ":white_check_mark:" : SEVERITY_EMOJI[alert.severity];
  const blocks: SlackBlock[] = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: truncate(`${emoji} ${headline}: ${alert.ruleId}`, SLACK_LIMITS.headerText),
        emoji: true,
      },
    },
    { type: "section", text: mrkdwn(descriptionText(alert)) },
    { type: "section", fields: fieldsOf(alert, status === "resolved") },
  ];
  if (alert.examples.length > 0) {
    blocks.push({
      type: "section",
      text: mrkdwn(examplesText(alert.examples, options.externalUrl)),
    });
  }
  blocks.push({ type: "context", elements: [mrkdwn(linksText(alert, options.externalUrl))] });
  return {
    text: fit(`${emoji} [${headline}] ${alertSummary(alert)}`, SLACK_LIMITS.fallbackText),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

function headlineOf(notification: Notification): string {
  switch (notification.kind) {
    case "firing":
      return "FIRING";
    case "repeat":
      return "STILL FIRING";
    case "resolved":
      return "RESOLVED";
    case "test":
      return notification.alert.state === "resolved" ? "TEST (resolved)" : "TEST";
  }
}

function descriptionText(alert: Alert): string {
  const scope = scopeText(alert.labels);
  let rest = fit(`${whatText(alert)}${scope === "" ? "" : ` in ${scope}`}.`, 1000);
  if (alert.runbook && !isHttpUrl(alert.runbook))
    rest += `\n*Runbook:* ${fit(alert.runbook, 1000)}`;
  if (alert.description.trim() === "") return rest;
  const head = `*${fit(alert.description, SLACK_LIMITS.sectionText - rest.length - 3)}*`;
  return `${head}\n${rest}`;
}

const SHOWN_AS_FIELDS = new Set(["service", "agent", "rule", "severity"]);

/** Every value is bounded before it is written, so no field passes Slack's 2000 characters. */
function fieldsOf(alert: Alert, resolved: boolean): SlackText[] {
  const fields: [string, string][] = [];
  const { service, agent } = alert.labels;
  if (service) fields.push(["Service", fit(service, MAX_VALUE)]);
  if (agent) fields.push(["Agent", fit(agent, MAX_VALUE)]);
  fields.push(["Severity", alert.severity]);
  fields.push(["Failed / evaluated", countsCell(alert.counts)]);
  fields.push(["First seen", slackDate(alert.firstSeen)]);
  fields.push(["Last seen", slackDate(alert.lastSeen)]);
  if (resolved && alert.endsAt) fields.push(["Resolved", slackDate(alert.endsAt)]);
  fields.push(["Rule", `${code(alert.ruleId, MAX_VALUE)} v${fit(alert.ruleVersion, MAX_ID)}`]);
  const others = Object.entries(alert.labels).filter(([name]) => !SHOWN_AS_FIELDS.has(name));
  if (others.length > 0) fields.push(["Labels", labelsCell(others)]);
  return fields
    .slice(0, SLACK_LIMITS.fields)
    .map(([label, value]) => mrkdwn(`*${label}*\n${value}`));
}

function labelsCell(labels: [string, string][]): string {
  const room = SLACK_LIMITS.fieldText - 100; // the heading, and "…and N more"
  let text = "";
  let shown = 0;
  for (const [name, value] of labels) {
    const next = `${text === "" ? "" : " "}${code(`${name}=${value}`, MAX_LABEL)}`;
    if (text.length + next.length > room) break;
    text += next;
    shown += 1;
  }
  return shown < labels.length ? `${text} …and ${labels.length - shown} more` : text;
}

function countsCell(counts: Alert["counts"]): string {
  const share = failedShare(counts);
  return `${counts.failed} / ${counts.evaluated}${share === undefined ? "" : ` (${share})`}`;
}

function examplesText(examples: AlertExample[], externalUrl: string): string {
  const heading = "*Examples*";
  let text = heading;
  let shown = 0;
  for (const example of examples) {
    const line =
      `\n• ${link(traceUrl(externalUrl, example.traceId, example.spanId), `trace ${truncate(example.traceId, MAX_ID)}`)}` +
      ` span ${code(example.spanId, MAX_ID)} · ${code(example.field, MAX_FIELD_PATH)}:` +
      ` ${fit(example.message, MAX_MESSAGE)}` +
      `\n      observed: ${code(example.observed.replace(/\s+/g, " "), MAX_OBSERVED)}`;
    const more = `\n…and ${examples.length - shown - 1} more`;
    if (text.length + line.length + more.length > SLACK_LIMITS.sectionText) break;
    text += line;
    shown += 1;
  }
  if (shown < examples.length) text += `\n…and ${examples.length - shown} more`;
  return text;
}

function linksText(alert: Alert, externalUrl: string): string {
  const links: string[] = [];
  if (alert.runbook && isHttpUrl(alert.runbook))
    links.push(`:book: ${link(alert.runbook, "Runbook")}`);
  for (const [name, url] of Object.entries(alert.links)) {
    if (isHttpUrl(url)) links.push(`:link: ${link(url, name)}`);
  }
  links.push(`:mag: ${link(alertUrl(externalUrl, alert), "Open in Plumbline")}`);
  // Drop links from the end (never "Open in Plumbline", the last) until the text fits.
  let text = links.join("   ");
  while (text.length > SLACK_LIMITS.sectionText && links.length > 1) {
    links.splice(links.length - 2, 1);
    text = links.join("   ");
  }
  return text;
}

function mrkdwn(text: string): SlackText {
  return { type: "mrkdwn", text };
}

/** Slack mrkdwn: `&`, `<` and `>` are control characters and must be escaped. */
function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escaped and at most `max` long, cut before an escape rather than through it. */
function fit(text: string, max: number): string {
  const escaped = escape(text);
  if (escaped.length <= max) return escaped;
  let out = "";
  for (const char of text) {
    const piece = escape(char);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

function code(text: string, max: number): string {
  // A backtick would end the code span early; a look-alike keeps it readable.
  return `\`${fit(text.replace(/`/g, "ˋ"), max)}\``;
}

function link(url: string, label: string): string {
  const safeUrl = url.replace(/\|/g, "%7C").replace(/</g, "%3C").replace(/>/g, "%3E");
  return `<${safeUrl}|${fit(label.replace(/\|/g, "¦"), 75)}>`;
}

/** Slack renders `<!date^…>` in each reader's time zone; the fallback is the ISO time. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return fit(iso, MAX_ID);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fit(iso, MAX_ID)}>`;
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\/\S+$/i.test(value);
}
