/**
 * Seeded randomness for tests, fixtures and benchmarks: the same seed gives
 * the same stream on every run and machine, so a failure found with a seed
 * reproduces from that seed.
 */

/**
 * A deterministic pseudo-random generator (mulberry32) returning floats in
 * [0, 1). Not for cryptography; small, fast and stable across runtimes.
 *
 * @example
 * const random = seededRandom(42);
 * const value = random(); // the same first value for seed 42, every run
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
