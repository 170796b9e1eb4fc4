/**
 * `trace` checks: run once a trace has gone quiet, over every output of the trace. `matches`
 * is the rule's compiled `match`; which outputs it selects depends on the kind:
 *
 * - `unique`: among matching outputs, no two may share the key built from `key` fields. An
 *   output lacking any key field has no key and is skipped. Text that is JSON (tool arguments)
 *   is compared as canonical JSON, so key order and spacing do not hide a repeat. The later
 *   output of each repeat gets a `duplicate` finding.
 * - `error_propagation`: a failed tool call (kind tool, with status Error, or an error payload
 *   in tool.result or else output.text) anywhere in the trace, and a matching agent run (kind
 *   agent) that ended after the tool call started and whose status is not Error: the run
 *   swallowed the failure. One `error_swallowed` finding per such run, naming the first tool.
 *   A tool call below the run's span (through the parent ids of the trace's outputs) is inside
 *   the run whatever the timestamps say: the OTel JS SDK takes a span's start from Date.now()
 *   (whole milliseconds) and its duration from performance.now(), so a run shorter than a
 *   millisecond can appear to end before its own tool call started.
 * - `count`: the number of matching outputs is within [min, max]; else `count_out_of_range`
 *   on the root-most matching output (fewest ancestors among the trace's outputs; earliest on
 *   a tie), or the trace's root-most output when none matches.
 * - `sequence`: every matching output that also matches `after` needs an output matching
 *   `before` (anywhere in the trace) that started strictly earlier; else `sequence_violated`
 *   on that output.
 */

import type { AgentOutputRow } from "../../store/tables/agent-outputs.ts";
import { issuesAreBugs, type RuleIssues } from "../../rules/rule-issues.ts";
import { looksLikeErrorPayload } from "../error-payload.ts";
import { cacheFor, readField, readJsonRoot } from "../fields.ts";
import { parseField, type FieldRef } from "../../rules/field-grammar.ts";
import { excerpt, toFinding } from "../finding.ts";
import { compileMatch } from "../match.ts";
import type { Finding } from "../../rules/findings.ts";
import type { Rule, TraceCheck } from "../../rules/rule.ts";
import { spanTime } from "./span-time.ts";

export type RowMatcher = (row: AgentOutputRow) => boolean;
type RuleStamp = Pick<Rule, "id" | "version" | "severity" | "check">;

export type CompiledTraceCheck = (
  rule: RuleStamp,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
) => Finding[];

/** Compiles a trace check; a bad key field or before/after spec is an issue. */
export function compileTraceCheck(check: TraceCheck, issues: RuleIssues): CompiledTraceCheck {
  switch (check.kind) {
    case "unique": {
      if (!Array.isArray(check.key) || check.key.length === 0) {
        issues.add("/key", "a unique check needs at least one key field");
        return NO_FINDINGS;
      }
      const fields = check.key.flatMap((text, i) => {
        const parsed = parseField(text);
        if (parsed.ok) return [parsed.field];
        issues.add(`/key/${i}`, parsed.message);
        return [];
      });
      const times = check.times ?? 2;
      if (!Number.isInteger(times) || times < 2) issues.add("/times", "must be an integer ≥ 2");
      return (rule, rows, matches) => unique(rule, fields, times, rows, matches);
    }
    case "error_propagation":
      return errorPropagation;
    case "count": {
      const { min, max } = check;
      if (min === undefined && max === undefined) {
        issues.add("", "a count check needs min, max or both");
      } else if (min !== undefined && max !== undefined && min > max) {
        issues.add("/min", `min (${min}) is greater than max (${max})`);
      }
      return (rule, rows, matches) => count(rule, min, max, rows, matches);
    }
    case "sequence": {
      const before = compileMatch(check.before, issues.at("/before"));
      const after = compileMatch(check.after, issues.at("/after"));
      const beforeText = JSON.stringify(check.before);
      return (rule, rows, matches) =>
        sequence(rule, before, (row) => matches(row) && after(row), beforeText, rows);
    }
  }
}

/** What a trace check with a problem compiles to (its rule does not load, so it never runs). */
const NO_FINDINGS: CompiledTraceCheck = () => [];

/** Compiles and runs a trace check (a valid one: a problem throws) on the outputs of one trace. */
export function evaluateTraceCheck(
  rule: RuleStamp,
  check: TraceCheck,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
): Finding[] {
  return compileTraceCheck(check, issuesAreBugs("trace check"))(rule, rows, matches);
}

