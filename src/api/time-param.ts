import { z } from "zod";

/**
 * Time parameters as users type them: an ISO 8601 time, unix milliseconds, or a duration
 * ago ("90s", "15m", "24h", "7d", "2w").
 */

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

/** Unix milliseconds, or undefined when the text is none of the accepted forms. */
export function parseTimeParam(text: string, now: number = Date.now()): number | undefined {
  const trimmed = text.trim();
  const relative = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(trimmed);
  if (relative) return now - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number);
  if (/^\d{10,16}$/.test(trimmed)) return Number(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return undefined;
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** A zod schema for a time parameter: the text in, unix milliseconds out. */
export const timeParam = z.string().transform((text, ctx) => {
  const ms = parseTimeParam(text);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `"${text}" is not a time: use ISO 8601, unix milliseconds, or a duration ago like 15m, 24h, 7d`,
    });
    return z.NEVER;
  }
  return ms;
});
