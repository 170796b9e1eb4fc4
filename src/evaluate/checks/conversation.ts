/**
 * `conversation` checks: run over every output of a conversation so far, its turns being its
 * traces in the order they started (docs/conversations.md). They are evaluated twice over:
 *
 * - as each trace goes quiet (`turn`): only findings about outputs of the new traces are
 *   reported, so an earlier turn is never reported again when a later one arrives;
 * - once the conversation has gone quiet (`final`): only what can be known at the end (a
 *   `count` below `min`).
 *
 * Kinds; `matches` is the rule's compiled `match`, and every finding names the conversation:
 *
 * - `unique`: no two matching outputs share the key built from `key` fields (canonical JSON,
 *   as for traces); the later one gets `duplicate`, naming both spans and both traces.
 * - `consistent`: once a matching output has a value of `field`, every later matching output
 *   that has one has the same (canonical JSON); else `inconsistent` on the later output.
 * - `context_reset`: the size of a turn's input (its first matching output's input message
 *   count, or input tokens) falls back to within `tolerance` of the first turn's size after
 *   the turn before it had grown beyond that: the new turn was sent without its history.
 *   `context_reset` on that output, naming the first turn.
 * - `repeated`: an answer (output.text, lowercased, punctuation and spacing folded) of at
 *   least `min_length` characters equals an answer of an earlier turn (`repeated_answer`), or
 *   an answer matching an `asks[].question` after an earlier turn's input matched its `given`
 *   (`asked_again`).
 * - `count`: the number of matching outputs (or, `per: "turn"`, of turns with one) is within
 *   [min, max]; `max` is checked at each turn (on the output that passed it), `min` only once
 *   the conversation is quiet (on its first matching output, or its first output).
 * - `sequence`: every matching output that also matches `after` needs an output matching
 *   `before`, anywhere in the conversation, that started strictly earlier.
 * - `never_after`: the reverse, no matching output that also matches `after` may start after
 *   an output matching `before` (e.g. an empty memory search once memories were written).
 *
 * `unique` with `times` > 2 finds loops instead: the output that is the `times`-th with the
 * same key (`loop`, once per key); `across_turns` leaves repeats within one trace to the trace
 * rules, and a loop must then span two turns.
 */

import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import type { Finding } from "../../rules/findings.ts";
import { issuesAreBugs, type RuleIssues } from "../../rules/rule-issues.ts";
import type { ConversationCheck, Rule } from "../../rules/rule.ts";
import { cacheFor, readField, readJsonRoot } from "../fields.ts";
import { excerpt, toFinding, type FindingDraft } from "../finding.ts";
import { compileMatch } from "../match.ts";
import { compileRegex } from "../regex.ts";
import type { RE2JS } from "re2js";
import { spanTime } from "./span-time.ts";
import { canonical, type RowMatcher } from "./trace.ts";

type RuleStamp = Pick<Rule, "id" | "version" | "severity" | "check">;

/** Which evaluation this is: a new turn (its traces), or the end of a quiet conversation. */
export type ConversationPass = { kind: "turn"; traceIds: ReadonlySet<string> } | { kind: "final" };

export type CompiledConversationCheck = (
  rule: RuleStamp,
  conversationId: string,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
  pass: ConversationPass,
) => Finding[];

/** A candidate finding; `final`: reported once the conversation is quiet, not per turn. */
interface Candidate {
  row: AgentOutputRow;
  draft: FindingDraft;
  final?: boolean;
}

type KindCheck = (turns: Turns, matches: RowMatcher, conversationId: string) => Candidate[];

/** Compiles a conversation check; a bad field, pattern or option is an issue. */
export function compileConversationCheck(
  check: ConversationCheck,
  issues: RuleIssues,
): CompiledConversationCheck {
  const kindCheck = compileKind(check, issues);
  return (rule, conversationId, rows, matches, pass) => {
    const turns = turnsOf(rows);
    const found = kindCheck(turns, matches, conversationId);
    return found
      .filter((candidate) =>
        pass.kind === "final"
          ? candidate.final === true
          : candidate.final !== true && pass.traceIds.has(candidate.row.TraceId),
      )
      .map((candidate) => ({
        ...toFinding(rule, candidate.row, candidate.draft),
        conversationId,
      }));
  };
}

