/** cursors (migration 4): the durable positions of background jobs. */

import type { Store } from "../store.ts";

/** A background job's durable position, or undefined before its first run. */
export async function readCursor(store: Store, name: string): Promise<number | undefined> {
  const result = await store.client.query({
    query: `SELECT argMax(Value, UpdatedAt) AS value FROM ${store.tables.cursors} WHERE Name = {name:String} HAVING count() > 0`,
    query_params: { name },
    format: "JSONEachRow",
  });
  const [row] = await result.json<{ value: string }>();
  return row === undefined ? undefined : Number(row.value);
}

export async function writeCursor(store: Store, name: string, value: number): Promise<void> {
  await store.client.insert({
    table: store.tables.cursors,
    values: [{ Name: name, Value: value }],
    format: "JSONEachRow",
  });
}
