/**
 * The rules in effect, loaded from rule directories and kept current while the service runs.
 *
 * - Every `*.json` file under each directory (recursively) is a rule, except `*.schema.json`
 *   (JSON Schemas that rules `$ref`). Dot-files and dot-directories are skipped (editor swap
 *   files). A file reached through two directories (a symlink, nested dirs) counts once.
 * - Directories are given in order, built-in rules first: a later rule with the same id
 *   overrides an earlier one, so a user file with id `builtin.refusal` replaces (or, with
 *   `"enabled": false`, turns off) the built-in. Two files with one id in one directory are an
 *   error for the second.
 * - Changes are found by polling size and mtime (of each rule file and the schema files it
 *   `$ref`s): simpler and more portable than fs.watch, which misses events on network and
 *   container file systems. A changed file is re-loaded alone. A broken file keeps its last
 *   good version running and reports its errors; a removed file removes its rule.
 */

import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { loadRuleFile, type RuleCompiler } from "./load-rule.ts";
import type { Rule, RuleFileError } from "./rule.ts";

export type RuleFileState = "loaded" | "error" | "disabled" | "overridden";

/** One rule file as the API shows it. */
export interface RuleStatus<R extends Rule = Rule> {
  /** The rule id: of the version in effect, else as the broken file spells it (if it does). */
  id: string | undefined;
  /** Relative to its rules directory. */
  file: string;
  path: string;
  dir: string;
  /**
   * loaded: in effect. error: the file is broken (its last good version, if any, still runs).
   * disabled: `"enabled": false`. overridden: a later directory has a rule with the same id.
   */
  status: RuleFileState;
  /** Whether this file's rule is among rules() (also true for a broken file's last version). */
  active: boolean;
  /** Version of the last good content (the one running when active). */
  version: string | undefined;
  rule: R | undefined;
  errors: RuleFileError[];
  /** When the version in effect was loaded (ISO 8601). */
  loadedAt: string | undefined;
  /** When the current errors were found (ISO 8601). */
  failedAt: string | undefined;
  /** Path of the file whose rule overrides this one. */
  overriddenBy: string | undefined;
}

export type RuleSetLog = (
  level: "debug" | "info" | "warn" | "error",
  message: string,
  fields: Record<string, unknown>,
) => void;

export interface RuleSetOptions<R extends Rule> {
  /** Rule directories in order: the built-in rules first, then the user's. */
  dirs: string[];
  /** Compiles each rule once, when its file is loaded (the evaluate stage's compileRule). */
  compile: RuleCompiler<R>;
  /** How often files are checked for changes; 0 turns polling off (reload() still works). */
  pollMs?: number;
  /** Called after a change of the rules in effect (not for the first load). */
  onChange?: () => void;
  log?: RuleSetLog;
  now?: () => Date;
}

export interface RuleSet<R extends Rule = Rule> {
  /** The enabled rules in effect, compiled. */
  rules(): readonly R[];
  /** Every rule file with its status. */
  all(): RuleStatus<R>[];
  /** Every current problem: broken files, duplicate ids, missing directories. */
  errors(): RuleFileError[];
  /** Re-reads every file now (not only the changed ones). */
  reload(): Promise<void>;
  /** Stops polling. */
  close(): void;
}

interface Entry<R extends Rule> {
  /** The file's path through its directory, and its real path (the identity). */
  path: string;
  real: string;
  dir: string;
  dirIndex: number;
  file: string;
  signature: string;
  dependencies: string[];
  good?: { rule: R; loadedAt: Date };
  errors: RuleFileError[];
  failedAt?: Date;
  /** The id a broken file gives, for the API. */
  spelledId?: string;
}

interface Effective<R extends Rule> {
  rules: R[];
  statuses: RuleStatus<R>[];
  errors: RuleFileError[];
}

const DEFAULT_POLL_MS = 1000;

