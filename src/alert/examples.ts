/**
 * Example findings carried by an alert as evidence: at most 5, the first 2 of the episode (how
 * it started) and the latest 3 (what it looks like now).
 */

import type { Finding } from "../rules/findings.ts";
import type { AlertExample } from "./types.ts";

export const MAX_EXAMPLES = 5;
/** How many of the episode's first examples are kept once newer ones arrive. */
export const FIRST_EXAMPLES_KEPT = 2;

/** The examples after `added` (oldest first): the first 2 ever kept, then the latest ones. */
export function keepExamples(
  kept: readonly AlertExample[],
  added: readonly AlertExample[],
): AlertExample[] {
  const all = [...kept, ...added];
  if (all.length <= MAX_EXAMPLES) return all;
  return [
    ...all.slice(0, FIRST_EXAMPLES_KEPT),
    ...all.slice(all.length - (MAX_EXAMPLES - FIRST_EXAMPLES_KEPT)),
  ];
}

/** ISO 8601 of a DateTime64 text; the text itself when it is not one (never throws). */
function isoOf(timestamp: string): string {
  const ms = timestampMs(timestamp);
  return Number.isNaN(ms) ? timestamp : new Date(ms).toISOString();
}

/** A finding as an example, at its output's time. */
export function exampleOfFinding(finding: Finding): AlertExample {
  return {
    traceId: finding.traceId,
    spanId: finding.spanId,
    field: finding.path,
    observed: finding.observed,
    message: finding.message,
    at: isoOf(finding.time),
  };
}

/**
 * Unix ms of a DateTime64 text: "<unix seconds>.<fraction>" as rows are written and read back
 * (date_time_output_format unix_timestamp), or ClickHouse's "YYYY-MM-DD hh:mm:ss[.fraction]"
 * taken as UTC. NaN when it is neither.
 */
export function timestampMs(text: string): number {
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    const [seconds = "0", fraction = ""] = text.split(".");
    return Number(seconds) * 1000 + Number(fraction.padEnd(3, "0").slice(0, 3));
  }
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (match === null) return Number.NaN;
  const [, date, time, fraction = "", zone = "Z"] = match;
  return Date.parse(`${date}T${time}${fraction.slice(0, 4)}${zone}`);
}
