/**
 * Links on an alert, built from URL templates in the config: a Grafana explore URL, the user's
 * trace viewer… A template holds `{name}` placeholders; values are URL-encoded when put in.
 * Other braces (Grafana's JSON state in a query string) are left alone.
 */

import { z } from "zod";

export const LINK_PLACEHOLDERS = [
  "traceId",
  "spanId",
  "ruleId",
  "fingerprint",
  "service",
  "startsAtMs",
  "endsAtMs",
] as const;
export type LinkPlaceholder = (typeof LINK_PLACEHOLDERS)[number];

/** The values an alert offers; a missing one (no example, no service label) is left out. */
export type LinkValues = Partial<Record<LinkPlaceholder, string>>;

/** Links every alert gets; templates may not take their names. */
export const BUILTIN_LINK_NAMES = ["plumbline", "alert"] as const;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The `{name}`s of a template that are not placeholders Plumbline fills. */
export function unknownPlaceholders(template: string): string[] {
  const known: readonly string[] = LINK_PLACEHOLDERS;
  return [...template.matchAll(PLACEHOLDER)]
    .map(([, name]) => name as string)
    .filter((name) => !known.includes(name));
}

/**
 * The template with its placeholders filled (URL-encoded), or undefined when it uses a value
 * the alert does not have: a link to no trace is worse than no link.
 */
export function expandLinkTemplate(template: string, values: LinkValues): string | undefined {
  let missing = false;
  const expanded = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (!Object.hasOwn(values, name)) {
      if ((LINK_PLACEHOLDERS as readonly string[]).includes(name)) missing = true;
      return whole;
    }
    return encodeURIComponent(values[name as LinkPlaceholder] as string);
  });
  return missing ? undefined : expanded;
}

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** One template: an absolute http(s) URL once filled, with known placeholders only. */
export const linkTemplateSchema = z
  .string({ error: (issue) => `${show(issue.input)} is not a URL template` })
  .superRefine((template, ctx) => {
    const unknown = unknownPlaceholders(template);
    if (unknown.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `${show(template)} has unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown
          .map((name) => `{${name}}`)
          .join(", ")}; known: ${LINK_PLACEHOLDERS.map((name) => `{${name}}`).join(", ")}`,
      });
      return;
    }
    const sample = Object.fromEntries(LINK_PLACEHOLDERS.map((name) => [name, "x"]));
    if (!isHttpUrl(expandLinkTemplate(template, sample) ?? "")) {
      ctx.addIssue({ code: "custom", message: `${show(template)} is not an http(s) URL` });
    }
  });

/** Link name → template (config: `alerts.links`, say); the built-in names are taken. */
export const linkTemplatesSchema = z
  .record(z.string(), linkTemplateSchema)
  .superRefine((templates, ctx) => {
    for (const name of BUILTIN_LINK_NAMES) {
      if (Object.hasOwn(templates, name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `"${name}" is a link every alert has; give this template another name`,
        });
      }
    }
  });

function isHttpUrl(text: string): boolean {
  try {
    const protocol = new URL(text).protocol;
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
