/**
 * Paging through findings on a real embedded store: following nextCursor with the same filters
 * reads a period whole, every finding exactly once, in either order, even when hundreds of
 * findings share one timestamp; `until` is exclusive; a malformed cursor is a 400 naming it.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/api/app.ts";
import type { RulesApiDeps } from "../src/api/rules-routes.ts";
import type { Finding } from "../src/rules/findings.ts";
import type { GroupCommitter } from "../src/store/group-commit.ts";
import type { Store } from "../src/store/store.ts";
import {
  decodeCheckCursor,
  encodeCheckCursor,
  listChecks,
  listChecksPage,
  writeFindings,
  type CheckFilter,
  type CheckOrder,
} from "../src/store/tables/checks.ts";
import { makeFinding } from "./helpers/findings.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

// 2026-01-31T12:00:00.250Z; each test writes into its own millisecond or second.
const SECONDS = 1769860800;

/** 250 findings of one nanosecond whose keys differ in every column after the time. */
function sameInstant(time: string, count: number): Finding[] {
  return Array.from({ length: count }, (_, i) =>
    makeFinding({
      time,
      ruleId: `r-${i % 3}`,
      traceId: String(i % 5).repeat(32),
      spanId: (i % 25).toString(16).padStart(16, "0"),
      code: Math.floor(i / 25) % 2 === 0 ? "assertion_failed" : "schema_mismatch",
      path: `output.json.f${Math.floor(i / 50)}`,
      labels: { ...makeFinding().labels, service: `svc-${i % 2}` },
    }),
  );
}

function keyOf(row: Record<string, unknown>): string {
  return ["Timestamp", "RuleId", "ServiceName", "TraceId", "SpanId", "Code", "Field"]
    .map((column) => String(row[column]))
    .join("|");
}

/** Every page of a filter, following nextCursor until it is null. */
async function readAll(filter: CheckFilter): Promise<{ pages: number[]; keys: string[] }> {
  const pages: number[] = [];
  const keys: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await listChecksPage(store, {
      ...filter,
      cursor: cursor === null ? undefined : decodeCheckCursor(cursor),
    });
    pages.push(page.checks.length);
    keys.push(...page.checks.map(keyOf));
    cursor = page.nextCursor;
    if (pages.length > 100) throw new Error("pagination does not end");
  } while (cursor !== null);
  return { pages, keys };
}

