/**
 * The web UI in a real browser: headless Chromium from Debian's `chromium` package (installed
 * by .ci/run; nothing is downloaded), driven by playwright-core. The real service (embedded
 * store, an API key set, a webhook channel) receives `npm run demo`'s simulated agents through
 * the real OTel exporter; then the browser logs in, opens the overview, follows a finding to its
 * output and trace, opens an alert, creates and expires a silence, opens the drift chart,
 * runs a backtest and opens a conversation. Every page must show what it is about, use only labelled controls, fit a
 * narrow screen, and leave the console without an error. Screenshots go to test-artifacts/ui/.
 */

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, type DemoResult } from "../demo/demo.ts";
import { startTestService, tempDir, type TestService } from "./helpers/service.ts";
import { startReceiver, type TestReceiver } from "./helpers/test-receiver.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/ui/", import.meta.url));
const KEY = "browser-test-key-42";

let service: TestService;
let receiver: TestReceiver;
let browser: Browser;
let page: Page;
let demo: DemoResult;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  receiver = await startReceiver();
  const rulesDir = tempDir("plumbline-ui-rules-");
  service = await startTestService({
    rulesDir,
    apiKey: KEY,
    evaluate: {
      rulesPollMs: 100,
      traceQuietMs: 500,
      traceIntervalMs: 200,
      windowTickMs: 200,
      windowSettleMs: 0,
    },
    alerts: { channels: { oncall: { type: "webhook", url: `${receiver.url}/hook` } }, tickMs: 200 },
  });
  [demo, browser] = await Promise.all([
    runDemo({
      url: service.url,
      days: 1,
      rulesDir,
      apiKey: KEY,
      waitMs: 30_000,
      log: () => undefined,
    }),
    chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] }),
  ]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
  await receiver?.close();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** What the page's script sees (the browser's globals, untyped here: no DOM lib in tsconfig). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type BrowserGlobal = any;

/** Every visible form control has a label (its own, or aria-label). */
async function unlabelledControls(): Promise<string[]> {
  return page.$$eval("input, select, textarea", (controls: BrowserGlobal[]) =>
    controls
      .filter((c) => c.type !== "hidden")
      .filter((c) => c.labels?.length === 0 && !c.getAttribute("aria-label"))
      .map((c) => String(c.outerHTML)),
  );
}

