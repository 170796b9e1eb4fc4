/**
 * `gen_ai.evaluation.result` events (semantic-conventions-genai model/gen-ai/events.yaml): the
 * result of an evaluator judging a GenAI output — `gen_ai.evaluation.name` (required),
 * `gen_ai.evaluation.score.value`, `gen_ai.evaluation.score.label`,
 * `gen_ai.evaluation.explanation`. The event "SHOULD be parented to the GenAI operation span
 * being evaluated", so one recorded as an event of that span belongs to its output, whatever the
 * convention. Only results that arrive with the span are read (as its events, or as log records
 * attached to it as events before normalisation); a result sent later does not change a row
 * already written.
 */

import { attrToString } from "../attr-string.ts";
import type { AttrMap, AttrValue } from "../span.ts";
import { evaluationAttributeKey } from "../../rules/field-grammar.ts";
import type { EvaluationPart } from "../../rules/field-grammar.ts";
import { getString } from "./read-attrs.ts";

const EVENT_NAME = "gen_ai.evaluation.result";

/** The event attribute each part is read from. */
const SOURCE_BY_PART: readonly [EvaluationPart, string][] = [
  ["score", "gen_ai.evaluation.score.value"],
  ["label", "gen_ai.evaluation.score.label"],
  ["explanation", "gen_ai.evaluation.explanation"],
];

/**
 * The evaluation results among a span's events, as the span attributes the field grammar reads
 * (`plumbline.evaluation.<name>.score` …, field-grammar.ts evaluationAttributeKey), values as the
 * exporter writes attributes. Two results of the same name: the later event wins (a re-run of
 * the evaluator). Parts a result leaves out, or leaves empty, are not written.
 */
export function evaluationAttributes(
  events: readonly { name: string; attributes: AttrMap }[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const event of events) {
    if (event.name !== EVENT_NAME) continue;
    const name = getString(event.attributes, "gen_ai.evaluation.name").trim();
    if (name === "") continue;
    for (const [part, source] of SOURCE_BY_PART) {
      delete out[evaluationAttributeKey(name, part)];
      const value = event.attributes[source];
      if (value === undefined || value === null) continue;
      const text = attrToString(value as AttrValue);
      if (text !== "") out[evaluationAttributeKey(name, part)] = text;
    }
  }
  return out;
}
