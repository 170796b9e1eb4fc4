/**
 * What the detection benchmark reads back from a stopped service's store (read-store.ts, in a
 * process of its own, because chDB binds one data directory per process), and how it is read.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { OutputLabels } from "../../src/rules/findings.ts";

/** One stored finding: the time of the output (or trace row) it is about, and its labels. */
export interface StoredFinding {
  /** Unix ms of the output's Timestamp (simulated time). */
  at: number;
  ruleId: string;
  scope: "output" | "trace";
  labels: OutputLabels;
  traceId: string;
  spanId: string;
}

/** One minute of a rule's counters (check_counts), per service and agent. */
export interface MinuteCount {
  ruleId: string;
  service: string;
  agent: string;
  /** Unix ms of the minute's start (the outputs' simulated minute). */
  minute: number;
  evaluated: number;
  failed: number;
}

export interface StoreDump {
  findings: StoredFinding[];
  minuteCounts: MinuteCount[];
}

const READER = fileURLToPath(new URL("./read-store.ts", import.meta.url));

/** Reads the findings, and the minute counters of `rateRuleIds`, from a stopped service's data dir. */
export function readStore(dataDir: string, rateRuleIds: readonly string[]): Promise<StoreDump> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", READER, dataDir, ...rateRuleIds], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += String(chunk)));
    child.stderr.on("data", (chunk) => (err += String(chunk)));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`read-store exited with ${code}: ${err}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as StoreDump);
      } catch (error) {
        reject(new Error(`read-store printed no JSON (${String(error)}): ${err}`));
      }
    });
  });
}
