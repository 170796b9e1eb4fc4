/** How the web UI writes numbers, shares, durations and times: one way everywhere. */

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "–" : INTEGER.format(n);
}

/** A share as a percentage: 0.0345 → "3.5%", 0.12 → "12%", 0.0004 → "<0.1%". */
export function formatShare(part: number, whole: number): string {
  if (!(whole > 0)) return "–";
  const pct = (100 * part) / whole;
  if (pct > 0 && pct < 0.1) return "<0.1%";
  return `${pct >= 10 ? pct.toFixed(0) : String(Number(pct.toFixed(1)))}%`;
}

/** A statistic, p-value or threshold: 4 significant digits, exponent form when tiny. */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (n === 0) return "0";
  const abs = Math.abs(n);
  if (abs < 1e-3 || abs >= 1e6) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

/** Milliseconds as a human duration: 850 ms, 12.3 s, 4 min 10 s, 2 h 5 min, 3 d 4 h. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1) return `${Number(ms.toPrecision(2))} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const parts: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1_000, "s"],
  ];
  const out: string[] = [];
  let rest = ms;
  for (const [size, unit] of parts) {
    const n = Math.floor(rest / size);
    if (n > 0 || out.length > 0) out.push(`${n} ${unit}`);
    rest -= n * size;
    if (out.length === 2) break;
  }
  return out.filter((part) => !part.startsWith("0 ")).join(" ");
}

/** A nanosecond count (UInt64 text) as a duration. */
export function formatDurationNs(ns: string | number | null | undefined): string {
  const n = Number(ns);
  return Number.isFinite(n) ? formatDurationMs(n / 1e6) : "–";
}

/** An ISO 8601 time (or unix ms) in UTC: "2026-01-31 18:00:05 UTC". */
export function formatTime(time: string | number | null | undefined): string {
  if (time === null || time === undefined || time === "") return "–";
  const ms = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return String(time);
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** How long before `now` a time was: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(time: string | number | null | undefined, now: number): string {
  if (time === null || time === undefined || time === "") return "–";
  const ms = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return "–";
  const ago = now - ms;
  if (ago < 0) return `in ${formatDurationMs(-ago)}`;
  if (ago < 60_000) return "just now";
  return `${formatDurationMs(ago).split(" ").slice(0, 2).join(" ")} ago`;
}

/**
 * A stored DateTime text ("2026-11-26 10:00:00.123456789", the store's time zone, as the API
 * returns row times) as nanoseconds since an arbitrary origin: for offsets within one trace.
 */
export function storedTimeNanos(text: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?/.exec(text);
  if (match === null) {
    // "<unix seconds>.<fraction>", as some reads return.
    const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
    if (unix === null) return undefined;
    return Number(unix[1]) * 1e9 + Number((unix[2] ?? "").padEnd(9, "0"));
  }
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  if (!Number.isFinite(ms)) return undefined;
  return ms * 1e6 + Number((match[3] ?? "").padEnd(9, "0"));
}

/** A stored DateTime text shortened to the second: "2026-11-26 10:00:00". */
export function formatStoredTime(text: string | undefined): string {
  if (text === undefined || text === "") return "–";
  return text.replace("T", " ").slice(0, 19);
}

/** "1 finding", "3 findings". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
