/**
 * The web UI, served at `/` on the HTTP port: server-rendered pages (hono's JSX) over this
 * process's own API, asked in-process (api-client.ts), plus one small script module and uPlot
 * for refresh, forms and charts. Read-only except for silences and backtests, which the API
 * allows. With PLUMBLINE_API_KEY set, pages ask for the key once and keep a session cookie
 * (session.ts); the API itself keeps taking the key in its header.
 */

import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { keyChecker } from "../receive/auth.ts";
import { createApiClient, type Fetch } from "./api-client.ts";
import { assetAt } from "./assets.ts";
import { alertPage, alertsPage } from "./alerts-page.tsx";
import { backtestPage, runBacktest } from "./backtest-page.tsx";
import { ErrorPage } from "./layout.tsx";
import { LoginPage } from "./login-page.tsx";
import { overviewPage } from "./overview-page.tsx";
import type { PageContext, Rendered } from "./page-context.tsx";
import { rulePage, rulesPage } from "./rules-page.tsx";
import {
  SESSION_COOKIE,
  SESSION_MS,
  createSessionToken,
  isSameOrigin,
  isValidSession,
} from "./session.ts";
import { conversationPage, conversationsPage } from "./conversations-page.tsx";
import { createSilenceFromForm, expireSilence, silencesPage } from "./silences-page.tsx";
import { tracePage } from "./trace-page.tsx";
import { windowPage, windowsPage } from "./windows-page.tsx";

export interface UiOptions {
  /** Answers API requests in-process: the application the UI is mounted in. */
  api: Fetch;
  apiKey?: string | undefined;
  /** Which parts of the API this process serves (role ingest serves no rules nor alerts). */
  features: { rules: boolean; alerts: boolean };
  /** Unix ms; Date.now unless a test sets the clock. */
  now?: () => number;
}

