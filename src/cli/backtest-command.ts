/**
 * `plumbline backtest --rules <dir|file> --since 7d [--until …] [--service x] [--url …]
 * [--silences] [--json] [--compare <dir|file>] [--sample N] [--price p,r] [--yes]`: replays
 * rules and their alerts over stored history, through the running service when it owns the
 * store (POST /api/backtest), else by reading the store here. `--compare` replays a second rule
 * set over the same period and shows both side by side. Judge rules cost money: their plan
 * (sample, calls, tokens, cost) is printed first, and without `--yes` nothing is sent.
 */

import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseTimeParam } from "../api/time-param.ts";
import type { BacktestReport, BacktestRule } from "../api/rules-routes.ts";
import type { Config } from "../config/index.ts";
import { compileRule, type CompiledRule } from "../evaluate/compile-rule.ts";
import { loadRuleFile } from "../rules/load-rule.ts";
import type { RuleFileError } from "../rules/rule.ts";
import { createRuleSet } from "../rules/rule-set.ts";
import type { Store } from "../store/store.ts";
import {
  DEFAULT_JUDGE_PRICE,
  DEFAULT_JUDGE_SAMPLE,
  type JudgePrice,
  type JudgeRuleResult,
} from "../evaluate/judge/judge-backtest.ts";
import { printComparison, printJudgePlan, printReport } from "./backtest-print.ts";
import { formatError, stdio, type Out } from "./rules-commands.ts";

export interface BacktestCommandOptions {
  /** A rules directory (its enabled rules), or one rule file (replayed even when disabled). */
  rules: string;
  since: string;
  until: string | undefined;
  service: string | undefined;
  url: string | undefined;
  /** Print the report as one JSON document. */
  json: boolean;
  /** A second rules directory or file, replayed over the same period for comparison. */
  compare: string | undefined;
  /** Apply the silences that held at each moment. */
  silences: boolean;
  /** Judge rules: outputs sampled per rule (default 200). */
  sample?: string | undefined;
  /** Judge rules: US$ per million prompt and reply tokens, "0.15,0.60". */
  price?: string | undefined;
  /** Judge rules: judge the sample (without it, only the plan is printed). */
  yes?: boolean;
}

/** A rule loaded here, and what is sent to the service for it. */
interface LocalRule {
  rule: CompiledRule;
  sent: BacktestRule;
}

interface Period {
  sinceMs: number;
  untilMs: number;
  service: string | undefined;
  silences: boolean;
  judge: { sample: number; confirm: boolean; price: JudgePrice };
}

