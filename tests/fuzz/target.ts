/**
 * The shape every fuzz target shares, so that the bounded fuzz tests (tests/*_fuzz_test.ts)
 * and a runner for long campaigns can drive the same targets.
 */

/** One target: `generate` builds an input from the PRNG, `run` feeds it to the code under test. */
export interface FuzzTarget {
  readonly name: string;
  /** Must use only `rng` for randomness, so that a seed reproduces the input. */
  generate(rng: () => number): unknown;
  /**
   * Throws only when the code under test misbehaved: an error type it must never raise, or a
   * result an oracle rejects. Typed refusals are not failures.
   */
  run(input: unknown): void;
}

/** mulberry32: a small seeded PRNG with values in [0, 1); the same seed gives the same stream. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
