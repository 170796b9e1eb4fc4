/** Pieces of DDL several migrations share. */

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