describe("the web UI in Chromium", { timeout: 60_000 }, () => {
  it("sent the demo's failures, which the service found", () => {
    expect(demo.findings).toBeGreaterThan(0);
    expect(demo.firingAlerts).toBeGreaterThan(0);
    expect(demo.drift).toBe("drift");
  });

  it("asks for the key, then opens the overview with findings, alerts and drift", async () => {
    await page.goto(`${service.url}/`);
    await expect.poll(() => page.url()).toContain("/login?next=%2F");
    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(`${service.url}/`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "plumbline_session")).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    });
    await expect.poll(() => page.locator("h2#rules-h + * a").count()).toBeGreaterThan(0);
    const main = await page.locator("main").innerText();
    expect(main).toContain("orders-agent");
    expect(main).toContain("orders-total-drift");
    expect(main).toMatch(/\d+ alerts firing/);
    // uPlot drew the ingest chart.
    await page.locator(".chart-area .uplot canvas").first().waitFor();
    expect(await unlabelledControls()).toEqual([]);
    await shot("overview");
    // Keyboard: the first Tab reaches the skip link.
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(() => (globalThis as BrowserGlobal).document.activeElement?.textContent),
    ).toBe("Skip to content");
  });

  it("follows a finding to its output, field marked, and its trace", async () => {
    await page.locator("h2#rules-h + * a", { hasText: "orders-parse-complete" }).first().click();
    await page.waitForURL(/\/rules\/orders-parse-complete/);
    await page.locator(".chart-area .uplot canvas").first().waitFor();
    await page
      .getByRole("link", { name: /^output / })
      .first()
      .click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}\?span=[0-9a-f]{16}/);
    const main = page.locator("main");
    await expect
      .poll(() => main.locator("h3", { hasText: "Findings of this output" }).count())
      .toBe(1);
    expect(await main.innerText()).toContain("orders-parse-complete");
    // The failing part is highlighted: a marked JSON value or a block named by the finding.
    expect(await main.locator("pre.json mark, .block.marked").count()).toBeGreaterThan(0);
    const rows = await main.locator("table.waterfall tbody tr").count();
    expect(rows).toBeGreaterThan(2);
    expect(await main.locator("table.waterfall tr.has-findings").count()).toBeGreaterThan(0);
    await main.locator("summary", { hasText: "Span attributes" }).click();
    expect(await main.locator("table.attrs").first().isVisible()).toBe(true);
    await shot("trace");
  });

  it("opens an alert with its timeline, examples and deliveries, then silences and unsilences it", async () => {
    await page.goto(`${service.url}/alerts?state=firing`);
    await page.locator("main table a").first().click();
    await page.waitForURL(/\/alerts\/[0-9a-f]{16}$/);
    const main = page.locator("main");
    expect(await main.locator("h2", { hasText: "Timeline" }).count()).toBe(1);
    await expect
      .poll(async () => (await main.innerText()).includes("Channel oncall"), { timeout: 15_000 })
      .toBe(true);
    await shot("alert");
    await page.getByRole("link", { name: "Silence this alert" }).click();
    await page.waitForURL(/\/silences\?new=1/);
    expect(await page.locator("#m0-name").inputValue()).toBe("rule");
    await page.getByLabel("Why (shown with the silence)").fill("fix being deployed");
    await page.getByLabel("Who").fill("browser test");
    await page.getByRole("button", { name: "Create silence" }).click();
    await page.waitForURL(/\/silences\?created=/);
    expect(await main.innerText()).toContain("fix being deployed");
    expect(await unlabelledControls()).toEqual([]);
    await shot("silences");
    await page.getByRole("button", { name: /Expire the silence fix being deployed/ }).click();
    await page.waitForURL(/\/silences\?expired=/);
    expect(await main.innerText()).toContain("No silence.");
  });

  it("draws the drift rule's statistic against its threshold, with its histograms", async () => {
    await page.goto(`${service.url}/windows/orders-total-drift`);
    await page.locator(".chart-area .uplot canvas").first().waitFor();
    const main = await page.locator("main").innerText();
    expect(main).toContain("drift");
    expect(main).toContain("Share of samples per bin");
    await shot("drift");
  });

  it("runs a backtest with a progress bar and shows what the rule would have found", async () => {
    await page.goto(`${service.url}/backtest?since=2d`);
    const rule = {
      id: "orders-quantity-present",
      severity: "warning",
      match: {
        service: "orders-agent",
        agent: "order-processor",
        kind: "llm",
        where: [{ field: "output.json.sku", exists: true }],
      },
      check: { type: "assert", assertions: [{ field: "output.json.quantity", exists: true }] },
    };
    await page.getByLabel(/or the rule/).fill(JSON.stringify(rule, null, 2));
    await page.getByRole("button", { name: "Run the backtest" }).click();
    await page.locator("#backtest-result h2").waitFor({ timeout: 30_000 });
    const result = await page.locator("#backtest-result").innerText();
    expect(result).toContain("orders-quantity-present");
    expect(result).toMatch(/[1-9]\d* of [\d,]+ evaluated failed/);
    expect(await page.locator("#bt-status").innerText()).toBe("Done.");
    await shot("backtest");
  });

  it("lists conversations and opens one turn by turn, linked to its traces", async () => {
    await page.goto(`${service.url}/conversations?since=2d`);
    const main = page.locator("main");
    expect(await main.locator("h1").innerText()).toBe("Conversations");
    await main.locator("table a").first().click();
    await page.waitForURL(/\/conversations\/[^/?]+$/);
    expect(await main.locator("h1").innerText()).toMatch(/^Conversation /);
    expect(await main.locator("section.turn h2", { hasText: "Turn 1" }).count()).toBe(1);
    await shot("conversation");
    await main
      .getByRole("link", { name: /^trace [0-9a-f]{8}/ })
      .first()
      .click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}$/);
    expect(await main.innerText()).toContain("A turn of conversation");
  });

  it("fits a narrow screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of [
      "/",
      "/rules",
      "/alerts",
      "/windows/orders-total-drift",
      "/conversations",
    ]) {
      await page.goto(`${service.url}${path}`);
      const overflow = await page.evaluate(() => {
        const w = globalThis as BrowserGlobal;
        return w.document.documentElement.scrollWidth - w.innerWidth;
      });
      expect(overflow, path).toBeLessThanOrEqual(1);
    }
    await page.goto(`${service.url}/`);
    await shot("overview-narrow");
  });

  it("left nothing in the console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
