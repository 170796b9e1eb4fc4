/**
 * Seeded draws for the detection benchmark's simulator. Every draw comes from a mulberry32
 * stream (createRandom) whose seed is mixed from the run's seed and the name of the step that
 * draws, so a step's values do not depend on which other steps ran: a scenario that skips a
 * tool call or adds a retry leaves every other value of the run as the control run had it.
 */

import { createRandom } from "../../src/evaluate/drift/seeded-random.ts";

export type Random = () => number;

/** A 32-bit seed mixed from integers (murmur3's finaliser after each part). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0xcc9e2d51);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** FNV-1a of a text, to turn step names into seed parts. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The random stream of one named step of one run. */
export function stepRandom(runSeed: number, step: string): Random {
  return createRandom(mixSeed(runSeed, hashText(step)));
}

/** One draw from N(0, 1) (Box–Muller, always two uniforms, so consumption is fixed). */
export function standardNormal(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One draw from a log-normal distribution given by its median and the sd of its log. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * standardNormal(random));
}

/** A uniform draw in [low, high). */
export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

/** A uniform integer in [low, high]. */
export function integer(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Waiting time to the next event of a Poisson process with the given mean gap. */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random());
}

/** One item, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/**
 * The index of a category drawn with the given shares (summing to 1), by inverse CDF on one
 * uniform: the same uniform under two share vectors gives the same category wherever the
 * cumulative shares agree, so a shifted mix changes as few runs as it must.
 */
export function categoryIndex(u: number, shares: readonly number[]): number {
  let rest = u;
  for (let i = 0; i < shares.length - 1; i++) {
    const share = shares[i] ?? 0;
    if (rest < share) return i;
    rest -= share;
  }
  return shares.length - 1;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** An id such as a provider's response or tool call id: `prefix` + `length` base-62 characters. */
export function randomId(random: Random, prefix: string, length: number): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += ID_ALPHABET.charAt(Math.floor(random() * 62));
  return id;
}
