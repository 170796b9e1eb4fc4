/**
 * The failures of the detection benchmark (issue 7): what each scenario injects from
 * `injectedAtMs` on, into which service, in what share of runs, and which rule is expected to
 * catch it. `effectsFor` is the only place that decides, per run, what a scenario changes; the
 * agents (orders-agent.ts, research-agent.ts) only obey the effects they are handed.
 */

import type { Random } from "./random.ts";

export const SCENARIO_IDS = [
  "control",
  "broken-json",
  "category-shift",
  "auth-error-as-data",
  "truncation",
  "unit-error",
  "duplicate-side-effect",
  "shorter-after-model-change",
  "empty-output",
  "tool-latency",
  "stopped-calling-tool",
  // Issue 19: found by an LLM judge (bench/detect/wrong-entity.ts).
  "wrong-entity",
  // Silence (issue 18): scenarios.ts "Silence" below.
  "agent-silent",
  "field-disappears",
  "traffic-lull",
] as const;

export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** The two simulated services. */
export type ServiceKey = "orders" | "research";

export interface ModelChoice {
  requestModel: string;
  responseModel: string;
  /** Multiplies the target length of free-text answers (confirmations, summaries). */
  lengthFactor: number;
  /** Median decoding speed. */
  tokensPerSecond: number;
}

export const BASE_MODEL: ModelChoice = {
  requestModel: "gpt-4o",
  responseModel: "gpt-4o-2024-08-06",
  lengthFactor: 1,
  tokensPerSecond: 70,
};

export const NEW_MODEL: ModelChoice = {
  requestModel: "gpt-4.1-mini",
  responseModel: "gpt-4.1-mini-2025-04-14",
  lengthFactor: 0.5,
  tokensPerSecond: 110,
};

export const ORDER_TYPES = ["standard", "express", "wholesale", "subscription", "gift"] as const;
/** The stable mix of order types, in ORDER_TYPES order. */
export const ORDER_TYPE_SHARES: readonly number[] = [0.42, 0.22, 0.16, 0.1, 0.1];
/** category-shift: "subscription" goes from 10% to 35%, the others shrink in proportion. */
export const SHIFTED_ORDER_TYPE_SHARES: readonly number[] = ORDER_TYPE_SHARES.map((share, i) =>
  ORDER_TYPES[i] === "subscription" ? 0.35 : (share * 0.65) / 0.9,
);

export type BrokenJson = "missing-field" | "wrong-type" | "truncated-json";

/** What a run does differently from the stable agent. */
export interface RunEffects {
  /** Whether anything differs from STABLE_EFFECTS. */
  affected: boolean;
  model: ModelChoice;
  // orders-agent
  brokenJson: BrokenJson | null;
  orderTypeShares: readonly number[];
  authErrorAsData: boolean;
  /** Multiplies the extracted `total` (100: the extractor reports cents). */
  totalFactor: number;
  duplicateCreateOrder: boolean;
  skipCheckStock: boolean;
  /** wrong-entity: the confirmation names another order id than the one created. */
  wrongEntity: boolean;
  // research-agent
  truncatedSummary: boolean;
  emptySummary: boolean;
  /** Multiplies fetch_page latency. */
  fetchLatencyFactor: number;
  // silence
  /** The run does not happen: no span is sent. */
  skipRun: boolean;
  /** orders-agent: the parse output has no `total`. */
  dropTotal: boolean;
}

export const STABLE_EFFECTS: RunEffects = Object.freeze({
  affected: false,
  model: BASE_MODEL,
  brokenJson: null,
  orderTypeShares: ORDER_TYPE_SHARES,
  authErrorAsData: false,
  totalFactor: 1,
  duplicateCreateOrder: false,
  skipCheckStock: false,
  wrongEntity: false,
  truncatedSummary: false,
  emptySummary: false,
  fetchLatencyFactor: 1,
  skipRun: false,
  dropTotal: false,
});

/** Shares of runs (or calls) a scenario touches once injected. */
export const INJECTED = {
  /** broken-json: share of parse calls, split evenly between the three kinds. */
  brokenJson: 0.05,
  /** auth-error-as-data: share of check_stock calls answering 401 as data with span status OK. */
  authErrorAsData: 0.3,
  /** truncation: share of summaries cut at max_tokens (finish_reason length). */
  truncatedSummary: 0.1,
  /** duplicate-side-effect: share of orders runs calling create_order twice, same arguments. */
  duplicateCreateOrder: 0.1,
  /** empty-output: share of summaries that are empty (finish_reason stop). */
  emptySummary: 0.05,
  /** tool-latency: fetch_page latency factor at the end of the failure period (p95 2 s → 20 s). */
  fetchLatencyFactorAtEnd: 10,
  /** wrong-entity: share of orders runs whose confirmation names another order. */
  wrongEntity: 0.1,
} as const;

