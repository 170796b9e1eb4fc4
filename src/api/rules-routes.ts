/**
 * The rules API: what is loaded and how each rule is doing, validation of a rule before it is
 * written to a file, findings, and backtests (run here because an embedded store belongs to
 * the running service's process).
 */

import { Hono } from "hono";
import { z } from "zod";
import type { NotificationCounts, RuleAlerts } from "../alert/alert-replay.ts";
import type { RuleSummary } from "../evaluate/backtest.ts";
import { windowCounts, windowResultsOf } from "../store/tables/drift-results.ts";
import type { RuleActivity } from "../evaluate/engine.ts";
import type { Rule, RuleFileError, Severity } from "../rules/rule.ts";
import { PlumblineError } from "../errors.ts";
import {
  decodeCheckCursor,
  listChecksPage,
  ruleCounts,
  ruleProblemCounts,
  type RuleProblemCounts,
} from "../store/tables/checks.ts";
import type { Store } from "../store/store.ts";
import { parseInput } from "./parse-input.ts";
import { timeParam } from "./time-param.ts";

/** One rule file as the API shows it. */
export interface RuleStatusView {
  id: string | undefined;
  file: string;
  status: string;
  version: string | undefined;
  rule: Rule | undefined;
  errors: RuleFileError[];
  /** When the version in effect was loaded (ISO 8601): no rule is idle before IDLE_AFTER_MS. */
  loadedAt: string | undefined;
}

export interface RulesApiDeps {
  store: Store;
  statuses(): RuleStatusView[];
  validate(json: unknown): { ok: true; rule: Rule } | { ok: false; errors: RuleFileError[] };
  activity(): ReadonlyMap<string, RuleActivity>;
  /** Unix ms; Date.now unless a test sets the clock. */
  now?: () => number;
  /** Loads the rules of a backtest as rule files are loaded: every problem, or the run. */
  backtest(request: BacktestRequest): BacktestStart;
}

export interface BacktestRequest {
  rules: BacktestRule[];
  sinceMs: number;
  untilMs: number;
  service: string | undefined;
  /** Apply the silences that held at each moment (default: none). */
  silences: boolean;
  /** The service's own settings unless given: to replay a differently configured service. */
  timing: Partial<BacktestReplayTiming>;
  /** Judge rules: the sample per rule, whether to judge it (else only the plan), the price. */
  judge: {
    sample?: number | undefined;
    confirm: boolean;
    price?: { promptPerMillion: number; replyPerMillion: number } | undefined;
  };
}

/** When things happen in the replay: the live service's config values by default. */
export interface BacktestReplayTiming {
  /** alerts.tickMs */
  tickMs: number;
  /** evaluate.traceQuietMs */
  traceQuietMs: number;
  /** evaluate.windowSettleMs */
  windowSettleMs: number;
}

/**
 * The answer of a backtest (the `result` of POST /api/backtest, the JSON of
 * `plumbline backtest --json`): per rule what it found and what its alerts did, and a summary.
 */
export interface BacktestReport {
  /** ISO 8601: the period replayed. */
  since: string;
  until: string;
  service: string | null;
  timing: BacktestReplayTiming;
  silences: boolean;
  rules: BacktestRuleReport[];
  summary: BacktestSummary;
}

/** One rule: its findings and window evaluations (RuleSummary), then its alerts (RuleAlerts). */
export type BacktestRuleReport = RuleSummary & Omit<RuleAlerts, "ruleId"> & { severity: Severity };

/** Alerts fired, time spent firing and notifications: in total and per severity. */
export interface BacktestSummary {
  /** Alert episodes, fired or not. */
  alerts: number;
  fired: number;
  firingMs: number;
  notifications: NotificationCounts;
  bySeverity: Record<
    Severity,
    { fired: number; firingMs: number; notifications: NotificationCounts }
  >;
}

/** A rule as its file holds it, and the file's name (relative to its rules directory). */
export interface BacktestRule {
  file: string;
  rule: unknown;
}

export type BacktestStart =
  | {
      ok: true;
      run(
        onProgress: (done: number, total: number) => void,
        /** Judge rules: their plan (JudgeRuleResult[]), before anything is sent. */
        onJudgePlan?: (plan: readonly unknown[]) => void,
      ): Promise<BacktestReport>;
    }
  | { ok: false; errors: RuleFileError[] };

