/**
 * A rule's `alert` block, parsed once into a typed spec with every default applied. Modes:
 * `each` (any failing output fires the alert of its group) and `rate` (the failure ratio over
 * a window passes a threshold). Durations are milliseconds here, text in the rule file.
 */

import { z } from "zod";
import { durationSchema } from "./duration.ts";

/** Labels every finding carries, from the output it is about. */
export const OUTPUT_LABEL_NAMES = ["service", "agent", "operation", "model", "tool"] as const;
export type OutputLabelName = (typeof OUTPUT_LABEL_NAMES)[number];

/**
 * What an `each` alert of a conversation rule may also group by: the finding's conversation,
 * so that each conversation that fails is its own alert.
 */
export const CONVERSATION_LABEL = "conversation";

/** Per-minute counters (check_evaluations) are kept per service and agent only. */
export const RATE_OUTPUT_LABEL_NAMES: readonly OutputLabelName[] = ["service", "agent"];

/** Labels every alert gets; a group label may not take their names. */
export const RESERVED_LABEL_NAMES = ["rule", "severity"] as const;

interface CommonAlertSpec {
  /** Label names whose values, with the rule id, identify one alert (its fingerprint). */
  groupBy: string[];
  /** How long the condition must hold before pending becomes firing. */
  forMs: number;
  /** each: quiet time without failures; rate: time below recoveryThreshold; then resolved. */
  resolveAfterMs: number;
  /** A firing alert is notified again this long after its last notification. */
  repeatIntervalMs: number;
}

export interface EachAlertSpec extends CommonAlertSpec {
  mode: "each";
}

export interface RateAlertSpec extends CommonAlertSpec {
  mode: "rate";
  /** Fires when failed / evaluated ≥ threshold (0 < threshold ≤ 1)… */
  threshold: number;
  /** …over this window… */
  windowMs: number;
  /** …with at least this many evaluated outputs in it. */
  minSamples: number;
  /** Resolves once the ratio is below this (≤ threshold); in between, the state stays. */
  recoveryThreshold: number;
}

/**
 * Rules with a rate or drift check: each evaluation says drift or not; the alert latches on
 * it. One alert per rule (no groupBy: the evaluation covers every matching output).
 */
export interface WindowAlertSpec extends CommonAlertSpec {
  mode: "window";
}

/** The `alert` block of a rule after parsing, defaults applied. */
export type ParsedAlertSpec = EachAlertSpec | RateAlertSpec | WindowAlertSpec;

const MINUTE = 60_000;

export const ALERT_DEFAULTS = {
  groupBy: ["service", "agent"],
  repeatIntervalMs: 4 * 60 * MINUTE,
  each: { forMs: 0, resolveAfterMs: 15 * MINUTE },
  rate: { forMs: 5 * MINUTE, resolveAfterMs: 5 * MINUTE, windowMs: 15 * MINUTE, minSamples: 20 },
  window: { forMs: 0, resolveAfterMs: 0 },
} as const;

/** The keys a window rule's alert block may hold. */
const WINDOW_KEYS = ["for", "resolveAfter", "repeatInterval"] as const;

const KNOWN_KEYS = [
  "mode",
  "groupBy",
  "for",
  "resolveAfter",
  "repeatInterval",
  "threshold",
  "window",
  "minSamples",
  "recoveryThreshold",
] as const;
const RATE_ONLY_KEYS = ["threshold", "window", "minSamples", "recoveryThreshold"] as const;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const ratio = (what: string) =>
  z
    .number({ error: (issue) => `${show(issue.input)} is not a number` })
    .refine((value) => value > 0 && value <= 1, {
      error: (issue) => `${show(issue.input)} is not a ${what} (greater than 0, at most 1)`,
    });

