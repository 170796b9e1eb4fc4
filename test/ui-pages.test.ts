/**
 * The web UI's pages through app.request() on a seeded embedded store (test/helpers/ui-seed.ts):
 * each page's content and links, the same numbers as the API's JSON, the API key's login and
 * session cookie, and bad parameters answered with a page that says what was wrong (never a
 * stack trace).
 */

import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type AppDeps } from "../src/api/app.ts";
import type { GroupCommitter } from "../src/store/group-commit.ts";
import type { Store } from "../src/store/store.ts";
import type { Json } from "./helpers/http.ts";
import { openTestStore } from "./helpers/store.ts";
import {
  AGENT,
  FINGERPRINT,
  LLM_SPAN,
  ROOT_SPAN,
  SERVICE,
  TOOL_SPAN,
  TRACE_ID,
  driftRule,
  fakeAlertsApi,
  fakeRulesApi,
  makeSilence,
  schemaRule,
  seedStore,
} from "./helpers/ui-seed.ts";

const NOW = Date.now();
const KEY = "ui-test-key-0123456789";

let store: Store;
let alerts: ReturnType<typeof fakeAlertsApi>;

function appWith(overrides: { [K in keyof AppDeps]?: AppDeps[K] | undefined } = {}): Hono {
  alerts = fakeAlertsApi(NOW);
  return createApp({
    store,
    committer: { health: () => ({ ok: true }) } as unknown as GroupCommitter,
    stats: { flush: async () => undefined },
    ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
    maxBodyBytes: 1 << 20,
    ingestKeys: [],
    rules: fakeRulesApi(store, NOW),
    alerts,
    ...(overrides as Partial<AppDeps>),
  });
}

let app: Hono;

beforeAll(async () => {
  store = await openTestStore();
  await seedStore(store, NOW);
  app = appWith();
});

afterAll(async () => {
  await store.close();
});

async function page(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; html: string; res: Response }> {
  const res = await app.request(path, init);
  return { status: res.status, html: await res.text(), res };
}

async function api(path: string): Promise<Json> {
  const res = await app.request(path);
  expect(res.status, path).toBe(200);
  return res.json();
}

/** The text of the page, tags removed and entities decoded, whitespace collapsed. */
function textOf(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&")
    .replace(/\s+/g, " ");
}