/**
 * A loaded rule that has been in effect for this long and matched nothing in it is flagged
 * `idle` (a typo in a match is itself a silent failure), whatever its type: an output or trace
 * rule matched no output or trace, a window rule had no window with enough samples.
 */
const IDLE_AFTER_MS = 24 * 3_600_000;

const evaluationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  since: timeParam.optional(),
  until: timeParam.optional(),
});

const checksQuery = z.object({
  rule: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  trace: z
    .string()
    .regex(/^[0-9a-f]{32}$/, "32 lowercase hex digits")
    .optional(),
  outcome: z.enum(["failed", "rule_error"]).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  order: z.enum(["asc", "desc"]).default("desc"),
  cursor: z
    .string()
    .transform((text, ctx) => {
      const cursor = decodeCheckCursor(text);
      if (cursor === undefined) {
        ctx.addIssue({
          code: "custom",
          message: `"${text}" is not a nextCursor of GET /api/checks`,
        });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

const namedRule = z.strictObject({ file: z.string().min(1), rule: z.unknown() });

// `{file, rule}` is what `plumbline backtest` sends; a bare rule (the first form of this API)
// is still taken, named in errors by its place in the list.
const backtestBody = z.object({
  rules: z
    .array(z.unknown())
    .min(1)
    .transform((list) =>
      list.map((entry, i): BacktestRule => {
        const named = namedRule.safeParse(entry);
        return named.success ? named.data : { file: `rules[${i}]`, rule: entry };
      }),
    ),
  since: timeParam,
  until: timeParam.optional(),
  service: z.string().min(1).optional(),
  silences: z.boolean().default(false),
  timing: z
    .strictObject({
      tickMs: z.number().int().min(50).optional(),
      traceQuietMs: z.number().int().min(0).optional(),
      windowSettleMs: z.number().int().min(0).optional(),
    })
    .default({}),
  // Judging history costs money: without confirm, judge rules get their plan, nothing is sent.
  judge: z
    .strictObject({
      sample: z.number().int().min(1).max(100_000).optional(),
      confirm: z.boolean().default(false),
      price: z
        .strictObject({
          promptPerMillion: z.number().min(0),
          replyPerMillion: z.number().min(0),
        })
        .optional(),
    })
    .default({ confirm: false }),
});

export function rulesRoutes(deps: RulesApiDeps): Hono {
  const app = new Hono();

  app.get("/api/rules", async (c) => {
    const now = deps.now?.() ?? Date.now();
    const since = now - IDLE_AFTER_MS;
    // Window rules (rate, drift) count their evaluations with enough samples, and drifts.
    const [outputCounts, windows, problems] = await Promise.all([
      ruleCounts(deps.store, since),
      windowCounts(deps.store, since),
      ruleProblemCounts(deps.store, since),
    ]);
    const counts = new Map([...outputCounts, ...windows]);
    const activity = deps.activity();
    const rules = deps.statuses().map((s) => {
      const id = s.id ?? s.rule?.id;
      const count = id === undefined ? undefined : counts.get(id);
      const live = id === undefined ? undefined : activity.get(id);
      const stored = id === undefined ? undefined : problems.get(id);
      const loadedAt = s.loadedAt === undefined ? undefined : Date.parse(s.loadedAt);
      const matchedLast24h =
        (count?.evaluated ?? 0) > 0 ||
        (stored?.problems ?? 0) > 0 ||
        (live?.lastMatchedAt ?? Number.NEGATIVE_INFINITY) >= since;
      return {
        id,
        file: s.file,
        status: s.status,
        version: s.version,
        description: s.rule?.description,
        severity: s.rule?.severity,
        checkType: s.rule?.check.type,
        errors: s.errors,
        last24h: { evaluated: count?.evaluated ?? 0, failed: count?.failed ?? 0 },
        sinceStart: { matched: live?.matched ?? 0, failed: live?.failed ?? 0 },
        lastMatchedAt: latest(count?.lastEvaluatedAt, live?.lastMatchedAt),
        // Problems of the rule, not verdicts on outputs: in none of the counts above.
        ruleErrors: {
          last24h: stored?.problems ?? 0,
          sinceStart: live?.ruleErrors ?? 0,
          lastError: lastErrorOf(live, stored),
        },
        health: live?.health ?? "ok",
        // Judge rules: the judge's counts, limits and state (docs/judge.md "Health").
        ...(live?.judge !== undefined && { judge: live.judge }),
        idle:
          s.status === "loaded" &&
          loadedAt !== undefined &&
          now - loadedAt >= IDLE_AFTER_MS &&
          !matchedLast24h,
      };
    });
    return c.json({ rules });
  });

  app.post("/api/rules/validate", async (c) => {
    const json = await c.req.json().catch(() => {
      throw new PlumblineError("invalid_json", "the request body is not JSON", 400);
    });
    const result = deps.validate(json);
    if (result.ok) return c.json({ ok: true, id: result.rule.id, version: result.rule.version });
    return c.json({ ok: false, errors: result.errors }, 422);
  });

  app.get("/api/checks", async (c) => {
    const query = parseInput(checksQuery, c.req.query(), "query parameter");
    const page = await listChecksPage(deps.store, query);
    return c.json({ checks: page.checks, nextCursor: page.nextCursor });
  });

  // Evaluations of a window rule (rate, drift), newest first: what drift_results holds.
  app.get("/api/rules/:id/evaluations", async (c) => {
    const query = parseInput(evaluationsQuery, c.req.query(), "query parameter");
    if (query.since !== undefined && query.until !== undefined && query.until <= query.since) {
      const period = `since ${new Date(query.since).toISOString()}, until ${new Date(query.until).toISOString()}`;
      throw new PlumblineError(
        "invalid_input",
        `query parameter "until" is not after "since" (${period})`,
        400,
      );
    }
    const rows = await windowResultsOf(deps.store, c.req.param("id"), query.limit, {
      sinceMs: query.since,
      untilMs: query.until,
    });
    return c.json({
      evaluations: rows.map((row) => ({
        ...row,
        evaluatedAt: new Date(row.evaluatedAt).toISOString(),
        windowStart: new Date(row.windowStart).toISOString(),
        windowEnd: new Date(row.windowEnd).toISOString(),
        referenceStart:
          row.referenceStart === null ? null : new Date(row.referenceStart).toISOString(),
        referenceEnd: row.referenceEnd === null ? null : new Date(row.referenceEnd).toISOString(),
      })),
    });
  });

  // A rule with problems: 422 with every problem of every rule, as /api/rules/validate answers.
  // Else NDJSON: {"progress":{"done":n,"total":m}} lines, with judge rules one
  // {"judgePlan":[…]} line before anything is sent to the judge, then {"result":{…}} (a
  // BacktestReport) or {"error":{…}}.
  app.post("/api/backtest", async (c) => {
    const json = await c.req.json().catch(() => {
      throw new PlumblineError("invalid_json", "the request body is not JSON", 400);
    });
    const body = parseInput(backtestBody, json, "field");
    const untilMs = body.until ?? Date.now();
    if (untilMs <= body.since) {
      const period = `since ${new Date(body.since).toISOString()}, until ${new Date(untilMs).toISOString()}`;
      throw new PlumblineError(
        "invalid_input",
        `field "until": is not after "since" (${period})`,
        400,
      );
    }
    const started = deps.backtest({
      rules: body.rules,
      sinceMs: body.since,
      untilMs,
      service: body.service,
      silences: body.silences,
      timing: Object.fromEntries(
        Object.entries(body.timing).filter(([, value]) => value !== undefined),
      ),
      judge: body.judge,
    });
    if (!started.ok) return c.json({ ok: false, errors: started.errors }, 422);
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (value: unknown) =>
          controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
        try {
          const result = await started.run(
            (done, total) => send({ progress: { done, total } }),
            // Judge rules: the plan goes out before anything is sent to the judge.
            (plan) => send({ judgePlan: plan }),
          );
          send({ result });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          send({
            error: {
              code: error instanceof PlumblineError ? error.code : "backtest_failed",
              message,
            },
          });
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
  });

  return app;
}

/** The newest rule problem, from this process or the store. */
function lastErrorOf(
  live: RuleActivity | undefined,
  stored: RuleProblemCounts | undefined,
): { code: string; message: string; at: string } | undefined {
  const newest =
    live?.lastError !== undefined && live.lastError.at >= (stored?.last.at ?? 0)
      ? live.lastError
      : stored?.last;
  return newest === undefined
    ? undefined
    : { code: newest.code, message: newest.message, at: new Date(newest.at).toISOString() };
}

function latest(a: number | undefined, b: number | undefined): string | undefined {
  const max = Math.max(a ?? 0, b ?? 0);
  return max > 0 ? new Date(max).toISOString() : undefined;
}