/** Compiles and runs a valid conversation check (a problem throws): tests and backtests. */
export function evaluateConversationCheck(
  rule: RuleStamp,
  check: ConversationCheck,
  conversationId: string,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
  pass: ConversationPass,
): Finding[] {
  const compiled = compileConversationCheck(check, issuesAreBugs("conversation check"));
  return compiled(rule, conversationId, rows, matches, pass);
}

function compileKind(check: ConversationCheck, issues: RuleIssues): KindCheck {
  switch (check.kind) {
    case "unique": {
      const fields = fieldsOf(check.key, "/key", issues);
      const times = check.times ?? 2;
      if (!Number.isInteger(times) || times < 2) issues.add("/times", "must be an integer ≥ 2");
      const acrossTurns = check.across_turns === true;
      return (turns, matches, id) => unique(fields, times, acrossTurns, turns, matches, id);
    }
    case "consistent": {
      const parsed = parseField(check.field);
      if (!parsed.ok) {
        issues.add("/field", parsed.message);
        return NONE;
      }
      return (turns, matches, id) => consistent(parsed.field, turns, matches, id);
    }
    case "context_reset": {
      const measure = check.measure ?? "auto";
      const tolerance = check.tolerance ?? 0.2;
      if (!(tolerance >= 0)) issues.add("/tolerance", "must be a number ≥ 0");
      return (turns, matches, id) => contextReset(measure, tolerance, turns, matches, id);
    }
    case "repeated": {
      const minLength = check.min_length ?? 20;
      const asks = (check.asks ?? []).flatMap((ask, i) => {
        const ignoreCase = ask.ignore_case === true;
        const question = compileRegex(ask.question, ignoreCase, (message) => {
          issues.add(`/asks/${i}/question`, message);
          return undefined;
        });
        const given = compileRegex(ask.given, ignoreCase, (message) => {
          issues.add(`/asks/${i}/given`, message);
          return undefined;
        });
        if (question === undefined || given === undefined) return [];
        return [{ question, given, name: ask.name ?? ask.question }];
      });
      const answers = check.answers !== false;
      if (!answers && asks.length === 0 && (check.asks ?? []).length === 0) {
        issues.add("/answers", "with answers false, a repeated check needs asks");
      }
      return (turns, matches, id) => repeated(answers, minLength, asks, turns, matches, id);
    }
    case "count": {
      const { min, max } = check;
      if (min === undefined && max === undefined) {
        issues.add("", "a count check needs min, max or both");
      } else if (min !== undefined && max !== undefined && min > max) {
        issues.add("/min", `min (${min}) is greater than max (${max})`);
      }
      const perTurn = check.per === "turn";
      return (turns, matches, id) => count(min, max, perTurn, turns, matches, id);
    }
    case "sequence": {
      const before = compileMatch(check.before, issues.at("/before"));
      const after = compileMatch(check.after, issues.at("/after"));
      const beforeText = JSON.stringify(check.before);
      return (turns, matches, id) =>
        sequence(before, (row) => matches(row) && after(row), beforeText, turns, id);
    }
    case "never_after": {
      const before = compileMatch(check.before, issues.at("/before"));
      const after = compileMatch(check.after, issues.at("/after"));
      const beforeText = JSON.stringify(check.before);
      return (turns, matches, id) =>
        neverAfter(before, (row) => matches(row) && after(row), beforeText, turns, id);
    }
    default: {
      const kind = (check as { kind?: unknown }).kind;
      issues.add("/kind", `unknown conversation check kind ${JSON.stringify(kind)}`);
      return NONE;
    }
  }
}

const NONE: KindCheck = () => [];

function fieldsOf(texts: unknown, pointer: string, issues: RuleIssues): FieldRef[] {
  if (!Array.isArray(texts) || texts.length === 0) {
    issues.add(pointer, "needs at least one field");
    return [];
  }
  return texts.flatMap((text: unknown, i) => {
    const parsed = parseField(String(text));
    if (parsed.ok) return [parsed.field];
    issues.add(`${pointer}/${i}`, parsed.message);
    return [];
  });
}

/** The conversation's outputs in start order, and its turns (traces) in the order they started. */
interface Turns {
  ordered: { row: AgentOutputRow; start: bigint; turn: number }[];
  /** Per turn, its outputs in start order. */
  turns: AgentOutputRow[][];
}

