/**
 * Small readers shared by the convention modules: typed getters that treat a missing or
 * mistyped attribute as empty, values that arrive either as JSON text or as structured OTLP
 * values, flattened indexed attributes (`prefix.0.role`), and chat messages as readable text.
 */

import type { ConventionSpan } from "../agent-output.ts";
import { attrToJson } from "../attr-string.ts";
import type { AttrMap, AttrValue } from "../span.ts";

/** A span as the convention modules see it (the `Convention.extract` argument). */
export type SpanView = ConventionSpan;

/** A string attribute; numbers are written in decimal (ids are sometimes ints); else "". */
export function getString(attrs: AttrMap, key: string): string {
  const value = attrs[key];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return "";
}

/** The first non-empty string among several keys (current name first, deprecated after). */
export function firstString(attrs: AttrMap, keys: readonly string[]): string {
  for (const key of keys) {
    const value = getString(attrs, key);
    if (value !== "") return value;
  }
  return "";
}

/** The first numeric value among several keys, or null. */
export function firstNumber(attrs: AttrMap, keys: readonly string[]): number | null {
  for (const key of keys) {
    const value = toNumber(attrs[key]);
    if (value !== null) return value;
  }
  return null;
}

function toNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value.trim() !== "") {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

/**
 * A value that may be structured: arrays and kvlists as they are, a string parsed when it
 * holds a JSON object or array, undefined otherwise (plain text, or JSON that does not parse).
 */
export function structured(value: unknown): unknown {
  if (typeof value !== "string") return value === null ? undefined : value;
  if (!looksLikeJsonContainer(value)) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function looksLikeJsonContainer(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b || c === 0x5b; // { or [
  }
  return false;
}

/** Readable text of any value: strings as they are, "" for nothing, JSON text otherwise. */
export function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  return attrToJson(value as AttrValue);
}

/** `"hello"` (a JSON string literal, as JSON.stringify of a string gives) becomes `hello`. */
export function unquoteJsonString(text: string): string {
  if (text.length < 2 || text.charCodeAt(0) !== 0x22 || !text.endsWith('"')) return text;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "string" ? value : text;
  } catch {
    return text;
  }
}

/**
 * Flattened list attributes grouped by index: with prefix `gen_ai.prompt.`, the keys
 * `gen_ai.prompt.0.role` and `gen_ai.prompt.0.content` become `[{role, content}]`, in index
 * order. Apply again to an item for nested lists (`tool_calls.0.name`).
 */
export function indexed(attrs: AttrMap, prefix: string): AttrMap[] {
  const items: AttrMap[] = [];
  for (const key of Object.keys(attrs)) {
    if (!key.startsWith(prefix)) continue;
    let i = prefix.length;
    let index = 0;
    while (i < key.length && i - prefix.length < 7) {
      const c = key.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      index = index * 10 + (c - 0x30);
      i++;
    }
    if (i === prefix.length || key.charCodeAt(i) !== 0x2e) continue; // digits, then "."
    (items[index] ??= {})[key.slice(i + 1)] = attrs[key] as AttrValue;
  }
  return items.filter((item) => item !== undefined);
}

/** One chat message reduced to its role and readable text. */
export interface ChatMessage {
  role: string;
  text: string;
}

/** Messages as a transcript, one `role: text` line each, so rules read every convention alike. */
export function transcript(messages: readonly ChatMessage[]): string {
  return messages.map((m) => (m.role === "" ? m.text : `${m.role}: ${m.text}`)).join("\n");
}

/**
 * Messages from a structured value: GenAI `{role, parts}`, Vercel/OpenAI `{role, content}` with
 * string or part-array content, or OpenAI `tool_calls` when there is no content.
 */
export function toMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value)) return [];
  const messages: ChatMessage[] = [];
  for (const item of value) {
    if (!isRecord(item)) continue;
    const role = typeof item.role === "string" ? item.role : "";
    let text = contentText(item.parts ?? item.content);
    if (text === "" && item.tool_calls !== undefined) text = textOf(item.tool_calls);
    messages.push({ role, text });
  }
  return messages;
}

/**
 * Text of message content: a string, or the parts of a part array (`{type:"text", text}`,
 * GenAI `{type:"text", content}`, Bedrock `{text}`). Text parts run together; any other part
 * (tool call, image …) is written as JSON on its own line.
 */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    let out = "";
    let previousWasText = true;
    for (const part of content) {
      const text = partText(part);
      if (text !== undefined) {
        out += previousWasText || out === "" ? text : `\n${text}`;
        previousWasText = true;
      } else {
        out += (out === "" ? "" : "\n") + textOf(part);
        previousWasText = false;
      }
    }
    return out;
  }
  if (isRecord(content)) {
    const inner = content.parts ?? content.content;
    if (inner !== undefined) return contentText(inner);
    const text = partText(content);
    if (text !== undefined) return text;
  }
  return textOf(content);
}

/** The text of a text part, or undefined when the part is something else. */
export function partText(part: unknown): string | undefined {
  if (typeof part === "string") return part;
  if (!isRecord(part)) return undefined;
  if (part.type !== undefined && part.type !== "text") return undefined;
  if (typeof part.text === "string") return part.text;
  if (typeof part.content === "string") return part.content;
  return undefined;
}

/**
 * Message content found in an attribute: structured values through contentText; a string as it
 * is, unless it is a JSON array of content parts (Strands and OpenLLMetry's Anthropic
 * instrumentation serialise content blocks that way).
 */
export function looseContentText(value: AttrValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") return contentText(value);
  if (!value.startsWith("[")) return value;
  const parsed = structured(value);
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every(isContentPart)) {
    return contentText(parsed);
  }
  return value;
}

function isContentPart(part: unknown): boolean {
  return isRecord(part) && (typeof part.type === "string" || typeof part.text === "string");
}

/** A tool call requested by a model. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as text (JSON text when they were structured). */
  arguments: string;
}

/** OpenAI-style `tool_calls` (`{id, function: {name, arguments}}`) or flat `{id, name, arguments}`. */
export function toToolCalls(value: unknown): ToolCall[] {
  if (!Array.isArray(value)) return [];
  const calls: ToolCall[] = [];
  for (const item of value) {
    if (!isRecord(item)) continue;
    const fn = isRecord(item.function) ? item.function : item;
    calls.push({
      id: typeof item.id === "string" ? item.id : "",
      name: typeof fn.name === "string" ? fn.name : "",
      arguments: textOf(fn.arguments ?? fn.input ?? fn.args),
    });
  }
  return calls;
}

/**
 * The error class of a span: `error.type` (OTel "Recording errors"), else the `exception.type`
 * of its first `exception` event; "" when neither.
 */
export function errorTypeOf(span: SpanView): string {
  const type = getString(span.attributes, "error.type");
  if (type !== "") return type;
  for (const event of span.events) {
    if (event.name === "exception") return getString(event.attributes, "exception.type");
  }
  return "";
}

/** The first element of a string array, a JSON array text, or a plain string. */
export function firstOfList(value: AttrValue | undefined): string {
  if (typeof value === "string") {
    if (!value.startsWith("[")) return value;
    const parsed = structured(value);
    return Array.isArray(parsed) ? textOf(parsed[0]) : value;
  }
  if (Array.isArray(value)) return textOf(value[0]);
  return "";
}

/** A plain object (a parsed JSON object or a kvlist attribute). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}
