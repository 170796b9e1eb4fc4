/**
 * A background job that runs one pass every `intervalMs` after the previous one ended: passes
 * never overlap, `tick()` during a pass joins it, `readNow()` waits for it and runs a fresh
 * one, and `stop()` waits for the pass in progress. A failed pass is reported and retried at
 * the next interval.
 */

export interface PollLoop<T> {
  tick(): Promise<T>;
  readNow(): Promise<T>;
  start(): void;
  stop(): Promise<void>;
}

export function createPollLoop<T>(
  pass: () => Promise<T>,
  intervalMs: number,
  onError?: (error: unknown) => void,
): PollLoop<T> {
  let running: Promise<T> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function tick(): Promise<T> {
    running ??= pass().finally(() => (running = undefined));
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      tick()
        .catch((error: unknown) => onError?.(error))
        .finally(schedule);
    }, intervalMs);
  }

  return {
    tick,
    async readNow() {
      await running?.catch(() => undefined);
      return tick();
    },
    start: schedule,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
