/** Deterministic latency samples for histogram tests. */

/** mulberry32: a tiny seeded PRNG, so test data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` latencies in ms, spread evenly on a log scale between minMs and maxMs. */
export function logUniformSamplesMs(count: number, minMs: number, maxMs: number, seed: number): number[] {
  const random = seededRandom(seed);
  const span = Math.log(maxMs / minMs);
  return Array.from({ length: count }, () => minMs * Math.exp(random() * span));
}
