/**
 * A `rate` or `drift` check (validated against rules/rule.schema.json) parsed once into the
 * typed spec the window evaluator runs: durations in milliseconds, fields parsed, defaults
 * applied, and the cross-key checks the schema cannot say, each with a JSON pointer.
 */

import { parseDuration } from "./duration.ts";
import { naturalKind, parseField, type FieldRef, type ValueKind } from "./field-grammar.ts";
import type { OutputLabelName } from "./alert-spec.ts";
import type {
  AbsentCheck,
  DriftCheck,
  DriftMethod,
  RateCheck,
  ReferenceSpec,
  TimeRange,
  WhereClause,
} from "./rule.ts";
import { defaultSignificance } from "./significance.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export const WINDOW_DEFAULTS = {
  everyMs: 5 * MINUTE,
  drift: { windowMs: 60 * MINUTE, minSamples: 100, bins: 10, topK: 20, referenceMs: 7 * DAY },
  rate: { windowMs: 15 * MINUTE, minSamples: 20 },
  absent: {
    windowMs: 20 * MINUTE,
    days: 7,
    minExpected: 5,
    maxShare: 0.1,
    groupBy: ["service"] as readonly OutputLabelName[],
  },
  /** Shortest `every`: an evaluation is a few queries; more often is busy work. */
  minEveryMs: 10_000,
} as const;

/** The reference window, relative to each evaluation. */
export type Reference =
  | { type: "trailing"; lengthMs: number }
  | { type: "pinned"; fromMs: number; toMs: number }
  | { type: "previous_version"; on: "service.version" | "model"; lengthMs: number };

export interface Exclusion {
  fromMs: number;
  toMs: number;
}

interface Schedule {
  /** Evaluations run at every multiple of `everyMs` since the epoch. */
  everyMs: number;
  /** The current window is [t − windowMs, t) for an evaluation at t. */
  windowMs: number;
}

export interface DriftSpec extends Schedule {
  type: "drift";
  field: FieldRef;
  kind: ValueKind;
  method: DriftMethod;
  threshold: number | undefined;
  reference: Reference;
  exclude: Exclusion[];
  minCurrent: number;
  minReference: number;
  bins: number;
  topK: number;
  category: string | undefined;
}

export type RateMeasure =
  | { type: "share"; where: WhereClause[] }
  | { type: "failures"; ruleId: string }
  | { type: "aggregate"; fn: "count" | "avg" | "min" | "max" | "sum"; field: FieldRef | undefined }
  | { type: "aggregate"; fn: "quantile"; q: number; field: FieldRef };

export type RateComparison =
  | { type: "above" | "below"; value: number }
  | {
      type: "baseline";
      reference: Reference;
      exclude: Exclusion[];
      alpha: number;
      direction: "above" | "below" | "both";
      minDelta: number;
    };

export interface RateSpec extends Schedule {
  type: "rate";
  measure: RateMeasure;
  comparison: RateComparison;
  minSamples: number;
}

/** Silence of each entity (docs/silence.md): the current window against the same window of earlier days. */
export interface AbsentSpec extends Schedule {
  type: "absent";
  /** The output labels that name one entity. */
  groupBy: readonly OutputLabelName[];
  /** The expected count is the mean of the same window on each of this many previous days. */
  days: number;
  minExpected: number;
  /** Silent only when observed ≤ maxShare × expected. */
  maxShare: number;
  alpha: number;
}

export type WindowSpec = DriftSpec | RateSpec | AbsentSpec;

export interface WindowSpecError {
  pointer: string;
  message: string;
}

export type WindowSpecResult =
  { ok: true; spec: WindowSpec } | { ok: false; errors: WindowSpecError[] };

/** Parses a rate, drift or absent check; the schema has already checked shapes and enums. */
export function parseWindowCheck(check: RateCheck | DriftCheck | AbsentCheck): WindowSpecResult {
  const errors: WindowSpecError[] = [];
  const spec =
    check.type === "drift"
      ? parseDrift(check, errors)
      : check.type === "absent"
        ? parseAbsent(check, errors)
        : parseRate(check, errors);
  return errors.length > 0 || spec === undefined ? { ok: false, errors } : { ok: true, spec };
}

