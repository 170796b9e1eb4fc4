/**
 * Starts the real service on embedded storage in a fresh directory, on free ports.
 * chDB binds one data directory per process: one service per test file (vitest forks).
 */

import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema, type Config, type ConfigInput } from "../../src/config/index.ts";
import { createLogger } from "../../src/service/log.ts";
import {
  startService,
  type RunningService,
  type ServiceOptions,
} from "../../src/service/service.ts";

export function tempDir(prefix = "plumbline-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestService extends RunningService {
  config: Config;
  url: string;
  /** Rows of a query against the store, parsed from JSONEachRow. */
  rows<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>): Promise<T[]>;
}

export async function startTestService(
  overrides: ConfigInput = {},
  options: ServiceOptions = {},
): Promise<TestService> {
  const config = configSchema.parse({
    dataDir: tempDir(),
    port: 0,
    grpcPort: await freePort(),
    ...overrides,
    ingest: { flushIntervalMs: 20, ...overrides.ingest },
  });
  const service = await startService(config, createLogger("warn"), options);
  return {
    ...service,
    config,
    url: `http://127.0.0.1:${service.httpPort}`,
    async rows<T>(query: string, params: Record<string, unknown> = {}) {
      await service.flushStats();
      await service.flushEvaluations();
      const result = await service.store.client.query({
        query,
        query_params: params,
        format: "JSONEachRow",
      });
      return result.json<T>();
    },
  };
}
