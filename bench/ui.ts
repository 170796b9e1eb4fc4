/**
 * `npm run bench:ui`: server time of every web UI page on an embedded store holding a week of
 * 40 agent runs a minute (3 outputs and 3 spans a run: 1.2 million of each, 1.2 million
 * evaluations of 3 rules, 1% of them failing, two window rules every 5 minutes), asked through
 * app.request() as the browser would ask the service. The target (issue 20): under 200 ms.
 *
 * The rows are made by ClickHouse itself (INSERT … SELECT FROM numbers()), so filling the week
 * takes seconds; then each page is rendered a few times and its median, p95 and maximum printed.
 *   npm run bench:ui            (RUNS_PER_MINUTE=40 DAYS=7 ROUNDS=15 to change)
 */

import { rmSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../src/api/app.ts";
import { createClickHouseClient } from "../src/store/client.ts";
import type { GroupCommitter } from "../src/store/group-commit.ts";
import { runMigrations, tableNames } from "../src/store/migrations.ts";
import { createStore } from "../src/store/store.ts";
import {
  FINGERPRINT,
  LLM_SPAN,
  TRACE_ID,
  driftRule,
  fakeAlertsApi,
  fakeRulesApi,
  schemaRule,
  seedStore,
} from "../test/helpers/ui-seed.ts";

const RUNS_PER_MINUTE = Number(process.env["RUNS_PER_MINUTE"] ?? 40);
const DAYS = Number(process.env["DAYS"] ?? 7);
const ROUNDS = Number(process.env["ROUNDS"] ?? 15);
const TARGET_MS = 200;

const dir = join(process.cwd(), ".bench", "ui-store");
rmSync(dir, { recursive: true, force: true });
const client = createClickHouseClient({ dataDir: dir, user: "default", password: "" });
const tables = tableNames("plumbline", "otel_traces");
await runMigrations(client, { tables, retentionDays: 0 });
const store = createStore(client, tables);

const now = Date.now();
const minutes = DAYS * 24 * 60;
const runs = RUNS_PER_MINUTE * minutes;
const startS = Math.floor(now / 1000) - minutes * 60;
const filled = performance.now();

// Run n starts at startS + n / RUNS_PER_MINUTE minutes; its outputs are agent, llm, tool.
const run = `number AS n, toDateTime64(${startS} + intDiv(n * 60, ${RUNS_PER_MINUTE}), 9) AS t,
  lower(hex(cityHash64(n, 'trace'))) || lower(hex(cityHash64(n, 'trace2'))) AS trace,
  if(n % 2 = 0, 'orders-agent', 'research-agent') AS service,
  if(n % 2 = 0, 'order-processor', 'researcher') AS agent`;
const outputs = (kind: string, operation: string, part: number) =>
  client.command({
    query: `INSERT INTO ${tables.outputs} (Timestamp, TraceId, SpanId, ParentSpanId, ServiceName, SpanName, Convention, Kind, Operation, AgentName, Model, InputText, OutputText, DurationNs, StatusCode)
SELECT t + toIntervalMillisecond(${part * 200}), trace, lower(hex(cityHash64(n, ${part}))), '', service, '${operation}', 'genai', '${kind}', '${operation}', agent,
  'gpt-4o-2024-08-06', 'user: an order, please', '{"sku":"SKU-1","total":' || toString(n % 500) || '}', 800000000, 'Unset'
FROM (SELECT ${run} FROM numbers(${runs}))`,
  });
await Promise.all([
  outputs("agent", "invoke_agent", 0),
  outputs("llm", "chat", 1),
  outputs("tool", "execute_tool", 2),
]);
await client.command({
  query: `INSERT INTO ${tables.traces} (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, Duration, StatusCode)
SELECT t + toIntervalMillisecond(p * 200), trace, lower(hex(cityHash64(n, p))), if(p = 0, '', lower(hex(cityHash64(n, 0)))),
  ['invoke_agent', 'chat', 'execute_tool'][p + 1], 'Internal', service, 800000000, 'Unset'
FROM (SELECT ${run} FROM numbers(${runs})) ARRAY JOIN [0, 1, 2] AS p`,
});
await client.command({
  query: `INSERT INTO ${tables.checkEvaluations} (Minute, RuleId, ServiceName, AgentName, OutputKey, Failed)
SELECT toStartOfMinute(t), rule, service, agent, trace || '/' || toString(n), (cityHash64(n, rule) % 100) = 0
FROM (SELECT ${run} FROM numbers(${runs})) ARRAY JOIN ['${schemaRule.id}', 'builtin.invalid-json', 'builtin.truncated-output'] AS rule`,
});
await client.command({
  query: `INSERT INTO ${tables.checkResults} (Timestamp, RuleId, RuleVersion, Severity, Scope, ServiceName, AgentName, TraceId, SpanId, Code, Outcome, Field, Message)
SELECT t, '${schemaRule.id}', '${schemaRule.version}', 'critical', 'output', service, agent, trace, lower(hex(cityHash64(n, 1))), 'schema_violation', 'failed',
  'output.json/quantity', 'output.json is missing the required property "quantity"'
FROM (SELECT ${run} FROM numbers(${runs})) WHERE cityHash64(n, '${schemaRule.id}') % 100 = 0`,
});
await client.command({
  query: `INSERT INTO ${tables.ingestStats} (Minute, ServiceName, SpanName, Received, Rejected, Outputs, Unrecognised)
SELECT toDateTime(${startS} + m * 60), service, 'chat', ${RUNS_PER_MINUTE * 3}, 0, ${RUNS_PER_MINUTE * 3}, 0
FROM (SELECT number AS m FROM numbers(${minutes})) ARRAY JOIN ['orders-agent', 'research-agent'] AS service`,
});
await client.command({
  query: `INSERT INTO ${tables.driftResults} (RuleId, RuleVersion, CheckType, EvaluatedAt, WindowStart, WindowEnd, Field, Method, Status, Statistic, PValue, Threshold, Direction, Drifted, CurrentSize, ReferenceSize, Bins, CurrentCounts, ReferenceCounts, Message)
SELECT rule, 'v1', 'drift', toDateTime64(e, 3), toDateTime64(e - 3600, 3), toDateTime64(e, 3), 'output.json.total', 'ks',
  if(w % 97 = 0, 'drift', 'ok'), 0.1, if(w % 97 = 0, 1e-9, 0.4), 0.000174, 'below', w % 97 = 0, 40, 5000,
  ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], [4, 4, 4, 4, 4, 4, 4, 4, 4, 4], [500, 500, 500, 500, 500, 500, 500, 500, 500, 500], ''
FROM (SELECT number AS w, ${startS} + (number + 1) * 300 AS e FROM numbers(${Math.floor(minutes / 5)})) ARRAY JOIN ['${driftRule.id}', 'answer-length'] AS rule`,
});
// A running service's per-minute tables hold a few rows a minute once ClickHouse's background
// merges have combined the states its many small inserts wrote; the week above came in a few
// large inserts, whose states for the same minute sit in separate parts until merged. Merge
// them as the week of background merges would have.
for (const table of [tables.checkCounts, tables.outputCounts])
  await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
// The trace and alert the detail pages open.
await seedStore(store, now);
console.log(
  `store: ${DAYS} days of ${RUNS_PER_MINUTE} runs/min: ${(runs * 3).toLocaleString("en-US")} outputs and spans, filled in ${((performance.now() - filled) / 1000).toFixed(1)} s`,
);

const app = createApp({
  store,
  committer: { health: () => ({ ok: true }) } as unknown as GroupCommitter,
  stats: { flush: async () => undefined },
  ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
  maxBodyBytes: 1 << 20,
  ingestKeys: [],
  rules: fakeRulesApi(store, now),
  alerts: fakeAlertsApi(now),
});

const PAGES = [
  "/",
  "/?since=7d",
  "/rules",
  "/rules?since=7d",
  `/rules/${schemaRule.id}`,
  `/rules/${schemaRule.id}?since=7d`,
  `/traces/${TRACE_ID}?span=${LLM_SPAN}`,
  "/alerts",
  `/alerts/${FINGERPRINT}`,
  "/silences",
  "/windows?since=7d",
  `/windows/${driftRule.id}`,
  `/windows/${driftRule.id}?limit=2016`,
  "/backtest",
];

const rows: { page: string; median: number; p95: number; max: number; bytes: number }[] = [];
for (const path of PAGES) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS + 2; i++) {
    const started = performance.now();
    const response = await app.request(path);
    const body = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200)
      throw new Error(`${path} answered ${response.status}: ${body.slice(0, 300)}`);
    if (i >= 2) times.push(ms); // the first two warm caches and JIT
    bytes = body.length;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  rows.push({ page: path, median: at(0.5), p95: at(0.95), max: times.at(-1) ?? 0, bytes });
}

const width = Math.max(...rows.map((r) => r.page.length));
console.log(`\n${"page".padEnd(width)}  median     p95     max   size`);
for (const r of rows) {
  const flag = r.p95 > TARGET_MS ? `  over ${TARGET_MS} ms` : "";
  console.log(
    `${r.page.padEnd(width)}  ${r.median.toFixed(0).padStart(4)} ms ${r.p95.toFixed(0).padStart(4)} ms ${r.max.toFixed(0).padStart(4)} ms ${(r.bytes / 1024).toFixed(0).padStart(4)} kB${flag}`,
  );
}
await store.close();
