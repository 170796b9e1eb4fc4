/**
 * Paths into JSON, the part of the field grammar after `output.json`, `tool.arguments` or
 * `tool.result`: `.key` (an identifier), `["any key"]` (a JSON string), `[0]` (an index) and
 * `[*]` (every element).
 */

/** One step of a path: an object key, an array index, or every element (`[*]`). */
export type PathStep =
  { type: "key"; key: string } | { type: "index"; index: number } | { type: "each" };

export type WalkResult =
  { found: false; message: string } | { found: true; values: unknown[]; locations: string[] };

const IDENT_START = /[A-Za-z_$]/;
const IDENT_CHAR = /[A-Za-z0-9_$]/;

/** Parses the path that starts at `start` in `text`; the message says where it goes wrong. */
export function parsePath(
  text: string,
  start: number,
): { ok: true; steps: PathStep[] } | { ok: false; message: string } {
  const steps: PathStep[] = [];
  let at = start;
  while (at < text.length) {
    const char = text.charAt(at);
    if (char === ".") {
      let end = at + 1;
      if (!IDENT_START.test(text.charAt(end))) {
        return {
          ok: false,
          message: `expected a key after "." at character ${at + 1} (use ["…"] for keys with other characters)`,
        };
      }
      while (end < text.length && IDENT_CHAR.test(text.charAt(end))) end += 1;
      steps.push({ type: "key", key: text.slice(at + 1, end) });
      at = end;
    } else if (char === "[") {
      const close = bracketEnd(text, at);
      if (close < 0) return { ok: false, message: `unclosed "[" at character ${at}` };
      const inner = text.slice(at + 1, close);
      if (inner === "*") steps.push({ type: "each" });
      else if (/^(0|[1-9][0-9]{0,8})$/.test(inner)) {
        steps.push({ type: "index", index: Number(inner) });
      } else if (inner.startsWith('"')) {
        const key = parseQuotedKey(inner);
        if (key === null) return { ok: false, message: `bad quoted key ${inner}` };
        steps.push({ type: "key", key });
      } else {
        return {
          ok: false,
          message: `expected [<index>], [*] or ["key"] at character ${at}, found [${inner}]`,
        };
      }
      at = close + 1;
    } else {
      return { ok: false, message: `unexpected "${char}" at character ${at}` };
    }
  }
  return { ok: true, steps };
}

/** Index of the "]" closing the "[" at `open`, skipping a quoted key; -1 when unclosed. */
function bracketEnd(text: string, open: number): number {
  let at = open + 1;
  if (text.charAt(at) === '"') {
    at += 1;
    while (at < text.length && text.charAt(at) !== '"') at += text.charAt(at) === "\\" ? 2 : 1;
    at += 1;
  }
  const close = text.indexOf("]", at);
  return close;
}

function parseQuotedKey(inner: string): string | null {
  try {
    const key: unknown = JSON.parse(inner);
    return typeof key === "string" ? key : null;
  } catch {
    return null;
  }
}

function stepText(step: PathStep): string {
  if (step.type === "each") return "[*]";
  if (step.type === "index") return `[${step.index}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(step.key)
    ? `.${step.key}`
    : `[${JSON.stringify(step.key)}]`;
}

function child(value: unknown, step: PathStep): { found: boolean; value: unknown } {
  if (step.type === "index") {
    if (Array.isArray(value) && step.index < value.length) {
      return { found: true, value: value[step.index] as unknown };
    }
    return { found: false, value: undefined };
  }
  if (step.type === "key" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (Object.hasOwn(record, step.key)) return { found: true, value: record[step.key] };
  }
  return { found: false, value: undefined };
}

/**
 * Follows a path into parsed JSON. Without `[*]` the result is one value located at
 * `pathText`; `[*]` fans out, keeping where each value came from, and an element lacking the
 * rest of the path stays in the list as `undefined` (JSON never produces it).
 */
export function walkPath(
  root: unknown,
  path: readonly PathStep[],
  rootText: string,
  pathText: string,
): WalkResult {
  if (!path.some((step) => step.type === "each")) {
    let value = root;
    for (const step of path) {
      const next = child(value, step);
      if (!next.found) return { found: false, message: `${pathText} is not in the value` };
      value = next.value;
    }
    return { found: true, values: [value], locations: [pathText] };
  }
  let values: unknown[] = [root];
  let locations: string[] = [rootText];
  let fannedOut = false;
  for (const step of path) {
    const nextValues: unknown[] = [];
    const nextLocations: string[] = [];
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i];
      const location = locations[i] ?? rootText;
      if (step.type === "each") {
        if (!Array.isArray(value)) {
          if (!fannedOut) return { found: false, message: `${location} is not an array` };
          nextValues.push(undefined);
          nextLocations.push(`${location}[*]`);
          continue;
        }
        for (let j = 0; j < value.length; j += 1) {
          nextValues.push(value[j]);
          nextLocations.push(`${location}[${j}]`);
        }
        continue;
      }
      const next = value === undefined ? { found: false, value: undefined } : child(value, step);
      if (!next.found && !fannedOut) {
        return { found: false, message: `${pathText} is not in the value` };
      }
      nextValues.push(next.value);
      nextLocations.push(location + stepText(step));
    }
    if (step.type === "each") fannedOut = true;
    values = nextValues;
    locations = nextLocations;
  }
  return { found: true, values, locations };
}
