/**
 * `npm run bench:ingest`: end-to-end ingest throughput against the storage ceiling, measured
 * side by side in one run, plus export latency at half the maximum rate and peak RSS.
 *
 *   1. ceiling  — the best the store takes for the same rows: the requests' otel_traces and
 *                 agent_outputs rows, encoded as ingest encodes them (not timed), inserted
 *                 straight into an embedded store in this process through the store's own
 *                 insert path, for every shape in SHAPES (rows per insert × inserts in flight);
 *                 the best shape is the ceiling. The same for otel_traces alone, so that the
 *                 cost of the second table shows;
 *   2. maximum  — N concurrent exporters post pre-serialised OTLP/HTTP protobuf requests
 *                 (512 GenAI spans each, as the OTel JS SDK batches them) to `plumbline serve`
 *                 running as a child process, as fast as it acknowledges them;
 *   3. half     — the same at half the maximum rate (open loop), for p50/p99 latency.
 * Each phase runs `--rounds` times (default 3), a ceiling round (every shape) before each
 * maximum round, and the medians are printed.
 *
 * Options: --rounds N, --concurrency N (default 8), --requests N per round (default 120),
 * --storage-only (only the bytes on disk per million spans of each table), --cpu-prof DIR (the service writes a V8 CPU profile there when it stops), --node-flags "…"
 * (more flags for the service's node, after `npm start`'s), --rules DIR (instead: the CPU cost
 * of 100 rules made from DIR's, see rulesCost).
 */

import { spawn } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { drainPending } from "chdb";
import { decodeProtobufRequest } from "../src/decode/decode-protobuf-request.ts";
import { normaliseSpans } from "../src/decode/normalise.ts";
import { inheritAgentNames } from "../src/decode/inherit-agent.ts";
import { markPending } from "../src/decode/pending-outputs.ts";
import { encodeOtelTracesRows } from "../src/decode/span-row.ts";
import { createClickHouseClient } from "../src/store/client.ts";
import { insertJsonEachRow } from "../src/store/insert-json-rows.ts";
import { byteLengthOf, concatRows, type EncodedRows } from "../src/store/json-each-row.ts";
import { encodeAgentOutputRows } from "../src/store/tables/agent-outputs.ts";
import { runMigrations, tableNames } from "../src/store/migrations.ts";
import type { EncodedSpans } from "../src/store/write-batch.ts";
import { emitAgentRun } from "../test/helpers/agent-traffic.ts";
import { freePort } from "../test/helpers/service.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "8" },
    requests: { type: "string", default: "120" },
    rules: { type: "string" },
    "cpu-prof": { type: "string" },
    "node-flags": { type: "string", default: "" },
    "storage-only": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const CONCURRENCY = Number(args.concurrency);
const REQUESTS = Number(args.requests);
const SPANS_PER_REQUEST = 512;

/** Ceiling shapes: rows per insert (whole requests, so about) × inserts in flight. */
const SHAPES = [5_000, 10_000, 20_000].flatMap((batchSpans) =>
  [1, 2, 3].map((inFlight) => ({ batchSpans, inFlight })),
);
type Shape = (typeof SHAPES)[number];
const shapeName = (s: Shape) => `${s.batchSpans} rows × ${s.inFlight} in flight`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