function parseDrift(check: DriftCheck, errors: WindowSpecError[]): DriftSpec | undefined {
  const schedule = scheduleOf(check, WINDOW_DEFAULTS.drift.windowMs, errors);
  const field = fieldAt("/check/field", check.field, errors);
  const reference = referenceOf(check.reference, "/check/reference", errors);
  const exclude = exclusionsOf(check.exclude, "/check/exclude", errors);
  if (field === undefined || schedule === undefined || reference === undefined) return undefined;
  const kind = check.kind ?? naturalKind(field);
  if (kind === undefined) {
    errors.push({
      pointer: "/check/kind",
      message: `say whether ${field.text} is "numeric" or "categorical" (kind): a path or an attribute can hold either`,
    });
    return undefined;
  }
  const method = check.method ?? "auto";
  if ((method === "ks" || method === "wasserstein") && kind !== "numeric") {
    errors.push({ pointer: "/check/method", message: `${method} needs a numeric field` });
  }
  if (method === "z" && kind !== "categorical") {
    errors.push({
      pointer: "/check/method",
      message: "z compares the share of one category: it needs a categorical field",
    });
  }
  if (check.category !== undefined && method !== "z") {
    errors.push({ pointer: "/check/category", message: "category only applies to method z" });
  }
  if (check.bins !== undefined && kind !== "numeric") {
    errors.push({ pointer: "/check/bins", message: "bins only apply to numeric fields" });
  }
  if (check.topK !== undefined && kind !== "categorical") {
    errors.push({ pointer: "/check/topK", message: "topK only applies to categorical fields" });
  }
  const pValueMethod = method === "ks" || method === "chi2" || method === "z";
  if (pValueMethod && check.threshold !== undefined && check.threshold >= 1) {
    errors.push({
      pointer: "/check/threshold",
      message: `${check.threshold} is not a significance level for ${method} (0 < threshold < 1)`,
    });
  }
  const min = check.minSamples;
  const fallback = WINDOW_DEFAULTS.drift.minSamples;
  return {
    type: "drift",
    ...schedule,
    field,
    kind,
    method,
    threshold: check.threshold,
    reference,
    exclude: exclude ?? [],
    minCurrent: typeof min === "number" ? min : (min?.current ?? fallback),
    minReference: typeof min === "number" ? min : (min?.reference ?? fallback),
    bins: check.bins ?? WINDOW_DEFAULTS.drift.bins,
    topK: check.topK ?? WINDOW_DEFAULTS.drift.topK,
    category: check.category,
  };
}

function parseAbsent(check: AbsentCheck, errors: WindowSpecError[]): AbsentSpec | undefined {
  const defaults = WINDOW_DEFAULTS.absent;
  const schedule = scheduleOf(check, defaults.windowMs, errors);
  if (schedule === undefined) return undefined;
  // The same window on an earlier day must not overlap the current one.
  if (schedule.windowMs > DAY / 2) {
    errors.push({ pointer: "/check/window", message: `${check.window} is longer than 12h` });
    return undefined;
  }
  return {
    type: "absent",
    ...schedule,
    groupBy: check.groupBy ?? defaults.groupBy,
    days: check.days ?? defaults.days,
    minExpected: check.minExpected ?? defaults.minExpected,
    maxShare: check.maxShare ?? defaults.maxShare,
    alpha: check.alpha ?? defaultSignificance(schedule.everyMs),
  };
}

function parseRate(check: RateCheck, errors: WindowSpecError[]): RateSpec | undefined {
  const schedule = scheduleOf(check, WINDOW_DEFAULTS.rate.windowMs, errors);
  const measure = measureOf(check, errors);
  const compared = [check.above, check.below, check.baseline].filter((v) => v !== undefined);
  if (compared.length !== 1) {
    errors.push({
      pointer: "/check",
      message:
        compared.length === 0
          ? "say what breaches the rule: above, below or baseline"
          : "give one of above, below and baseline",
    });
    return undefined;
  }
  let comparison: RateComparison | undefined;
  if (check.above !== undefined) comparison = { type: "above", value: check.above };
  else if (check.below !== undefined) comparison = { type: "below", value: check.below };
  else if (check.baseline !== undefined) {
    const baseline = check.baseline;
    if (measure !== undefined && measure.type === "aggregate") {
      errors.push({
        pointer: "/check/baseline",
        message: "a baseline compares shares (share or failures); give an aggregate above or below",
      });
    }
    const reference = referenceOf(baseline.reference, "/check/baseline/reference", errors);
    const exclude = exclusionsOf(baseline.exclude, "/check/baseline/exclude", errors);
    if (reference !== undefined) {
      comparison = {
        type: "baseline",
        reference,
        exclude: exclude ?? [],
        alpha: baseline.alpha ?? defaultSignificance(schedule?.everyMs ?? WINDOW_DEFAULTS.everyMs),
        direction: baseline.direction ?? "above",
        minDelta: baseline.minDelta ?? 0,
      };
    }
  }
  if (schedule === undefined || measure === undefined || comparison === undefined) return undefined;
  return {
    type: "rate",
    ...schedule,
    measure,
    comparison,
    minSamples: check.minSamples ?? WINDOW_DEFAULTS.rate.minSamples,
  };
}