function turnsOf(rows: readonly AgentOutputRow[]): Turns {
  const sorted = rows
    .map((row) => ({ row, start: spanTime(row).start }))
    .sort((a, b) =>
      a.start < b.start ? -1 : a.start > b.start ? 1 : a.row.SpanId.localeCompare(b.row.SpanId),
    );
  const turnOf = new Map<string, number>();
  const turns: AgentOutputRow[][] = [];
  const ordered = sorted.map(({ row, start }) => {
    let turn = turnOf.get(row.TraceId);
    if (turn === undefined) {
      turn = turns.length;
      turnOf.set(row.TraceId, turn);
      turns.push([]);
    }
    turns[turn]?.push(row);
    return { row, start, turn };
  });
  return { ordered, turns };
}

function where(row: AgentOutputRow): string {
  return `span ${row.SpanId} of trace ${row.TraceId}`;
}

function unique(
  fields: readonly FieldRef[],
  times: number,
  acrossTurns: boolean,
  { ordered }: Turns,
  matches: RowMatcher,
  id: string,
): Candidate[] {
  const found: Candidate[] = [];
  const byKey = new Map<
    string,
    { row: AgentOutputRow; turn: number; seen: number; turns: Set<number>; looped: boolean }
  >();
  const path = fields.map((field) => field.text).join(", ");
  for (const { row, turn } of ordered) {
    if (!matches(row)) continue;
    const parts = keyParts(row, fields);
    if (parts === undefined) continue;
    const key = JSON.stringify(parts);
    const entry = byKey.get(key);
    if (entry === undefined) {
      byKey.set(key, { row, turn, seen: 1, turns: new Set([turn]), looped: false });
      continue;
    }
    const first = entry;
    const sameTurnBefore = entry.turns.has(turn);
    entry.seen++;
    entry.turns.add(turn);
    if (times > 2) {
      // A loop: reported once, on the call that makes it one (across turns: spanning two).
      if (entry.looped || entry.seen < times || (acrossTurns && entry.turns.size < 2)) continue;
      entry.looped = true;
      found.push({
        row,
        draft: {
          code: "loop",
          path,
          message: `conversation ${id}: ${where(row)} (turn ${turn + 1}) is call ${entry.seen} with the same ${path} over ${entry.turns.size} turn${entry.turns.size === 1 ? "" : "s"} (first: ${where(first.row)}, turn ${first.turn + 1}): ${excerpt(parts)}`,
          observed: parts,
          expected: `fewer than ${times} matching outputs of the conversation with the same ${path}`,
        },
      });
      continue;
    }
    // Across turns only: a repeat inside its own turn is the trace rules' to report.
    if (acrossTurns && sameTurnBefore) continue;
    found.push({
      row,
      draft: {
        code: "duplicate",
        path,
        message: `conversation ${id}: ${where(row)} (turn ${turn + 1}) repeats ${where(first.row)} (turn ${first.turn + 1}): same ${path} (${excerpt(parts)})`,
        observed: parts,
        expected: `no two matching outputs of the conversation with the same ${path}`,
      },
    });
  }
  return found;
}

/** The key of an output: each field's value(s), canonical; undefined when one is absent. */
function keyParts(row: AgentOutputRow, fields: readonly FieldRef[]): unknown[] | undefined {
  const parts: unknown[] = [];
  for (const field of fields) {
    const value = valueOf(row, field);
    if (value === ABSENT) return undefined;
    parts.push(value);
  }
  return parts;
}

const ABSENT = Symbol("absent");

/** A field's value, canonical (tool arguments and results compared as JSON when they are). */
function valueOf(row: AgentOutputRow, field: FieldRef): unknown {
  const cache = cacheFor(row);
  if (
    field.path.length === 0 &&
    (field.root === "tool.arguments" || field.root === "tool.result")
  ) {
    const json = readJsonRoot(row, field.root, cache);
    if (json.ok) return canonical(json.value);
  }
  const value = readField(row, field, cache);
  if (!value.present) return ABSENT;
  return canonical(field.wildcard ? value.values : value.values[0]);
}

function consistent(
  field: FieldRef,
  { ordered }: Turns,
  matches: RowMatcher,
  id: string,
): Candidate[] {
  const found: Candidate[] = [];
  let first: { row: AgentOutputRow; turn: number; value: unknown; text: string } | undefined;
  for (const { row, turn } of ordered) {
    if (!matches(row)) continue;
    const value = valueOf(row, field);
    if (value === ABSENT || value === "" || value === null) continue;
    const text = JSON.stringify(value);
    if (first === undefined) {
      first = { row, turn, value, text };
      continue;
    }
    if (text === first.text) continue;
    found.push({
      row,
      draft: {
        code: "inconsistent",
        path: field.text,
        message: `conversation ${id}: ${field.text} is ${excerpt(value)} in ${where(row)} (turn ${turn + 1}), but was ${excerpt(first.value)} in ${where(first.row)} (turn ${first.turn + 1})`,
        observed: value,
        expected: `${field.text} = ${excerpt(first.value)}, as set in turn ${first.turn + 1}`,
      },
    });
  }
  return found;
}

