/**
 * Long fuzz campaigns over the targets of tests/fuzz/ (the CI runs a few thousand inputs per
 * target in tests/fuzz_test.ts and tests/lsh_fuzz_test.ts; this runs them for as long as asked).
 *
 *   deno run -A tools/fuzz.ts [--target NAME]... [--seconds N] [--seed S] [--bound MS]
 *
 * --seconds is per target (default 60), --seed the PRNG seed (default: random, printed), --bound
 * the per-input time over which an input counts as slow (default 500 ms). Prints a summary
 * table — inputs per target, failures, slow inputs, slowest input — then each failure with the
 * seed and input index that reproduce it. Exit 1 when anything failed or was slow.
 */
import { ALL_TARGETS } from "../tests/fuzz/all.ts";
import { drive, type FuzzStats } from "../tests/fuzz/drive.ts";
import { parseToolOptions } from "./options.ts";

const TARGETS = ALL_TARGETS.map((t) => t.name);

function main(): number {
  const values = parseToolOptions({
    command: "deno run -A tools/fuzz.ts",
    options: {
      target: { type: "string", arg: "NAME", multiple: true },
      seconds: { type: "number", positive: true, default: 60 },
      seed: { type: "number", arg: "S", integer: true },
      bound: { type: "number", arg: "MS", positive: true, default: 500 },
    },
    about: `targets: ${TARGETS.join(", ")}`,
  });
  const names = values.target ?? TARGETS;
  const unknown = names.filter((n) => !TARGETS.includes(n));
  if (unknown.length > 0) {
    console.error(`ERROR: unknown target ${unknown.join(", ")}; targets: ${TARGETS.join(", ")}`);
    return 2;
  }
  const { seconds, bound: boundMs } = values;
  const seed = values.seed ?? Math.floor(Math.random() * 2 ** 32);
  console.log(`seed ${seed}, ${seconds} s per target, bound ${boundMs} ms`);
  const all: FuzzStats[] = [];
  for (const name of names) {
    const target = ALL_TARGETS.find((t) => t.name === name)!;
    const stats = drive(target, { seed, seconds, boundMs });
    all.push(stats);
    console.log(
      `  ${name}: ${stats.inputs} inputs, ${stats.failures.length} failures, ` +
        `slowest ${stats.slowest.ms.toFixed(1)} ms`,
    );
  }
  const rows = [
    ["target", "inputs", "failures", "slow", "slowest ms", "slowest input"],
    ...all.map((s) => [
      s.target,
      String(s.inputs),
      String(s.failures.length),
      String(s.slow.length),
      s.slowest.ms.toFixed(1),
      String(s.slowest.index),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log("");
  for (const r of rows) {
    console.log(r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
  }
  for (const s of all) {
    for (const f of s.failures) {
      console.log(`\n${s.target} seed ${s.seed} input ${f.index}:\n${f.error}\ninput: ${f.input}`);
    }
    if (s.slow.length > 0) {
      console.log(`\n${s.target} seed ${s.seed} slow inputs: ${s.slow.join(" ")}`);
    }
  }
  return all.some((s) => s.failures.length > 0 || s.slow.length > 0) ? 1 : 0;
}

Deno.exit(main());
