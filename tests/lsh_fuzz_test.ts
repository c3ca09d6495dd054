/**
 * Bounded fuzz run of jk_lsh's decision (tests/fuzz/lsh_target.ts): a few thousand seeded
 * inputs per run, each checked by the target's independent oracle. A failure names the seed
 * and the input so that it can be replayed. tools/ runners drive the same target for long
 * campaigns.
 */
import assert from "node:assert/strict";
import { lshOutcome, lshTarget } from "./fuzz/lsh_target.ts";
import { rng } from "./fuzz/target.ts";

const SEED = 0x6a6b6c;
const INPUTS = 3000;
/** Generous: the decision is linear; only a blow-up (backtracking, quadratic splitting) hits it. */
const BOUND_MS = 250;

Deno.test("lsh fuzz: seeded command lines give typed refusals or oracle-approved execs", () => {
  const next = rng(SEED);
  let slowest = { ms: 0, index: -1 };
  const slow: number[] = [];
  const outcomes = new Map<string, number>();
  for (let i = 0; i < INPUTS; i++) {
    const input = lshTarget.generate(next);
    const time = () => {
      const start = performance.now();
      try {
        const outcome = lshOutcome(input);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      } catch (e) {
        assert.fail(
          `seed ${SEED} input ${i}: ${e instanceof Error ? `${e.name}: ${e.message}` : e}\n` +
            JSON.stringify(input).slice(0, 2000),
        );
      }
      return performance.now() - start;
    };
    // A slow input is timed again: a scheduler hiccup passes, a real blow-up stays slow.
    let ms = time();
    for (let again = 0; again < 2 && ms > BOUND_MS; again++) ms = Math.min(ms, time());
    if (ms > BOUND_MS) slow.push(i);
    if (ms > slowest.ms) slowest = { ms, index: i };
  }
  const tally = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
  console.log(
    `lsh fuzz: ${INPUTS} inputs (seed ${SEED}), slowest ${slowest.ms.toFixed(1)} ms ` +
      `(input ${slowest.index}), bound ${BOUND_MS} ms\n  ${tally.join(", ")}`,
  );
  // The oracle only bites on allowed commands: the generator must produce enough of them,
  // for every program family with a rule.
  for (const program of ["rsync", "scp", "sftp-server", "git-upload-pack", "cvs", "svnserve"]) {
    assert.ok((outcomes.get(`exec ${program}`) ?? 0) >= 5, `too few allowed ${program} lines`);
  }
  assert.deepEqual(slow, [], `inputs slower than ${BOUND_MS} ms three times`);
});
