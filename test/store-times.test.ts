/**
 * Every time the ingest lets through is written and read back exactly by the store (no
 * retention here, so 1970 is in range): DateTime64(9) text that ClickHouse reads as a date
 * instead ("99999.000000000") once made a whole request fail.
 */

import { afterAll, beforeAll, expect, it } from "vitest";
import { toOtelTracesRow } from "../src/decode/span-row.ts";
import { LATEST_EVENT_NANOS, LATEST_START_NANOS } from "../src/decode/span-times.ts";
import type { Store } from "../src/store/store.ts";
import { makeEvent, makeSpan } from "./helpers/make-span.ts";
import { openTestStore } from "./helpers/store.ts";

let store: Store;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(async () => {
  await store?.close();
});

const STARTS = [
  0n,
  1n,
  999_999_999n,
  99_999n * 10n ** 9n,
  100_000n * 10n ** 9n,
  999_999_999_999_999_999n,
  LATEST_START_NANOS,
];

it("writes and reads back every storable start and event time to the nanosecond", async () => {
  const spans = STARTS.map((start, i) =>
    makeSpan({
      spanId: (i + 1).toString(16).padStart(16, "0"),
      startTimeUnixNano: start,
      endTimeUnixNano: start,
      events: [{ ...makeEvent("e", {}), timeUnixNano: i === 0 ? LATEST_EVENT_NANOS : start }],
    }),
  );
  await store.write({ traces: spans.map(toOtelTracesRow), outputs: [] });
  const result = await store.client.query({
    query: `SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS start,
                   toString(toUnixTimestamp64Nano(Events.Timestamp[1])) AS event
            FROM ${store.tables.traces} ORDER BY SpanId`,
    format: "JSONEachRow",
  });
  const rows = await result.json<{ start: string; event: string }>();
  expect(rows).toEqual(
    STARTS.map((start, i) => ({
      start: String(start),
      event: String(i === 0 ? LATEST_EVENT_NANOS : start),
    })),
  );
});
