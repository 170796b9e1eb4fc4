/**
 * The rules API: what is loaded and how each rule is doing, validation of a rule before it is
 * written to a file, findings, and backtests (run here because an embedded store belongs to
 * the running service's process).
 */

import { Hono } from "hono";
import { z } from "zod";
import type { RuleSummary } from "../evaluate/backtest.ts";
import { windowCounts, windowResultsOf } from "../store/tables/drift-results.ts";
import type { RuleActivity } from "../evaluate/engine.ts";
import type { Rule, RuleFileError } from "../rules/rule.ts";
import { PlumblineError } from "../errors.ts";
import { listChecks, ruleCounts } from "../store/tables/checks.ts";
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
}

export interface RulesApiDeps {
  store: Store;
  statuses(): RuleStatusView[];
  validate(json: unknown): { ok: true; rule: Rule } | { ok: false; errors: RuleFileError[] };
  activity(): ReadonlyMap<string, RuleActivity>;
  /** Loads a rules directory for a backtest; errors stop it. */
  backtest(
    request: BacktestRequest,
    onProgress: (done: number, total: number) => void,
  ): Promise<RuleSummary[]>;
}

export interface BacktestRequest {
  rules: unknown[];
  sinceMs: number;
  untilMs: number;
  service: string | undefined;
}

/** A rule that has evaluated nothing for this long is flagged `idle`: a typo in a match is itself a silent failure. */
const IDLE_AFTER_MS = 24 * 3_600_000;

const evaluationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

const checksQuery = z.object({
  rule: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  trace: z
    .string()
    .regex(/^[0-9a-f]{32}$/, "32 lowercase hex digits")
    .optional(),
  since: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

const backtestBody = z.object({
  rules: z.array(z.unknown()).min(1),
  since: timeParam,
  until: timeParam.optional(),
  service: z.string().min(1).optional(),
});

export function rulesRoutes(deps: RulesApiDeps): Hono {
  const app = new Hono();

  app.get("/api/rules", async (c) => {
    const since = Date.now() - IDLE_AFTER_MS;
    // Window rules (rate, drift) count their evaluations with enough samples, and drifts.
    const [outputCounts, windows] = await Promise.all([
      ruleCounts(deps.store, since),
      windowCounts(deps.store, since),
    ]);
    const counts = new Map([...outputCounts, ...windows]);
    const activity = deps.activity();
    const rules = deps.statuses().map((s) => {
      const id = s.id ?? s.rule?.id;
      const count = id === undefined ? undefined : counts.get(id);
      const live = id === undefined ? undefined : activity.get(id);
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
        idle: s.status === "loaded" && (count?.evaluated ?? 0) === 0 && (live?.matched ?? 0) === 0,
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
    return c.json({ checks: await listChecks(deps.store, query) });
  });

  // Evaluations of a window rule (rate, drift), newest first: what drift_results holds.
  app.get("/api/rules/:id/evaluations", async (c) => {
    const query = parseInput(evaluationsQuery, c.req.query(), "query parameter");
    const rows = await windowResultsOf(deps.store, c.req.param("id"), query.limit);
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

  // NDJSON: {"progress":{"done":n,"total":m}} lines, then {"result":[…]} or {"error":{…}}.
  app.post("/api/backtest", async (c) => {
    const json = await c.req.json().catch(() => {
      throw new PlumblineError("invalid_json", "the request body is not JSON", 400);
    });
    const body = parseInput(backtestBody, json, "field");
    const request: BacktestRequest = {
      rules: body.rules,
      sinceMs: body.since,
      untilMs: body.until ?? Date.now(),
      service: body.service,
    };
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (value: unknown) =>
          controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
        try {
          const result = await deps.backtest(request, (done, total) =>
            send({ progress: { done, total } }),
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

function latest(a: number | undefined, b: number | undefined): string | undefined {
  const max = Math.max(a ?? 0, b ?? 0);
  return max > 0 ? new Date(max).toISOString() : undefined;
}