// Styles: the waterfall's and histograms' bar positions are style attributes, and uPlot sets
// styles from script. Scripts: only this process's own files.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function uiRoutes(options: UiOptions): Hono {
  const app = new Hono();
  const api = createApiClient(options.api, options.apiKey);
  const now = () => options.now?.() ?? Date.now();
  const apiKey = options.apiKey;
  const isKey = apiKey === undefined ? undefined : keyChecker([apiKey]);

  const loggedIn = (c: Context) =>
    apiKey !== undefined && isValidSession(apiKey, getCookie(c, SESSION_COOKIE), now());
  const contextOf = (c: Context): PageContext => ({
    api,
    query: Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v[0] ?? ""])),
    now: now(),
    loggedIn: loggedIn(c),
    features: options.features,
  });
  const render = (c: Context, rendered: Rendered) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    c.header("cache-control", "no-store");
    return c.html(`<!doctype html>${String(rendered.body)}`, rendered.status as 200);
  };
  const fail = (c: Context, status: 400 | 401 | 403 | 404 | 500, title: string, message: string) =>
    render(c, {
      status,
      body: <ErrorPage status={status} title={title} message={message} loggedIn={loggedIn(c)} />,
    });

  app.get("/ui/assets/:name", (c) => {
    const asset = assetAt(c.req.path);
    if (asset === undefined) return fail(c, 404, "Not found", `no asset ${c.req.path}`);
    c.header("content-type", asset.type);
    c.header("x-content-type-options", "nosniff");
    c.header(
      "cache-control",
      c.req.query("v") === undefined ? "no-cache" : "public, max-age=31536000, immutable",
    );
    return c.body(new Uint8Array(asset.body));
  });

  app.get("/login", (c) => {
    if (apiKey === undefined || loggedIn(c)) return c.redirect(safeNext(c.req.query("next")), 303);
    return render(c, {
      status: 200,
      body: <LoginPage next={safeNext(c.req.query("next"))} insecure={isInsecure(c)} />,
    });
  });

  app.post("/login", async (c) => {
    if (apiKey === undefined || isKey === undefined) return c.redirect("/", 303);
    if (!isSameOrigin(c.req.raw.headers))
      return fail(c, 403, "Refused", "this form was sent from another site");
    const form = await formOf(c);
    const next = safeNext(form["next"]);
    if (!isKey(form["key"])) {
      return render(c, {
        status: 401,
        body: (
          <LoginPage
            next={next}
            error="That is not this Plumbline's API key."
            insecure={isInsecure(c)}
          />
        ),
      });
    }
    setCookie(c, SESSION_COOKIE, createSessionToken(apiKey, now()), {
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_MS / 1000,
    });
    return c.redirect(next, 303);
  });

  app.post("/logout", (c) => {
    if (!isSameOrigin(c.req.raw.headers))
      return fail(c, 403, "Refused", "this form was sent from another site");
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
    return c.redirect(apiKey === undefined ? "/" : "/login", 303);
  });

  // Every page below: the key's session when a key is set; posts only from our own pages.
  const PAGES = [
    "/",
    "/rules",
    "/rules/*",
    "/traces",
    "/traces/*",
    "/alerts",
    "/alerts/*",
    "/silences",
    "/silences/*",
    "/windows",
    "/windows/*",
    "/conversations",
    "/conversations/*",
    "/backtest",
    "/backtest/*",
  ];
  for (const path of PAGES) {
    app.use(path, async (c, next) => {
      if (apiKey !== undefined && !loggedIn(c)) {
        if (c.req.method === "GET") {
          const url = new URL(c.req.url);
          return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
        }
        return fail(c, 401, "Log in first", "this page needs the API key: open /login");
      }
      if (c.req.method !== "GET" && !isSameOrigin(c.req.raw.headers)) {
        return fail(c, 403, "Refused", "this form was sent from another site");
      }
      return next();
    });
  }

  app.get("/", async (c) => render(c, await overviewPage(contextOf(c))));
  app.get("/rules", async (c) => render(c, await rulesPage(contextOf(c))));
  app.get("/rules/:id", async (c) => render(c, await rulePage(contextOf(c), c.req.param("id"))));
  app.get("/traces", (c) =>
    fail(c, 400, "Which trace?", "a trace page needs a trace id: /traces/<32 hex digits>"),
  );
  app.get("/traces/:traceId", async (c) =>
    render(c, await tracePage(contextOf(c), c.req.param("traceId"))),
  );
  app.get("/alerts", async (c) => render(c, await alertsPage(contextOf(c))));
  app.get("/alerts/:fingerprint", async (c) =>
    render(c, await alertPage(contextOf(c), c.req.param("fingerprint"))),
  );
  app.get("/silences", async (c) => render(c, await silencesPage(contextOf(c))));
  app.post("/silences", async (c) => {
    const outcome = await createSilenceFromForm(contextOf(c), await formOf(c));
    return "redirect" in outcome ? c.redirect(outcome.redirect, 303) : render(c, outcome);
  });
  app.post("/silences/:id/expire", async (c) => {
    const outcome = await expireSilence(api, c.req.param("id"));
    if (outcome.ok) return c.redirect(outcome.redirect, 303);
    return fail(
      c,
      outcome.status === 404 ? 404 : 500,
      "Could not expire the silence",
      outcome.message,
    );
  });
  app.get("/windows", async (c) => render(c, await windowsPage(contextOf(c))));
  app.get("/windows/:id", async (c) =>
    render(c, await windowPage(contextOf(c), c.req.param("id"))),
  );
  app.get("/conversations", async (c) => render(c, await conversationsPage(contextOf(c))));
  app.get("/conversations/:id", async (c) =>
    render(c, await conversationPage(contextOf(c), c.req.param("id"))),
  );
  app.get("/backtest", (c) => render(c, backtestPage(contextOf(c))));
  app.post("/backtest/run", async (c) => {
    const body: unknown = await c.req.json().catch(() => undefined);
    if (body === undefined) return fail(c, 400, "Bad request", "the backtest request is not JSON");
    return runBacktest(api, body);
  });

  app.onError((error, c) => {
    console.error("ui: unhandled error", error);
    return fail(
      c,
      500,
      "Something went wrong",
      "The page could not be made; the service log has the details.",
    );
  });

  return app;
}

async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody().catch(() => ({}));
  return Object.fromEntries(
    Object.entries(body).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])),
  );
}

/** A path on this site to go back to after logging in; anything else is the overview. */
function safeNext(next: string | undefined): string {
  return next !== undefined &&
    next.startsWith("/") &&
    !next.startsWith("//") &&
    !next.startsWith("/\\")
    ? next
    : "/";
}

/** Plain HTTP to a host other than this machine: the browser will drop a Secure cookie. */
function isInsecure(c: Context): boolean {
  const url = new URL(c.req.url);
  const proto = c.req.header("x-forwarded-proto") ?? url.protocol.replace(":", "");
  return proto !== "https" && !LOOPBACK.has(url.hostname);
}
