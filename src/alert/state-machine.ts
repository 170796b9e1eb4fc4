/**
 * The lifecycle of one alert (one fingerprint) as a pure transition function: the record so
 * far, an input, the time, and the rule's alert spec in; the next record and the notification
 * to send, if any, out. No clock, no I/O: the same inputs give the same outputs.
 *
 * each: a failure starts an episode (pending, or firing at once when `for` is 0); further
 * failures only add to its counts and examples. Pending becomes firing on a failure that comes
 * at least `for` after the first; pending is dropped, silently, after `resolveAfter` without
 * failures, and firing resolves after the same quiet time.
 *
 * rate: the condition is latched with hysteresis, like a Schmitt trigger: it starts to hold
 * when at least `minSamples` outputs were evaluated and failed / evaluated ≥ threshold, and
 * stops only when the ratio is below recoveryThreshold. Pending becomes firing once the latch
 * has held for `for`; pending whose latch drops goes back to inactive, silently; firing
 * resolves once the ratio has stayed below recoveryThreshold for `resolveAfter`. A ratio
 * between the two thresholds changes nothing, so input flapping around the threshold does not
 * flap notifications.
 *
 * window (rules with a rate or drift check): the same latch, set by an evaluation whose status
 * is `drift` and released by one whose status is `ok`; `insufficient` holds the state.
 *
 * All: a firing alert is notified again `repeatInterval` after its last notification. Silences
 * are not applied here: a silenced alert changes state as usual and delivery drops the message.
 */

import type { ParsedAlertSpec } from "../rules/alert-spec.ts";
import { keepExamples } from "./examples.ts";
import type { AlertExample, Measurement, NotificationKind } from "./types.ts";

export type AlertRecordState = "inactive" | "pending" | "firing" | "resolved";

/** What identifies an alert. */
export interface AlertKey {
  fingerprint: string;
  ruleId: string;
  /** The group labels (see groupLabelsOf). */
  labels: Record<string, string>;
}

/**
 * The state of one alert. Times are unix milliseconds. `failed`, `evaluated`, `firstSeen`,
 * `lastSeen` and `examples` belong to the current (or last) episode, which starts when the
 * alert leaves inactive or resolved. Undefined fields are left out, so a record survives a
 * JSON round trip unchanged.
 */
export interface AlertRecord extends AlertKey {
  state: AlertRecordState;
  /** When the episode's condition started to hold. */
  pendingSince?: number | undefined;
  /** When it started firing. */
  firingSince?: number | undefined;
  /** each: when the last failure was processed (`now` of its step), for the quiet time. */
  lastFailureAt?: number | undefined;
  /** rate: since when the ratio has been below recoveryThreshold while firing. */
  recoveringSince?: number | undefined;
  lastNotifiedAt?: number | undefined;
  resolvedAt?: number | undefined;
  /** each: failed and evaluated outputs of the episode; rate: of the latest window. */
  failed: number;
  evaluated: number;
  /** Times of the earliest and latest failing output of the episode. */
  firstSeen?: number | undefined;
  lastSeen?: number | undefined;
  /** At most 5: the episode's first 2 and its latest 3. */
  examples: AlertExample[];
  /** Window rules: the latest evaluation (statistic, threshold, windows, sample sizes). */
  measurement?: Measurement | undefined;
}

/** A batch of failing outputs of this alert's group (each mode). */
export interface FailuresInput {
  type: "failures";
  /** Examples of the failures (there may be several per output, or only a sample). */
  findings: readonly AlertExample[];
  /** Failing outputs in the batch. */
  failed: number;
  /** Outputs evaluated in the batch. */
  evaluated: number;
}

/** The window's counts of this alert's group, computed by SQL on the per-minute counters. */
export interface RateInput {
  type: "rate";
  failed: number;
  evaluated: number;
  /** Example findings from the window, if the caller fetched some. */
  findings?: readonly AlertExample[];
}

/**
 * One evaluation of a window rule (rate or drift check): `drift` and `disappeared` (the
 * watched field stopped coming) hold the condition, `ok` releases it, `insufficient` and
 * `error` change nothing (too few samples is not "no drift").
 */
export interface WindowInput {
  type: "window";
  status: "ok" | "drift" | "insufficient" | "disappeared" | "error";
  /** For the alert's counts: hits (share, failures) or 0, and the current window's samples. */
  failed: number;
  evaluated: number;
  measurement: Measurement;
}

/** Time passing with no new data. */
export interface TickInput {
  type: "tick";
}

/**
 * An input of the wrong mode (failures for a rate alert, rate for an each alert) is taken as
 * a tick: time passes and nothing else changes.
 */
export type AlertInput = FailuresInput | RateInput | WindowInput | TickInput;