/** An error page: the status, the message in words, HTML not JSON, and no stack trace. */
function expectErrorPage(
  result: { status: number; html: string; res: Response },
  status: number,
  message: string,
) {
  expect(result.status).toBe(status);
  expect(result.res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(textOf(result.html)).toContain(message);
  expect(result.html).toContain('role="alert"');
  expect(result.html).not.toMatch(/at .*\.tsx?:\d+/);
}

describe("overview", () => {
  it("shows alerts, failing rules, breached window rules, services and ingest, as the API counts them", async () => {
    const { status, html, res } = await page("/");
    expect(status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const text = textOf(html);
    const overview = await api("/api/overview?since=24h");
    const activity = await api("/api/activity/rules?since=24h");
    expect(overview.outputs).toEqual([
      expect.objectContaining({ service: SERVICE, agent: AGENT, outputs: 2 }),
    ]);
    expect(activity.rules).toEqual([
      expect.objectContaining({ ruleId: schemaRule.id, evaluated: 10, failed: 1 }),
    ]);
    // The firing alert, linked.
    expect(html).toContain(`href="/alerts/${FINGERPRINT}"`);
    // The failing rule with its rate and counts, linked to its page.
    expect(html).toContain(`href="/rules/${schemaRule.id}?since=24h"`);
    expect(text).toMatch(new RegExp(`${schemaRule.id} 10% 1 10`));
    // The window rule whose last evaluation drifted.
    expect(html).toContain(`href="/windows/${driftRule.id}"`);
    expect(text).toContain("totals moved");
    // Outputs per service and agent, ingest totals and unrecognised spans.
    expect(text).toContain(`${SERVICE} ${AGENT} 2`);
    expect(text).toContain(`${overview.ingest.totals.received} spans received`);
    expect(text).toContain("2 rejected");
    expect(text).toContain("db.query (5)");
    // A chart for the browser to draw, and the script that draws it.
    expect(html).toContain("data-chart=");
    expect(html).toMatch(/src="\/ui\/assets\/uplot\.js\?v=[0-9a-f]{12}"/);
  });

  it("takes the period from the URL and refuses one that is not a time", async () => {
    expect((await page("/?since=7d")).html).toContain('<option value="7d" selected');
    expectErrorPage(await page("/?since=yesterday"), 400, '"yesterday" is not a time');
  });
});

describe("rules", () => {
  it("lists every rule file with status, version and check type, and a broken file's problems", async () => {
    const { status, html } = await page("/rules");
    expect(status).toBe(200);
    const text = textOf(html);
    const rules = (await api("/api/rules")).rules as Json[];
    for (const rule of rules.filter((r) => r.id !== undefined)) {
      expect(text).toContain(rule.id);
      if (rule.version !== undefined) expect(text).toContain(rule.version);
    }
    expect(text).toContain("json_schema");
    expect(text).toContain('refund-limit.json /check/assertions/0/less_than "500" is not a number');
  });

  it("shows one rule over time with its latest findings, each linked to its output", async () => {
    const { status, html } = await page(`/rules/${schemaRule.id}`);
    expect(status).toBe(200);
    const text = textOf(html);
    expect(text).toContain("1 failed of 10 evaluated (10%)");
    expect(html).toContain(`href="/traces/${TRACE_ID}?span=${LLM_SPAN}"`);
    expect(text).toContain("output.json/quantity");
  });

  it("answers an unknown rule with a page that says so", async () => {
    expectErrorPage(
      await page("/rules/no-such-rule"),
      404,
      'No rule file has the id "no-such-rule"',
    );
  });
});

describe("finding → output → trace", () => {
  it("shows the failing output with its field marked, and the trace as a waterfall", async () => {
    const { status, html } = await page(`/traces/${TRACE_ID}?span=${LLM_SPAN}`);
    expect(status).toBe(200);
    const text = textOf(html);
    // The output: input, output JSON pretty-printed, model, tokens, finish reason.
    expect(text).toContain("system: Extract the order as JSON.");
    expect(text).toContain("gpt-4o-2024-08-06");
    expect(text).toContain("Input tokens 321");
    expect(text).toContain("Finish reason stop");
    expect(html).toContain('<span class="j-key">&quot;sku&quot;</span>');
    // quantity is missing: the object that lacks it is marked, and the finding is listed.
    expect(html).toMatch(/<mark>\{/);
    expect(text).toContain('output.json is missing the required property "quantity"');
    // The waterfall: every span, the root first, the failing output marked.
    const rows = html.split('<table class="waterfall">')[1]?.split("</table>")[0] ?? "";
    expect(rows.match(/<tr/g)?.length).toBe(4); // the header and three spans
    expect(rows.indexOf(ROOT_SPAN)).toBeLessThan(rows.indexOf(LLM_SPAN));
    expect(rows).toContain("1 finding");
    expect(html).toContain(`href="/traces/${TRACE_ID}?span=${TOOL_SPAN}"`);
    // Raw attributes on demand.
    expect(html).toContain("<details><summary>Span attributes");
  });

  it("shows a tool call's arguments and result", async () => {
    const html = (await page(`/traces/${TRACE_ID}?span=${TOOL_SPAN}`)).html;
    const text = textOf(html);
    expect(text).toContain("Tool arguments");
    expect(html).toContain(
      '<span class="j-key">&quot;inStock&quot;</span>: <span class="j-number">7</span>',
    );
  });

  it("answers a malformed trace id, an unknown trace and an unknown span with clear pages", async () => {
    expectErrorPage(
      await page("/traces/not-a-trace"),
      400,
      'trace id "not-a-trace" is not 32 hex digits',
    );
    expectErrorPage(
      await page(`/traces/${"0".repeat(32)}`),
      404,
      `no spans stored for trace ${"0".repeat(32)}`,
    );
    expectErrorPage(
      await page(`/traces/${TRACE_ID}?span=zz`),
      400,
      'span id "zz" is not 16 hex digits',
    );
    expectErrorPage(
      await page(`/traces/${TRACE_ID}?span=${"1".repeat(16)}`),
      404,
      `has no span ${"1".repeat(16)}`,
    );
  });
});

describe("alerts", () => {
  it("lists alerts by state and shows one with its timeline, examples and every delivery attempt", async () => {
    const list = await page("/alerts?state=firing");
    expect(list.status).toBe(200);
    expect(list.html).toContain(`href="/alerts/${FINGERPRINT}"`);
    const { status, html } = await page(`/alerts/${FINGERPRINT}`);
    expect(status).toBe(200);
    const text = textOf(html);
    expect(text).toContain("pending → firing");
    expect(html).toContain(`href="/traces/${TRACE_ID}?span=${LLM_SPAN}"`);
    expect(text).toContain("Channel oncall");
    expect(text).toContain("503 Service Unavailable");
    expect(text).toContain("2026-01-01 10:05:00.000"); // next retry
    expect(html).toContain(
      `href="/silences?new=1&amp;rule=${schemaRule.id}&amp;label.service=${SERVICE}&amp;label.agent=${AGENT}"`,
    );
  });

  it("answers an unknown alert and an unknown state with clear pages", async () => {
    expectErrorPage(await page("/alerts/ffffffffffffffff"), 404, "no alert ffffffffffffffff");
    expectErrorPage(
      await page("/alerts?state=on-fire"),
      400,
      'state "on-fire" is not one of firing, pending, resolved',
    );
  });
});

describe("silences", () => {
  const form = (fields: Record<string, string>) => ({
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: "http://localhost",
      host: "localhost",
    },
    body: new URLSearchParams(fields).toString(),
  });

  it("prefills matchers from an alert, creates a silence from the form and expires it", async () => {
    const prefilled = await page(`/silences?new=1&rule=${schemaRule.id}&label.service=${SERVICE}`);
    expect(prefilled.html).toContain(`value="${schemaRule.id}"`);
    expect(prefilled.html).toContain(`value="${SERVICE}"`);
    const created = await app.request(
      "/silences",
      form({
        "m0.name": "service",
        "m0.op": "=",
        "m0.value": SERVICE,
        duration: "3600000",
        comment: "deploying the fix",
        createdBy: "ana",
      }),
    );
    expect(created.status).toBe(303);
    expect(created.headers.get("location")).toBe("/silences?created=silence-1");
    expect(alerts.silenceList).toHaveLength(1);
    const listed = textOf((await page("/silences?created=silence-1")).html);
    expect(listed).toContain(`service="${SERVICE}"`);
    expect(listed).toContain("deploying the fix");
    const expired = await app.request("/silences/silence-1/expire", form({}));
    expect(expired.status).toBe(303);
    expect(alerts.silenceList).toHaveLength(0);
    expectErrorPage(
      await page("/silences/silence-1/expire", form({})),
      404,
      "no silence silence-1",
    );
  });

  it("shows the API's message for a bad silence, keeping what was typed", async () => {
    const result = await page(
      "/silences",
      form({
        "m0.name": "service",
        "m0.value": "",
        duration: "3600000",
        comment: "x",
        createdBy: "",
      }),
    );
    expect(result.status).toBe(400);
    expect(textOf(result.html)).toContain("must say who");
    expect(result.html).toContain('value="service"');
    alerts.silenceList.push(makeSilence("kept", NOW));
  });

  it("refuses a form posted from another site", async () => {
    const res = await app.request("/silences", {
      ...form({}),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
        host: "localhost",
      },
    });
    expect(res.status).toBe(403);
  });
});

describe("drift and rate rules", () => {
  it("lists each window rule's latest evaluation", async () => {
    const { status, html } = await page("/windows");
    expect(status).toBe(200);
    const text = textOf(html);
    expect(text).toContain(driftRule.id);
    expect(text).toMatch(/drift drift · ks/);
    const windows = (await api("/api/windows")).windows as Json[];
    expect(windows[0]).toMatchObject({
      ruleId: driftRule.id,
      status: "drift",
      inPeriod: { evaluations: 3, drifted: 1, insufficient: 1 },
    });
    expect(text).toContain("1 / 1 / 3");
  });

  it("shows the statistic against its threshold over time, insufficient ones as such, and histograms", async () => {
    const { status, html } = await page(`/windows/${driftRule.id}`);
    expect(status).toBe(200);
    const text = textOf(html);
    expect(text).toContain("1 with too few samples to judge (insufficient)");
    const chart = JSON.parse(
      (html.match(/data-chart="([^"]+)"/)?.[1] ?? "").replaceAll("&quot;", '"'),
    ) as { series: { label: string; values: (number | null)[] }[] };
    expect(chart.series.map((s) => s.label)).toEqual(["p-value", "threshold", "insufficient"]);
    expect(chart.series[0]?.values).toEqual([null, 0.4, 1e-20]); // 1e-30 drawn at the floor
    expect(chart.series[2]?.values).toEqual([0.05, null, null]); // drawn on its threshold
    // The newest evaluation's histograms: shares per bin, current against reference.
    expect(text).toContain("[100, +inf) 98% 39 4% 10");
    // Another evaluation, picked by its window end.
    const evaluations = (await api(`/api/rules/${driftRule.id}/evaluations`)).evaluations as Json[];
    const older = await page(
      `/windows/${driftRule.id}?at=${encodeURIComponent(evaluations[1].windowEnd)}`,
    );
    expect(textOf(older.html)).toContain("[100, +inf) 2.5% 1 4% 10");
  });

  it("narrows the evaluations to the windows ending in a period from the URL", async () => {
    const evaluations = (await api(`/api/rules/${driftRule.id}/evaluations`)).evaluations as Json[];
    expect(evaluations).toHaveLength(3);
    const [newest, middle, oldest] = evaluations.map((e) => String(e.windowEnd));
    const ends = async (params: string) =>
      ((await api(`/api/rules/${driftRule.id}/evaluations?${params}`)).evaluations as Json[]).map(
        (e) => e.windowEnd,
      );
    expect(await ends(`until=${encodeURIComponent(middle!)}`)).toEqual([middle, oldest]);
    expect(await ends(`since=${encodeURIComponent(middle!)}`)).toEqual([newest]);
    expect(
      await ends(`since=${encodeURIComponent(oldest!)}&until=${encodeURIComponent(middle!)}`),
    ).toEqual([middle]);

    const { status, html } = await page(
      `/windows/${driftRule.id}?until=${encodeURIComponent(middle!)}`,
    );
    expect(status).toBe(200);
    const chart = JSON.parse(
      (html.match(/data-chart="([^"]+)"/)?.[1] ?? "").replaceAll("&quot;", '"'),
    ) as { x: number[] };
    expect(chart.x).toEqual([Date.parse(oldest!) / 1000, Date.parse(middle!) / 1000]); // uPlot: seconds
    // The period stays in the page's own links and form.
    expect(html).toContain(`name="until" value="${middle}"`);
    expect(html).toContain(`until=${encodeURIComponent(middle!)}`);
    expectErrorPage(
      await page(`/windows/${driftRule.id}?since=${encodeURIComponent(newest!)}`),
      404,
      "has a window ending in the period",
    );
    expectErrorPage(
      await page(`/windows/${driftRule.id}?since=1h&until=2h`),
      400,
      'query parameter "until" is not after "since"',
    );
    expectErrorPage(
      await page(`/windows/${driftRule.id}?until=yesterday`),
      400,
      '"yesterday" is not a time',
    );
  });

  it("answers bad parameters and an unknown rule with clear pages", async () => {
    expectErrorPage(
      await page(`/windows/${driftRule.id}?limit=0`),
      400,
      'limit "0" is not a whole number',
    );
    expectErrorPage(
      await page(`/windows/${driftRule.id}?at=2001-01-01T00:00:00Z`),
      404,
      "has no evaluation of a window ending at",
    );
    expectErrorPage(
      await page("/windows/no-such-rule"),
      404,
      'No evaluation is stored for a window rule "no-such-rule"',
    );
  });
});

describe("backtest", () => {
  const run = (body: unknown, origin = "http://localhost") =>
    app.request("/backtest/run", {
      method: "POST",
      headers: { "content-type": "application/json", origin, host: "localhost" },
      body: JSON.stringify(body),
    });

  it("offers the form with the period from the URL", async () => {
    const { status, html } = await page("/backtest?since=30d&service=orders-agent");
    expect(status).toBe(200);
    expect(html).toContain('value="30d"');
    expect(html).toContain('value="orders-agent"');
    expect(html).toContain('<progress id="bt-bar"');
  });

  it("streams the API's progress, then the result rendered", async () => {
    const res = await run({ rules: [{ file: "pasted", rule: { id: "try-me" } }], since: "7d" });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    expect(lines.slice(0, 2)).toEqual([
      { progress: { done: 1, total: 2 } },
      { progress: { done: 2, total: 2 } },
    ]);
    const html = lines[2].html as string;
    expect(textOf(html)).toContain("3 of 40 evaluated failed (7.5%), 3 findings");
    expect(html).toContain(`href="/traces/${TRACE_ID}?span=${LLM_SPAN}"`);
    // When it would have alerted.
    expect(textOf(html)).toContain("Its alerts would have fired once");
    expect(textOf(html)).toContain(`service=${SERVICE}, agent=${AGENT}`);
  });

  it("shows a judge rule's plan: nothing sent, the calls and cost of judging its sample", async () => {
    const res = await run({ rules: [{ file: "pasted", rule: { id: "judge-try" } }], since: "7d" });
    const html = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json)
      .at(-1)?.html as string;
    expect(textOf(html)).toContain(
      "A judge rule: nothing was sent to the judge. Judging a sample of 100 of its 4,210 matching outputs takes 88 calls (12 answered by the cache, free), ~66,880 tokens, ~$0.0124",
    );
  });

  it("shows a rule's problems, and refuses requests from other sites", async () => {
    const res = await run({ rules: [{ file: "pasted", rule: {} }], since: "7d" });
    expect(res.status).toBe(422);
    const [line] = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    expect(textOf(line.html)).toContain("pasted /id : is required");
    expect((await run({ rules: [], since: "7d" }, "https://evil.example")).status).toBe(403);
  });
});

