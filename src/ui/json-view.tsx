/**
 * JSON pretty-printed as HTML, with the parts a finding names marked: a finding's field
 * (`output.json.items[0].sku`, or a schema finding's `output.json/quantity`) is parsed into
 * steps, and the value there — or, when the value is missing (a required property), the
 * nearest value that exists — is wrapped in <mark>.
 */

import type { Child } from "hono/jsx";
import { parsePath, type PathStep } from "../rules/json-path.ts";

/** The part of an output a field names, and the path inside it for JSON parts. */
export interface FieldTarget {
  part: string;
  steps: PathStep[];
}

const JSON_PARTS = ["output.json", "tool.arguments", "tool.result"];
const PARTS = [
  ...JSON_PARTS,
  "output.text",
  "output.length",
  "output.type",
  "input.text",
  "tool.name",
  "finish_reason",
  "usage.input_tokens",
  "usage.output_tokens",
  "duration_ms",
  "status",
  "error.type",
  "model",
];

/** Where a finding's field points, or undefined for fields the output view does not show. */
export function targetOf(field: string): FieldTarget | undefined {
  const part = PARTS.find(
    (p) =>
      field === p ||
      field.startsWith(`${p}.`) ||
      field.startsWith(`${p}[`) ||
      field.startsWith(`${p}/`),
  );
  if (part === undefined) return undefined;
  const rest = field.slice(part.length);
  if (rest === "" || !JSON_PARTS.includes(part)) return { part, steps: [] };
  if (rest.startsWith("/")) {
    // A JSON pointer (RFC 6901), as schema findings give it.
    const steps = rest
      .slice(1)
      .split("/")
      .map((token): PathStep => {
        const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
        return /^(0|[1-9]\d*)$/.test(key)
          ? { type: "index", index: Number(key) }
          : { type: "key", key };
      });
    return { part, steps };
  }
  const parsed = parsePath(rest, 0);
  return { part, steps: parsed.ok ? parsed.steps : [] };
}

type Location = (string | number)[];

/** The steps of `target` that exist in `value` (a missing key marks its parent). */
function existingPrefix(value: unknown, steps: readonly PathStep[]): PathStep[] {
  const kept: PathStep[] = [];
  let at: unknown = value;
  for (const step of steps) {
    if (step.type === "each") {
      kept.push(step);
      return [...kept, ...steps.slice(kept.length)];
    }
    if (
      step.type === "key" &&
      at !== null &&
      typeof at === "object" &&
      !Array.isArray(at) &&
      Object.hasOwn(at, step.key)
    ) {
      at = (at as Record<string, unknown>)[step.key];
    } else if (step.type === "index" && Array.isArray(at) && step.index < at.length) {
      at = at[step.index];
    } else {
      return kept;
    }
    kept.push(step);
  }
  return kept;
}

function matches(location: Location, steps: readonly PathStep[]): boolean {
  if (location.length !== steps.length) return false;
  return steps.every((step, i) => {
    const here = location[i];
    if (step.type === "each") return typeof here === "number";
    if (step.type === "index") return here === step.index;
    return here === step.key;
  });
}

/** `value` as indented JSON, with the value at each of `marks` highlighted. */
export function JsonView(props: { value: unknown; marks?: readonly PathStep[][]; label: string }) {
  const marks = (props.marks ?? []).map((steps) => existingPrefix(props.value, steps));
  return (
    <pre class="json" tabindex={0} aria-label={props.label}>
      {render(props.value, [], 0, marks)}
    </pre>
  );
}

function render(
  value: unknown,
  location: Location,
  depth: number,
  marks: readonly PathStep[][],
): Child {
  const node = renderNode(value, location, depth, marks);
  return marks.some((m) => matches(location, m)) ? <mark>{node}</mark> : node;
}

function renderNode(
  value: unknown,
  location: Location,
  depth: number,
  marks: readonly PathStep[][],
): Child {
  const pad = "  ".repeat(depth + 1);
  const end = "  ".repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return (
      <>
        {"[\n"}
        {value.map((item, i) => (
          <>
            {pad}
            {render(item, [...location, i], depth + 1, marks)}
            {i < value.length - 1 ? ",\n" : "\n"}
          </>
        ))}
        {end}]
      </>
    );
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return "{}";
    return (
      <>
        {"{\n"}
        {entries.map(([key, item], i) => (
          <>
            {pad}
            <span class="j-key">{JSON.stringify(key)}</span>
            {": "}
            {render(item, [...location, key], depth + 1, marks)}
            {i < entries.length - 1 ? ",\n" : "\n"}
          </>
        ))}
        {end}
        {"}"}
      </>
    );
  }
  const kind = value === null ? "null" : typeof value;
  return <span class={`j-${kind}`}>{JSON.stringify(value)}</span>;
}

/** Text that may be JSON: parsed, or undefined. */
export function parseJson(text: string): { value: unknown } | undefined {
  const trimmed = text.trim();
  if (trimmed === "" || !/^[[{"\d-]|^(true|false|null)$/.test(trimmed)) return undefined;
  try {
    return { value: JSON.parse(trimmed) as unknown };
  } catch {
    return undefined;
  }
}
