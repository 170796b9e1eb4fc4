/**
 * The alerts API: alerts and their evidence, history and deliveries; channel tests; silences.
 */

import { Hono } from "hono";
import { z } from "zod";
import { createSilence, silenceBodySchema, silenceState, type Silence } from "../alert/silences.ts";
import type { Alert, Notification } from "../alert/types.ts";
import { PlumblineError } from "../errors.ts";
import { parseInput } from "./parse-input.ts";

export interface AlertsApiDeps {
  alerts(state?: string): Alert[];
  alert(
    fingerprint: string,
  ): Promise<
    { alert: Alert; history: unknown[]; deliveries: unknown; silencedBy: string[] } | undefined
  >;
  channels(): { name: string; type: string | undefined; disabled: string | undefined }[];
  testChannel(name: string): Promise<Notification | undefined>;
  silences(): Silence[];
  addSilence(silence: Silence): Promise<void>;
  deleteSilence(id: string): Promise<boolean>;
  newId(): string;
}

const alertsQuery = z.object({ state: z.enum(["pending", "firing", "resolved"]).optional() });

export function alertsRoutes(deps: AlertsApiDeps): Hono {
  const app = new Hono();

  app.get("/api/alerts", (c) => {
    const { state } = parseInput(alertsQuery, c.req.query(), "query parameter");
    return c.json({ alerts: deps.alerts(state) });
  });

  app.get("/api/alerts/:fingerprint", async (c) => {
    const found = await deps.alert(c.req.param("fingerprint"));
    if (found === undefined) {
      throw new PlumblineError("not_found", `no alert ${c.req.param("fingerprint")}`, 404);
    }
    return c.json(found);
  });

  app.get("/api/channels", (c) => c.json({ channels: deps.channels() }));

  app.post("/api/channels/:name/test", async (c) => {
    const notification = await deps.testChannel(c.req.param("name"));
    if (notification === undefined) {
      throw new PlumblineError("not_found", `no channel named "${c.req.param("name")}"`, 404);
    }
    return c.json({ queued: true, id: notification.id, channel: notification.channel }, 202);
  });

  app.get("/api/silences", (c) => {
    const now = Date.now();
    return c.json({
      silences: deps.silences().map((s) => ({ ...s, state: silenceState(s, now) })),
    });
  });

  app.post("/api/silences", async (c) => {
    const json = await c.req.json().catch(() => {
      throw new PlumblineError("invalid_json", "the request body is not JSON", 400);
    });
    const body = parseInput(silenceBodySchema, json, "field");
    const created = createSilence(body, deps.newId(), Date.now());
    if (!created.ok) throw new PlumblineError("invalid_input", created.errors.join("; "), 400);
    await deps.addSilence(created.silence);
    return c.json(created.silence, 201);
  });

  app.delete("/api/silences/:id", async (c) => {
    if (!(await deps.deleteSilence(c.req.param("id")))) {
      throw new PlumblineError("not_found", `no silence ${c.req.param("id")}`, 404);
    }
    return c.body(null, 204);
  });

  return app;
}