/** Realistic GenAI spans from the real SDK, serialised as the proto exporter sends them. */
function makeBodies(count: number): { bodies: Uint8Array[]; spanBytes: number } {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "bench-agent",
      "service.version": "2.3.1",
      "deployment.environment.name": "production",
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "opentelemetry",
      "telemetry.sdk.version": "2.12.0",
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("@acme/agent-runtime", "0.14.0");
  const bodies: Uint8Array[] = [];
  let bytes = 0;
  for (let b = 0; b < count; b++) {
    memory.reset();
    while (memory.getFinishedSpans().length < SPANS_PER_REQUEST) {
      const n = memory.getFinishedSpans().length + b * SPANS_PER_REQUEST;
      emitAgentRun(tracer, {
        agent: n % 3 === 0 ? "order-intake" : "support-triage",
        instructions:
          "You are the support triage agent for Acme Home. Classify each customer message into one intent (replacement, refund, delivery_status, product_question, other), extract the order id when there is one, set priority to high for damaged goods with a deadline, and draft a short, warm reply. Answer with JSON only, matching the schema {intent, order_id, priority, reply}. Never promise refunds above the order value; escalate legal threats to a human. Use the customer's language, keep the reply under 80 words, do not mention internal tools, and when the order id is missing ask for it politely instead of guessing one from the message.",
        userText: `Customer #${n} writes: Hello, my order ${n * 7} arrived this morning but the box was crushed and the blender jar is cracked along the base, so it leaks as soon as I fill it. I need it for a party on Saturday. Can you send a replacement jar or a new blender before Friday? I have photos of the damage if you need them. The courier left the parcel in the rain by the garage door although I asked for delivery to the neighbour, and the outer carton was soaked through. This is the second time this happens with your express service, so please make sure the replacement is packed properly and handed over in person. My phone number is on the order. Thanks, Dana`,
        answer: JSON.stringify({
          intent: "replacement",
          order_id: `ORD-${n * 7}`,
          priority: n % 5 === 0 ? "high" : "normal",
          reply:
            "I am sorry your blender arrived damaged. I have arranged a replacement that ships today by express delivery and should reach you on Thursday. You do not need to return the cracked jar.",
        }),
        tool: {
          name: "lookup_order",
          args: { order_id: `ORD-${n * 7}`, include: ["items", "shipping"] },
          result: {
            status: "delivered",
            delivered_at: "2026-11-24T09:12:00Z",
            carrier: "express",
            items: [
              { sku: "BLD-900", name: "Blender Pro 900", qty: 1, price: 129.0 },
              { sku: "JAR-15", name: "Spare jar 1.5 l", qty: 1, price: 24.5 },
            ],
            shipping_address: { city: "Porto", postcode: "4000-123", country: "PT" },
          },
        },
      });
    }
    const spans = memory.getFinishedSpans().slice(0, SPANS_PER_REQUEST) as ReadableSpan[];
    const body = ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
    bytes += body.byteLength;
    bodies.push(body);
  }
  return { bodies, spanBytes: bytes / (count * SPANS_PER_REQUEST) };
}

/** Each request's rows exactly as ingest encodes them (src/receive/ingest.ts). */
function encodedRequests(bodies: Uint8Array[]): EncodedSpans[] {
  return bodies.map((body) => {
    const decoded = decodeProtobufRequest(body);
    if (!decoded.ok) throw new Error(decoded.message);
    const { rows: outputs } = normaliseSpans(decoded.spans);
    markPending(outputs, inheritAgentNames(outputs, decoded.spans));
    return { traces: encodeOtelTracesRows(decoded.spans), outputs: encodeAgentOutputRows(outputs) };
  });
}

/** Consecutive requests merged into inserts of about `batchSpans` rows. */
function batchesOf(requests: EncodedSpans[], batchSpans: number): EncodedSpans[] {
  const batches: EncodedSpans[] = [];
  for (let i = 0; i < requests.length;) {
    const taken: EncodedSpans[] = [];
    for (let spans = 0; i < requests.length && spans < batchSpans; i++) {
      taken.push(requests[i] as EncodedSpans);
      spans += (requests[i] as EncodedSpans).traces.rows;
    }
    batches.push({
      traces: concatRows(taken.map((t) => t.traces)),
      outputs: concatRows(taken.map((t) => t.outputs)),
    });
  }
  return batches;
}

/** Spans per second inserting every batch, `inFlight` at a time, into one or both tables. */
async function insertRate(
  client: ReturnType<typeof createClickHouseClient>,
  tables: ReturnType<typeof tableNames>,
  batches: EncodedSpans[],
  inFlight: number,
  outputsToo: boolean,
): Promise<number> {
  const spans = batches.reduce((n, b) => n + b.traces.rows, 0);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] as EncodedSpans;
        await Promise.all([
          insertJsonEachRow(client, tables.traces, batch.traces),
          outputsToo && insertJsonEachRow(client, tables.outputs, batch.outputs),
        ]);
      }
    }),
  );
  return spans / ((performance.now() - started) / 1000);
}

