/**
 * Silences, as in Alertmanager: label matchers and a time span. A silenced alert still changes
 * state; delivery checks isSilenced and sends nothing. Regexes are RE2 (linear time) and match
 * the whole value; an absent label matches as "".
 */

import { RE2JS } from "re2js";
import { z } from "zod";
import type { Alert } from "./types.ts";

export interface SilenceMatcher {
  /** A label name, or "rule" for the rule id. */
  name: string;
  value: string;
  /** `value` is an RE2 regex matched against the whole label value (default false). */
  isRegex?: boolean;
  /** false negates the matcher: != or !~ (default true). */
  isEqual?: boolean;
}

export interface Silence {
  id: string;
  /** All must match. */
  matchers: SilenceMatcher[];
  /** ISO 8601; the silence holds from startsAt (inclusive) to endsAt (exclusive). */
  startsAt: string;
  endsAt: string;
  comment: string;
  createdBy: string;
}

export type SilenceState = "pending" | "active" | "expired";

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** A type error's message: "is required" when the key is missing, else the value and `what`. */
const notA =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "is required" : `${show(issue.input)} is not ${what}`;

const isoTime = z
  .string({ error: notA("a time") })
  .refine((text) => z.iso.datetime({ offset: true }).safeParse(text).success, {
    error: (issue) =>
      `${show(issue.input)} is not an ISO 8601 time with a zone, like 2026-01-31T18:00:00Z`,
  })
  .transform((text) => new Date(text).toISOString());

const flag = (name: string) =>
  z.boolean({ error: (issue) => `${show(issue.input)} is not true or false (${name})` });

const matcherSchema = z
  .strictObject(
    {
      name: z.string({ error: notA("a label name") }).regex(LABEL_NAME, {
        error: (issue) =>
          `${show(issue.input)} is not a label name (letters, digits and _, not starting with a digit)`,
      }),
      value: z.string({ error: notA("a string") }),
      isRegex: flag("isRegex").default(false),
      isEqual: flag("isEqual").default(true),
    },
    { error: unknownKeyOrNotObject(["name", "value", "isRegex", "isEqual"]) },
  )
  .superRefine((matcher, ctx) => {
    if (!matcher.isRegex) return;
    const problem = regexProblem(matcher.value);
    if (problem !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: `${show(matcher.value)} is not an RE2 regex: ${problem}`,
      });
    }
  });

/** The body of POST /api/silences. startsAt defaults to now (see createSilence). */
export const silenceBodySchema = z
  .strictObject(
    {
      matchers: z
        .array(matcherSchema, { error: notA("a list of matchers") })
        .min(1, { error: "needs at least one matcher" }),
      startsAt: isoTime.optional(),
      endsAt: isoTime,
      comment: z
        .string({ error: notA("a string") })
        .trim()
        .min(1, { error: "must say why (it is shown with the silence)" }),
      createdBy: z
        .string({ error: notA("a string") })
        .trim()
        .min(1, { error: "must say who" }),
    },
    {
      error: unknownKeyOrNotObject(["matchers", "startsAt", "endsAt", "comment", "createdBy"]),
    },
  )
  .superRefine((body, ctx) => {
    if (body.startsAt !== undefined && Date.parse(body.endsAt) <= Date.parse(body.startsAt)) {
      ctx.addIssue({
        code: "custom",
        path: ["endsAt"],
        message: `${body.endsAt} is not after startsAt ${body.startsAt}`,
      });
    }
    // As in Alertmanager: a silence whose every matcher matches "" would silence everything.
    if (body.matchers.length > 0 && body.matchers.every((m) => matcherMatches(m, ""))) {
      ctx.addIssue({
        code: "custom",
        path: ["matchers"],
        message:
          "at least one matcher must not match an empty value, or the silence would hold every alert",
      });
    }
  });

export type SilenceBody = z.output<typeof silenceBodySchema>;

export type CreateSilenceResult = { ok: true; silence: Silence } | { ok: false; errors: string[] };

/**
 * A silence from a parsed body: `id` given by the caller, startsAt now when not given. A
 * silence that would end before `now` (unix ms) is refused.
 */