const blockShape = z.strictObject(
  {
    mode: z
      .enum(["each", "rate"], {
        error: (issue) => `${show(issue.input)} is not a mode: use each or rate`,
      })
      .optional(),
    groupBy: z
      .array(
        z
          .string({ error: (issue) => `${show(issue.input)} is not a label name` })
          .regex(LABEL_NAME, {
            error: (issue) =>
              `${show(issue.input)} is not a label name (letters, digits and _, not starting with a digit)`,
          }),
        { error: (issue) => `${show(issue.input)} is not a list of label names` },
      )
      .optional(),
    for: durationSchema().optional(),
    resolveAfter: durationSchema().optional(),
    repeatInterval: durationSchema({
      ms: MINUTE,
      why: "shorter than one minute; notifications would repeat on every evaluation",
    }).optional(),
    threshold: ratio("failure ratio").optional(),
    window: durationSchema({
      ms: MINUTE,
      why: "shorter than one minute, the resolution of the failure counters",
    }).optional(),
    minSamples: z
      .number({ error: (issue) => `${show(issue.input)} is not a number` })
      .refine((value) => Number.isSafeInteger(value) && value >= 1, {
        error: (issue) => `${show(issue.input)} is not a whole number of at least 1`,
      })
      .optional(),
    recoveryThreshold: ratio("recovery ratio").optional(),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key ${issue.keys.map(show).join(", ")}; known keys: ${KNOWN_KEYS.join(", ")}`
        : `${show(issue.input)} is not an object`,
  },
);

/**
 * The `alert` block: each key checked on its own (errors name the key's value), then across
 * keys (rate-only keys, the required threshold, recovery ≤ threshold, rate grouping), then
 * turned into a ParsedAlertSpec with the mode's defaults. Whether a groupBy name is one of the
 * rule's own labels is checked by parseAlertSpec, which knows the rule.
 */
export const alertSpecSchema = z
  .preprocess((block) => (block === undefined ? {} : block), blockShape)
  .superRefine((block, ctx) => {
    const mode = block.mode ?? "each";
    if (mode === "each") {
      for (const key of RATE_ONLY_KEYS) {
        if (block[key] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `only applies to mode "rate" (this alert's mode is "each")`,
          });
        }
      }
      return;
    }
    if (block.threshold === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["threshold"],
        message: `is required for mode "rate": the failure ratio (0 < threshold ≤ 1) that fires the alert`,
      });
    } else if (block.recoveryThreshold !== undefined && block.recoveryThreshold > block.threshold) {
      ctx.addIssue({
        code: "custom",
        path: ["recoveryThreshold"],
        message: `${block.recoveryThreshold} is above threshold ${block.threshold}; it must be at most the threshold`,
      });
    }
    (block.groupBy ?? []).forEach((name, index) => {
      if (name === CONVERSATION_LABEL) {
        ctx.addIssue({
          code: "custom",
          path: ["groupBy", index],
          message: `"conversation" cannot group a "rate" alert: failure counts are kept per ${RATE_OUTPUT_LABEL_NAMES.join(" and ")}`,
        });
      } else if ((OUTPUT_LABEL_NAMES as readonly string[]).includes(name)) {
        if (!RATE_OUTPUT_LABEL_NAMES.includes(name as OutputLabelName)) {
          ctx.addIssue({
            code: "custom",
            path: ["groupBy", index],
            message: `${show(name)} cannot group a "rate" alert: failure counts are kept per ${RATE_OUTPUT_LABEL_NAMES.join(" and ")}`,
          });
        }
      }
    });
  })
  .transform((block): ParsedAlertSpec => {
    const common = {
      groupBy: block.groupBy ?? [...ALERT_DEFAULTS.groupBy],
      repeatIntervalMs: block.repeatInterval ?? ALERT_DEFAULTS.repeatIntervalMs,
    };
    if (block.mode !== "rate") {
      return {
        mode: "each",
        ...common,
        forMs: block.for ?? ALERT_DEFAULTS.each.forMs,
        resolveAfterMs: block.resolveAfter ?? ALERT_DEFAULTS.each.resolveAfterMs,
      };
    }
    // superRefine has reported a missing threshold; this branch only runs when it is set.
    const threshold = block.threshold ?? 1;
    return {
      mode: "rate",
      ...common,
      forMs: block.for ?? ALERT_DEFAULTS.rate.forMs,
      resolveAfterMs: block.resolveAfter ?? ALERT_DEFAULTS.rate.resolveAfterMs,
      threshold,
      windowMs: block.window ?? ALERT_DEFAULTS.rate.windowMs,
      minSamples: block.minSamples ?? ALERT_DEFAULTS.rate.minSamples,
      recoveryThreshold: block.recoveryThreshold ?? threshold / 2,
    };
  });

