/**
 * Rows that need not be on the acknowledgement path (check results, evaluation counts) are
 * buffered and written every `intervalMs` in one insert per table. A failed write keeps the
 * rows for the next try, up to `maxRows`, beyond which the oldest are dropped and counted.
 */

export interface BufferedWriter<T> {
  add(rows: readonly T[]): void;
  /**
   * Writes what is buffered now; true once every row added before the call is written, false
   * when the write failed (the rows are kept for the next try).
   */
  flush(): Promise<boolean>;
  /** Rows dropped because the store kept failing while the buffer was full. */
  dropped(): number;
  close(): Promise<void>;
}

export function createBufferedWriter<T>(
  write: (rows: T[]) => Promise<void>,
  options: { intervalMs: number; maxRows: number; onError?: (error: unknown) => void },
): BufferedWriter<T> {
  let buffer: T[] = [];
  let droppedRows = 0;
  let flushing: Promise<void> | undefined;
  const timer = setInterval(() => void flush(), options.intervalMs);
  timer.unref();

  function add(rows: readonly T[]): void {
    for (const row of rows) buffer.push(row);
    if (buffer.length > options.maxRows) {
      const excess = buffer.length - options.maxRows;
      buffer.splice(0, excess);
      droppedRows += excess;
    }
  }

  async function flush(): Promise<boolean> {
    while (flushing !== undefined) await flushing;
    if (buffer.length === 0) return true;
    const taken = buffer;
    buffer = [];
    let written = true;
    flushing = write(taken)
      .catch((error: unknown) => {
        written = false;
        options.onError?.(error);
        buffer = taken.concat(buffer);
        add([]);
      })
      .finally(() => (flushing = undefined));
    await flushing;
    return written;
  }

  return {
    add,
    flush,
    dropped: () => droppedRows,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
