/**
 * The rules of the detection benchmark: the built-in detectors, plus copies of rules/examples
 * and bench/detect/suggested-rules in a temporary rules directory, less the rules written for
 * other agents. Also which window rules a scenario has to backtest itself, and which it can
 * take from the control run.
 */

import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileRule, type CompiledRule } from "../../src/evaluate/compile-rule.ts";
import { compilePattern } from "../../src/rules/pattern.ts";
import { issuesAreBugs } from "../../src/rules/rule-issues.ts";
import type { Rule } from "../../src/rules/rule.ts";
import { createRuleSet } from "../../src/rules/rule-set.ts";
import { BUILTIN_RULES_DIR } from "../../src/service/evaluation.ts";
import { SCENARIOS, type ScenarioId, type ServiceKey } from "./scenarios.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** The user's rules of the benchmark: the examples, and the drafts written for these agents. */
export const BENCH_RULE_SOURCES = [
  join(REPO, "rules/examples"),
  join(REPO, "bench/detect/suggested-rules"),
];

/** The service names of the simulation (simulator.ts, without a suffix). */
export const SIMULATED_SERVICES: Readonly<Record<ServiceKey, string>> = {
  orders: "orders-agent",
  research: "research-agent",
};

export interface BenchRulesDir {
  dir: string;
  /** Ids of the copied rules left out because they select none of the simulated services. */
  leftOut: string[];
}

/**
 * A temporary rules directory with copies of the benchmark's rule files, less the rules written
 * for other agents (rules/examples has some for a support and a billing agent): a rule whose
 * `match.service` selects none of the simulated services (for a rate check on `failures`, the
 * rule it counts) cannot alert here, and replaying its windows would only cost time.
 */
export function makeRulesDir(sources: readonly string[] = BENCH_RULE_SOURCES): BenchRulesDir {
  const dir = mkdtempSync(join(tmpdir(), "plumbline-detect-rules-"));
  for (const source of sources) {
    for (const name of readdirSync(source)) {
      if (name.endsWith(".json")) cpSync(join(source, name), join(dir, name));
    }
  }
  const rules = loadRules([dir]);
  const everyService = Object.values(SIMULATED_SERVICES);
  const leftOut = rules.filter((rule) => !selectsAny(rule, everyService, rules));
  for (const rule of leftOut) rmSync(join(dir, rule.file));
  // Judge templates are not loaded live: the service would judge every output as it arrives.
  // The backtest judges the one the benchmark copies (wrong-entity.ts).
  for (const rule of rules) {
    if (rule.check.type === "judge" && !leftOut.includes(rule)) rmSync(join(dir, rule.file));
  }
  return { dir, leftOut: leftOut.map((rule) => rule.id).sort() };
}

/** Every enabled rule the service loads: the built-ins, then `rulesDir`. Throws on a broken file. */
export function loadBenchRules(rulesDir: string): readonly CompiledRule[] {
  return loadRules([BUILTIN_RULES_DIR, rulesDir]);
}

function loadRules(dirs: string[]): readonly CompiledRule[] {
  const set = createRuleSet({ dirs, pollMs: 0, compile: compileRule });
  set.close();
  const errors = set.errors();
  if (errors.length > 0) {
    throw new Error(errors.map((e) => `${e.file}: ${e.pointer || "/"}: ${e.message}`).join("\n"));
  }
  return set.rules();
}

export function isWindowRule(rule: Rule): boolean {
  return rule.window !== undefined;
}

/** Whether the rule's match can select outputs of one of `services`. */
export function selectsAny(
  rule: Rule,
  services: readonly string[],
  rules: readonly Rule[],
): boolean {
  if (rule.check.type === "rate" && rule.check.failures !== undefined) {
    const counted = rules.find((r) => r.id === (rule.check as { failures: string }).failures);
    if (counted !== undefined && !selectsAny(counted, services, rules)) return false;
  }
  const pattern = rule.match.service;
  if (pattern === undefined) return true;
  const matches = compilePattern(pattern, issuesAreBugs("bench rules"));
  return services.some((service) => matches(service));
}

/** The services a scenario's failure touches (the control run: none). */
export function failingServices(scenario: ScenarioId): string[] {
  const info = SCENARIOS.find((s) => s.id === scenario);
  return (info?.services ?? []).map((key) => SIMULATED_SERVICES[key]);
}

/**
 * The window rules a scenario backtests itself: those that select a failing service. Every
 * scenario's traffic is the control run's, span for span, before injection and, after it, in
 * the services the failure leaves alone (simulator.ts, checked by its test); so the other
 * window rules' evaluations and alerts are the control run's, taken from there.
 */
export function ownWindowRules(scenario: ScenarioId, rules: readonly Rule[]): Rule[] {
  const services = failingServices(scenario);
  return rules.filter((rule) => isWindowRule(rule) && selectsAny(rule, services, rules));
}
