/**
 * The engine evaluates committed outputs off the acknowledgement path, in the same process
 * that decodes and acknowledges exports: a long backlog must not hold the event loop.
 */

import { parseTestRule } from "../../test/helpers/rules.ts";
import { expect, it } from "vitest";
import type { CheckEvaluation, Finding } from "../rules/findings.ts";
import { createEngine } from "./engine.ts";

import { makeRow } from "../../test/helpers/make-row.ts";

const loaded = parseTestRule(
  {
    id: "no-refund-promises",
    check: {
      type: "assert",
      assertions: [
        { field: "output.text", not_matches: "^(?:[a-z]+ ){0,60}refund", ignore_case: true },
      ],
    },
  },
  "engine.test.json",
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const rule = loaded.rule;

it("evaluates a backlog in slices, letting timers and I/O run in between, and misses nothing", async () => {
  const results: Finding[] = [];
  const evaluations: CheckEvaluation[] = [];
  const engine = createEngine({
    rules: () => [rule],
    sink: {
      add: (r, e) => {
        results.push(...r);
        evaluations.push(...e);
      },
    },
  });
  const text = "the customer wrote a long message about the order ".repeat(8);
  const outputs = Array.from({ length: 20_000 }, (_, i) =>
    makeRow({ SpanId: `s${i}`, OutputText: i % 2 === 0 ? `${text} refund` : text }),
  );
  const started = performance.now();
  let lastTick = started;
  let longestGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - lastTick);
    lastTick = now;
    ticks++;
  }, 1);
  engine.onCommitted(outputs);
  await engine.idle();
  clearInterval(timer);
  const elapsed = performance.now() - started;
  expect(evaluations).toHaveLength(outputs.length);
  expect(new Set(evaluations.map((e) => e.outputKey)).size).toBe(outputs.length);
  expect(evaluations.filter((e) => e.failed)).toHaveLength(results.length);
  // The work takes long enough that one uninterrupted run would starve the timer.
  expect(elapsed).toBeGreaterThan(50);
  expect(ticks).toBeGreaterThan(5);
  expect(longestGap).toBeLessThan(Math.max(40, elapsed / 3));
});
