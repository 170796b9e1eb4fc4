/**
 * `npm run bench:alert`: detection latency — from the export of a failing output (the OTLP
 * request leaving the client) to the webhook request arriving at a receiver — with `each`
 * alerts, on `plumbline serve` started as `npm start` starts it. Every failing output belongs
 * to its own agent, so each one opens its own alert and sends its own notification.
 *
 * Options: --count N failing outputs (default 200), --rate N per second (default 20).
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { startReceiver } from "../test/helpers/test-receiver.ts";
import { emitAgentRun } from "../test/helpers/agent-traffic.ts";
import { freePort } from "../test/helpers/service.ts";

const { values: args } = parseArgs({
  options: { count: { type: "string", default: "200" }, rate: { type: "string", default: "20" } },
});
const COUNT = Number(args.count);
const RATE = Number(args.rate);

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

async function main(): Promise<void> {
  const arrivals = new Map<string, number>();
  const receiver = await startReceiver((request, response) => {
    const body = JSON.parse(request.body) as {
      kind: string;
      alert: { labels: Record<string, string> };
    };
    if (body.kind === "firing") arrivals.set(body.alert.labels["agent"] ?? "", performance.now());
    response.writeHead(200).end();
  });
  const dir = mkdtempSync(join(tmpdir(), "plumbline-bench-alert-"));
  const rulesDir = join(dir, "rules");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(rulesDir);
  writeFileSync(
    join(rulesDir, "reply.json"),
    JSON.stringify({
      id: "reply-short",
      match: { service: "bench-alert", operation: "chat" },
      check: { type: "assert", assertions: [{ field: "output.text", length_between: [1, 20] }] },
      alert: { mode: "each" },
    }),
  );
  const configFile = join(dir, "plumbline.config.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      alerts: { channels: { hook: { type: "webhook", url: `${receiver.url}/hook` } } },
    }),
  );
  const port = await freePort();
  const startScript = (
    JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }
  ).scripts.start;
  const child = spawn(
    process.execPath,
    [...startScript.split(" ").filter((w) => w.startsWith("--")), "bin/plumbline.js", "serve"],
    {
      env: {
        ...process.env,
        PLUMBLINE_DATA_DIR: join(dir, "data"),
        PLUMBLINE_PORT: String(port),
        PLUMBLINE_GRPC_PORT: "0",
        PLUMBLINE_CONFIG: configFile,
        PLUMBLINE_RULES_DIR: rulesDir,
        PLUMBLINE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  while (
    !(await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  )
    await new Promise((r) => setTimeout(r, 100));

  // One request per failing run: a real SDK's spans, serialised as the proto exporter sends them.
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "bench-alert" }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < COUNT; i++) {
    memory.reset();
    emitAgentRun(provider.getTracer("bench"), {
      agent: `agent-${i}`,
      userText: "Where is my order?",
      answer: "Your order left the warehouse this morning and should arrive on Thursday.",
    });
    bodies.push(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array);
  }

  const sentAt = new Map<string, number>();
  const started = performance.now();
  await Promise.all(
    bodies.map(async (body, i) => {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(`agent-${i}`, performance.now());
      const res = await fetch(`${url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body,
      });
      await res.arrayBuffer();
    }),
  );
  const deadline = performance.now() + 30_000;
  while (arrivals.size < COUNT && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));

  const latencies = [...sentAt].flatMap(([agent, at]) => {
    const arrived = arrivals.get(agent);
    return arrived === undefined ? [] : [arrived - at];
  });
  console.log(
    `failing outputs sent: ${COUNT} at ${RATE}/s; notifications received: ${latencies.length}`,
  );
  console.log(
    `detection latency (export → webhook)  p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`,
  );

  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
