/**
 * Ingest counters (`ingest_stats`) are summed in memory and written every few seconds, off the
 * acknowledgement path: each insert into ClickHouse costs a new part (~10 ms on chDB whatever
 * its size), and counters do not need the durability that acknowledged spans do. A crash loses
 * at most one interval of counts; a failed write keeps them for the next one.
 */

import type { IngestStatRow } from "./tables/ingest-stats.ts";

export interface StatsRecorder {
  add(rows: IngestStatRow[]): void;
  /** Writes what has been summed so far. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

// Beyond this many distinct (minute, service, span name) keys, the oldest are dropped rather
// than letting a store outage grow memory without bound.
const MAX_KEYS = 50_000;

export function createStatsRecorder(
  write: (rows: IngestStatRow[]) => Promise<void>,
  intervalMs: number,
  onError: (error: unknown) => void = () => undefined,
): StatsRecorder {
  let pending = new Map<string, IngestStatRow>();
  let flushing: Promise<void> | undefined;
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  function add(rows: IngestStatRow[]): void {
    for (const row of rows) mergeInto(pending, row);
  }

  async function flush(): Promise<void> {
    if (flushing !== undefined) return flushing;
    if (pending.size === 0) return;
    const taken = pending;
    pending = new Map();
    flushing = write([...taken.values()])
      .catch((error: unknown) => {
        onError(error);
        for (const row of taken.values()) mergeInto(pending, row);
        while (pending.size > MAX_KEYS) pending.delete(pending.keys().next().value as string);
      })
      .finally(() => (flushing = undefined));
    return flushing;
  }

  return {
    add,
    flush,
    async close() {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}

function mergeInto(target: Map<string, IngestStatRow>, row: IngestStatRow): void {
  const key = `${row.Minute}\u0000${row.ServiceName}\u0000${row.SpanName}`;
  const existing = target.get(key);
  if (existing === undefined) {
    target.set(key, { ...row });
    return;
  }
  existing.Received += row.Received;
  existing.Rejected += row.Rejected;
  existing.Outputs += row.Outputs;
  existing.Unrecognised += row.Unrecognised;
}
