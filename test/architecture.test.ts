/**
 * The stage boundaries of docs/architecture.md, enforced: which top-level folder of src/ may
 * import which, and which files of a stage other stages may import (its public files). Only
 * shipped code is scanned (not *.test.ts); test builders live in test/helpers/.
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "src");

/** The foundation: small modules every floor may use. */
const FOUNDATION = ["errors", "poll-loop"];

/**
 * Each stage (a top-level folder or file of src/) and the stages it may import, lowest first.
 * A stage may import only stages listed before it, so there is no cycle between stages and no
 * import points up the pipeline.
 */
export const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  "poll-loop": [],
  rules: [...FOUNDATION],
  store: [...FOUNDATION, "rules"],
  decode: [...FOUNDATION, "rules", "store"],
  receive: [...FOUNDATION, "rules", "store", "decode"],
  evaluate: [...FOUNDATION, "rules", "store"],
  alert: [...FOUNDATION, "rules", "store"],
  config: [...FOUNDATION, "rules", "store", "decode", "receive", "evaluate", "alert"],
  // The web UI reads through the API (in-process requests), never the store: the rule model's
  // JSON paths and receive's key check are all it takes from below.
  ui: [...FOUNDATION, "rules", "receive"],
  api: [...FOUNDATION, "rules", "store", "decode", "receive", "evaluate", "alert", "config", "ui"],
  service: [
    ...FOUNDATION,
    ...["rules", "store", "decode", "receive", "evaluate", "alert", "config", "ui", "api"],
  ],
  cli: [
    ...FOUNDATION,
    ...["rules", "store", "decode", "receive", "evaluate", "alert", "config", "ui", "api"],
    "service",
  ],
};

/**
 * The files of a stage that other stages may import (paths relative to src/; a trailing "/"
 * means every file directly in that folder). Everything else is the stage's own business.
 */
export const PUBLIC: Record<string, readonly string[]> = {
  errors: ["errors.ts"],
  "poll-loop": ["poll-loop.ts"],
  // The rule model is what every stage reads.
  rules: ["rules/"],
  // The client, settings, migrations, group commit, and per-table reads and writes.
  store: ["store/", "store/tables/"],
  // Request decoders and encoders, the span and output shapes, span → row.
  decode: ["decode/"],
  receive: [
    "receive/auth.ts",
    "receive/ingest.ts",
    "receive/ingest-logs.ts",
    "receive/ingest-metrics.ts",
    "receive/complete-pending.ts",
    "receive/otlp-http.ts",
    "receive/otlp-grpc.ts",
    "receive/table-source.ts",
    "receive/table-source-queries.ts",
  ],
  evaluate: [
    "evaluate/engine.ts",
    "evaluate/compile-rule.ts",
    "evaluate/backtest.ts",
    "evaluate/backtest-queries.ts",
    "evaluate/quiet-traces.ts",
    "evaluate/quiet-trace-queries.ts",
    "evaluate/conversations.ts",
    "evaluate/conversation-queries.ts",
    "evaluate/output-recovery.ts",
    "evaluate/output-recovery-queries.ts",
    "evaluate/windows/evaluate-window.ts",
    "evaluate/windows/scheduler.ts",
    "evaluate/judge/start-judge.ts",
    "evaluate/judge/judge-backtest.ts",
  ],
  alert: [
    "alert/alert-manager.ts",
    "alert/alert-replay.ts",
    "alert/delivery-worker.ts",
    "alert/silences.ts",
    "alert/state-machine.ts",
    "alert/types.ts",
    "alert/links.ts",
    "alert/channels/channel-config.ts",
    "alert/channels/mask-channels.ts",
    "alert/channels/route-channels.ts",
    "alert/channels/transport.ts",
  ],
  config: ["config/index.ts"],
  // The routes the API mounts; pages, components and the API client are the UI's own.
  ui: ["ui/ui-routes.tsx"],
  api: ["api/app.ts", "api/alerts-routes.ts", "api/rules-routes.ts", "api/time-param.ts"],
  service: ["service/service.ts", "service/log.ts", "service/backtest.ts"],
  cli: [],
};

interface Import {
  from: string;
  /** The imported file relative to src/, or the package name. */
  target: string;
  relative: boolean;
}

function shippedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return shippedFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)].map((match) => {
    const specifier = match[1] as string;
    const isRelative = specifier.startsWith(".");
    return {
      from: relative(SRC, file),
      target: isRelative ? relative(SRC, resolve(dirname(file), specifier)) : specifier,
      relative: isRelative,
    };
  });
}

/** The stage of a path relative to src/: its top-level folder, or a root file's name. */
function stageOf(path: string): string {
  const [first = ""] = path.split("/");
  return first.replace(/\.tsx?$/, "");
}

function isPublic(target: string): boolean {
  const entries = PUBLIC[stageOf(target)] ?? [];
  return entries.some((entry) =>
    entry.endsWith("/") ? dirname(target) === entry.slice(0, -1) : target === entry,
  );
}

const IMPORTS = shippedFiles(SRC).flatMap(importsOf);

describe("architecture", () => {
  it("src/ holds the stages and nothing else", () => {
    const top = readdirSync(SRC).map((name) => name.replace(/\.tsx?$/, ""));
    expect(top.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it("a stage imports only the stages below it", () => {
    const upward = IMPORTS.filter((i) => i.relative)
      .filter((i) => stageOf(i.from) !== stageOf(i.target))
      .filter((i) => !(ALLOWED[stageOf(i.from)] ?? []).includes(stageOf(i.target)))
      .map((i) => `${i.from} -> ${i.target}`);
    expect(upward).toEqual([]);
  });

  it("another stage imports only a stage's public files", () => {
    const internal = IMPORTS.filter((i) => i.relative)
      .filter((i) => stageOf(i.from) !== stageOf(i.target) && !isPublic(i.target))
      .map((i) => `${i.from} -> ${i.target}`);
    expect(internal).toEqual([]);
  });

  it("every public file exists", () => {
    const files = new Set(shippedFiles(SRC).map((f) => relative(SRC, f)));
    const folders = new Set([...files].map((f) => `${dirname(f)}/`));
    const missing = Object.values(PUBLIC)
      .flat()
      .filter((entry) => !(entry.endsWith("/") ? folders.has(entry) : files.has(entry)));
    expect(missing).toEqual([]);
  });

  it("shipped code imports neither test/ nor a devDependency", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const dev = new Set(Object.keys(pkg.devDependencies));
    const packageOf = (name: string) =>
      name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : (name.split("/")[0] ?? "");
    const wrong = IMPORTS.filter((i) =>
      i.relative ? i.target.startsWith("..") : dev.has(packageOf(i.target)),
    ).map((i) => `${i.from} -> ${i.target}`);
    expect(wrong).toEqual([]);
  });

  it("the scan sees the imports it checks (a broken pattern would pass everything)", () => {
    expect(IMPORTS.length).toBeGreaterThan(300);
    expect(IMPORTS).toContainEqual({
      from: "service/service.ts",
      target: "config/index.ts",
      relative: true,
    });
    expect(stageOf("evaluate/windows/scheduler.ts")).toBe("evaluate");
    // .tsx files (the UI's pages) are scanned too.
    expect(IMPORTS).toContainEqual({
      from: "ui/ui-routes.tsx",
      target: "ui/trace-page.tsx",
      relative: true,
    });
    expect(ALLOWED["evaluate"]).not.toContain("alert");
    expect(ALLOWED["alert"]).not.toContain("evaluate");
  });
});
