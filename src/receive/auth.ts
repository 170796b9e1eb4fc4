/** Key checks for OTLP and API requests: `Authorization: Bearer <key>` or `x-plumbline-key`. */

import { createHash, timingSafeEqual } from "node:crypto";

/** The key a request carries, from either header, or undefined. */
export function presentedKey(
  get: (header: string) => string | undefined | null,
): string | undefined {
  const auth = get("authorization");
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1];
  }
  return get("x-plumbline-key") ?? undefined;
}

/** Returns a checker that accepts any of `keys`, in constant time per key. */
export function keyChecker(keys: readonly string[]): (presented: string | undefined) => boolean {
  const digests = keys.map(digest);
  return (presented) => {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let found = false;
    for (const d of digests) found = timingSafeEqual(d, candidate) || found;
    return found;
  };
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}