function byStart(
  rows: readonly AgentOutputRow[],
): { row: AgentOutputRow; start: bigint; end: bigint }[] {
  return rows
    .map((row) => ({ row, ...spanTime(row) }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

function unique(
  rule: RuleStamp,
  fields: FieldRef[],
  times: number,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
): Finding[] {
  const findings: Finding[] = [];
  const firstByKey = new Map<string, { row: AgentOutputRow; seen: number }>();
  const path = fields.map((field) => field.text).join(", ");
  for (const { row } of byStart(rows)) {
    if (!matches(row)) continue;
    const parts = keyParts(row, fields);
    if (parts === undefined) continue;
    const key = JSON.stringify(parts);
    const entry = firstByKey.get(key);
    if (entry === undefined) {
      firstByKey.set(key, { row, seen: 1 });
      continue;
    }
    const first = entry.row;
    entry.seen++;
    if (times > 2) {
      // A loop: reported once, on the call that makes it one.
      if (entry.seen !== times) continue;
      findings.push(
        toFinding(rule, row, {
          code: "loop",
          path,
          message: `span ${row.SpanId} is call ${times} with the same ${path} in this trace (first: span ${first.SpanId}): ${excerpt(parts)}`,
          observed: parts,
          expected: `fewer than ${times} matching outputs with the same ${path}`,
        }),
      );
      continue;
    }
    findings.push(
      toFinding(rule, row, {
        code: "duplicate",
        path,
        message: `span ${row.SpanId} repeats span ${first.SpanId}: same ${path} (${excerpt(parts)})`,
        observed: parts,
        expected: `no two matching outputs with the same ${path}`,
      }),
    );
  }
  return findings;
}

/** The key of an output: each field's value(s), canonical; undefined when one is absent. */
function keyParts(row: AgentOutputRow, fields: FieldRef[]): unknown[] | undefined {
  const cache = cacheFor(row);
  const parts: unknown[] = [];
  for (const field of fields) {
    if (
      field.path.length === 0 &&
      (field.root === "tool.arguments" || field.root === "tool.result")
    ) {
      const json = readJsonRoot(row, field.root, cache);
      if (json.ok) {
        parts.push(canonical(json.value));
        continue;
      }
    }
    const value = readField(row, field, cache);
    if (!value.present) return undefined;
    parts.push(canonical(field.wildcard ? value.values : value.values[0]));
  }
  return parts;
}

/** JSON with object keys sorted, so equal values have equal text. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = canonical((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}

interface FailedTool {
  row: AgentOutputRow;
  start: bigint;
  reason: string;
  /** Span ids of the outputs above it in the trace. */
  ancestors: Set<string>;
}

/** Why a tool call failed, or undefined when it did not. */
function toolFailure(row: AgentOutputRow): string | undefined {
  if (row.Kind !== "tool") return undefined;
  if (row.StatusCode === "Error") {
    return row.StatusMessage === "" ? "status Error" : `status Error: ${row.StatusMessage}`;
  }
  let result: unknown = row.ToolResult !== "" ? row.ToolResult : row.OutputText;
  if (row.ToolResult !== "") {
    const json = readJsonRoot(row, "tool.result", cacheFor(row));
    if (json.ok) result = json.value;
  }
  const verdict = looksLikeErrorPayload(result);
  return verdict.error ? `error payload: ${verdict.reason}` : undefined;
}

function errorPropagation(
  rule: RuleStamp,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
): Finding[] {
  const ordered = byStart(rows);
  const bySpan = new Map(rows.map((row) => [row.SpanId, row]));
  const failed: FailedTool[] = [];
  const succeeded: { name: string; start: bigint }[] = [];
  for (const { row, start } of ordered) {
    if (row.Kind !== "tool") continue;
    const reason = toolFailure(row);
    if (reason === undefined) succeeded.push({ name: row.ToolName, start });
    else failed.push({ row, start, reason, ancestors: ancestors(row, bySpan) });
  }
  // A failure the agent recovered from — the same tool called again later and succeeding, a
  // retry — is not swallowed.
  const unrecovered = failed.filter(
    (tool) => !succeeded.some((ok) => ok.name === tool.row.ToolName && ok.start > tool.start),
  );
  if (unrecovered.length === 0) return [];
  const findings: Finding[] = [];
  for (const { row, end } of ordered) {
    if (row.Kind !== "agent" || row.StatusCode === "Error" || !matches(row)) continue;
    const swallowed = unrecovered.filter(
      (tool) => tool.ancestors.has(row.SpanId) || end > tool.start,
    );
    const first = swallowed[0];
    if (first === undefined) continue;
    const tool = first.row.ToolName || first.row.SpanName;
    const more =
      swallowed.length > 1 ? ` (and ${swallowed.length - 1} more failed tool calls)` : "";
    const agent = row.AgentName || row.SpanName;
    findings.push(
      toFinding(rule, row, {
        code: "error_swallowed",
        path: "status",
        message: `agent run ${agent} (span ${row.SpanId}) ended with status ${row.StatusCode} after tool ${tool} (span ${first.row.SpanId}) failed with ${first.reason}${more}`,
        observed: row.StatusCode,
        expected: "Error, or no failed tool call before the run ended",
      }),
    );
  }
  return findings;
}

/** Span ids of the outputs above `row`, following parent ids (a cycle ends the walk). */
function ancestors(row: AgentOutputRow, bySpan: ReadonlyMap<string, AgentOutputRow>): Set<string> {
  const found = new Set<string>();
  let parent = bySpan.get(row.ParentSpanId);
  while (parent !== undefined && !found.has(parent.SpanId)) {
    found.add(parent.SpanId);
    parent = bySpan.get(parent.ParentSpanId);
  }
  return found;
}

function count(
  rule: RuleStamp,
  min: number | undefined,
  max: number | undefined,
  rows: readonly AgentOutputRow[],
  matches: RowMatcher,
): Finding[] {
  const matching = rows.filter((row) => matches(row));
  const n = matching.length;
  if ((min === undefined || n >= min) && (max === undefined || n <= max)) return [];
  const anchor = rootMost(matching.length > 0 ? matching : rows, rows);
  if (anchor === undefined) return [];
  const expected =
    min !== undefined && max !== undefined
      ? `between ${min} and ${max}`
      : min !== undefined
        ? `at least ${min}`
        : `at most ${String(max)}`;
  return [
    toFinding(rule, anchor, {
      code: "count_out_of_range",
      path: "",
      message: `the trace has ${n} matching output${n === 1 ? "" : "s"}, expected ${expected}`,
      observed: n,
      expected,
    }),
  ];
}

/** The candidate with the fewest ancestors among the trace's outputs; earliest on a tie. */
function rootMost(
  candidates: readonly AgentOutputRow[],
  rows: readonly AgentOutputRow[],
): AgentOutputRow | undefined {
  const bySpan = new Map(rows.map((row) => [row.SpanId, row]));
  const depth = (row: AgentOutputRow): number => {
    let d = 0;
    let parent = bySpan.get(row.ParentSpanId);
    while (parent !== undefined && d < rows.length) {
      d += 1;
      parent = bySpan.get(parent.ParentSpanId);
    }
    return d;
  };
  let best: { row: AgentOutputRow; depth: number; start: bigint } | undefined;
  for (const row of candidates) {
    const candidate = { row, depth: depth(row), start: spanTime(row).start };
    if (
      best === undefined ||
      candidate.depth < best.depth ||
      (candidate.depth === best.depth && candidate.start < best.start)
    ) {
      best = candidate;
    }
  }
  return best?.row;
}

function sequence(
  rule: RuleStamp,
  before: RowMatcher,
  after: RowMatcher,
  beforeText: string,
  rows: readonly AgentOutputRow[],
): Finding[] {
  const ordered = byStart(rows);
  let earliestBefore: bigint | undefined;
  for (const { row, start } of ordered) {
    if (before(row)) {
      earliestBefore = start;
      break;
    }
  }
  const findings: Finding[] = [];
  for (const { row, start } of ordered) {
    if (!after(row)) continue;
    if (earliestBefore !== undefined && earliestBefore < start) continue;
    const name = row.ToolName || row.AgentName || row.SpanName;
    const why =
      earliestBefore === undefined
        ? "the trace has no output matching `before`"
        : "no output matching `before` started earlier";
    findings.push(
      toFinding(rule, row, {
        code: "sequence_violated",
        path: "",
        message: `${name} (span ${row.SpanId}) matches \`after\`, but ${why} (${beforeText})`,
        observed: name,
        expected: `an output matching ${beforeText} before it`,
      }),
    );
  }
  return findings;
}
