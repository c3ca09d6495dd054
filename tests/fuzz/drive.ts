/**
 * Drives one fuzz target: generates seeded inputs, runs each, records failures and times. Used
 * by tests/fuzz_test.ts (a bounded count in CI) and tools/fuzz.ts (long campaigns by time).
 */
import { type FuzzTarget, rng } from "./target.ts";

/** A failing input, reproducible from the seed and index. */
export interface FuzzFailure {
  index: number;
  error: string;
  input: string;
}

/** What one drive of a target found. */
export interface FuzzStats {
  target: string;
  seed: number;
  inputs: number;
  failures: FuzzFailure[];
  /** Indexes of inputs slower than the bound on every one of three tries. */
  slow: number[];
  slowest: { ms: number; index: number };
}

/** Inputs shown in reports, cut so a megabyte of mangled bytes stays readable. */
function describe(input: unknown): string {
  const text = input instanceof Uint8Array
    ? `bytes[${input.length}]`
    : JSON.stringify(input) ?? String(input);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * Runs `target` on inputs from `seed` until `inputs` were run or `seconds` passed (whichever
 * is given; both: whichever comes first). An input slower than `boundMs` is timed twice more
 * and counts as slow only if it stays slow (a scheduler hiccup is not a blow-up).
 */
export function drive(
  target: FuzzTarget,
  opts: { seed: number; inputs?: number; seconds?: number; boundMs: number; maxFailures?: number },
): FuzzStats {
  const next = rng(opts.seed);
  const stats: FuzzStats = {
    target: target.name,
    seed: opts.seed,
    inputs: 0,
    failures: [],
    slow: [],
    slowest: { ms: 0, index: -1 },
  };
  const deadline = opts.seconds === undefined ? Infinity : performance.now() + opts.seconds * 1000;
  const limit = opts.inputs ?? Infinity;
  const maxFailures = opts.maxFailures ?? 20;
  for (let i = 0; i < limit && performance.now() < deadline; i++) {
    const input = target.generate(next);
    const once = (): number => {
      const start = performance.now();
      try {
        target.run(input);
      } catch (e) {
        if (stats.failures.length < maxFailures && !stats.failures.some((f) => f.index === i)) {
          const error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
          stats.failures.push({ index: i, error, input: describe(input) });
        }
      }
      return performance.now() - start;
    };
    let ms = once();
    for (let again = 0; again < 2 && ms > opts.boundMs; again++) ms = Math.min(ms, once());
    if (ms > opts.boundMs) stats.slow.push(i);
    if (ms > stats.slowest.ms) stats.slowest = { ms, index: i };
    stats.inputs++;
  }
  return stats;
}
