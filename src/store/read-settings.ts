/**
 * Per-query settings of reads. DateTime64 values read as "<unix s>.<fraction>", whatever the
 * server's time zone: rows read back for the engine then look as they did at ingest, and times
 * the API returns as numbers parse without a calendar. (The client's default is ClickHouse's
 * "YYYY-MM-DD hh:mm:ss" text, which the API shows.)
 */
export const UNIX_TIMESTAMPS = { date_time_output_format: "unix_timestamp" } as const;
