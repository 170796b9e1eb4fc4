/**
 * One evaluation of a window rule at time `at`: the windows are placed, ClickHouse computes
 * the aggregates (window-queries.ts), and the small arithmetic on them happens
 * here. The outcome is one drift_results row; too few samples is its own status,
 * `insufficient`, never "no drift".
 */

import type { Store } from "../../store/store.ts";
import type { WindowEvaluation } from "../../rules/findings.ts";
import {
  failureCounts,
  type TimeRangeMs,
  type WindowSides,
  type WindowSource,
} from "./window-queries.ts";
import { evaluateDrift, twoProportionZTest, type DriftAggregates } from "../drift/index.ts";
import { normalSurvival } from "../drift/special-functions.ts";
import type { Rule } from "../../rules/rule.ts";
import { fieldSql } from "./sql-fields.ts";
import { SqlParams } from "./sql-params.ts";
import { matchSql, whereSql } from "./sql-match.ts";
import { batchedFetch, directFetch, type WindowFetch } from "./window-fetch.ts";
import { defaultSignificance } from "../../rules/significance.ts";
import type {
  AbsentSpec,
  DriftSpec,
  RateSpec,
  Reference,
  WindowSpec,
} from "../../rules/window-spec.ts";
import { entityCounts } from "../absence/absence-query.ts";
import { absenceDraft } from "../absence/evaluate-absence.ts";

type Draft = Omit<
  WindowEvaluation,
  "ruleId" | "ruleVersion" | "checkType" | "evaluatedAt" | "windowStart" | "windowEnd"
>;

const NO_HISTOGRAM = { bins: [], currentCounts: [], referenceCounts: [] };

