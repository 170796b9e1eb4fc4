/**
 * DDL the migrations share, and the one place that knows how a table is laid out: on one
 * server (or embedded chDB), or on a ClickHouse cluster (docs/scaling.md).
 *
 * Without a cluster these render exactly the statements the migrations always produced. With
 * one (`MigrationContext.cluster`), every statement runs ON CLUSTER and each table becomes
 * either a sharded pair — `<name>_local` with the Replicated* engine on every node, and a
 * Distributed table under the original name over them — or, for a small state table, one
 * replicated table with a full copy on every node. Either way every query keeps using the
 * names in TableNames, for reads and inserts alike.
 *
 * Nothing here is pasted from a request: names come from the config's closed grammar and are
 * checked again before they reach SQL text.
 */

import type { MigrationContext } from "./types.ts";

// Merge settings for wide tables fed by frequent small inserts: vertical merges read one column
// at a time instead of every column of every part at once, which keeps a merge of a dozen
// small parts from allocating ~1 MiB of read buffer per column per part (measured: 170 MiB for
// one otel_traces merge with horizontal merges, under 35 MiB with vertical ones).
export const MERGE_SETTINGS =
  "vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, merge_max_block_size = 2048";

/** A TTL clause, or nothing when retention is 0 (keep everything). */
export function ttl(column: string, days: number): string {
  return days > 0 ? `TTL ${column} + toIntervalDay(${Math.trunc(days)})` : "";
}

export type MergeTreeKind =
  "MergeTree" | "ReplacingMergeTree" | "SummingMergeTree" | "AggregatingMergeTree";

/** A table engine; `args` are the engine's own parameters (ReplacingMergeTree's version column). */
export type TableEngine = { kind: MergeTreeKind; args?: string[] } | { kind: "Null" };

/**
 * Where a table's rows live on a cluster: split across shards by an expression (a local table
 * on every node, a Distributed table over them), or a full replica on every node — for small
 * state tables that each process reads whole and that must look the same from every node.
 */
export type Placement = { shardBy: string } | "every node";

export interface TableSpec {
  /** Fully qualified, from TableNames. */
  name: string;
  /** The column and INDEX lines that go between the parentheses. */
  columns: string;
  engine: TableEngine;
  partitionBy?: string;
  /** Required by every MergeTree engine. */
  orderBy?: string;
  /** A clause from ttl(): a line of its own, even when empty. */
  ttl?: string;
  settings?: string;
  placement: Placement;
}

// Keeper paths of replicated tables. {shard} and {replica} are macros each server defines;
// ClickHouse fills in {database} and {table} itself. A table on every node shares one path
// across shards, so its {replica} names must be unique across the whole cluster.
const SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}";
const EVERY_NODE_PATH = "/clickhouse/tables/all/{database}/{table}";
const REPLICA_NAME = "{replica}";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Cluster names may also hold "-" (config schema); they are always quoted.
const CLUSTER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The local table behind a sharded table's Distributed one. */
export function localName(name: string): string {
  return `${name}_local`;
}

/** CREATE DATABASE, on every node of the cluster when there is one. */
export function createDatabase(ctx: MigrationContext): string {
  const database = identifier(ctx.tables.database);
  return `CREATE DATABASE IF NOT EXISTS ${database}${onCluster(ctx)}`;
}

/**
 * The CREATE TABLE statements for one table: one statement on a single server; on a cluster,
 * the local table and its Distributed twin, or one table replicated to every node.
 */
export function createTable(ctx: MigrationContext, spec: TableSpec): string[] {
  const { database, table } = qualifiedName(spec.name);
  if (spec.engine.kind !== "Null" && spec.orderBy === undefined)
    throw new Error(`${spec.name}: a ${spec.engine.kind} table needs ORDER BY`);
  if (ctx.cluster === undefined) return [tableStatement(spec.name, "", engine(spec.engine), spec)];
  const cluster = clusterName(ctx.cluster);
  if (spec.placement === "every node")
    return [
      tableStatement(spec.name, onCluster(ctx), replicated(spec.engine, EVERY_NODE_PATH), spec),
    ];
  const local = localName(spec.name);
  return [
    tableStatement(local, onCluster(ctx), replicated(spec.engine, SHARD_PATH), spec),
    // AS copies the columns (codecs, defaults) but not the indexes, which stay on the local
    // table with the ORDER BY, TTL and settings.
    `CREATE TABLE IF NOT EXISTS ${spec.name}${onCluster(ctx)} AS ${local}
ENGINE = Distributed('${cluster}', '${database}', '${localName(table)}', ${spec.placement.shardBy})`,
  ];
}

