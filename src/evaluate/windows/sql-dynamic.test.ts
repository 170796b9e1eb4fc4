/**
 * JSON paths of keys alone are read as Dynamic (sql-fields.ts). ClickHouse infers dates from
 * strings when it reads Dynamic unless told not to; the client turns that off for every query,
 * so a string that looks like a date still reads as the string, as Node reads it.
 */

import { afterAll, beforeAll, expect, it } from "vitest";
import { openTestStore } from "../../../test/helpers/store.ts";
import type { Store } from "../../store/store.ts";
import { parseField } from "../../rules/field-grammar.ts";
import { makeRow } from "../../../test/helpers/make-row.ts";
import { fieldSql } from "./sql-fields.ts";
import { SqlParams } from "./sql-params.ts";

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
  await store.write({
    traces: [],
    outputs: [
      makeRow({ SpanId: "s1", OutputText: '{"total":12,"when":"10:00:00"}' }),
      makeRow({ SpanId: "s2", OutputText: '{"total":"2026-01-01","when":"2026-01-01 10:00:00"}' }),
      makeRow({ SpanId: "s3", OutputText: '{"total":" 7 ","when":true}' }),
    ],
  });
});
afterAll(async () => {
  await store?.close();
});

it("reads date-like strings inside JSON as strings, numbers and numeric strings as numbers", async () => {
  const params = new SqlParams();
  const read = (text: string, kind: "numeric" | "categorical") => {
    const parsed = parseField(text);
    if (!parsed.ok) throw new Error(parsed.message);
    return fieldSql(parsed.field, kind, params);
  };
  const result = await store.client.query({
    query: `SELECT SpanId, ${read("output.json.total", "categorical")} AS total,
  ${read("output.json.total", "numeric")} AS n, ${read("output.json.when", "categorical")} AS w
FROM ${store.tables.outputs} ORDER BY SpanId`,
    query_params: params.values,
    format: "JSONEachRow",
  });
  expect(await result.json()).toEqual([
    { SpanId: "s1", total: "12", n: 12, w: "10:00:00" },
    { SpanId: "s2", total: "2026-01-01", n: null, w: "2026-01-01 10:00:00" },
    { SpanId: "s3", total: " 7 ", n: 7, w: "true" },
  ]);
});