/** Loads the rule directories now and keeps them current (see the file comment). */
export function createRuleSet<R extends Rule>(options: RuleSetOptions<R>): RuleSet<R> {
  const dirs = options.dirs.map((dir) => path.resolve(dir));
  const log: RuleSetLog = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, Entry<R>>();
  let missingDirs = new Set<string>();
  let effective: Effective<R> = { rules: [], statuses: [], errors: [] };
  let first = true;

  function pass(force: boolean): void {
    const found = scan(dirs, missingDirs, log);
    missingDirs = found.missing;
    const seen = new Set<string>();
    for (const file of found.files) {
      seen.add(file.real);
      const entry = entries.get(file.real);
      const signature = signatureOf(file.path, entry?.dependencies ?? []);
      if (!force && entry !== undefined && entry.signature === signature) continue;
      load(file, entry);
    }
    for (const [real, entry] of entries) {
      if (seen.has(real)) continue;
      entries.delete(real);
      log("info", "rule file removed", { file: entry.path, ruleId: entry.good?.rule.id });
    }
    const before = fingerprint(effective.rules);
    effective = resolve([...entries.values()], missingDirs);
    if (first) {
      first = false;
      log("info", "rules loaded", {
        rules: effective.rules.length,
        files: entries.size,
        errors: effective.errors.length,
      });
    } else if (fingerprint(effective.rules) !== before) {
      options.onChange?.();
    }
  }

  function load(file: ScannedFile, previous: Entry<R> | undefined): void {
    const signatureBefore = signatureOf(file.path, []);
    const result = loadRuleFile(file.path, file.dir, options.compile);
    const entry: Entry<R> = previous ?? {
      ...file,
      signature: "",
      dependencies: [],
      errors: [],
    };
    Object.assign(entry, {
      path: file.path,
      dir: file.dir,
      dirIndex: file.dirIndex,
      file: file.file,
    });
    entry.dependencies = result.dependencies;
    entry.signature = signatureBefore + dependencySignature(result.dependencies);
    if (result.ok) {
      const old = entry.good?.rule;
      if (
        old === undefined ||
        old.version !== result.rule.version ||
        old.file !== result.rule.file
      ) {
        entry.good = { rule: result.rule, loadedAt: now() };
        const fields = { file: file.path, ruleId: result.rule.id, version: result.rule.version };
        if (first) log("debug", "rule loaded", fields);
        else log("info", old === undefined ? "rule loaded" : "rule updated", fields);
      }
      if (entry.errors.length > 0 && !first) {
        log("info", "rule file fixed", { file: file.path, ruleId: result.rule.id });
      }
      entry.errors = [];
      delete entry.failedAt;
      delete entry.spelledId;
    } else {
      if (!sameErrors(entry.errors, result.errors)) {
        entry.failedAt = now();
        for (const error of result.errors) {
          log("warn", "rule file has errors", {
            file: file.path,
            pointer: error.pointer,
            error: error.message,
            ...(error.file !== file.file && { in: error.file }),
            keeps: entry.good?.rule.version ?? null,
          });
        }
      }
      entry.errors = result.errors;
      const spelledId = idInFile(file.path);
      if (spelledId === undefined) delete entry.spelledId;
      else entry.spelledId = spelledId;
    }
    entries.set(file.real, entry);
  }

  const safePass = (force: boolean) => {
    try {
      pass(force);
    } catch (error) {
      log("error", "rule reload failed", { error: String(error) });
    }
  };

  safePass(false);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const timer = pollMs > 0 ? setInterval(() => safePass(false), pollMs) : undefined;
  timer?.unref();

  return {
    rules: () => effective.rules,
    all: () => effective.statuses,
    errors: () => effective.errors,
    reload: () => {
      safePass(true);
      return Promise.resolve();
    },
    close: () => clearInterval(timer),
  };
}

