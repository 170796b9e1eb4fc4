/**
 * Read routes for the overview of what Plumbline saw: volumes per service and agent, ingest,
 * rules over time, window rules' latest evaluations. The web UI's overview, rules and drift
 * pages draw exactly these answers.
 */

import { Hono } from "hono";
import { z } from "zod";
import { unrecognisedStats } from "../store/tables/ingest-stats.ts";
import type { StatsRecorder } from "../store/stats-recorder.ts";
import type { Store } from "../store/store.ts";
import {
  bucketsOf,
  ingestSeries,
  latestWindowEvaluations,
  outputVolumes,
  periodOf,
  ruleActivity,
  type Period,
} from "./overview-queries.ts";
import { parseInput } from "./parse-input.ts";
import { timeParam } from "./time-param.ts";
import { PlumblineError } from "../errors.ts";

export interface OverviewApiDeps {
  store: Store;
  stats: Pick<StatsRecorder, "flush">;
  /** Unix ms; Date.now unless a test sets the clock. */
  now?: () => number;
}

const periodQuery = z.object({
  since: timeParam.prefault("24h"),
  until: timeParam.optional(),
});

const activityQuery = periodQuery.extend({ rule: z.string().min(1).optional() });

/** The period of a request: since (default 24h ago) to until (default now), in buckets. */
function periodFrom(query: { since: number; until?: number | undefined }, now: number): Period {
  const untilMs = query.until ?? now;
  if (untilMs <= query.since) {
    throw new PlumblineError(
      "invalid_input",
      `query parameter "until" (${new Date(untilMs).toISOString()}) is not after "since" (${new Date(query.since).toISOString()})`,
      400,
    );
  }
  return periodOf(query.since, untilMs);
}

const periodJson = (period: Period) => ({
  since: new Date(period.sinceMs).toISOString(),
  until: new Date(period.untilMs).toISOString(),
  stepMs: period.stepMs,
  /** Bucket starts (unix ms), the x of every per-bucket list. */
  buckets: bucketsOf(period),
});

export function overviewRoutes(deps: OverviewApiDeps): Hono {
  const app = new Hono();
  const now = () => deps.now?.() ?? Date.now();

  app.get("/api/overview", async (c) => {
    const period = periodFrom(parseInput(periodQuery, c.req.query(), "query parameter"), now());
    await deps.stats.flush(); // counters are written every few seconds; include the latest
    const [outputs, ingest, unrecognised] = await Promise.all([
      outputVolumes(deps.store, period),
      ingestSeries(deps.store, period),
      unrecognisedStats(deps.store, period.sinceMs),
    ]);
    return c.json({ ...periodJson(period), outputs, ingest, unrecognised });
  });

  app.get("/api/activity/rules", async (c) => {
    const query = parseInput(activityQuery, c.req.query(), "query parameter");
    const period = periodFrom(query, now());
    return c.json({
      ...periodJson(period),
      rules: await ruleActivity(deps.store, period, query.rule),
    });
  });

  app.get("/api/windows", async (c) => {
    const { since } = parseInput(periodQuery, c.req.query(), "query parameter");
    return c.json({
      since: new Date(since).toISOString(),
      windows: await latestWindowEvaluations(deps.store, since),
    });
  });

  return app;
}
