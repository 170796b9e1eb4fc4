/**
 * Whether a ClickHouse failure is worth retrying: the store was unreachable or briefly
 * overloaded, as opposed to a query or data it will never accept.
 */

// ClickHouse error codes (src/Common/ErrorCodes.cpp) that describe a transient condition.
const RETRYABLE_CODES = new Set([
  "3", // UNEXPECTED_END_OF_FILE
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "173", // CANNOT_ALLOCATE_MEMORY
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "203", // NO_FREE_CONNECTION
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "243", // NOT_ENOUGH_SPACE: the disk is full; writing resumes once space is freed
  "252", // TOO_MANY_PARTS
  "285", // TOO_FEW_LIVE_REPLICAS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "425", // SYSTEM_ERROR
  "999", // KEEPER_EXCEPTION
]);

const RETRYABLE_SYSCALL_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
]);

// The same conditions when they arrive as text only (the embedded engine, a proxy in between).
const TRANSIENT_MESSAGES =
  /socket hang up|timeout|ECONNREFUSED|ECONNRESET|other side closed|not enough space|No space left on device|NOT_ENOUGH_SPACE|MEMORY_LIMIT_EXCEEDED|TOO_MANY_PARTS/i;

/** True for connection failures, timeouts and ClickHouse's transient error codes. */
export function isRetryableStoreError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = String((error as { code?: unknown }).code ?? "");
  if (RETRYABLE_CODES.has(code) || RETRYABLE_SYSCALL_CODES.has(code)) return true;
  const message = String((error as { message?: unknown }).message ?? "");
  if (TRANSIENT_MESSAGES.test(message)) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isRetryableStoreError(cause);
}
