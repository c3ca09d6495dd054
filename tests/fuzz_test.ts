/**
 * Bounded fuzz runs of the parsers and matchers (tests/fuzz/*_target.ts): a few thousand seeded
 * inputs per target, mutated from real seeds (this machine's /etc files, ELF objects and
 * ld.so.cache, the bundled data/*.ini). Each target may only raise its documented typed errors
 * (JailkitError; ld.so.conf reading never throws) and its oracle must agree; no input may stay
 * slower than BOUND_MS. A failure names the seed and input index, which `tools/fuzz.ts --target
 * NAME --seed SEED` replays. jk_lsh's target runs in tests/lsh_fuzz_test.ts.
 */
import assert from "node:assert/strict";
import { PARSER_TARGETS } from "./fuzz/all.ts";
import { drive } from "./fuzz/drive.ts";

const SEED = 0x6a6b66;
const INPUTS = 3000;
/** Generous: every target is linear in its input; only a blow-up comes near it. */
const BOUND_MS = 500;

for (const target of PARSER_TARGETS) {
  Deno.test(`fuzz ${target.name}: ${INPUTS} seeded inputs, typed errors only, none slow`, () => {
    const stats = drive(target, { seed: SEED, inputs: INPUTS, boundMs: BOUND_MS });
    console.log(
      `fuzz ${target.name}: ${stats.inputs} inputs (seed ${SEED}), slowest ` +
        `${stats.slowest.ms.toFixed(1)} ms (input ${stats.slowest.index}), bound ${BOUND_MS} ms`,
    );
    assert.deepEqual(
      stats.failures.map((f) => `input ${f.index}: ${f.error}\n${f.input}`),
      [],
      `seed ${SEED}`,
    );
    assert.deepEqual(stats.slow, [], `inputs slower than ${BOUND_MS} ms three times`);
  });
}
