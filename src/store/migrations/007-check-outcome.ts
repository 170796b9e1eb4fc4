import type { Migration, MigrationContext } from "./types.ts";
import { localName } from "./ddl.ts";

export const migration7: Migration = {
  version: 7,
  name: "check_results.Outcome",
  // A rule problem (an error or timeout inside a rule: src/rules/findings.ts RuleProblem) is
  // stored beside the findings so that /api/checks shows it with its code, but it is no
  // failure: Outcome says which a row is. Rows written before are findings, hence the default.
  statements: (ctx) =>
    addColumn(
      ctx,
      ctx.tables.checkResults,
      "Outcome LowCardinality(String) DEFAULT 'failed' AFTER Code",
    ),
};

// As the config schema spells a cluster name (and ddl.ts checks it): always quoted.
const CLUSTER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * ADD COLUMN on a sharded table. On a cluster both tables get it: the local one, where the
 * data lives, and the Distributed one over it, whose own column list is what reads and inserts
 * see (unlike an index, which only the local table has).
 */
function addColumn(ctx: MigrationContext, table: string, column: string): string[] {
  const add = (target: string, onCluster: string) =>
    `ALTER TABLE ${target}${onCluster} ADD COLUMN IF NOT EXISTS ${column}`;
  if (ctx.cluster === undefined) return [add(table, "")];
  if (!CLUSTER_NAME.test(ctx.cluster))
    throw new Error(`not a cluster name: ${JSON.stringify(ctx.cluster)}`);
  const onCluster = ` ON CLUSTER \`${ctx.cluster}\``;
  return [add(localName(table), onCluster), add(table, onCluster)];
}