function measureOf(check: RateCheck, errors: WindowSpecError[]): RateMeasure | undefined {
  if (check.field !== undefined && check.aggregate === undefined) {
    errors.push({ pointer: "/check/field", message: "field only applies to an aggregate" });
  }
  if (check.share !== undefined) return { type: "share", where: check.share };
  if (check.failures !== undefined) return { type: "failures", ruleId: check.failures };
  const aggregate = check.aggregate ?? "count";
  const field =
    check.field === undefined ? undefined : fieldAt("/check/field", check.field, errors);
  if (field !== undefined && naturalKind(field) === "categorical") {
    errors.push({
      pointer: "/check/field",
      message: `${field.text} is text; an aggregate needs a numeric field`,
    });
  }
  const percentile = /^p(\d{1,2}(?:\.\d+)?)$/.exec(aggregate);
  if (percentile !== null) {
    const q = Number(percentile[1]) / 100;
    if (!(q > 0 && q < 1)) {
      errors.push({ pointer: "/check/aggregate", message: `${aggregate} is not a percentile` });
      return undefined;
    }
    if (field === undefined) {
      if (check.field === undefined) {
        errors.push({ pointer: "/check/field", message: `${aggregate} needs a field` });
      }
      return undefined;
    }
    return { type: "aggregate", fn: "quantile", q, field };
  }
  const fn = aggregate as "count" | "avg" | "min" | "max" | "sum";
  if (fn !== "count" && check.field === undefined) {
    errors.push({ pointer: "/check/field", message: `${fn} needs a field` });
    return undefined;
  }
  return { type: "aggregate", fn, field };
}

function scheduleOf(
  check: { window?: string; every?: string },
  defaultWindowMs: number,
  errors: WindowSpecError[],
): Schedule | undefined {
  const windowMs = durationAt("/check/window", check.window, defaultWindowMs, errors);
  const everyMs = durationAt("/check/every", check.every, WINDOW_DEFAULTS.everyMs, errors);
  if (windowMs === undefined || everyMs === undefined) return undefined;
  if (everyMs < WINDOW_DEFAULTS.minEveryMs) {
    errors.push({ pointer: "/check/every", message: `${check.every} is shorter than 10s` });
    return undefined;
  }
  return { windowMs, everyMs };
}

function referenceOf(
  reference: ReferenceSpec | undefined,
  at: string,
  errors: WindowSpecError[],
): Reference | undefined {
  const referenceMs = WINDOW_DEFAULTS.drift.referenceMs;
  if (reference === undefined) return { type: "trailing", lengthMs: referenceMs };
  if (reference.trailing !== undefined) {
    const lengthMs = durationAt(`${at}/trailing`, reference.trailing, referenceMs, errors);
    return lengthMs === undefined ? undefined : { type: "trailing", lengthMs };
  }
  if (reference.previous_version !== undefined) {
    const lengthMs = durationAt(`${at}/window`, reference.window, referenceMs, errors);
    return lengthMs === undefined
      ? undefined
      : { type: "previous_version", on: reference.previous_version, lengthMs };
  }
  if (reference.window !== undefined) {
    errors.push({ pointer: `${at}/window`, message: "window only applies to previous_version" });
  }
  const range = rangeAt(at, { from: reference.from ?? "", to: reference.to ?? "" }, errors);
  return range === undefined ? undefined : { type: "pinned", ...range };
}

function exclusionsOf(
  ranges: readonly TimeRange[] | undefined,
  at: string,
  errors: WindowSpecError[],
): Exclusion[] | undefined {
  const parsed = (ranges ?? []).map((range, i) => rangeAt(`${at}/${i}`, range, errors));
  return parsed.every((r) => r !== undefined) ? parsed : undefined;
}

function rangeAt(
  at: string,
  range: { from: string; to: string },
  errors: WindowSpecError[],
): Exclusion | undefined {
  const fromMs = Date.parse(range.from);
  const toMs = Date.parse(range.to);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    errors.push({ pointer: at, message: "from and to must be RFC 3339 times" });
    return undefined;
  }
  if (fromMs >= toMs) {
    errors.push({ pointer: `${at}/to`, message: `${range.to} is not after ${range.from}` });
    return undefined;
  }
  return { fromMs, toMs };
}

function durationAt(
  pointer: string,
  text: string | undefined,
  fallback: number,
  errors: WindowSpecError[],
): number | undefined {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    errors.push({ pointer, message: `${JSON.stringify(text)} is not a positive duration` });
    return undefined;
  }
  return ms;
}

function fieldAt(pointer: string, text: string, errors: WindowSpecError[]): FieldRef | undefined {
  const parsed = parseField(text);
  if (!parsed.ok) {
    errors.push({ pointer, message: parsed.message });
    return undefined;
  }
  return parsed.field;
}