describe("paging through check_results", () => {
  it("returns 250 findings of one millisecond exactly once at limit 100, either order", async () => {
    await writeFindings(store, sameInstant(`${SECONDS}.250000000`, 250));
    const period = { since: SECONDS * 1000 + 250, until: SECONDS * 1000 + 251 };
    const whole = (await listChecks(store, { ...period, limit: 10_000 })) as Record<
      string,
      unknown
    >[];
    expect(whole).toHaveLength(250);

    for (const order of ["desc", "asc"] as CheckOrder[]) {
      const { pages, keys } = await readAll({ ...period, order, limit: 100 });
      expect(pages).toEqual([100, 100, 50]);
      expect(new Set(keys).size).toBe(250);
      const expected = whole.map(keyOf);
      expect(keys).toEqual(order === "desc" ? expected : [...expected].reverse());
    }
  });

  it("keeps the filters across pages and ends without an empty page", async () => {
    await writeFindings(store, sameInstant(`${SECONDS + 10}.000000000`, 240));
    const period = { since: (SECONDS + 10) * 1000, until: (SECONDS + 11) * 1000 };
    // r-0 holds 80 of the 240: two full pages, and the second is the last.
    const { pages, keys } = await readAll({ ...period, rule: "r-0", limit: 40 });
    expect(pages).toEqual([40, 40]);
    expect(new Set(keys).size).toBe(80);
    expect(keys.every((key) => key.split("|")[1] === "r-0")).toBe(true);

    const services = await readAll({ ...period, service: "svc-1", order: "asc", limit: 50 });
    expect(services.pages).toEqual([50, 50, 20]);
    expect(services.keys.every((key) => key.split("|")[2] === "svc-1")).toBe(true);
  });

  it("continues after the exact nanosecond of a page's last finding", async () => {
    const findings = Array.from({ length: 10 }, (_, i) =>
      makeFinding({ time: `${SECONDS + 20}.00000000${i}`, spanId: "00000000000000aa" }),
    );
    await writeFindings(store, findings);
    const period = { since: (SECONDS + 20) * 1000, until: (SECONDS + 21) * 1000 };
    const { pages, keys } = await readAll({ ...period, order: "asc", limit: 3 });
    expect(pages).toEqual([3, 3, 3, 1]);
    expect(keys.map((key) => key.split("|")[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => expect.stringMatching(new RegExp(`\\.00000000${i}$`))),
    );
  });

  it("pages across the hour a clock goes back, in any time zone", async () => {
    // 2025-11-02 05:30Z and 06:30Z are both 01:30 in New York (run with TZ=America/New_York):
    // a cursor holding the local Timestamp text would not know which it meant.
    const fold = [1762061400, 1762065000].flatMap((s) =>
      ["01", "02", "03"].map((n) =>
        makeFinding({
          ruleId: "r-fold",
          time: `${s}.000000000`,
          spanId: `${s}${n}`.padStart(16, "0"),
        }),
      ),
    );
    await writeFindings(store, fold);
    // The span ids tell the two instants apart; the Timestamp text does not, there.
    const spans = fold.map((finding) => finding.spanId);
    for (const order of ["asc", "desc"] as CheckOrder[]) {
      const { pages, keys } = await readAll({ rule: "r-fold", order, limit: 2 });
      expect(pages).toEqual([2, 2, 2]);
      expect(keys.map((key) => key.split("|")[4])).toEqual(
        order === "asc" ? spans : [...spans].reverse(),
      );
    }
  });

  it("takes since inclusive and until exclusive", async () => {
    const at = (s: number) =>
      makeFinding({ ruleId: "r-bounds", time: `${s}.000000000`, spanId: `${s}`.padStart(16, "0") });
    await writeFindings(store, [at(SECONDS + 30), at(SECONDS + 31), at(SECONDS + 32)]);
    const rows = (await listChecks(store, {
      rule: "r-bounds",
      since: (SECONDS + 30) * 1000,
      until: (SECONDS + 32) * 1000,
      order: "asc",
      limit: 10,
    })) as Record<string, unknown>[];
    expect(rows.map((row) => Number(row["SpanId"]))).toEqual([SECONDS + 30, SECONDS + 31]);
    const page = await listChecksPage(store, { rule: "r-bounds", limit: 10 });
    expect(page.checks).toHaveLength(3);
    expect(page.nextCursor).toBeNull();
  });
});

describe("check cursors", () => {
  const cursor = {
    time: "1769860800.250000001",
    ruleId: "r",
    service: "svc",
    traceId: "a".repeat(32),
    spanId: "b".repeat(16),
    code: "assertion_failed",
    field: "output.json.amount",
  };

  it("round-trips and rejects anything encodeCheckCursor did not make", () => {
    const text = encodeCheckCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCheckCursor(text)).toEqual(cursor);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "",
      "not a cursor!",
      `${text}=`,
      json({ ...cursor }),
      json(["1769860800", "r", "svc", "t", "s", "c", "f"]),
      json(["1769860800.250000001", "r", "svc", "t", "s", "c"]),
      json(["1769860800.250000001", "r", "svc", "t", "s", "c", 7]),
      Buffer.from("[not json").toString("base64url"),
    ]) {
      expect(decodeCheckCursor(bad), bad).toBeUndefined();
    }
  });
});

describe("GET /api/checks", () => {
  const rules: RulesApiDeps = {
    get store() {
      return store;
    },
    statuses: () => [],
    validate: () => ({ ok: false, errors: [] }),
    activity: () => new Map(),
    backtest: () => {
      throw new Error("no backtests in these tests");
    },
  };
  const app = () =>
    createApp({
      rules,
      store,
      committer: { health: () => ({ ok: true }) } as unknown as GroupCommitter,
      stats: { flush: async () => undefined },
      ingest: async () => ({ ok: true, rejectedSpans: 0, errorMessage: "" }),
      maxBodyBytes: 1 << 20,
      ingestKeys: [],
    });

  interface Page {
    checks: Record<string, unknown>[];
    nextCursor: string | null;
  }

  it("pages a period through nextCursor", async () => {
    await writeFindings(store, sameInstant(`${SECONDS + 40}.500000000`, 250));
    const since = new Date((SECONDS + 40) * 1000).toISOString();
    const until = String((SECONDS + 41) * 1000);
    const keys: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ since, until, limit: "100", order: "asc" });
      if (cursor !== null) query.set("cursor", cursor);
      const res = await app().request(`/api/checks?${query}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      sizes.push(page.checks.length);
      keys.push(...page.checks.map(keyOf));
      expect(page.checks.every((row) => !("CursorNanos" in row))).toBe(true);
      cursor = page.nextCursor;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([100, 100, 50]);
    expect(new Set(keys).size).toBe(250);
  });

  it("answers 400 naming a malformed cursor, order or until", async () => {
    for (const [query, name] of [
      ["cursor=bm90LWEtY3Vyc29y", "cursor"],
      ["cursor=%25%25", "cursor"],
      ["order=newest", "order"],
      ["until=tomorrow", "until"],
    ] as const) {
      const res = await app().request(`/api/checks?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_input");
      expect(body.error.message).toContain(`query parameter "${name}"`);
    }
  });
});
