/**
 * When an output's span started and ended, in nanoseconds since the epoch, for the order-based
 * trace checks. Timestamp is written as "<unix seconds>.<9 digits>" and read back from
 * ClickHouse as "YYYY-MM-DD hh:mm:ss.nnnnnnnnn" (UTC); both are understood, exactly (bigint).
 */

import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";

export interface SpanTime {
  start: bigint;
  end: bigint;
}

const UNIX = /^(\d+)(?:\.(\d{1,9}))?$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/;

/** Start of the span in ns (0n when the timestamp cannot be read). */
export function startNs(timestamp: string): bigint {
  const unix = UNIX.exec(timestamp);
  if (unix !== null) return BigInt(unix[1] ?? "0") * 1_000_000_000n + fraction(unix[2]);
  const dateTime = DATE_TIME.exec(timestamp);
  if (dateTime !== null) {
    const ms = Date.parse(`${dateTime[1]}T${dateTime[2]}Z`);
    if (Number.isFinite(ms)) return BigInt(ms) * 1_000_000n + fraction(dateTime[3]);
  }
  return 0n;
}

function fraction(digits: string | undefined): bigint {
  return digits === undefined ? 0n : BigInt(digits.padEnd(9, "0"));
}

/** Start and end of an output's span. */
export function spanTime(row: AgentOutputRow): SpanTime {
  const start = startNs(row.Timestamp);
  const duration = /^\d+$/.test(String(row.DurationNs)) ? BigInt(row.DurationNs) : 0n;
  return { start, end: start + duration };
}
