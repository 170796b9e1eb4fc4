/**
 * Numbered, idempotent migrations. Every statement is `IF NOT EXISTS`, so running them twice,
 * or from two processes at once, is harmless; `plumbline_migrations` records what ran.
 *
 * On a cluster (`ctx.cluster`) each statement runs once, from this node, ON CLUSTER: the
 * servers' distributed DDL queue applies it on every node (migrations/ddl.ts, docs/scaling.md).
 *
 * Identifiers (database, table and cluster names) come from the config, which only accepts
 * `[A-Za-z_][A-Za-z0-9_]*` (and `-` in a cluster name, which is quoted), and ddl.ts checks them
 * again; numbers are validated integers. Nothing else is interpolated.
 */

import type { ClickHouseClient } from "@clickhouse/client";
import { createDatabase, createTable } from "./migrations/ddl.ts";
import { migration1 } from "./migrations/001-otel-traces.ts";
import { migration2 } from "./migrations/002-agent-outputs.ts";
import { migration3 } from "./migrations/003-ingest-stats.ts";
import { migration4 } from "./migrations/004-checks.ts";
import { migration5 } from "./migrations/005-alerts.ts";
import { migration6 } from "./migrations/006-drift-results.ts";
import { migration7 } from "./migrations/007-check-outcome.ts";
import { migration8 } from "./migrations/008-otel-logs.ts";
import { migration9 } from "./migrations/009-otel-metrics.ts";
import { migration10 } from "./migrations/010-judge.ts";
import { migration11 } from "./migrations/011-output-counts.ts";
import { migration12 } from "./migrations/012-conversations.ts";
import type { Migration, MigrationContext } from "./migrations/types.ts";

export { tableNames, type SignalTables } from "./migrations/table-names.ts";
export type { Migration, MigrationContext, TableNames } from "./migrations/types.ts";

/** Every migration, in order; a new one is a new numbered file here. */
export const MIGRATIONS: Migration[] = [
  migration1,
  migration2,
  migration3,
  migration4,
  migration5,
  migration6,
  migration7,
  migration8,
  migration9,
  migration10,
  migration11,
  migration12,
];

/**
 * The database and the record of applied migrations, created before any migration runs. On a
 * cluster the record is replicated to every node, so any node's Plumbline sees what ran.
 */
export function bootstrapStatements(ctx: MigrationContext): string[] {
  return [
    createDatabase(ctx),
    ...createTable(ctx, {
      name: ctx.tables.migrations,
      columns: "  Version UInt32, Name String, AppliedAt DateTime64(3) DEFAULT now64(3)",
      engine: { kind: "ReplacingMergeTree" },
      orderBy: "Version",
      placement: "every node",
    }),
  ];
}

/** Creates the database and applies every migration not yet recorded. Returns what ran. */
export async function runMigrations(
  client: ClickHouseClient,
  ctx: MigrationContext,
  migrations: Migration[] = MIGRATIONS,
): Promise<number[]> {
  const { tables } = ctx;
  for (const statement of bootstrapStatements(ctx)) await client.command({ query: statement });
  const result = await client.query({
    query: `SELECT DISTINCT Version FROM ${tables.migrations}`,
    format: "JSONEachRow",
  });
  const applied = new Set((await result.json<{ Version: number }>()).map((r) => r.Version));
  const ran: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(ctx)) await client.command({ query: statement });
    await client.insert({
      table: tables.migrations,
      values: [{ Version: migration.version, Name: migration.name }],
      format: "JSONEachRow",
    });
    ran.push(migration.version);
  }
  return ran;
}