interface CeilingRates {
  /** Per shape, a rate per round: both tables, and otel_traces alone. */
  both: Map<Shape, number[]>;
  tracesOnly: Map<Shape, number[]>;
}

interface CeilingStore {
  client: ReturnType<typeof createClickHouseClient>;
  tables: ReturnType<typeof tableNames>;
  dir: string;
  requests: EncodedSpans[];
  rates: CeilingRates;
}

/** An embedded store of this process for the ceiling, and the requests' rows encoded. */
async function openCeiling(bodies: Uint8Array[]): Promise<CeilingStore> {
  const dir = mkdtempSync(join(tmpdir(), "plumbline-bench-ceiling-"));
  const client = createClickHouseClient({ dataDir: dir, user: "default", password: "" });
  const tables = tableNames("plumbline", "otel_traces");
  await runMigrations(client, { tables, retentionDays: 0 });
  const requests = encodedRequests(bodies);
  return { client, tables, dir, requests, rates: { both: new Map(), tracesOnly: new Map() } };
}

/** One round of every shape, into both tables and into otel_traces alone. */
async function ceilingRound(c: CeilingStore, round: number): Promise<void> {
  for (const shape of SHAPES) {
    const batches = batchesOf(c.requests, shape.batchSpans);
    for (const [into, outputsToo] of [
      [c.rates.both, true],
      [c.rates.tracesOnly, false],
    ] as const) {
      await emptyAndSettled(c.client, c.tables);
      const rate = await insertRate(c.client, c.tables, batches, shape.inFlight, outputsToo);
      into.set(shape, [...(into.get(shape) ?? []), rate]);
      process.stderr.write(
        `  ceiling round ${round + 1}, ${shapeName(shape)}, ${outputsToo ? "both tables" : "otel_traces"}: ${rate.toFixed(0)} spans/s\n`,
      );
    }
  }
  // Nothing of the ceiling's left running while the service is measured.
  await emptyAndSettled(c.client, c.tables);
}

/** Storage per million spans from the ceiling's store, then the store closed and removed. */
async function closeCeiling(c: CeilingStore): Promise<void> {
  storage = await storagePerMillionSpans(c.client, c.requests);
  const textPerRow = (rows: EncodedRows[]) =>
    rows.reduce((n, r) => n + byteLengthOf(r), 0) / rows.reduce((n, r) => n + r.rows, 0);
  insertText = {
    traces: textPerRow(c.requests.map((r) => r.traces)),
    outputs: textPerRow(c.requests.map((r) => r.outputs)),
  };
  await c.client.close();
  await drainPending();
  rmSync(c.dir, { recursive: true, force: true });
}

/**
 * Each shape starts from empty tables with no merge running, so that none pays for the parts
 * another left behind (the store's merges of its own parts run during its inserts, as they do
 * under ingest).
 */
