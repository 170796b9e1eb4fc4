/**
 * Run as its own process (`node --import tsx bench/detect/read-store.ts <dataDir> [ruleId …]`)
 * once `plumbline serve` has stopped: chDB opens one data directory per process, so each
 * scenario's store is read by a fresh process. Prints one JSON line (StoreDump): every stored
 * finding with the time of its output, and the per-minute counters of the rules named on the
 * command line (the ones whose alerts use mode `rate`), exactly as the service wrote them.
 */

import { createClickHouseClient } from "../../src/store/client.ts";
import { tableNames } from "../../src/store/migrations.ts";
import { createStore } from "../../src/store/store.ts";
import type { StoreDump } from "./store-dump.ts";

const [dataDir, ...rateRuleIds] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write("usage: read-store.ts <dataDir> [ruleId …]\n");
  process.exit(2);
}

const store = createStore(
  createClickHouseClient({ dataDir, user: "default", password: "" }),
  tableNames("plumbline", "otel_traces"),
);
try {
  const findings = await store.client.query({
    query: `SELECT toUnixTimestamp64Milli(Timestamp) AS at, RuleId AS ruleId, Scope AS scope,
  ServiceName AS service, AgentName AS agent, Operation AS operation, Model AS model,
  ToolName AS tool, TraceId AS traceId, SpanId AS spanId
FROM ${store.tables.checkResults} FINAL ORDER BY Timestamp, RuleId, TraceId, SpanId`,
    format: "JSONEachRow",
  });
  const counts = await store.client.query({
    query: `SELECT RuleId AS ruleId, ServiceName AS service, AgentName AS agent,
  toUnixTimestamp(Minute) * 1000 AS minute,
  uniqExactMerge(Evaluated) AS evaluated, uniqExactMerge(Failed) AS failed
FROM ${store.tables.checkCounts}
WHERE RuleId IN {ids:Array(String)}
GROUP BY RuleId, ServiceName, AgentName, Minute ORDER BY Minute`,
    query_params: { ids: rateRuleIds },
    format: "JSONEachRow",
  });
  const number = (value: unknown) => Number(value);
  const dump: StoreDump = {
    findings: (await findings.json<Record<string, string>>()).map((row) => ({
      at: number(row["at"]),
      ruleId: row["ruleId"] ?? "",
      scope: row["scope"] === "trace" ? "trace" : "output",
      labels: {
        service: row["service"] ?? "",
        agent: row["agent"] ?? "",
        operation: row["operation"] ?? "",
        model: row["model"] ?? "",
        tool: row["tool"] ?? "",
      },
      traceId: row["traceId"] ?? "",
      spanId: row["spanId"] ?? "",
    })),
    minuteCounts: (await counts.json<Record<string, string>>()).map((row) => ({
      ruleId: row["ruleId"] ?? "",
      service: row["service"] ?? "",
      agent: row["agent"] ?? "",
      minute: number(row["minute"]),
      evaluated: number(row["evaluated"]),
      failed: number(row["failed"]),
    })),
  };
  process.stdout.write(`${JSON.stringify(dump)}\n`);
} finally {
  await store.close();
}
