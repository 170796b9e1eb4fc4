/**
 * One evaluation of an absence rule at time t (docs/silence.md): ClickHouse counts every
 * entity's outputs (absence-query.ts), and each entity gets its verdict (poisson.ts). The
 * result is one WindowEvaluation that sums up the entities, for drift_results, with one group
 * per entity, each of which steps its own alert.
 */

import type { AbsenceGroup, WindowEvaluation } from "../../rules/findings.ts";
import type { AbsentSpec } from "../../rules/window-spec.ts";
import type { EntityCounts } from "./absence-query.ts";
import { absenceVerdict, format } from "./poisson.ts";

const DAY_MS = 86_400_000;

export type AbsenceDraft = Omit<
  WindowEvaluation,
  "ruleId" | "ruleVersion" | "checkType" | "evaluatedAt" | "windowStart" | "windowEnd"
>;

/**
 * The earlier days that count for an entity: those whose window lies within its history
 * read, after its first output (a new service is not expected to have sent before it
 * existed) and before its last (the days of a silence that has lasted longer than a day are
 * not "as quiet" as today).
 */
export function countedDays(entity: EntityCounts, spec: AbsentSpec, atMs: number): number[] {
  const daily: number[] = [];
  for (let d = 1; d <= spec.days; d++) {
    const start = atMs - spec.windowMs - d * DAY_MS;
    const end = atMs - d * DAY_MS;
    if (start >= entity.firstMs && end <= entity.lastMs + 1) daily.push(entity.counts[d] ?? 0);
  }
  return daily;
}

/** The verdict on every entity, and the summary row. */
export function absenceDraft(
  entities: readonly EntityCounts[],
  spec: AbsentSpec,
  atMs: number,
): AbsenceDraft {
  const window = formatDuration(spec.windowMs);
  const groups: AbsenceGroup[] = entities.map((entity) => {
    const daily = countedDays(entity, spec, atMs);
    const observed = entity.counts[0] ?? 0;
    const verdict = absenceVerdict({ observed, daily }, spec);
    const name = entityName(entity.labels);
    const lastSeen = `last seen ${new Date(entity.lastMs).toISOString()}`;
    const counts = `${observed} output${observed === 1 ? "" : "s"} in ${window}, expected ${format(verdict.expected)} (the same ${window} on ${daily.length} earlier day${daily.length === 1 ? "" : "s"})`;
    return {
      labels: entity.labels,
      status: verdict.status,
      observed,
      expected: verdict.expected,
      days: daily.length,
      pValue: verdict.pValue,
      lastSeenMs: entity.lastMs,
      message: `${verdict.status === "drift" ? "silent" : verdict.status === "ok" ? "sending" : "too sparse to tell"}: ${name}: ${counts}, ${verdict.reason}; ${lastSeen}`,
    };
  });
  const silent = groups.filter((g) => g.status === "drift");
  const tested = groups.filter((g) => g.status !== "insufficient");
  const sparse = groups.length - tested.length;
  const status = silent.length > 0 ? "drift" : tested.length > 0 ? "ok" : "insufficient";
  const minP = tested.reduce((min, g) => Math.min(min, g.pValue), 1);
  const summary =
    silent.length > 0
      ? `silent: ${silent.map((g) => `${entityName(g.labels)} (${g.observed} in ${window}, expected ${format(g.expected)}, p ${format(g.pValue)})`).join(", ")}; `
      : "";
  return {
    referenceStart: atMs - spec.days * DAY_MS - spec.windowMs,
    referenceEnd: atMs - DAY_MS,
    field: spec.groupBy.join(","),
    method: "poisson",
    status,
    statistic: silent.length,
    pValue: tested.length > 0 ? minP : null,
    threshold: spec.alpha,
    direction: "below",
    currentSize: groups.reduce((sum, g) => sum + g.observed, 0),
    referenceSize: entities.reduce(
      (sum, e) => sum + e.counts.slice(1).reduce((a, b) => a + b, 0),
      0,
    ),
    bins: [],
    currentCounts: [],
    referenceCounts: [],
    message: `${summary}${silent.length} silent, ${tested.length - silent.length} sending, ${sparse} too sparse to tell`,
    groups,
  };
}

/** "service=checkout, agent=triage". */
export function entityName(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}=${value === "" ? '""' : value}`)
    .join(", ");
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
