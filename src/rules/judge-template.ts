/**
 * The prompt template of a judge check (docs/judge.md "Prompt"): text with `{{field}}`
 * placeholders, each a field of the closed grammar (field-grammar.ts) or one of the two
 * context placeholders, which read other outputs than the judged one:
 *
 *   {{trace.tool_results}}   the tool calls of the same trace that started no later than the output
 *   {{conversation}}         the earlier turns of the output's conversation (gen_ai.conversation.id)
 *
 * Parsed once, at load; a placeholder the grammar refuses is an issue of the rule.
 */

import { parseField, type FieldRef } from "./field-grammar.ts";

/** Placeholders that read the output's context rather than one of its fields. */
export const CONTEXT_PLACEHOLDERS = ["trace.tool_results", "conversation"] as const;
export type ContextPlaceholder = (typeof CONTEXT_PLACEHOLDERS)[number];

export type TemplatePart =
  | { type: "text"; text: string }
  | { type: "field"; field: FieldRef }
  | { type: "context"; context: ContextPlaceholder };

export type ParsedTemplate =
  { ok: true; parts: TemplatePart[] } | { ok: false; messages: string[] };

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Splits a template into text and placeholders; every bad placeholder is one message. */
export function parseJudgeTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const messages: string[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const start = match.index;
    if (start > last) parts.push({ type: "text", text: template.slice(last, start) });
    last = start + match[0].length;
    const name = match[1] ?? "";
    if ((CONTEXT_PLACEHOLDERS as readonly string[]).includes(name)) {
      parts.push({ type: "context", context: name as ContextPlaceholder });
      continue;
    }
    const parsed = parseField(name);
    if (!parsed.ok) {
      messages.push(
        `placeholder {{${name}}}: ${parsed.message}; or ${CONTEXT_PLACEHOLDERS.map((c) => `{{${c}}}`).join(", ")}`,
      );
    } else if (parsed.field.wildcard) {
      messages.push(`placeholder {{${name}}}: a [*] path has many values; name the JSON above it`);
    } else parts.push({ type: "field", field: parsed.field });
  }
  if (last < template.length) parts.push({ type: "text", text: template.slice(last) });
  if (!parts.some((part) => part.type !== "text") && messages.length === 0) {
    messages.push("the prompt names no field: add a placeholder such as {{output.text}}");
  }
  return messages.length > 0 ? { ok: false, messages } : { ok: true, parts };
}