/** A problem with an `alert` block: a JSON pointer into the rule file and a message. */
export interface AlertSpecError {
  pointer: string;
  message: string;
}

export type AlertSpecResult =
  { ok: true; spec: ParsedAlertSpec } | { ok: false; errors: AlertSpecError[] };

/**
 * Parses a rule's `alert` block (undefined: all defaults). Besides the schema, each groupBy
 * name must be an output label (service, agent, operation, model, tool) or one of the rule's
 * own labels, at most once, and not a reserved label (rule, severity).
 */
export function parseAlertSpec(
  block: unknown,
  ruleLabels: Readonly<Record<string, string>>,
  windowed = false,
): AlertSpecResult {
  if (windowed) return parseWindowAlertSpec(block);
  const parsed = alertSpecSchema.safeParse(block);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => ({
        pointer: pointerOf(issue.path),
        message: messageOf(issue.path, issue.message),
      })),
    };
  }
  const errors: AlertSpecError[] = [];
  const seen = new Set<string>();
  parsed.data.groupBy.forEach((name, index) => {
    const path = ["groupBy", index];
    if ((RESERVED_LABEL_NAMES as readonly string[]).includes(name)) {
      errors.push(at(path, `${show(name)} is a label every alert has; it cannot group alerts`));
    } else if (
      !(OUTPUT_LABEL_NAMES as readonly string[]).includes(name) &&
      name !== CONVERSATION_LABEL &&
      !Object.hasOwn(ruleLabels, name)
    ) {
      const ruleOwn = Object.keys(ruleLabels);
      const choices = [...OUTPUT_LABEL_NAMES, CONVERSATION_LABEL, ...ruleOwn].join(", ");
      errors.push(
        at(path, `${show(name)} is not a label of this rule's findings; use one of ${choices}`),
      );
    } else if (seen.has(name)) {
      errors.push(at(path, `${show(name)} is listed twice`));
    }
    seen.add(name);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec: parsed.data };
}

/**
 * The alert block of a rate or drift rule: the check's evaluations decide, so only for,
 * resolveAfter and repeatInterval apply (defaults: fire at the first drifted evaluation,
 * resolve at the first one without drift, repeat every 4 hours).
 */
function parseWindowAlertSpec(block: unknown): AlertSpecResult {
  const record = block === undefined ? {} : block;
  const errors: AlertSpecError[] = [];
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return { ok: false, errors: [at([], `${show(block)} is not an object`)] };
  }
  for (const key of Object.keys(record)) {
    if (key === "mode" && (record as Record<string, unknown>)[key] === "window") continue;
    if (!(WINDOW_KEYS as readonly string[]).includes(key)) {
      errors.push(
        at(
          [key],
          `does not apply to a rate or drift check, whose evaluations decide; known keys: ${WINDOW_KEYS.join(", ")}`,
        ),
      );
    }
  }
  const shape = blockShape.pick({ for: true, resolveAfter: true, repeatInterval: true });
  const picked = Object.fromEntries(
    Object.entries(record).filter(([key]) => (WINDOW_KEYS as readonly string[]).includes(key)),
  );
  const parsed = shape.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(at(issue.path, issue.message));
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };
  return {
    ok: true,
    spec: {
      mode: "window",
      groupBy: [],
      forMs: parsed.data.for ?? ALERT_DEFAULTS.window.forMs,
      resolveAfterMs: parsed.data.resolveAfter ?? ALERT_DEFAULTS.window.resolveAfterMs,
      repeatIntervalMs: parsed.data.repeatInterval ?? ALERT_DEFAULTS.repeatIntervalMs,
    },
  };
}

function at(path: PropertyKey[], message: string): AlertSpecError {
  return { pointer: pointerOf(path), message: messageOf(path, message) };
}

function pointerOf(path: readonly PropertyKey[]): string {
  return [
    "/alert",
    ...path.map((part) => String(part).replace(/~/g, "~0").replace(/\//g, "~1")),
  ].join("/");
}

function messageOf(path: readonly PropertyKey[], message: string): string {
  const key = path.length > 0 ? `alert.${path.map(String).join(".")}` : "alert";
  return `${key}: ${message}`;
}