export type AlertNotificationKind = Exclude<NotificationKind, "test">;

export interface StepResult {
  record: AlertRecord;
  /** Set when people must be told: the alert started firing, fires still, or resolved. */
  notify?: AlertNotificationKind;
}

/** A new alert: inactive, nothing seen yet. */
export function newAlertRecord(key: AlertKey): AlertRecord {
  return {
    fingerprint: key.fingerprint,
    ruleId: key.ruleId,
    labels: { ...key.labels },
    state: "inactive",
    failed: 0,
    evaluated: 0,
    examples: [],
  };
}

/** The next state of an alert after `input` at `now` (unix ms). */
export function step(
  record: AlertRecord,
  input: AlertInput,
  now: number,
  spec: ParsedAlertSpec,
): StepResult {
  const result =
    spec.mode === "each"
      ? stepEach(record, input.type === "failures" ? input : TICK, now, spec)
      : spec.mode === "rate"
        ? stepRate(record, input.type === "rate" ? input : TICK, now, spec)
        : stepWindow(record, input.type === "window" ? input : TICK, now, spec);
  const repeated = result.notify === undefined ? repeatIfDue(result.record, now, spec) : result;
  const notified =
    repeated.notify === undefined
      ? repeated
      : { ...repeated, record: { ...repeated.record, lastNotifiedAt: now } };
  return { ...notified, record: compact(notified.record) };
}

const TICK: TickInput = { type: "tick" };

function stepEach(
  record: AlertRecord,
  input: FailuresInput | TickInput,
  now: number,
  spec: ParsedAlertSpec,
): StepResult {
  const hasFailures = input.type === "failures" && (input.failed > 0 || input.findings.length > 0);
  const quiet =
    record.lastFailureAt === undefined || now - record.lastFailureAt >= spec.resolveAfterMs;

  if (!hasFailures) {
    const withCounts =
      input.type === "failures" && (record.state === "pending" || record.state === "firing")
        ? { ...record, evaluated: record.evaluated + input.evaluated }
        : record;
    if (record.state === "pending" && quiet) return { record: resetRecord(record) };
    if (record.state === "firing" && quiet) {
      return { record: { ...withCounts, state: "resolved", resolvedAt: now }, notify: "resolved" };
    }
    return { record: withCounts };
  }

  // A pending episode that went quiet is over; this failure starts a new one.
  const newEpisode =
    record.state === "inactive" ||
    record.state === "resolved" ||
    (record.state === "pending" && quiet);
  if (newEpisode) {
    const started = startEpisode(record, input.findings, now);
    const counted = {
      ...started,
      failed: input.failed,
      evaluated: input.evaluated,
      lastFailureAt: now,
    };
    return spec.forMs === 0 ? fire(counted, now) : { record: counted };
  }

  const counted = addFailures(record, input, now);
  if (record.state === "pending" && now - (record.pendingSince ?? now) >= spec.forMs) {
    return fire(counted, now);
  }
  return { record: counted };
}

function stepRate(
  record: AlertRecord,
  input: RateInput | TickInput,
  now: number,
  spec: Extract<ParsedAlertSpec, { mode: "rate" }>,
): StepResult {
  if (input.type === "tick") return stepLatched(record, input, now, spec);
  // No outputs at all counts as no failures: traffic that stopped lets the alert resolve.
  const ratio = input.evaluated > 0 ? input.failed / input.evaluated : 0;
  return stepLatched(
    record,
    {
      breached: input.evaluated >= spec.minSamples && ratio >= spec.threshold,
      recovered: ratio < spec.recoveryThreshold,
      counts: windowCounts(input),
      findings: input.findings ?? [],
    },
    now,
    spec,
  );
}

/** Window rules: the evaluation decided; insufficient samples or an error hold the state. */
function stepWindow(
  record: AlertRecord,
  input: WindowInput | TickInput,
  now: number,
  spec: ParsedAlertSpec,
): StepResult {
  if (input.type === "tick") return stepLatched(record, input, now, spec);
  const result = stepLatched(
    record,
    {
      breached: input.status === "drift" || input.status === "disappeared",
      recovered: input.status === "ok",
      counts: { failed: input.failed, evaluated: input.evaluated },
      findings: [],
    },
    now,
    spec,
  );
  return result.record.state === "inactive"
    ? result
    : { ...result, record: { ...result.record, measurement: input.measurement } };
}

interface LatchInput {
  breached: boolean;
  recovered: boolean;
  counts: Pick<AlertRecord, "failed" | "evaluated">;
  findings: readonly AlertExample[];
}