async function emptyAndSettled(
  client: ReturnType<typeof createClickHouseClient>,
  tables: ReturnType<typeof tableNames>,
): Promise<void> {
  for (const table of [tables.traces, tables.outputs]) {
    await client.command({ query: `TRUNCATE TABLE ${table}` });
  }
  for (let i = 0; i < 100; i++) {
    const result = await client.query({
      query: "SELECT count() AS merges FROM system.merges",
      format: "JSONEachRow",
    });
    const [row] = await result.json<{ merges: string }>();
    if (Number(row?.merges) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The shape with the best median rate, and that median. */
function best(rates: Map<Shape, number[]>): { shape: Shape; rate: number } {
  let top = { shape: SHAPES[0] as Shape, rate: 0 };
  for (const [shape, rounds] of rates) {
    if (median(rounds) > top.rate) top = { shape, rate: median(rounds) };
  }
  return top;
}

/** Bytes on disk per million spans, of each table, after merging (docs/scaling.md sizing). */
let insertText = { traces: NaN, outputs: NaN };
let storage: { table: string; rows: number; bytesPerMillionSpans: number }[] = [];

/** Every request's rows written once into a database of their own, merged, measured. */
async function storagePerMillionSpans(
  client: ReturnType<typeof createClickHouseClient>,
  requests: EncodedSpans[],
): Promise<typeof storage> {
  const database = "plumbline_storage";
  const tables = tableNames(database, "otel_traces");
  await runMigrations(client, { tables, retentionDays: 0 });
  for (const batch of batchesOf(requests, 10_000)) {
    await insertJsonEachRow(client, tables.traces, batch.traces);
    await insertJsonEachRow(client, tables.outputs, batch.outputs);
  }
  for (const table of [tables.traces, tables.outputs]) {
    await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  }
  const result = await client.query({
    query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes
FROM system.parts WHERE database = '${database}' AND active AND table IN ('otel_traces', 'agent_outputs')
GROUP BY table ORDER BY table DESC`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ table: string; rows: string; bytes: string }>();
  const spans = requests.reduce((n, b) => n + b.traces.rows, 0);
  return rows.map((r) => ({
    table: r.table,
    rows: Number(r.rows),
    bytesPerMillionSpans: (Number(r.bytes) / spans) * 1e6,
  }));
}

interface Child {
  url: string;
  pid: number;
  dataDir: string;
  /** Stops the service (SIGTERM) and, unless told to keep it, removes its data directory. */
  stop(keepData?: boolean): Promise<void>;
}

async function startService(extraEnv: Record<string, string>): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "plumbline-bench-service-"));
  const port = await freePort();
  // The heap flags `npm start` uses (package.json), so the RSS printed is what users get.
  const startScript = (
    JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }
  ).scripts.start;
  const nodeFlags = [
    ...startScript.split(" ").filter((word) => word.startsWith("--")),
    ...args["node-flags"].split(" ").filter(Boolean),
    ...(args["cpu-prof"] === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${args["cpu-prof"]}`]),
  ];
  const child = spawn(process.execPath, [...nodeFlags, "bin/plumbline.js", "serve"], {
    env: {
      ...process.env,
      PLUMBLINE_DATA_DIR: dir,
      PLUMBLINE_PORT: String(port),
      PLUMBLINE_GRPC_PORT: "0",
      PLUMBLINE_LOG_LEVEL: "warn",
      PLUMBLINE_MAX_BODY_BYTES: String(64 << 20),
      ...extraEnv,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error("service did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid as number,
    dataDir: dir,
    async stop(keepData = false) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function post(url: string, body: Uint8Array): Promise<number> {
  const started = performance.now();
  return fetch(`${url}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body,
  }).then(async (res) => {
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`export answered ${res.status}`);
    return performance.now() - started;
  });
}

/** Closed loop: CONCURRENCY exporters, each sending its next request when acknowledged. */
async function maximum(url: string, bodies: Uint8Array[]): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) await post(url, bodies[next++] as Uint8Array);
    }),
  );
  return (bodies.length * SPANS_PER_REQUEST) / ((performance.now() - started) / 1000);
}

/** Open loop at a fixed request rate; returns each request's latency. */
async function atRate(
  url: string,
  bodies: Uint8Array[],
  spansPerSecond: number,
): Promise<number[]> {
  const intervalMs = (SPANS_PER_REQUEST / spansPerSecond) * 1000;
  const started = performance.now();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(url, bodies[i] as Uint8Array));
  }
  return Promise.all(pending);
}

/**
 * What a stopped service's data directory holds: span rows (every copy: the rounds send the
 * same spans again), and distinct outputs. This process opens the directory itself, as
 * test/crash-recovery.test.ts does; its own store (the ceiling's) is closed by then.
 */
async function storedRows(dataDir: string): Promise<{ spans: number; outputs: number }> {
  const client = createClickHouseClient({ dataDir, user: "default", password: "" });
  const result = await client.query({
    query: `SELECT (SELECT count() FROM plumbline.otel_traces) AS spans,
  (SELECT count() FROM plumbline.agent_outputs FINAL) AS outputs`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ spans: string; outputs: string }>();
  await client.close();
  await drainPending();
  return { spans: Number(row?.spans), outputs: Number(row?.outputs) };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU time (user + system) of a process so far, in milliseconds. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Waits until the process has been idle for a while: evaluation runs after the ack. */
async function settled(pid: number): Promise<void> {
  let last = cpuMs(pid);
  for (let quiet = 0; quiet < 2;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuMs(pid);
    quiet = now - last < 30 ? quiet + 1 : 0;
    last = now;
  }
}

/**
 * `--rules DIR`: the CPU cost of rules. The dir's rules are copied to 100 rules (ids suffixed,
 * `match.service` dropped so every copy applies to the bench traffic: the worst case), and the
 * same requests go to two services side by side, one with no rules at all and one with the 100,
 * alternating round by round. Evaluation runs after the acknowledgement, so the figure is the
 * service's CPU time per span once it has gone idle again, not the throughput.
 */
async function rulesCost(rulesDir: string, bodies: Uint8Array[]): Promise<void> {
  const source = readdirSync(rulesDir)
    .filter((f) => f.endsWith(".json") && !f.endsWith(".schema.json"))
    .map((f) => JSON.parse(readFileSync(join(rulesDir, f), "utf8")) as Record<string, unknown>);
  const hundred = mkdtempSync(join(tmpdir(), "plumbline-bench-rules-"));
  for (const f of readdirSync(rulesDir).filter((f) => f.endsWith(".schema.json"))) {
    copyFileSync(join(rulesDir, f), join(hundred, f));
  }
  for (let i = 0; i < 100; i++) {
    const rule = structuredClone(source[i % source.length]) as Record<string, unknown>;
    rule["id"] = `${String(rule["id"])}-${i}`;
    delete rule["$schema"];
    const match = (rule["match"] ?? {}) as Record<string, unknown>;
    delete match["service"];
    writeFileSync(join(hundred, `rule-${i}.json`), JSON.stringify(rule));
  }
  const empty = mkdtempSync(join(tmpdir(), "plumbline-bench-norules-"));
  const without = await startService({
    PLUMBLINE_BUILTIN_RULES: "false",
    PLUMBLINE_RULES_DIR: empty,
  });
  const withRules = await startService({
    PLUMBLINE_BUILTIN_RULES: "false",
    PLUMBLINE_RULES_DIR: hundred,
  });
  const perKSpans: { without: number[]; with: number[] } = { without: [], with: [] };
  const spans = bodies.length * SPANS_PER_REQUEST;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, service] of [
        ["without", without],
        ["with", withRules],
      ] as const) {
        await settled(service.pid);
        const before = cpuMs(service.pid);
        await maximum(service.url, bodies);
        await settled(service.pid);
        perKSpans[name].push(((cpuMs(service.pid) - before) / spans) * 1000);
      }
    }
    const a = median(perKSpans.without);
    const b = median(perKSpans.with);
    const rules = (await (await fetch(`${withRules.url}/api/rules`)).json()) as {
      rules: unknown[];
    };
    console.log("");
    console.log(
      `rules loaded: ${rules.rules.length} (copies of ${source.length} rules in ${rulesDir})`,
    );
    console.log(
      `service CPU per 1000 spans, no rules    ${a.toFixed(0)} ms  (rounds: ${perKSpans.without.map((x) => x.toFixed(0)).join(", ")})`,
    );
    console.log(
      `service CPU per 1000 spans, 100 rules   ${b.toFixed(0)} ms  (rounds: ${perKSpans.with.map((x) => x.toFixed(0)).join(", ")})`,
    );
    console.log(`added by the rules                      ${(((b - a) / a) * 100).toFixed(0)}%`);
  } finally {
    await without.stop();
    await withRules.stop();
  }
}

async function main(): Promise<void> {
  console.log(`generating ${REQUESTS} requests of ${SPANS_PER_REQUEST} spans…`);
  const { bodies, spanBytes } = makeBodies(REQUESTS);
  console.log(`average span: ${spanBytes.toFixed(0)} bytes of OTLP protobuf`);
  if (args.rules !== undefined) {
    await rulesCost(args.rules, bodies);
    return;
  }
  if (args["storage-only"]) {
    const c = await openCeiling(bodies);
    await closeCeiling(c);
    printStorage();
    return;
  }

  // Ceiling and end-to-end rounds alternate, so that a machine whose load changes during the
  // run changes both alike: the ratio is of figures measured minutes apart, not ten.
  const ceilingStore = await openCeiling(bodies);
  const ceilingRates = ceilingStore.rates;
  const distinctOutputs = encodedRequests(bodies).reduce((n, r) => n + r.outputs.rows, 0);

  // A default install: the built-in detectors, no rules of the user's.
  const noUserRules = mkdtempSync(join(tmpdir(), "plumbline-bench-rules-"));
  const service = await startService({ PLUMBLINE_RULES_DIR: noUserRules });
  const maxRates: number[] = [];
  const maxCpu: number[] = [];
  const latencies: number[][] = [];
  let acknowledged = 0;
  let rss = NaN;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      await ceilingRound(ceilingStore, r);
      const cpuBefore = cpuMs(service.pid);
      const started = performance.now();
      maxRates.push(await maximum(service.url, bodies));
      maxCpu.push((cpuMs(service.pid) - cpuBefore) / (performance.now() - started));
      acknowledged += bodies.length * SPANS_PER_REQUEST;
    }
    const half = median(maxRates) / 2;
    const halfBodies = bodies.slice(0, Math.max(20, Math.floor(bodies.length / 2)));
    for (let r = 0; r < ROUNDS; r++) {
      latencies.push(await atRate(service.url, halfBodies, half));
      acknowledged += halfBodies.length * SPANS_PER_REQUEST;
    }
    rss = peakRssMb(service.pid);
  } finally {
    await service.stop(true);
    // Closed before storedRows opens the service's directory: chDB binds one per process.
    await closeCeiling(ceilingStore);
  }
  const stored = await storedRows(service.dataDir);
  rmSync(service.dataDir, { recursive: true, force: true });

  const both = best(ceilingRates.both);
  const tracesOnly = best(ceilingRates.tracesOnly);
  const maxMedian = median(maxRates);
  const p50 = median(latencies.map((l) => quantile(l, 0.5)));
  const p99 = median(latencies.map((l) => quantile(l, 0.99)));
  const rounds = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  console.log("");
  console.log(
    `rounds: ${ROUNDS}, exporters: ${CONCURRENCY}, spans per request: ${SPANS_PER_REQUEST}`,
  );
  console.log("storage ceiling, median spans/s per shape (both tables | otel_traces alone):");
  for (const shape of SHAPES) {
    const a = median(ceilingRates.both.get(shape) ?? []);
    const b = median(ceilingRates.tracesOnly.get(shape) ?? []);
    console.log(`  ${shapeName(shape).padEnd(28)} ${a.toFixed(0).padStart(7)} | ${b.toFixed(0)}`);
  }
  console.log(
    `ceiling, both tables                  ${both.rate.toFixed(0)} spans/s  (${shapeName(both.shape)}; rounds: ${rounds(ceilingRates.both.get(both.shape) ?? [])})`,
  );
  console.log(
    `ceiling, otel_traces alone            ${tracesOnly.rate.toFixed(0)} spans/s  (${shapeName(tracesOnly.shape)}; rounds: ${rounds(ceilingRates.tracesOnly.get(tracesOnly.shape) ?? [])})`,
  );
  console.log(`both tables / otel_traces alone       ${pct(both.rate / tracesOnly.rate)}`);
  console.log(
    `end-to-end OTLP/HTTP, acknowledged    ${maxMedian.toFixed(0)} spans/s  (rounds: ${rounds(maxRates)}; service CPU ${pct(median(maxCpu))} of a core)`,
  );
  console.log(`end-to-end / ceiling (both tables)    ${pct(maxMedian / both.rate)}`);
  console.log(
    `stored / acknowledged spans           ${stored.spans} / ${acknowledged} (outputs: ${stored.outputs} / ${distinctOutputs} distinct)`,
  );
  console.log(
    `export latency at ${(maxMedian / 2).toFixed(0)} spans/s   p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`,
  );
  console.log(`peak RSS of the service               ${rss.toFixed(0)} MB`);
  printStorage();
}

function printStorage(): void {
  console.log(
    `insert text per row (JSONEachRow)     otel_traces ${insertText.traces.toFixed(0)} B, agent_outputs ${insertText.outputs.toFixed(0)} B`,
  );
  for (const t of storage) {
    console.log(
      `storage per million spans, ${t.table.padEnd(13)} ${(t.bytesPerMillionSpans / 2 ** 20).toFixed(1)} MiB on disk (${t.rows} rows, merged)`,
    );
  }
}

await main();
