/**
 * Per-query settings of reads. Rows read back for the engine look as they did at ingest:
 * DateTime64 as "<unix s>.<ns>", whatever the server's time zone (the client's default is
 * ClickHouse's "YYYY-MM-DD hh:mm:ss" text, what the API shows).
 */
export const AS_INGESTED = { date_time_output_format: "unix_timestamp" } as const;
