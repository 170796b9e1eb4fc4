/**
 * Durations as rule authors write them in an `alert` block: an integer and a unit, or several
 * of them ("30s", "5m", "1h30m", "0"), as in Prometheus. Parsed to milliseconds.
 */

import { z } from "zod";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const WHOLE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/**
 * Duration text in, milliseconds out; errors name the bad value and the accepted form. With
 * `min`, a shorter duration is refused with `min.why` (say, "shorter than one minute").
 */
export function durationSchema(min?: { ms: number; why: string }) {
  return z
    .string({ error: (issue) => `${JSON.stringify(issue.input)} is not a duration text` })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `${JSON.stringify(text)} is not a duration: use an integer and a unit (ms, s, m, h, d, w), like 30s, 5m, 1h30m`,
        });
        return z.NEVER;
      }
      if (min !== undefined && ms < min.ms) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} is ${min.why}` });
        return z.NEVER;
      }
      return ms;
    });
}
