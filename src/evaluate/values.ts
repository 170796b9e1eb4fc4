/** How condition operands compare with the values fields hold. */

/** Whether a text parses as JSON. */
export function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** null, "", whitespace-only text, [] and {} are empty. */
export function isEmpty(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value as object).length === 0;
  return false;
}

/** Length of a string (UTF-16 units) or an array; undefined for other values. */
export function lengthOf(value: unknown): number | undefined {
  if (typeof value === "string" || Array.isArray(value)) return value.length;
  return undefined;
}

/** A number, or a string holding one (attributes and quoted UInt64 are strings). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Deep JSON equality; a string against a number or boolean compares as that type. */
export function looselyEqual(actual: unknown, expected: unknown): boolean {
  if (typeof actual === "string" && typeof expected === "number") {
    return toNumber(actual) === expected;
  }
  if (typeof actual === "string" && typeof expected === "boolean") {
    return actual === String(expected);
  }
  return deepEqual(actual, expected);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && deepEqual(left[key], right[key]));
}

/** A value as a message shows it: short, JSON-ish. */
export function show(value: unknown): string {
  const text =
    typeof value === "string"
      ? JSON.stringify(value.length > 60 ? value.slice(0, 60) : value)
      : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