const BROKEN_KINDS: readonly BrokenJson[] = ["missing-field", "wrong-type", "truncated-json"];

/**
 * The effects of `scenario` on one run of `service`. `progress` is null before injection, else
 * the position in the failure period (0 at injection, 1 at its end). `random` is the run's own
 * failure stream: it is only read after injection, so the stable period of every scenario is
 * the control run's, span for span.
 */
export function effectsFor(
  scenario: ScenarioId,
  service: ServiceKey,
  progress: number | null,
  random: Random,
  /** The run's start after injection (ms); silence scenarios last two hours from it. */
  sinceInjectionMs = 0,
): RunEffects {
  if (progress === null || scenario === "control") return STABLE_EFFECTS;
  const on = (changes: Partial<RunEffects>): RunEffects => ({
    ...STABLE_EFFECTS,
    ...changes,
    affected: true,
  });
  const chance = random();
  const silence = silenceEffects(scenario, service, sinceInjectionMs, chance, on);
  if (silence !== undefined) return silence;
  if (service === "orders") {
    switch (scenario) {
      case "broken-json":
        return chance < INJECTED.brokenJson
          ? on({ brokenJson: BROKEN_KINDS[Math.floor(random() * 3)] ?? "truncated-json" })
          : STABLE_EFFECTS;
      case "category-shift":
        return on({ orderTypeShares: SHIFTED_ORDER_TYPE_SHARES });
      case "auth-error-as-data":
        return chance < INJECTED.authErrorAsData ? on({ authErrorAsData: true }) : STABLE_EFFECTS;
      case "unit-error":
        return on({ totalFactor: 100 });
      case "duplicate-side-effect":
        return chance < INJECTED.duplicateCreateOrder
          ? on({ duplicateCreateOrder: true })
          : STABLE_EFFECTS;
      case "shorter-after-model-change":
        return on({ model: NEW_MODEL });
      case "stopped-calling-tool":
        return on({ skipCheckStock: true });
      case "wrong-entity":
        return chance < INJECTED.wrongEntity ? on({ wrongEntity: true }) : STABLE_EFFECTS;
      default:
        return STABLE_EFFECTS;
    }
  }
  switch (scenario) {
    case "truncation":
      return chance < INJECTED.truncatedSummary ? on({ truncatedSummary: true }) : STABLE_EFFECTS;
    case "empty-output":
      return chance < INJECTED.emptySummary ? on({ emptySummary: true }) : STABLE_EFFECTS;
    case "tool-latency":
      return on({ fetchLatencyFactor: 1 + (INJECTED.fetchLatencyFactorAtEnd - 1) * progress });
    case "shorter-after-model-change":
      return on({ model: NEW_MODEL });
    default:
      return STABLE_EFFECTS;
  }
}

// Silence (issue 18) -------------------------------------------------------------------------

/** How long the silence scenarios last from injection (the rest of the failure period is stable). */
export const SILENCE_MS = 2 * 3_600_000;

/**
 * agent-silent: the research agent sends nothing for two hours; field-disappears: the order
 * parser's output loses `total` for two hours; traffic-lull (a control, nothing failed): half
 * of the research agent's runs do not happen for two hours — a lull, not silence.
 */
function silenceEffects(
  scenario: ScenarioId,
  service: ServiceKey,
  sinceInjectionMs: number,
  chance: number,
  on: (changes: Partial<RunEffects>) => RunEffects,
): RunEffects | undefined {
  if (
    scenario !== "agent-silent" &&
    scenario !== "field-disappears" &&
    scenario !== "traffic-lull"
  ) {
    return undefined;
  }
  if (sinceInjectionMs >= SILENCE_MS) return STABLE_EFFECTS;
  if (scenario === "agent-silent")
    return service === "research" ? on({ skipRun: true }) : STABLE_EFFECTS;
  if (scenario === "field-disappears")
    return service === "orders" ? on({ dropTotal: true }) : STABLE_EFFECTS;
  return service === "research" && chance < 0.5 ? on({ skipRun: true }) : STABLE_EFFECTS;
}

/** Scenarios in which nothing failed: every alert of theirs is a false alarm. */
export function isControlScenario(scenario: ScenarioId): boolean {
  return scenario === "control" || scenario === "traffic-lull";
}

