/**
 * Time and tokens inside a simulated run: steps follow each other with a few milliseconds of
 * application code between them; a model call takes a time to first token plus its output
 * tokens at the model's decoding speed; tokens are characters / ~4.
 */

import { logNormal, uniform, type Random } from "./random.ts";
import type { ModelChoice } from "./scenarios.ts";

/**
 * The cursor of one run, in milliseconds since its start, kept to whole microseconds: each step
 * starts a little after the previous one ended.
 */
export class RunClock {
  now = 0;

  /** Places a step of `durationMs` after a short pause; returns its start and end offsets. */
  step(random: Random, durationMs: number): { startOffsetMs: number; endOffsetMs: number } {
    const startOffsetMs = this.now + micros(uniform(random, 2, 25));
    const endOffsetMs = startOffsetMs + micros(durationMs);
    this.now = endOffsetMs;
    return { startOffsetMs, endOffsetMs };
  }

  /** The offset a little after the last step: where the run's root span ends. */
  end(random: Random): number {
    return this.now + micros(uniform(random, 1, 6));
  }
}

function micros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Characters per token of one call: English prose and JSON run at about 4. */
export function charsPerToken(random: Random): number {
  return uniform(random, 3.7, 4.3);
}

export function tokensOf(chars: number, perToken: number): number {
  return Math.max(1, Math.round(chars / perToken));
}

/** A model call's latency: time to first token, then the output at the model's speed. */
export function chatDurationMs(random: Random, model: ModelChoice, outputTokens: number): number {
  const firstToken = logNormal(random, 450, 0.35);
  const tokensPerSecond = logNormal(random, model.tokensPerSecond, 0.15);
  return firstToken + (1000 * outputTokens) / tokensPerSecond;
}