/** Decides which rule is in effect for each id, and the status of every file. */
function resolve<R extends Rule>(
  entries: Entry<R>[],
  missingDirs: ReadonlySet<string>,
): Effective<R> {
  const ordered = [...entries].sort(
    (a, b) => a.dirIndex - b.dirIndex || compareText(a.file, b.file),
  );
  const winners = new Map<string, Entry<R>>();
  const conflicts = new Map<Entry<R>, RuleFileError>();
  const overriddenBy = new Map<Entry<R>, Entry<R>>();
  for (const entry of ordered) {
    const rule = entry.good?.rule;
    if (rule === undefined) continue;
    const current = winners.get(rule.id);
    if (current !== undefined && current.dirIndex === entry.dirIndex) {
      conflicts.set(entry, {
        file: entry.file,
        pointer: "/id",
        message: `rule id "${rule.id}" is already used by ${current.file}; ids must be unique`,
      });
      continue;
    }
    if (current !== undefined) overriddenBy.set(current, entry);
    winners.set(rule.id, entry);
  }

  const rules: R[] = [];
  const statuses: RuleStatus<R>[] = [];
  const errors: RuleFileError[] = [...missingDirs].map((dir) => ({
    file: dir,
    pointer: "",
    message: "rules directory not found",
  }));
  for (const entry of ordered) {
    const rule = entry.good?.rule;
    const conflict = conflicts.get(entry);
    const fileErrors = conflict ? [...entry.errors, conflict] : entry.errors;
    const winner = rule !== undefined && conflict === undefined && !overriddenBy.has(entry);
    const active = winner && rule.enabled;
    if (active) rules.push(rule);
    errors.push(...fileErrors);
    const overrider = overriddenBy.get(entry);
    let status: RuleFileState = "loaded";
    if (fileErrors.length > 0) status = "error";
    else if (overrider !== undefined) status = "overridden";
    else if (rule !== undefined && !rule.enabled) status = "disabled";
    statuses.push({
      id: rule?.id ?? entry.spelledId,
      file: entry.file,
      path: entry.path,
      dir: entry.dir,
      status,
      active,
      version: rule?.version,
      rule,
      errors: fileErrors,
      loadedAt: entry.good?.loadedAt.toISOString(),
      failedAt: entry.failedAt?.toISOString(),
      overriddenBy: overrider?.path,
    });
  }
  return { rules, statuses, errors };
}

interface ScannedFile {
  path: string;
  real: string;
  dir: string;
  dirIndex: number;
  file: string;
}

/** Every rule file under the directories, each real file once (first directory wins). */
function scan(
  dirs: string[],
  missingBefore: ReadonlySet<string>,
  log: RuleSetLog,
): { files: ScannedFile[]; missing: Set<string> } {
  const files: ScannedFile[] = [];
  const missing = new Set<string>();
  const seen = new Set<string>();
  dirs.forEach((dir, dirIndex) => {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      missing.add(dir);
      if (!missingBefore.has(dir)) log("warn", "rules directory not found", { dir });
      return;
    }
    for (const filePath of walk(dir, new Set())) {
      let real: string;
      try {
        real = realpathSync(filePath);
      } catch {
        continue; // removed while scanning, or a dangling symlink
      }
      if (seen.has(real)) continue;
      seen.add(real);
      const file = path.relative(dir, filePath).split(path.sep).join("/");
      files.push({ path: filePath, real, dir, dirIndex, file });
    }
  });
  return { files, missing };
}

function walk(dir: string, visited: Set<string>): string[] {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  if (visited.has(real)) return []; // a symlink loop
  visited.add(real);
  let names: string[];
  try {
    names = readdirSync(dir).sort(compareText);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names) {
    if (name.startsWith(".") || name === "node_modules") continue;
    const full = path.join(dir, name);
    let stats;
    try {
      stats = statSync(full);
    } catch {
      continue;
    }
    if (stats.isDirectory()) found.push(...walk(full, visited));
    else if (stats.isFile() && isRuleFileName(name)) found.push(full);
  }
  return found;
}

/** A rule file: `*.json`, but not a `*.schema.json` (rule.schema.json, schemas rules $ref). */
export function isRuleFileName(name: string): boolean {
  return name.endsWith(".json") && !name.endsWith(".schema.json");
}

function signatureOf(filePath: string, dependencies: string[]): string {
  return statText(filePath) + dependencySignature(dependencies);
}

function dependencySignature(dependencies: string[]): string {
  return dependencies.map((dependency) => `|${dependency}=${statText(dependency)}`).join("");
}

function statText(filePath: string): string {
  try {
    const stats = statSync(filePath);
    return `${stats.mtimeMs}:${stats.size}`;
  } catch {
    return "missing";
  }
}

function idInFile(filePath: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(filePath, "utf8")) as unknown;
    const id = (json as { id?: unknown } | null)?.id;
    return typeof id === "string" && id !== "" ? id : undefined;
  } catch {
    return undefined;
  }
}

function sameErrors(a: RuleFileError[], b: RuleFileError[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fingerprint(rules: readonly Rule[]): string {
  return rules.map((rule) => `${rule.id}@${rule.version}:${rule.file}`).join("\n");
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
