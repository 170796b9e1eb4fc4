/**
 * The HTTP application on the OTLP/HTTP port: the OTLP receiver, health probes and the JSON
 * API. Errors become JSON `{error: {code, message}}` in one place (onError).
 */

import { Hono } from "hono";
import { z } from "zod";
import { PlumblineError } from "../errors.ts";
import { keyChecker, presentedKey } from "../receive/auth.ts";
import type { Ingest } from "../receive/ingest.ts";
import type { LogsIngest } from "../receive/ingest-logs.ts";
import type { MetricsIngest } from "../receive/ingest-metrics.ts";
import { otlpHttpRoutes } from "../receive/otlp-http.ts";
import type { GroupCommitter } from "../store/group-commit.ts";
import { getTrace, listOutputs } from "../store/tables/agent-outputs.ts";
import { unrecognisedStats } from "../store/tables/ingest-stats.ts";
import type { StatsRecorder } from "../store/stats-recorder.ts";
import type { Store } from "../store/store.ts";
import { parseInput } from "./parse-input.ts";
import { alertsRoutes, type AlertsApiDeps } from "./alerts-routes.ts";
import { rulesRoutes, type RulesApiDeps } from "./rules-routes.ts";
import { overviewRoutes } from "./overview-routes.ts";
import { conversationsRoutes } from "./conversations-routes.ts";
import { uiRoutes } from "../ui/ui-routes.tsx";
import { timeParam } from "./time-param.ts";

export interface AppDeps {
  /** The rules API; absent in tests of the ingest side only. */
  rules?: RulesApiDeps;
  /** The alerts API; absent in tests of the ingest side only. */
  alerts?: AlertsApiDeps;
  store: Store;
  committer: GroupCommitter;
  stats: Pick<StatsRecorder, "flush">;
  ingest: Ingest;
  /** OTLP logs and metrics: received when given (always, by the service). */
  ingestLogs?: LogsIngest;
  ingestMetrics?: MetricsIngest;
  maxBodyBytes: number;
  ingestKeys: readonly string[];
  apiKey?: string | undefined;
  /** false in a process with role `evaluate`: OTLP goes to the ingest processes. */
  receiveOtlp?: boolean;
}

const outputsQuery = z.object({
  service: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  operation: z.string().min(1).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

const HEX_TRACE_ID = /^[0-9a-f]{32}$/;

/** Builds the application; no socket is opened here (tests call `app.request()`). */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  if (deps.receiveOtlp === false) {
    app.post("/v1/:signal{traces|logs|metrics}", () => {
      throw new PlumblineError(
        "not_found",
        "this Plumbline process has role evaluate and receives no OTLP data; send it to an ingest (or all) process",
        404,
      );
    });
  } else {
    app.route("/", otlpHttpRoutes(deps));
  }

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    const ping = await deps.store.ping();
    const health = deps.committer.health();
    if (ping.ok && health.ok) return c.json({ ready: true });
    const reason = !ping.ok ? `store unreachable: ${ping.reason}` : health.ok ? "" : health.reason;
    return c.json({ ready: false, reason }, 503);
  });

  if (deps.apiKey !== undefined) {
    const isValid = keyChecker([deps.apiKey]);
    app.use("/api/*", async (c, next) => {
      if (!isValid(presentedKey((h) => c.req.header(h)))) {
        throw new PlumblineError("unauthorized", "missing or invalid API key", 401);
      }
      await next();
    });
  }

  if (deps.rules !== undefined) app.route("/", rulesRoutes(deps.rules));
  if (deps.alerts !== undefined) app.route("/", alertsRoutes(deps.alerts));
  app.route("/", overviewRoutes(deps));
  app.route("/", conversationsRoutes(deps));
  // The web UI: pages drawn from this app's own API, asked in-process.
  app.route(
    "/",
    uiRoutes({
      api: (request) => app.fetch(request),
      apiKey: deps.apiKey,
      features: { rules: deps.rules !== undefined, alerts: deps.alerts !== undefined },
    }),
  );

  app.get("/api/outputs", async (c) => {
    const query = parseInput(outputsQuery, c.req.query(), "query parameter");
    return c.json({ outputs: await listOutputs(deps.store, query) });
  });

  app.get("/api/traces/:traceId", async (c) => {
    const traceId = c.req.param("traceId").toLowerCase();
    if (!HEX_TRACE_ID.test(traceId)) {
      throw new PlumblineError(
        "invalid_trace_id",
        `trace id "${traceId}" is not 32 hex digits`,
        400,
      );
    }
    const trace = await getTrace(deps.store, traceId);
    if (trace.spans.length === 0 && trace.outputs.length === 0) {
      throw new PlumblineError("not_found", `no spans stored for trace ${traceId}`, 404);
    }
    return c.json({ traceId, ...trace });
  });

  app.get("/api/stats/unrecognised", async (c) => {
    const { since } = parseInput(
      z.object({ since: timeParam.prefault("24h") }),
      c.req.query(),
      "query parameter",
    );
    await deps.stats.flush(); // counters are written every few seconds; include the latest
    return c.json({
      since: new Date(since).toISOString(),
      services: await unrecognisedStats(deps.store, since),
    });
  });

  app.notFound((c) =>
    c.json(
      { error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  );

  app.onError((error, c) => {
    if (error instanceof PlumblineError) {
      if (error.retryAfterMs !== undefined) {
        c.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
      }
      return c.json(
        { error: { code: error.code, message: error.message } },
        error.httpStatus as 400,
      );
    }
    console.error("unhandled error", error);
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });

  return app;
}
