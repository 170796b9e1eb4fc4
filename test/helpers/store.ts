/** An embedded store with the schema, for tests of the store modules (one per test file). */

import { createClickHouseClient } from "../../src/store/client.ts";
import { runMigrations, tableNames } from "../../src/store/migrations.ts";
import { createStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "./service.ts";

export async function openTestStore(): Promise<Store> {
  const client = createClickHouseClient({ dataDir: tempDir(), user: "default", password: "" });
  const tables = tableNames("plumbline", "otel_traces");
  await runMigrations(client, { tables, retentionDays: 0 });
  return createStore(client, tables);
}
