/**
 * Brings the schema up to date, and keeps trying in the background while the store is
 * unreachable, so that the service starts (and says why it is not ready) instead of crashing.
 */

import { isRetryableStoreError } from "./is-retryable-error.ts";
import { runMigrations, type MigrationContext } from "./migrations.ts";
import type { Store } from "./store.ts";

export interface SchemaState {
  /** True once every migration has run. */
  ready(): boolean;
  /** Resolves when ready; rejects on an error retrying will not fix. */
  done: Promise<void>;
  stop(): void;
}

/**
 * Runs the migrations. Resolves after the first attempt: with the schema ready, or with
 * a retryable failure and retries scheduled every `retryMs`. Rejects at once on an error
 * retrying will not fix (a bad password, say).
 */
export async function ensureSchema(
  store: Store,
  ctx: MigrationContext,
  onRetry: (error: unknown) => void,
  retryMs = 2_000,
): Promise<SchemaState> {
  let ready = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined);

  const attempt = async (): Promise<void> => {
    try {
      await runMigrations(store.client, ctx);
      ready = true;
      resolveDone();
    } catch (error) {
      if (!isRetryableStoreError(error)) {
        rejectDone(error);
        throw error;
      }
      onRetry(error);
      if (!stopped) timer = setTimeout(() => void attempt().catch(() => undefined), retryMs);
    }
  };
  await attempt();
  return {
    ready: () => ready,
    done,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