export interface ScenarioInfo {
  id: ScenarioId;
  /** Its number in the issue's list; 0 for the control run. */
  issueNumber: number;
  services: readonly ServiceKey[];
  injects: string;
  /** Rules in rules/builtin or rules/examples expected to catch it (as they stand or copied). */
  caughtBy: readonly string[];
  /** A rule the benchmark has to add, when none of the existing ones fits. */
  needsRule?: string;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    id: "control",
    issueNumber: 0,
    services: [],
    injects: "nothing: stable traffic with its legitimate noise throughout",
    caughtBy: [],
  },
  {
    id: "broken-json",
    issueNumber: 1,
    services: ["orders"],
    injects:
      "5% of parse calls: a third drop `quantity`, a third give it as a string, a third are JSON cut mid-object (finish_reason stop)",
    caughtBy: ["builtin.invalid-json"],
    needsRule:
      "json_schema on the parse output (order_type enum, sku, integer quantity ≥ 1, customer_email, number total), matched by service orders-agent*, agent order-processor, input.text matching the parse instructions",
  },
  {
    id: "category-shift",
    issueNumber: 2,
    services: ["orders"],
    injects: "order_type `subscription` from 10% to 35% of orders, the others in proportion",
    caughtBy: [],
    needsRule:
      "drift of output.json.order_type (categorical, chi2) for orders-agent*/order-processor, as support-intent-mix",
  },
  {
    id: "auth-error-as-data",
    issueNumber: 3,
    services: ["orders"],
    injects:
      '30% of check_stock calls return {"error":{"code":401,"message":"token expired"}} with span status OK; the agent goes on to quote and create the order',
    caughtBy: ["builtin.tool-error-in-disguise", "builtin.error-swallowed"],
  },
  {
    id: "truncation",
    issueNumber: 4,
    services: ["research"],
    injects: "10% of summaries stop at max_tokens (512): finish_reason length, text cut mid-word",
    caughtBy: ["builtin.truncated-output", "truncated-answers-rate"],
  },
  {
    id: "unit-error",
    issueNumber: 5,
    services: ["orders"],
    injects: "every parse output reports `total` ×100 (cents)",
    caughtBy: [],
    needsRule:
      "drift of output.json.total (numeric) for orders-agent*/order-processor, as invoice-total-drift",
  },
  {
    id: "duplicate-side-effect",
    issueNumber: 6,
    services: ["orders"],
    injects: "10% of orders runs call create_order a second time with identical arguments",
    caughtBy: ["builtin.duplicate-side-effect"],
  },
  {
    id: "shorter-after-model-change",
    issueNumber: 7,
    services: ["orders", "research"],
    injects:
      "all chat calls move from gpt-4o-2024-08-06 to gpt-4.1-mini-2025-04-14; confirmations and summaries get 50% shorter",
    caughtBy: [],
    needsRule:
      "drift of output.length with reference previous_version model, per service, on the free-text calls (where output.json exists false), as answer-length-after-model-change",
  },
  {
    id: "empty-output",
    issueNumber: 8,
    services: ["research"],
    injects: "5% of summaries (and so the runs' answers) are empty, finish_reason stop",
    caughtBy: ["builtin.empty-output"],
  },
  {
    id: "tool-latency",
    issueNumber: 9,
    services: ["research"],
    injects: "fetch_page latency grows linearly, p95 2 s at injection → 20 s at the end",
    caughtBy: ["tool-latency-p95"],
    needsRule:
      "drift (or p95 rate) of duration_ms for tool fetch_page alone: the all-tools p95 of tool-latency-p95 crosses 8 s late",
  },
  {
    id: "stopped-calling-tool",
    issueNumber: 10,
    services: ["orders"],
    injects: "the orders agent no longer calls check_stock (and so creates orders it cannot fill)",
    caughtBy: [],
    needsRule:
      "trace sequence: create_order needs an earlier check_stock (as refund-needs-order-lookup), or drift of tool.name (categorical) for orders-agent* tools",
  },
  {
    id: "wrong-entity",
    // Not in issue 7's list: issue 19's "Done when".
    issueNumber: 11,
    services: ["orders"],
    injects:
      "10% of orders runs: the confirmation names another order id than the one create_order returned (and the reply's input holds)",
    caughtBy: ["judge-same-entity"],
    needsRule:
      "rules/examples/judge-same-entity.json with its match narrowed to the confirmations (wrong-entity.ts), judged by a deterministic fake judge that compares the ids in the prompt",
  },
  {
    id: "agent-silent",
    issueNumber: 18,
    services: ["research"],
    injects: "the research agent sends nothing for two hours, then resumes",
    caughtBy: ["builtin.service-silent"],
  },
  {
    id: "field-disappears",
    issueNumber: 18,
    services: ["orders"],
    injects:
      "the order parser's output has no `total` for two hours (a renamed key), then has it again",
    caughtBy: ["orders-parse-complete", "orders-total-drift"],
    needsRule:
      "absent on the parse outputs where output.json.total exists (the silence of the field), per service; orders-total-drift reports it too, as disappeared, once its hour-long window is empty",
  },
  {
    id: "traffic-lull",
    issueNumber: 18,
    services: ["research"],
    injects:
      "nothing failed: half of the research agent's runs do not happen for two hours (a lull, not silence); a control, every alert is a false alarm",
    caughtBy: [],
  },
];
