/**
 * judge_cache (migration 10): every verdict the judge gave, by rule version and the hash of
 * exactly what it read, so that the same input is judged once, also across restarts; and the
 * tokens it cost, from which a start counts the day's budget again.
 */

import type { Store } from "../store.ts";

export interface CachedVerdict {
  ruleId: string;
  ruleVersion: string;
  inputHash: string;
  model: string;
  verdict: "pass" | "fail";
  score: number;
  explanation: string;
  inputTokens: number;
  outputTokens: number;
  /** Unix ms. */
  judgedAt: number;
}

interface JudgeCacheRow {
  RuleId: string;
  RuleVersion: string;
  InputHash: string;
  Model: string;
  Verdict: string;
  Score: number;
  Explanation: string;
  InputTokens: number | string;
  OutputTokens: number | string;
  JudgedAt: string;
}

export async function writeJudgeCache(
  store: Store,
  verdicts: readonly CachedVerdict[],
): Promise<void> {
  if (verdicts.length === 0) return;
  await store.client.insert({
    table: store.tables.judgeCache,
    values: verdicts.map((v): JudgeCacheRow => ({
      RuleId: v.ruleId,
      RuleVersion: v.ruleVersion,
      InputHash: v.inputHash,
      Model: v.model,
      Verdict: v.verdict,
      Score: v.score,
      Explanation: v.explanation,
      InputTokens: v.inputTokens,
      OutputTokens: v.outputTokens,
      JudgedAt: (v.judgedAt / 1000).toFixed(3),
    })),
    format: "JSONEachRow",
  });
}

/** The cached verdicts among `hashes` of one rule version, by input hash. */
export async function cachedVerdicts(
  store: Store,
  ruleId: string,
  ruleVersion: string,
  hashes: readonly string[],
): Promise<Map<string, CachedVerdict>> {
  if (hashes.length === 0) return new Map();
  const result = await store.client.query({
    query: `SELECT RuleId, RuleVersion, InputHash, Model, Verdict, Score, Explanation, InputTokens,
  OutputTokens, toUnixTimestamp64Milli(JudgedAt) AS JudgedAt
FROM ${store.tables.judgeCache} FINAL
WHERE RuleId = {rule:String} AND RuleVersion = {version:String} AND InputHash IN {hashes:Array(String)}`,
    query_params: { rule: ruleId, version: ruleVersion, hashes: [...hashes] },
    format: "JSONEachRow",
  });
  const rows = await result.json<JudgeCacheRow>();
  return new Map(
    rows.map((row) => [
      row.InputHash,
      {
        ruleId: row.RuleId,
        ruleVersion: row.RuleVersion,
        inputHash: row.InputHash,
        model: row.Model,
        verdict: row.Verdict === "fail" ? "fail" : "pass",
        score: Number(row.Score),
        explanation: row.Explanation,
        inputTokens: Number(row.InputTokens),
        outputTokens: Number(row.OutputTokens),
        judgedAt: Number(row.JudgedAt),
      },
    ]),
  );
}

/** Tokens spent per rule since `sinceMs` (the start of the budget's day). */
export async function judgeTokensSince(
  store: Store,
  sinceMs: number,
): Promise<Map<string, number>> {
  const result = await store.client.query({
    query: `SELECT RuleId, sum(InputTokens + OutputTokens) AS tokens FROM ${store.tables.judgeCache} FINAL
WHERE JudgedAt >= fromUnixTimestamp64Milli({since:Int64}) GROUP BY RuleId`,
    query_params: { since: sinceMs },
    format: "JSONEachRow",
  });
  const rows = await result.json<{ RuleId: string; tokens: string | number }>();
  return new Map(rows.map((row) => [row.RuleId, Number(row.tokens)]));
}