export interface ViewSpec {
  /** Fully qualified name of the view. */
  name: string;
  /** The sharded table the view writes to. */
  to: string;
  /** The sharded table whose inserts the view reads. */
  from: string;
  /** The SELECT, given the table to read from. */
  select(from: string): string;
}

/**
 * A materialized view. On a cluster it joins the local tables on every node: a view sees the
 * blocks inserted into its own node's table, so it must read and write locals; the
 * Distributed tables route inserts to it and merge reads from it.
 */
export function createMaterializedView(ctx: MigrationContext, spec: ViewSpec): string {
  qualifiedName(spec.name);
  qualifiedName(spec.to);
  qualifiedName(spec.from);
  const sharded = ctx.cluster !== undefined;
  const to = sharded ? localName(spec.to) : spec.to;
  const from = sharded ? localName(spec.from) : spec.from;
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${spec.name}${onCluster(ctx)} TO ${to} AS
${spec.select(from)}`;
}

/** ADD INDEX on a sharded table: on a cluster it goes to the local table, where data lives. */
export function addIndex(ctx: MigrationContext, table: string, index: string): string {
  qualifiedName(table);
  const target = ctx.cluster === undefined ? table : localName(table);
  return `ALTER TABLE ${target}${onCluster(ctx)} ADD INDEX IF NOT EXISTS ${index}`;
}

function tableStatement(name: string, cluster: string, engine: string, spec: TableSpec): string {
  let sql = `CREATE TABLE IF NOT EXISTS ${name}${cluster} (\n${spec.columns}\n) ENGINE = ${engine}`;
  // The layout every migration was written in: ORDER BY on the ENGINE line unless the table is
  // partitioned. Kept so that single-mode statements stay what they were.
  if (spec.orderBy !== undefined)
    sql +=
      spec.partitionBy === undefined
        ? ` ORDER BY ${spec.orderBy}`
        : `\nPARTITION BY ${spec.partitionBy}\nORDER BY ${spec.orderBy}`;
  if (spec.ttl !== undefined) sql += `\n${spec.ttl}`;
  if (spec.settings !== undefined) sql += `\nSETTINGS ${spec.settings}`;
  return sql;
}

function engine(spec: TableEngine): string {
  if (spec.kind === "Null" || spec.args === undefined || spec.args.length === 0) return spec.kind;
  return `${spec.kind}(${spec.args.join(", ")})`;
}

/** The Replicated* twin of an engine, its own parameters after the Keeper path and replica. */
function replicated(spec: TableEngine, path: string): string {
  // A Null table keeps nothing to replicate; each node's materialized views do the work.
  if (spec.kind === "Null") return spec.kind;
  const args = [`'${path}'`, `'${REPLICA_NAME}'`, ...(spec.args ?? [])];
  return `Replicated${spec.kind}(${args.join(", ")})`;
}

function onCluster(ctx: MigrationContext): string {
  return ctx.cluster === undefined ? "" : ` ON CLUSTER \`${clusterName(ctx.cluster)}\``;
}

function clusterName(name: string): string {
  if (!CLUSTER_NAME.test(name)) throw new Error(`not a cluster name: ${JSON.stringify(name)}`);
  return name;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not an identifier: ${JSON.stringify(name)}`);
  return name;
}

function qualifiedName(name: string): { database: string; table: string } {
  const [database = "", table = "", ...rest] = name.split(".");
  if (rest.length > 0 || !IDENTIFIER.test(database) || !IDENTIFIER.test(table))
    throw new Error(`not a database.table name: ${JSON.stringify(name)}`);
  return { database, table };
}