/** Lines of a transcript that start a message (`role: text`, docs/conventions.md). */
const MESSAGE_LINE =
  /^(?:system|user|assistant|tool|developer|human|ai|model|function|ipython): /gm;

/** The input message count of an output: the transcript's message lines. */
export function inputMessageCount(row: Pick<AgentOutputRow, "InputText">): number {
  return row.InputText.match(MESSAGE_LINE)?.length ?? 0;
}

function sizeOf(row: AgentOutputRow, measure: "messages" | "input_tokens"): number | undefined {
  if (measure === "input_tokens") return row.InputTokens ?? undefined;
  const n = inputMessageCount(row);
  return n > 0 ? n : undefined;
}

function contextReset(
  measure: "messages" | "input_tokens" | "auto",
  tolerance: number,
  { turns }: Turns,
  matches: RowMatcher,
  id: string,
): Candidate[] {
  // Each turn's first matching output: the call that received the turn's input.
  const firsts = turns.map((outputs) => outputs.find((row) => matches(row)));
  const firstTurn = firsts.findIndex((row) => row !== undefined);
  const base = firsts[firstTurn];
  if (base === undefined) return [];
  const chosen: "messages" | "input_tokens" =
    measure !== "auto" ? measure : inputMessageCount(base) > 0 ? "messages" : "input_tokens";
  const baseSize = sizeOf(base, chosen);
  if (baseSize === undefined) return [];
  const limit = baseSize * (1 + tolerance);
  const found: Candidate[] = [];
  let previous = baseSize;
  for (let turn = firstTurn + 1; turn < firsts.length; turn++) {
    const row = firsts[turn];
    if (row === undefined) continue;
    const size = sizeOf(row, chosen);
    if (size === undefined) continue;
    // Only the turn that lost the history: the one before it had grown beyond the first's.
    if (size <= limit && previous > limit) {
      const unit = chosen === "messages" ? "input messages" : "input tokens";
      found.push({
        row,
        draft: {
          code: "context_reset",
          path: chosen === "messages" ? "input.text" : "usage.input_tokens",
          message: `conversation ${id}: turn ${turn + 1} (${where(row)}) has ${size} ${unit}, back to the first turn's ${baseSize} (${where(base)}) after ${previous} in the turn before: its input lost the conversation's history`,
          observed: size,
          expected: `more than ${Math.floor(limit)} ${unit}, as the turns before it carried`,
        },
      });
    }
    previous = size;
  }
  return found;
}

