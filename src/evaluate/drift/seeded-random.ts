// Deterministic samples for the drift tests (no Math.random: every run sees the same data).

/** mulberry32: a small, well-mixed 32-bit PRNG; returns uniform numbers in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n draws from N(mean, sd²) by Box–Muller. */
export function normalSample(random: () => number, n: number, mean = 0, sd = 1): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - random(); // (0, 1]: log is finite
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * random();
    out.push(mean + sd * radius * Math.cos(angle));
    if (out.length < n) out.push(mean + sd * radius * Math.sin(angle));
  }
  return out;
}

/** n category indices drawn with the given shares (summing to 1). */
export function categoricalSample(
  random: () => number,
  n: number,
  shares: readonly number[],
): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let u = random();
    let category = 0;
    while (category < shares.length - 1 && u >= (shares[category] ?? 0)) {
      u -= shares[category] ?? 0;
      category++;
    }
    out.push(category);
  }
  return out;
}
