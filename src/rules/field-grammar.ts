/**
 * The closed field grammar of rules (docs/rules.md "Fields"): which part of an agent output a
 * condition, a schema check or a trace key reads. A rule naming anything else is rejected at
 * load, so a field is parsed once and read many times.
 *
 *   output.text  output.length  input.text  tool.name  finish_reason  usage.input_tokens  usage.output_tokens
 *   duration_ms  status  error.type  model  agent  service  operation  kind  provider  output.type
 *   output.json | tool.arguments | tool.result  [ .key | ["any key"] | [0] | [*] ]…
 *   attributes.<key>  resource.<key>      (the key is everything after the first dot)
 *   evaluation.<name>.score | .label | .explanation   (the name is everything in between)
 */

import { parsePath, type PathStep } from "./json-path.ts";

/** Fields read straight from a column. */
const SCALAR_ROOTS = [
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
  "agent",
  "service",
  "operation",
  "kind",
  "provider",
] as const;

/** Fields holding JSON, which a path may go into. */
const JSON_ROOTS = ["output.json", "tool.arguments", "tool.result"] as const;

/** Fields naming a map, whose key follows the first dot. */
const MAP_ROOTS = ["attributes", "resource"] as const;

/**
 * The result of a `gen_ai.evaluation.result` event on the output's span, by evaluation name:
 * its score (a number), label and explanation. The decoder stores them as span attributes
 * under evaluationAttributeKey, so Node and SQL read them from the same map.
 */
const EVALUATION_ROOT = "evaluation";

/** The parts of an evaluation result a field can name. */
export const EVALUATION_PARTS = ["score", "label", "explanation"] as const;
export type EvaluationPart = (typeof EVALUATION_PARTS)[number];

/** Prefix of the SpanAttributes keys the decoder derives from evaluation events. */
export const EVALUATION_ATTRIBUTE_PREFIX = "plumbline.evaluation.";

/** Where the decoder stores part of evaluation `name` in SpanAttributes. */
export function evaluationAttributeKey(name: string, part: EvaluationPart): string {
  return `${EVALUATION_ATTRIBUTE_PREFIX}${name}.${part}`;
}

export type ScalarRoot = (typeof SCALAR_ROOTS)[number];
export type JsonRoot = (typeof JSON_ROOTS)[number];
export type MapRoot = (typeof MAP_ROOTS)[number];
export type FieldRoot = ScalarRoot | JsonRoot | MapRoot | typeof EVALUATION_ROOT;

export type { PathStep };

/**
 * A parsed field. For `attributes.<key>` / `resource.<key>` the path is one key step; for
 * `evaluation.<name>.<part>` two (the name, the part). `text` is the field as the rule wrote
 * it; `wildcard` says whether the path holds a `[*]` step.
 */
export interface FieldRef {
  root: FieldRoot;
  path: PathStep[];
  text: string;
  wildcard: boolean;
}

/** Every field name the grammar knows, for messages and docs. */
export const FIELD_GRAMMAR: readonly string[] = [
  ...SCALAR_ROOTS,
  ...JSON_ROOTS.map((root) => `${root}[.path]`),
  ...MAP_ROOTS.map((root) => `${root}.<key>`),
  `${EVALUATION_ROOT}.<name>.${EVALUATION_PARTS.join("|")}`,
];

const scalarRoots = new Set<string>(SCALAR_ROOTS);

/** Parses a field of the rules grammar; the message says what is wrong and where. */
export function parseField(
  text: string,
): { ok: true; field: FieldRef } | { ok: false; message: string } {
  if (scalarRoots.has(text)) {
    return { ok: true, field: { root: text as ScalarRoot, path: [], text, wildcard: false } };
  }
  for (const root of MAP_ROOTS) {
    if (text === root || text === `${root}.`) {
      return { ok: false, message: `field "${text}" needs a key: ${root}.<key>` };
    }
    if (text.startsWith(`${root}.`)) {
      const key = text.slice(root.length + 1);
      return { ok: true, field: { root, path: [{ type: "key", key }], text, wildcard: false } };
    }
  }
  if (text === EVALUATION_ROOT || text.startsWith(`${EVALUATION_ROOT}.`)) {
    return parseEvaluationField(text);
  }
  for (const root of JSON_ROOTS) {
    if (text === root) return { ok: true, field: { root, path: [], text, wildcard: false } };
    const next = text.charAt(root.length);
    if (text.startsWith(root) && (next === "." || next === "[")) {
      const path = parsePath(text, root.length);
      if (!path.ok) return { ok: false, message: `field "${text}": ${path.message}` };
      const wildcard = path.steps.some((step) => step.type === "each");
      return { ok: true, field: { root, path: path.steps, text, wildcard } };
    }
  }
  for (const root of SCALAR_ROOTS) {
    if (text.startsWith(`${root}.`) || text.startsWith(`${root}[`)) {
      const hint = root === "output.text" ? " (paths go into output.json)" : "";
      return { ok: false, message: `field "${text}": ${root} has no path${hint}` };
    }
  }
  return {
    ok: false,
    message: `unknown field "${text}"; fields are ${FIELD_GRAMMAR.join(", ")}`,
  };
}

/** `evaluation.<name>.<part>`: the name is everything between the first and the last dot. */
function parseEvaluationField(
  text: string,
): { ok: true; field: FieldRef } | { ok: false; message: string } {
  const rest = text.slice(EVALUATION_ROOT.length + 1);
  const dot = rest.lastIndexOf(".");
  const name = dot < 0 ? "" : rest.slice(0, dot);
  const part = dot < 0 ? rest : rest.slice(dot + 1);
  if (name === "" || !(EVALUATION_PARTS as readonly string[]).includes(part)) {
    return {
      ok: false,
      message: `field "${text}": evaluation fields are evaluation.<name>.${EVALUATION_PARTS.join(", .")} (the name of a gen_ai.evaluation.result event)`,
    };
  }
  const path: PathStep[] = [
    { type: "key", key: name },
    { type: "key", key: part },
  ];
  return { ok: true, field: { root: EVALUATION_ROOT, path, text, wildcard: false } };
}

/** The evaluation name and part of an `evaluation.<name>.<part>` field. */
export function evaluationOf(field: FieldRef): { name: string; part: EvaluationPart } {
  const [name, part] = field.path;
  return {
    name: name?.type === "key" ? name.key : "",
    part: (part?.type === "key" ? part.key : "score") as EvaluationPart,
  };
}

/** How a window rule reads a field: as numbers or as categories. */
export type ValueKind = "numeric" | "categorical";

/** The scalar fields that hold numbers. */
const NUMERIC_ROOTS: ReadonlySet<FieldRoot> = new Set<FieldRoot>([
  "usage.input_tokens",
  "usage.output_tokens",
  "duration_ms",
  "output.length",
]);

/**
 * The kind a field has by itself, or undefined when only its values can tell (a path into
 * JSON, an attribute): a drift rule on such a field must say `kind`.
 */
export function naturalKind(field: FieldRef): ValueKind | undefined {
  if (field.root === "attributes" || field.root === "resource") return undefined;
  if (field.root === EVALUATION_ROOT) {
    return evaluationOf(field).part === "score" ? "numeric" : "categorical";
  }
  if (field.root === "output.json") return undefined;
  if (field.root === "tool.arguments" || field.root === "tool.result") {
    return field.path.length === 0 ? "categorical" : undefined;
  }
  return NUMERIC_ROOTS.has(field.root) ? "numeric" : "categorical";
}