/** Replays rules over stored outputs; through the running service when it owns the store. */
export async function backtestCommand(
  options: BacktestCommandOptions,
  config: Config,
  io: Out = stdio,
): Promise<number> {
  const sinceMs = parseTimeParam(options.since);
  const untilMs = options.until === undefined ? Date.now() : parseTimeParam(options.until);
  if (sinceMs === undefined || untilMs === undefined) {
    const [name, value] =
      sinceMs === undefined ? ["--since", options.since] : ["--until", options.until];
    io.err(`${name} "${value}": use ISO 8601, unix ms, or a duration ago like 24h, 7d`);
    return 2;
  }
  if (untilMs <= sinceMs) {
    io.err(
      `--until ${new Date(untilMs).toISOString()} is not after --since ${new Date(sinceMs).toISOString()}`,
    );
    return 2;
  }
  const sample = options.sample === undefined ? DEFAULT_JUDGE_SAMPLE : Number(options.sample);
  if (!Number.isInteger(sample) || sample < 1 || sample > 100_000) {
    io.err(`--sample "${options.sample}": a whole number of outputs per judge rule, 1 to 100000`);
    return 2;
  }
  const price = options.price === undefined ? DEFAULT_JUDGE_PRICE : parsePrice(options.price);
  if (price === undefined) {
    io.err(`--price "${options.price}": US$ per million prompt and reply tokens, like 0.15,0.60`);
    return 2;
  }
  const sets = [options.rules, ...(options.compare === undefined ? [] : [options.compare])];
  const loaded: LocalRule[][] = [];
  for (const target of sets) {
    const result = loadLocalRules(target);
    if (!result.ok) {
      for (const error of result.errors) io.err(formatError(error));
      io.err(`${result.errors.length} error(s) in ${resolve(target)}`);
      return 1;
    }
    loaded.push(result.rules);
  }
  const judgeRules = loaded.flat().filter((r) => r.rule.scope === "judge").length;
  const confirm = options.yes === true;
  const period: Period = {
    sinceMs,
    untilMs,
    service: options.service,
    silences: options.silences,
    judge: { sample, confirm, price },
  };
  // The plan goes to stdout as text, or to stderr beside --json, before anything is sent.
  const onJudgePlan = (plan: readonly JudgeRuleResult[]) =>
    printJudgePlan(plan, options.json ? { out: io.err, err: io.err } : io);
  const base =
    options.url ??
    `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${config.port}`;

  const reports: BacktestReport[] = [];
  let store: Store | undefined;
  try {
    for (const rules of loaded) {
      if (store === undefined) {
        const answer = await viaService(base, rules, period, config.apiKey, onJudgePlan);
        if (answer.kind === "failed") {
          for (const line of answer.lines) io.err(line);
          return 1;
        }
        if (answer.kind === "done") {
          reports.push(answer.report);
          continue;
        }
        store = await openStore(config, io);
      }
      const { runBacktest } = await import("../service/backtest.ts");
      try {
        reports.push(
          await runBacktest(store, config, {
            ...period,
            rules: rules.map((r) => r.rule),
            onProgress: progressBar,
            onJudgePlan,
          }),
        );
      } catch (error) {
        // A store nobody has written to yet, or one that is not there: say which.
        const where = config.clickhouse.url ?? config.dataDir;
        io.err(`the backtest over the store at ${where} failed: ${(error as Error).message}`);
        return 1;
      } finally {
        if (process.stderr.isTTY) process.stderr.write("\n");
      }
    }
  } finally {
    await store?.close();
  }

  const [report, other] = reports;
  if (report === undefined) return 1;
  if (judgeRules > 0 && !confirm) {
    // The plan only: the other rules' report comes with the run (--json: the report, whose
    // judge rules hold their plan).
    const notice =
      "nothing was sent to the judge: pass --yes to judge the sample (and see every rule's report)";
    if (options.json) {
      io.out(JSON.stringify(other === undefined ? report : { ...report, compare: other }, null, 2));
      io.err(notice);
    } else io.out(notice);
    return 0;
  }
  if (options.json) {
    io.out(JSON.stringify(other === undefined ? report : { ...report, compare: other }, null, 2));
  } else if (other === undefined) {
    printReport(report, io);
  } else {
    printComparison([options.rules, options.compare ?? ""], [report, other], io);
  }
  return 0;
}