export function createSilence(body: SilenceBody, id: string, now: number): CreateSilenceResult {
  const startsAt = body.startsAt ?? new Date(now).toISOString();
  if (Date.parse(body.endsAt) <= now) {
    return { ok: false, errors: [`endsAt ${body.endsAt} is not in the future`] };
  }
  if (Date.parse(body.endsAt) <= Date.parse(startsAt)) {
    return { ok: false, errors: [`endsAt ${body.endsAt} is not after startsAt ${startsAt}`] };
  }
  return {
    ok: true,
    silence: {
      id,
      matchers: body.matchers.map((m) => ({ ...m })),
      startsAt,
      endsAt: body.endsAt,
      comment: body.comment,
      createdBy: body.createdBy,
    },
  };
}

/** pending before startsAt, active from startsAt until endsAt, expired after. */
export function silenceState(silence: Silence, now: number): SilenceState {
  if (now < Date.parse(silence.startsAt)) return "pending";
  return now < Date.parse(silence.endsAt) ? "active" : "expired";
}

/** The silences active at `now` (unix ms) whose matchers all match the alert. */
export function silencesMatching(
  alert: Pick<Alert, "ruleId" | "labels">,
  silences: readonly Silence[],
  now: number,
): Silence[] {
  return silences.filter(
    (silence) =>
      silenceState(silence, now) === "active" &&
      silence.matchers.every((matcher) => matcherMatches(matcher, labelValue(alert, matcher.name))),
  );
}

/** Whether any silence active at `now` (unix ms) holds the alert. */
export function isSilenced(
  alert: Pick<Alert, "ruleId" | "labels">,
  silences: readonly Silence[],
  now: number,
): boolean {
  return silencesMatching(alert, silences, now).length > 0;
}

function labelValue(alert: Pick<Alert, "ruleId" | "labels">, name: string): string {
  return alert.labels[name] ?? (name === "rule" ? alert.ruleId : "");
}

function matcherMatches(matcher: SilenceMatcher, value: string): boolean {
  let matched: boolean;
  if (matcher.isRegex === true) {
    try {
      matched = RE2JS.compile(matcher.value).matches(value);
    } catch {
      // A stored silence with a broken regex silences nothing (the body schema refuses them).
      return false;
    }
  } else {
    matched = value === matcher.value;
  }
  return matcher.isEqual === false ? !matched : matched;
}

function regexProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function unknownKeyOrNotObject(known: readonly string[]) {
  return (issue: { code?: string; input?: unknown; keys?: string[] }): string =>
    issue.code === "unrecognized_keys"
      ? `unknown key ${(issue.keys ?? []).map(show).join(", ")}; known keys: ${known.join(", ")}`
      : `${show(issue.input)} is not an object`;
}

/** Where silences are kept: every change is saved before it takes effect. */
export interface SilenceStore {
  save(silence: Silence, deleted: boolean): Promise<void>;
}

/** The silences in effect, kept in memory over a store that outlives the process. */
export interface SilenceSet {
  list(): Silence[];
  /** Adds a silence, or replaces the one with its id. */
  add(silence: Silence): Promise<void>;
  /** Deletes a silence; false when there is none with that id. */
  remove(id: string): Promise<boolean>;
  /** The ids of the silences holding `alert` at `now` (unix ms). */
  holding(alert: Pick<Alert, "ruleId" | "labels">, now: number): string[];
  isSilenced(alert: Pick<Alert, "ruleId" | "labels">, now: number): boolean;
}

export function createSilenceSet(initial: readonly Silence[], store: SilenceStore): SilenceSet {
  let silences = [...initial];
  return {
    list: () => silences,
    async add(silence) {
      await store.save(silence, false);
      silences = [...silences.filter((s) => s.id !== silence.id), silence];
    },
    async remove(id) {
      const existing = silences.find((s) => s.id === id);
      if (existing === undefined) return false;
      await store.save(existing, true);
      silences = silences.filter((s) => s.id !== id);
      return true;
    },
    holding: (alert, now) => silencesMatching(alert, silences, now).map((s) => s.id),
    isSilenced: (alert, now) => isSilenced(alert, silences, now),
  };
}
