import { defineConfig } from "vitest/config";

// chDB binds one data directory per process: every test file runs in its own
// forked process and makes its own temporary directory.
export default defineConfig({
  test: {
    pool: "forks",
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