/** The rules of a directory as the rule set loads them, or one rule file as the set would. */
function loadLocalRules(
  target: string,
): { ok: true; rules: LocalRule[] } | { ok: false; errors: RuleFileError[] } {
  const absolute = resolve(target);
  const loaded: { rule: CompiledRule; path: string }[] = [];
  if (isFile(absolute)) {
    const result = loadRuleFile(absolute, dirname(absolute), compileRule);
    if (!result.ok) return result;
    loaded.push({ rule: result.rule, path: absolute });
  } else {
    const set = createRuleSet({ dirs: [absolute], pollMs: 0, compile: compileRule });
    set.close();
    if (set.errors().length > 0) return { ok: false, errors: set.errors() };
    for (const status of set.all()) {
      if (status.active && status.rule !== undefined)
        loaded.push({ rule: status.rule, path: status.path });
    }
  }
  const rules: LocalRule[] = [];
  const errors: RuleFileError[] = [];
  for (const { rule, path } of loaded) {
    const sent = ruleToSend(rule, path);
    if (sent.ok) rules.push({ rule, sent: sent.value });
    else errors.push(sent.error);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

function isFile(absolute: string): boolean {
  try {
    return statSync(absolute).isFile();
  } catch {
    return false;
  }
}

/**
 * What the service loads for a rule: the JSON its file holds, under the file's name, so that
 * the service's loader reads exactly what the local one did. (Re-serialising the loaded rule
 * would not do: its defaults, such as an empty `assertions` beside an `expr`, are not always
 * valid rule JSON.) A `$ref` is resolved here, where the schema file is: the service gets the
 * schema this load read, inline, which gives the rule the same version.
 */
function ruleToSend(
  rule: CompiledRule,
  path: string,
): { ok: true; value: BacktestRule } | { ok: false; error: RuleFileError } {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    // Changed or removed since it was loaded a moment ago.
    const message = `cannot read the file again: ${(error as Error).message}`;
    return { ok: false, error: { file: rule.file, pointer: "", message } };
  }
  const check = json["check"] as Record<string, unknown> | undefined;
  if (rule.check.type === "json_schema" && check?.["$ref"] !== undefined) {
    const { $ref: _resolvedHere, ...rest } = check;
    json["check"] = { ...rest, schema: rule.check.schema };
  }
  return { ok: true, value: { file: rule.file, rule: json } };
}

type ServiceAnswer =
  | { kind: "done"; report: BacktestReport }
  /** Lines for stderr: the service refused the rules or failed. */
  | { kind: "failed"; lines: string[] }
  /** Nothing listens at the address: the store is read directly. */
  | { kind: "no service" };

async function viaService(
  base: string,
  rules: readonly LocalRule[],
  period: Period,
  apiKey: string | undefined,
  onJudgePlan: (plan: readonly JudgeRuleResult[]) => void,
): Promise<ServiceAnswer> {
  const failed = (...lines: string[]): ServiceAnswer => ({ kind: "failed", lines });
  let res: Response;
  try {
    res = await fetch(`${base}/api/backtest`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify({
        rules: rules.map((r) => r.sent),
        since: String(period.sinceMs),
        until: String(period.untilMs),
        service: period.service,
        silences: period.silences,
        judge: period.judge,
      }),
    });
  } catch (error) {
    if (isConnectionRefused(error)) return { kind: "no service" };
    return failed(`cannot reach the service at ${base}: ${describeFetchError(error)}`);
  }
  if (res.status === 422) {
    const body = (await res.json().catch(() => ({}))) as { errors?: RuleFileError[] };
    const errors = body.errors ?? [];
    return failed(
      ...errors.map(formatError),
      `the service at ${base} refused the rules: ${errors.length} error(s)`,
    );
  }
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => "");
    return failed(`the service at ${base} answered ${res.status}: ${text.trim()}`);
  }
  let result: BacktestReport | undefined;
  let buffered = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, newline)) as {
          progress?: { done: number; total: number };
          result?: BacktestReport;
          error?: { message: string };
          judgePlan?: JudgeRuleResult[];
        };
        buffered = buffered.slice(newline + 1);
        if (message.progress) progressBar(message.progress.done, message.progress.total);
        if (message.judgePlan) onJudgePlan(message.judgePlan);
        if (message.error) return failed(`the backtest failed: ${message.error.message}`);
        if (message.result) result = message.result;
      }
    }
  } catch (error) {
    return failed(`the backtest's answer from ${base} broke off: ${describeFetchError(error)}`);
  } finally {
    if (process.stderr.isTTY) process.stderr.write("\n");
  }
  if (result === undefined) return failed(`the service at ${base} ended without a result`);
  return { kind: "done", report: result };
}

/** fetch says "fetch failed"; the reason is its cause. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const reason = cause instanceof Error ? cause : error;
  return reason instanceof Error ? reason.message : String(reason);
}

/** The store, read directly: nothing listens at the service's address. */
async function openStore(config: Config, io: Out): Promise<Store> {
  const { createClickHouseClient } = await import("../store/client.ts");
  const { tableNames } = await import("../store/migrations.ts");
  const { createStore } = await import("../store/store.ts");
  const client = createClickHouseClient({ dataDir: config.dataDir, ...config.clickhouse });
  io.err(`reading the store directly (${config.clickhouse.url ?? config.dataDir})`);
  return createStore(
    client,
    tableNames(config.clickhouse.database, config.clickhouse.tracesTable, {
      logsTable: config.clickhouse.logsTable,
      metricsTable: config.clickhouse.metricsTable,
    }),
  );
}

/** "0.15,0.60": US$ per million prompt tokens, then reply tokens. */
function parsePrice(text: string): JudgePrice | undefined {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length !== 2 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return undefined;
  return { promptPerMillion: Number(parts[0]), replyPerMillion: Number(parts[1]) };
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === "ECONNREFUSED";
}

function progressBar(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} windows`,
  );
}
