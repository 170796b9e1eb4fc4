/**
 * Embedded, chDB applies a query's settings as session SETs that outlive the query. A query
 * that reads DateTimes as unix timestamps (UNIX_TIMESTAMPS, src/store/read-settings.ts) must not change
 * how the next query, say the outputs API, writes them: the client sets the default back.
 */

import { afterAll, expect, it } from "vitest";
import { createClickHouseClient } from "../src/store/client.ts";
import { tempDir } from "./helpers/service.ts";

const client = createClickHouseClient({ dataDir: tempDir(), user: "default", password: "" });
afterAll(async () => {
  await client.close();
});

async function dateTime(settings?: Record<string, string>): Promise<string> {
  const result = await client.query({
    query: "SELECT toDateTime64('2026-01-01 00:00:00.25', 3, 'UTC') AS t",
    format: "JSONEachRow",
    ...(settings !== undefined && { clickhouse_settings: settings }),
  });
  const [row] = await result.json<{ t: string }>();
  return row?.t ?? "";
}

it("a query's own settings do not outlive it", async () => {
  expect(await dateTime()).toBe("2026-01-01 00:00:00.250");
  expect(await dateTime({ date_time_output_format: "unix_timestamp" })).toBe("1767225600.250");
  expect(await dateTime()).toBe("2026-01-01 00:00:00.250");
});