describe("the API key", () => {
  it("asks for it once, keeps a secure HTTP-only session cookie, while the API keeps taking the header", async () => {
    const keyed = appWith({ apiKey: KEY });
    const first = await keyed.request("/rules?since=7d");
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe(
      `/login?next=${encodeURIComponent("/rules?since=7d")}`,
    );
    const login = await keyed.request("/login?next=%2Frules");
    expect(await login.text()).toContain('type="password"');
    const post = (key: string) =>
      keyed.request("/login", {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: "http://localhost",
          host: "localhost",
        },
        body: new URLSearchParams({ key, next: "/rules" }).toString(),
      });
    const wrong = await post("nope");
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("not this Plumbline");
    const right = await post(KEY);
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/rules");
    const cookie = right.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^plumbline_session=\d+\.[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    const session = cookie.split(";")[0] as string;
    const withSession = await keyed.request("/rules", { headers: { cookie: session } });
    expect(withSession.status).toBe(200);
    expect(await withSession.text()).toContain("Log out");
    // A forged or stale cookie is not a session.
    const forged = session.replace(/\.[^.]+$/, `.${"A".repeat(43)}`);
    expect((await keyed.request("/rules", { headers: { cookie: forged } })).status).toBe(303);
    // The API: the header, as before; the cookie alone is not enough.
    expect((await keyed.request("/api/rules", { headers: { cookie: session } })).status).toBe(401);
    expect(
      (await keyed.request("/api/rules", { headers: { authorization: `Bearer ${KEY}` } })).status,
    ).toBe(200);
    // Form posts need the session too.
    const silence = await keyed.request("/silences", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "http://localhost",
        host: "localhost",
      },
      body: "comment=x",
    });
    expect(silence.status).toBe(401);
  });

  it("sends a login back only to a page of this site", async () => {
    const keyed = appWith({ apiKey: KEY });
    const res = await keyed.request("/login", {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "http://localhost",
        host: "localhost",
      },
      body: new URLSearchParams({ key: KEY, next: "//evil.example/x" }).toString(),
    });
    expect(res.headers.get("location")).toBe("/");
  });
});

describe("roles and assets", () => {
  it("in a process without rules and alerts (role ingest), says where they are and still shows the store", async () => {
    const ingestOnly = appWith({ rules: undefined, alerts: undefined });
    const rules = await ingestOnly.request("/rules");
    expect(rules.status).toBe(200);
    expect(await rules.text()).toContain("role ingest");
    const overview = await ingestOnly.request("/");
    expect(overview.status).toBe(200);
    expect(textOf(await overview.text())).toContain(`${SERVICE} ${AGENT} 2`);
    expect((await ingestOnly.request(`/traces/${TRACE_ID}`)).status).toBe(200);
  });

  it("serves its stylesheet, script and uPlot from the package, cached by content hash", async () => {
    const html = (await page("/")).html;
    for (const name of ["plumbline.css", "plumbline.js", "uplot.js", "uplot.css"]) {
      const path = html.match(
        new RegExp(`/ui/assets/${name.replace(".", "\\.")}\\?v=[0-9a-f]{12}`),
      )?.[0];
      expect(path, name).toBeDefined();
      const res = await app.request(path as string);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("cache-control")).toContain("immutable");
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(500);
    }
    expect((await app.request("/ui/assets/nope.js")).status).toBe(404);
  });
});