/** Text compared for repeats: lowercased, punctuation dropped, spacing folded. */
export function normaliseAnswer(text: string): string {
  return text
    .toLowerCase()
    .normalize("NFKC")
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function repeated(
  answers: boolean,
  minLength: number,
  asks: readonly { question: RE2JS; given: RE2JS; name: string }[],
  { ordered }: Turns,
  matches: RowMatcher,
  id: string,
): Candidate[] {
  const found: Candidate[] = [];
  const earlier = new Map<string, { row: AgentOutputRow; turn: number }>();
  /** Per ask, the first earlier output whose input gave the value. */
  const givenAt = new Map<number, { row: AgentOutputRow; turn: number }>();
  for (const { row, turn } of ordered) {
    // The value was given in an earlier turn's input: any output of it, matching or not.
    const pending: number[] = [];
    asks.forEach((ask, i) => {
      if (!givenAt.has(i) && test(ask.given, row.InputText)) pending.push(i);
    });
    if (matches(row) && row.OutputText !== "") {
      if (answers) {
        const text = normaliseAnswer(row.OutputText);
        const first = text.length >= minLength ? earlier.get(text) : undefined;
        if (first !== undefined && first.turn !== turn) {
          found.push({
            row,
            draft: {
              code: "repeated_answer",
              path: "output.text",
              message: `conversation ${id}: the answer of ${where(row)} (turn ${turn + 1}) repeats the answer of ${where(first.row)} (turn ${first.turn + 1})`,
              observed: row.OutputText,
              expected: "an answer that does not repeat an earlier turn's",
            },
          });
        } else if (first === undefined && text.length >= minLength) {
          earlier.set(text, { row, turn });
        }
      }
      asks.forEach((ask, i) => {
        const given = givenAt.get(i);
        if (given === undefined || given.turn === turn) return;
        if (!test(ask.question, row.OutputText)) return;
        found.push({
          row,
          draft: {
            code: "asked_again",
            path: "output.text",
            message: `conversation ${id}: ${where(row)} (turn ${turn + 1}) asks again (${ask.name}) for what the input of ${where(given.row)} (turn ${given.turn + 1}) gave`,
            observed: row.OutputText,
            expected: `no question matching ${ask.name} once it was answered`,
          },
        });
      });
    }
    for (const i of pending) givenAt.set(i, { row, turn });
  }
  return found;
}

function test(regex: RE2JS, text: string): boolean {
  return regex.test(text);
}

function count(
  min: number | undefined,
  max: number | undefined,
  perTurn: boolean,
  { ordered, turns }: Turns,
  matches: RowMatcher,
  id: string,
): Candidate[] {
  const unit = perTurn ? "turn" : "matching output";
  const expected =
    min !== undefined && max !== undefined
      ? `between ${min} and ${max}`
      : min !== undefined
        ? `at least ${min}`
        : `at most ${String(max)}`;
  const found: Candidate[] = [];
  const counted = new Set<number>();
  let n = 0;
  let firstMatch: AgentOutputRow | undefined;
  for (const { row, turn } of ordered) {
    if (!matches(row)) continue;
    firstMatch ??= row;
    if (perTurn) {
      if (counted.has(turn)) continue;
      counted.add(turn);
    }
    n++;
    if (max !== undefined && n === max + 1) {
      found.push({
        row,
        draft: {
          code: "count_out_of_range",
          path: "",
          message: `conversation ${id}: ${where(row)} (turn ${turn + 1}) is ${unit} ${n}, expected ${expected}`,
          observed: n,
          expected,
        },
      });
    }
  }
  const anchor = firstMatch ?? turns[0]?.[0];
  if (min !== undefined && n < min && anchor !== undefined) {
    found.push({
      row: anchor,
      final: true,
      draft: {
        code: "count_out_of_range",
        path: "",
        message: `conversation ${id} ended with ${n} ${unit}${n === 1 ? "" : "s"} over ${turns.length} turn${turns.length === 1 ? "" : "s"}, expected ${expected}`,
        observed: n,
        expected,
      },
    });
  }
  return found;
}

function sequence(
  before: RowMatcher,
  after: RowMatcher,
  beforeText: string,
  { ordered }: Turns,
  id: string,
): Candidate[] {
  const earliest = ordered.find(({ row }) => before(row))?.start;
  const found: Candidate[] = [];
  for (const { row, start, turn } of ordered) {
    if (!after(row)) continue;
    if (earliest !== undefined && earliest < start) continue;
    const name = row.ToolName || row.AgentName || row.SpanName;
    const why =
      earliest === undefined
        ? "the conversation has no output matching `before`"
        : "no output matching `before` started earlier";
    found.push({
      row,
      draft: {
        code: "sequence_violated",
        path: "",
        message: `conversation ${id}: ${name} (${where(row)}, turn ${turn + 1}) matches \`after\`, but ${why} (${beforeText})`,
        observed: name,
        expected: `an output matching ${beforeText} before it`,
      },
    });
  }
  return found;
}

function neverAfter(
  before: RowMatcher,
  after: RowMatcher,
  beforeText: string,
  { ordered }: Turns,
  id: string,
): Candidate[] {
  const found: Candidate[] = [];
  let earliest: { row: AgentOutputRow; start: bigint; turn: number } | undefined;
  for (const entry of ordered) {
    const { row, start, turn } = entry;
    if (earliest !== undefined && earliest.start < start && after(row)) {
      const name = row.ToolName || row.AgentName || row.Operation || row.SpanName;
      found.push({
        row,
        draft: {
          code: "after_forbidden",
          path: "",
          message: `conversation ${id}: ${name} (${where(row)}, turn ${turn + 1}) matches \`after\`, but came after ${where(earliest.row)} (turn ${earliest.turn + 1}), which matches \`before\` (${beforeText})`,
          observed: name,
          expected: `no such output after one matching ${beforeText}`,
        },
      });
    }
    if (earliest === undefined && before(row)) earliest = entry;
  }
  return found;
}