/** Evaluates `rule` for the window ending at `atMs`. Errors become an `error` row. */
export async function evaluateWindowRule(
  store: Store,
  rule: Rule,
  spec: WindowSpec,
  atMs: number,
  now: number = Date.now(),
  fetch: WindowFetch = directFetch(store),
): Promise<WindowEvaluation> {
  const current = { fromMs: atMs - spec.windowMs, toMs: atMs };
  let draft: Draft;
  try {
    draft =
      spec.type === "drift"
        ? await evaluateDriftRule(fetch, rule, spec, current)
        : spec.type === "absent"
          ? await evaluateAbsentRule(store, rule, spec, atMs)
          : await evaluateRateRule(store, fetch, rule, spec, current);
  } catch (error) {
    draft = {
      referenceStart: null,
      referenceEnd: null,
      field:
        spec.type === "drift"
          ? spec.field.text
          : spec.type === "absent"
            ? spec.groupBy.join(",")
            : "",
      method: spec.type === "drift" ? spec.method : spec.type === "absent" ? "poisson" : "",
      status: "error",
      statistic: null,
      pValue: null,
      threshold: null,
      direction: "",
      currentSize: 0,
      referenceSize: 0,
      ...NO_HISTOGRAM,
      message: `evaluation failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    checkType: spec.type,
    evaluatedAt: now,
    windowStart: current.fromMs,
    windowEnd: current.toMs,
    ...draft,
  };
}

/**
 * Evaluates `rule` for each window ending at one of `atsMs`, exactly as evaluateWindowRule
 * would one at a time, but with the rows read once for all of them: one query per batch
 * instead of one per window (a backtest, a catch-up after downtime). The windows' rows are
 * paired with every window they fall in, so keep a batch to a few million row-window pairs.
 */
export async function evaluateWindowRules(
  store: Store,
  rule: Rule,
  spec: WindowSpec,
  atsMs: readonly number[],
  now: number = Date.now(),
): Promise<WindowEvaluation[]> {
  const fetch = batchedFetch(store);
  return Promise.all(atsMs.map((at) => evaluateWindowRule(store, rule, spec, at, now, fetch)));
}

/** The sides of a comparison, or why there is nothing to compare with. */
async function sidesOf(
  fetch: WindowFetch,
  source: WindowSource,
  reference: Reference,
  exclude: readonly TimeRangeMs[],
  current: TimeRangeMs,
): Promise<{ ok: true; sides: WindowSides } | { ok: false; message: string }> {
  if (reference.type === "trailing") {
    const ref = { fromMs: current.fromMs - reference.lengthMs, toMs: current.fromMs };
    return { ok: true, sides: { current, reference: ref, exclude } };
  }
  if (reference.type === "pinned") {
    return { ok: true, sides: { current, reference: reference, exclude } };
  }
  const column = reference.on === "model" ? "Model" : "ServiceVersion";
  const found = await fetch.version(source, column, current.toMs);
  if (found === undefined) {
    return { ok: false, message: `no earlier ${reference.on} to compare with` };
  }
  const toMs = found.previousLastMs + 1;
  return {
    ok: true,
    sides: {
      current,
      reference: { fromMs: toMs - reference.lengthMs, toMs },
      exclude,
      version: { column, current: found.current, reference: found.previous },
    },
  };
}

/** Silence of every entity (docs/silence.md): one query, then a verdict per entity. */
async function evaluateAbsentRule(
  store: Store,
  rule: Rule,
  spec: AbsentSpec,
  atMs: number,
): Promise<Draft> {
  const entities = await entityCounts(store, {
    match: rule.match,
    groupBy: spec.groupBy,
    atMs,
    windowMs: spec.windowMs,
    days: spec.days,
  });
  return absenceDraft(entities, spec, atMs);
}

function sourceOf(rule: Rule): WindowSource & { params: SqlParams } {
  const params = new SqlParams();
  return { match: matchSql(rule.match, params), params };
}

async function evaluateDriftRule(
  fetch: WindowFetch,
  rule: Rule,
  spec: DriftSpec,
  current: TimeRangeMs,
): Promise<Draft> {
  const source = sourceOf(rule);
  const value = fieldSql(spec.field, spec.kind, source.params);
  const base = { field: spec.field.text, method: spec.method, direction: "" };
  const placed = await sidesOf(fetch, source, spec.reference, spec.exclude, current);
  if (!placed.ok) return insufficient(base, 0, 0, null, placed.message);
  const { sides } = placed;
  const enough = (nRef: number, nCur: number) =>
    nRef >= spec.minReference && nCur >= spec.minCurrent;
  let aggregates: DriftAggregates;
  let histogram: { bins: string[]; currentCounts: number[]; referenceCounts: number[] };
  let nRef: number;
  let nCur: number;
  if (spec.kind === "numeric") {
    const fine = spec.method === "auto" || spec.method === "ks" || spec.method === "wasserstein";
    const found = await fetch.numeric(source, sides, value, { bins: spec.bins, fine }, enough);
    nRef = found.nReference;
    nCur = found.nCurrent;
    if (!enough(nRef, nCur)) return insufficient(base, nRef, nCur, sides, tooFew(spec, nRef, nCur));
    histogram = {
      bins: binLabels(found.cuts),
      currentCounts: found.current,
      referenceCounts: found.reference,
    };
    aggregates = {
      kind: "numeric",
      bins: { reference: found.reference, current: found.current },
      ...(found.points !== undefined && { points: found.points }),
      referenceStd: found.referenceStd,
    };
  } else {
    const topK = spec.method === "z" ? 1 : spec.topK;
    const found = await fetch.categorical(source, sides, value, topK, spec.category);
    nRef = found.nReference;
    nCur = found.nCurrent;
    if (!enough(nRef, nCur)) return insufficient(base, nRef, nCur, sides, tooFew(spec, nRef, nCur));
    histogram = {
      bins: [...found.categories, "(other)"],
      currentCounts: found.current,
      referenceCounts: found.reference,
    };
    // An empty "other" bin on both sides says nothing; z needs exactly [category, other].
    const dropOther =
      spec.method !== "z" && found.reference.at(-1) === 0 && found.current.at(-1) === 0;
    aggregates = {
      kind: "categorical",
      counts: {
        reference: dropOther ? found.reference.slice(0, -1) : found.reference,
        current: dropOther ? found.current.slice(0, -1) : found.current,
      },
    };
  }
  const outcome = evaluateDrift(
    spec.method,
    aggregates,
    spec.threshold === undefined
      ? { significance: defaultSignificance(spec.everyMs) }
      : { threshold: spec.threshold },
  );
  return {
    ...rangeOf(sides),
    field: spec.field.text,
    method: outcome.method,
    status: outcome.drifted ? "drift" : "ok",
    statistic: outcome.statistic,
    pValue: outcome.pValue,
    threshold: outcome.threshold,
    direction: outcome.direction,
    currentSize: nCur,
    referenceSize: nRef,
    ...histogram,
    message: `${outcome.method} ${outcome.pValue === null ? "statistic" : "p-value"} ${format(outcome.value)} ${outcome.drifted ? (outcome.direction === "above" ? "≥" : "<") : outcome.direction === "above" ? "<" : "≥"} threshold ${format(outcome.threshold)}`,
  };
}

async function evaluateRateRule(
  store: Store,
  fetch: WindowFetch,
  rule: Rule,
  spec: RateSpec,
  current: TimeRangeMs,
): Promise<Draft> {
  const source = sourceOf(rule);
  const measure = spec.measure;
  const comparison = spec.comparison;
  // What was measured, for results and dashboards: "p95 of duration_ms", "share",
  // "failure ratio of invoice-extraction-complete".
  const base = {
    field: measureName(spec),
    method: comparison.type === "baseline" ? "z" : "threshold",
  };

  if (measure.type === "aggregate") {
    const value =
      measure.field === undefined ? "1" : fieldSql(measure.field, "numeric", source.params);
    const fn = measure.fn;
    const found = await fetch.aggregate(
      source,
      current,
      value,
      fn,
      fn === "quantile" ? measure.q : 0,
    );
    return thresholdDraft(spec, base, found.value, found.samples, measureName(spec));
  }

  // share or failures: hits out of totals, in the current window and maybe the baseline's.
  let counts: {
    currentHits: number;
    currentTotal: number;
    referenceHits: number;
    referenceTotal: number;
  };
  let sides: WindowSides | undefined;
  if (comparison.type === "baseline") {
    const placed = await sidesOf(fetch, source, comparison.reference, comparison.exclude, current);
    if (!placed.ok)
      return insufficient({ ...base, direction: comparison.direction }, 0, 0, null, placed.message);
    sides = placed.sides;
  }
  if (measure.type === "share") {
    const condition = whereSql(measure.where, source.params);
    counts = await fetch.share(
      source,
      sides ?? { current, reference: { fromMs: 0, toMs: 0 }, exclude: [] },
      condition,
    );
  } else {
    const now = await failureCounts(store, measure.ruleId, current);
    let reference = { failed: 0, evaluated: 0 };
    if (sides !== undefined) {
      reference = await failureCounts(store, measure.ruleId, sides.reference);
      for (const range of sides.exclude) {
        const overlap = {
          fromMs: Math.max(range.fromMs, sides.reference.fromMs),
          toMs: Math.min(range.toMs, sides.reference.toMs),
        };
        if (overlap.fromMs >= overlap.toMs) continue;
        const excluded = await failureCounts(store, measure.ruleId, overlap);
        reference = {
          failed: reference.failed - excluded.failed,
          evaluated: reference.evaluated - excluded.evaluated,
        };
      }
    }
    counts = {
      currentHits: now.failed,
      currentTotal: now.evaluated,
      referenceHits: reference.failed,
      referenceTotal: reference.evaluated,
    };
  }
  const share = counts.currentTotal > 0 ? counts.currentHits / counts.currentTotal : null;
  if (comparison.type !== "baseline" || sides === undefined) {
    return {
      ...thresholdDraft(spec, base, share, counts.currentTotal, measureName(spec)),
      bins: ["hit", "miss"],
      currentCounts: [counts.currentHits, counts.currentTotal - counts.currentHits],
      referenceCounts: [0, 0],
    };
  }
  const histogram = {
    bins: ["hit", "miss"],
    currentCounts: [counts.currentHits, counts.currentTotal - counts.currentHits],
    referenceCounts: [counts.referenceHits, counts.referenceTotal - counts.referenceHits],
  };
  const withBase = { ...base, direction: comparison.direction };
  if (counts.currentTotal < spec.minSamples || counts.referenceTotal < spec.minSamples) {
    return {
      ...insufficient(
        withBase,
        counts.referenceTotal,
        counts.currentTotal,
        sides,
        `fewer than ${spec.minSamples} outputs in a window (current ${counts.currentTotal}, reference ${counts.referenceTotal})`,
      ),
      ...histogram,
    };
  }
  const z = twoProportionZTest({
    currentSuccesses: counts.currentHits,
    currentTotal: counts.currentTotal,
    referenceSuccesses: counts.referenceHits,
    referenceTotal: counts.referenceTotal,
  });
  const pValue =
    comparison.direction === "both"
      ? z.pValue
      : normalSurvival(comparison.direction === "above" ? z.statistic : -z.statistic);
  const delta =
    counts.currentHits / counts.currentTotal - counts.referenceHits / counts.referenceTotal;
  const signed =
    comparison.direction === "below"
      ? -delta
      : comparison.direction === "above"
        ? delta
        : Math.abs(delta);
  const breached = pValue < comparison.alpha && signed >= comparison.minDelta;
  return {
    ...rangeOf(sides),
    ...withBase,
    status: breached ? "drift" : "ok",
    statistic: z.statistic,
    pValue,
    threshold: comparison.alpha,
    currentSize: counts.currentTotal,
    referenceSize: counts.referenceTotal,
    ...histogram,
    message: `${measureName(spec)} ${format(counts.currentHits / counts.currentTotal)} vs baseline ${format(counts.referenceHits / counts.referenceTotal)}: z ${format(z.statistic)}, p ${format(pValue)} ${breached ? "<" : "≥"} alpha ${format(comparison.alpha)}`,
  };
}

function thresholdDraft(
  spec: RateSpec,
  base: { field: string; method: string },
  value: number | null,
  samples: number,
  name: string,
): Draft {
  const comparison = spec.comparison;
  const above = comparison.type === "above";
  const threshold = comparison.type === "baseline" ? null : comparison.value;
  const withBase = { ...base, direction: above ? "above" : "below" };
  if (value === null || samples < spec.minSamples || threshold === null) {
    return insufficient(
      withBase,
      0,
      samples,
      null,
      `fewer than ${spec.minSamples} outputs in the window (${samples})`,
    );
  }
  const breached = above ? value >= threshold : value <= threshold;
  return {
    ...withBase,
    referenceStart: null,
    referenceEnd: null,
    status: breached ? "drift" : "ok",
    statistic: value,
    pValue: null,
    threshold,
    currentSize: samples,
    referenceSize: 0,
    ...NO_HISTOGRAM,
    message: `${name} ${format(value)} ${breached ? (above ? "≥" : "≤") : above ? "<" : ">"} ${format(threshold)} over ${samples} outputs`,
  };
}

function measureName(spec: RateSpec): string {
  const m = spec.measure;
  if (m.type === "share") return "share";
  if (m.type === "failures") return `failure ratio of ${m.ruleId}`;
  const fn = m.fn === "quantile" ? `p${Math.round(m.q * 1000) / 10}` : m.fn;
  return m.field === undefined ? fn : `${fn} of ${m.field.text}`;
}

function insufficient(
  base: { field: string; method: string; direction?: string },
  referenceSize: number,
  currentSize: number,
  sides: WindowSides | null,
  message: string,
): Draft {
  return {
    ...(sides === null ? { referenceStart: null, referenceEnd: null } : rangeOf(sides)),
    direction: "",
    ...base,
    status: "insufficient",
    statistic: null,
    pValue: null,
    threshold: null,
    currentSize,
    referenceSize,
    ...NO_HISTOGRAM,
    message,
  };
}

function tooFew(spec: DriftSpec, nRef: number, nCur: number): string {
  return `too few samples: current ${nCur} (needs ${spec.minCurrent}), reference ${nRef} (needs ${spec.minReference})`;
}

function rangeOf(sides: WindowSides): { referenceStart: number; referenceEnd: number } {
  return { referenceStart: sides.reference.fromMs, referenceEnd: sides.reference.toMs };
}

/** Labels of the coarse numeric bins: "≤ c0", "(c0, c1]", …, "> c_last". */
function binLabels(cuts: readonly number[]): string[] {
  if (cuts.length === 0) return ["all"];
  const labels = [`≤ ${format(cuts[0] ?? 0)}`];
  for (let i = 1; i < cuts.length; i++)
    labels.push(`(${format(cuts[i - 1] ?? 0)}, ${format(cuts[i] ?? 0)}]`);
  labels.push(`> ${format(cuts[cuts.length - 1] ?? 0)}`);
  return labels;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e-3 || value === 0
    ? String(Number(value.toPrecision(4)))
    : value.toExponential(2);
}