/** The latch shared by rate alerts and window rules (see the header). */
function stepLatched(
  record: AlertRecord,
  input: LatchInput | TickInput,
  now: number,
  spec: ParsedAlertSpec,
): StepResult {
  if ("type" in input) {
    if (record.state === "pending" && now - (record.pendingSince ?? now) >= spec.forMs) {
      return fire(record, now);
    }
    if (record.state === "firing" && recoveredFor(record, now, spec)) return resolve(record, now);
    return { record };
  }

  const { breached, recovered, findings } = input;

  if (record.state === "inactive" || record.state === "resolved") {
    if (!breached) return { record };
    const started = { ...startEpisode(record, findings, now), ...input.counts };
    return spec.forMs === 0 ? fire(started, now) : { record: started };
  }
  if (record.state === "pending" && recovered) return { record: resetRecord(record) };

  const updated: AlertRecord = {
    ...record,
    ...input.counts,
    examples: keepExamples(record.examples, sortByTime(findings)),
    ...seenRange(record, findings, input.counts.failed > 0 || breached ? now : undefined),
  };
  if (record.state === "pending") {
    return now - (record.pendingSince ?? now) >= spec.forMs
      ? fire(updated, now)
      : { record: updated };
  }
  // firing
  if (!recovered) return { record: { ...updated, recoveringSince: undefined } };
  const recovering = { ...updated, recoveringSince: record.recoveringSince ?? now };
  return recoveredFor(recovering, now, spec) ? resolve(recovering, now) : { record: recovering };
}

function recoveredFor(record: AlertRecord, now: number, spec: ParsedAlertSpec): boolean {
  return (
    record.recoveringSince !== undefined && now - record.recoveringSince >= spec.resolveAfterMs
  );
}

function repeatIfDue(record: AlertRecord, now: number, spec: ParsedAlertSpec): StepResult {
  const due =
    record.state === "firing" &&
    record.lastNotifiedAt !== undefined &&
    now - record.lastNotifiedAt >= spec.repeatIntervalMs;
  return due ? { record, notify: "repeat" } : { record };
}

function fire(record: AlertRecord, now: number): StepResult {
  return { record: { ...record, state: "firing", firingSince: now }, notify: "firing" };
}

function resolve(record: AlertRecord, now: number): StepResult {
  return {
    record: { ...record, state: "resolved", resolvedAt: now, recoveringSince: undefined },
    notify: "resolved",
  };
}

/** Back to inactive: the key only, the episode forgotten. */
function resetRecord(record: AlertRecord): AlertRecord {
  return newAlertRecord(record);
}

/** A new episode, pending since now; the caller fires it at once when `for` is 0. */
function startEpisode(
  record: AlertRecord,
  findings: readonly AlertExample[],
  now: number,
): AlertRecord {
  const sorted = sortByTime(findings);
  return {
    ...newAlertRecord(record),
    state: "pending",
    pendingSince: now,
    examples: keepExamples([], sorted),
    ...seenRange({}, sorted, now),
  };
}

function addFailures(record: AlertRecord, input: FailuresInput, now: number): AlertRecord {
  return {
    ...record,
    failed: record.failed + input.failed,
    evaluated: record.evaluated + input.evaluated,
    lastFailureAt: now,
    examples: keepExamples(record.examples, sortByTime(input.findings)),
    ...seenRange(record, input.findings, now),
  };
}

function windowCounts(input: RateInput): Pick<AlertRecord, "failed" | "evaluated"> {
  return { failed: input.failed, evaluated: input.evaluated };
}

/**
 * firstSeen / lastSeen widened by the findings' times; when no finding has a readable time,
 * by `fallback` (the step's time), if given.
 */
function seenRange(
  record: Pick<AlertRecord, "firstSeen" | "lastSeen">,
  findings: readonly AlertExample[],
  fallback: number | undefined,
): Pick<AlertRecord, "firstSeen" | "lastSeen"> {
  const times = findings.map((finding) => Date.parse(finding.at)).filter((t) => !Number.isNaN(t));
  if (times.length === 0 && fallback !== undefined) times.push(fallback);
  if (times.length === 0) return { firstSeen: record.firstSeen, lastSeen: record.lastSeen };
  const earliest = Math.min(...times);
  const latest = Math.max(...times);
  return {
    firstSeen: record.firstSeen === undefined ? earliest : Math.min(record.firstSeen, earliest),
    lastSeen: record.lastSeen === undefined ? latest : Math.max(record.lastSeen, latest),
  };
}

/** Oldest first; a stable sort, so findings of the same time keep their order. */
function sortByTime(findings: readonly AlertExample[]): AlertExample[] {
  return findings
    .map((finding, index) => ({ finding, index, at: Date.parse(finding.at) || 0 }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ finding }) => finding);
}

/** The record without undefined fields (stable JSON, exact equality in tests). */
function compact(record: AlertRecord): AlertRecord {
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== undefined),
  ) as unknown as AlertRecord;
}
