/**
 * Fuzz target for the glob matcher (lib/engine/glob.ts): random patterns over a small alphabet
 * (so that they match often) against random names, compared with an independent oracle — a
 * memoised recursive matcher written from the syntax documented in glob.ts. Patterns heavy in
 * `*` and long names are included on purpose: the matcher must stay fast on them.
 */
import { componentMatcher } from "../../lib/engine/glob.ts";
import type { FuzzTarget } from "./target.ts";
import { chance, int, pick, type Rng } from "./mutate.ts";

const NAME_CHARS = ["a", "b", "c", ".", "-", "]", "[", "!", "^", "\\", "é", "😀", "\u009b"];
const PATTERN_PARTS = [
  ...NAME_CHARS,
  "*",
  "*",
  "?",
  "[ab]",
  "[!a]",
  "[^b]",
  "[a-c]",
  "[c-a]",
  "[]a]",
  "[!]]",
  "[a-]",
  "[-a]",
  "[",
  "[a",
  "[z-ab]",
];

interface Item {
  kind: "star" | "one" | "char" | "class";
  c?: number;
  negate?: boolean;
  members?: (c: number) => boolean;
}

/** The documented syntax, parsed independently of glob.ts. */
function oracleItems(pattern: string): Item[] {
  const p = Array.from(pattern);
  const items: Item[] = [];
  let i = 0;
  while (i < p.length) {
    const ch = p[i];
    if (ch === "*") {
      items.push({ kind: "star" });
      i++;
    } else if (ch === "?") {
      items.push({ kind: "one" });
      i++;
    } else if (ch === "[") {
      let j = i + 1;
      const negate = p[j] === "!" || p[j] === "^";
      if (negate) j++;
      const start = j;
      if (p[j] === "]") j++;
      while (j < p.length && p[j] !== "]") j++;
      if (j >= p.length) {
        items.push({ kind: "char", c: ch.codePointAt(0)! });
        i++;
        continue;
      }
      const body = p.slice(start, j).map((x) => x.codePointAt(0)!);
      const tests: ((c: number) => boolean)[] = [];
      for (let k = 0; k < body.length;) {
        if (k + 2 < body.length && body[k + 1] === 0x2d) {
          const [lo, hi] = [body[k], body[k + 2]];
          tests.push((c) => lo <= hi && c >= lo && c <= hi);
          k += 3;
        } else {
          const one = body[k];
          tests.push((c) => c === one);
          k++;
        }
      }
      items.push({ kind: "class", negate, members: (c) => tests.some((t) => t(c)) });
      i = j + 1;
    } else {
      items.push({ kind: "char", c: ch.codePointAt(0)! });
      i++;
    }
  }
  return items;
}

function oracle(pattern: string, name: string): boolean {
  if (name.startsWith(".") && !pattern.startsWith(".")) return false;
  const items = oracleItems(pattern);
  const s = Array.from(name, (x) => x.codePointAt(0)!);
  const memo = new Map<number, boolean>();
  const match = (ii: number, si: number): boolean => {
    const key = ii * (s.length + 1) + si;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let r: boolean;
    if (ii === items.length) r = si === s.length;
    else {
      const it = items[ii];
      if (it.kind === "star") r = match(ii + 1, si) || (si < s.length && match(ii, si + 1));
      else if (si === s.length) r = false;
      else if (it.kind === "one") r = match(ii + 1, si + 1);
      else if (it.kind === "char") r = it.c === s[si] && match(ii + 1, si + 1);
      else r = it.members!(s[si]) !== it.negate && match(ii + 1, si + 1);
    }
    memo.set(key, r);
    return r;
  };
  return match(0, 0);
}

function word(rng: Rng, parts: readonly string[], max: number): string {
  return Array.from({ length: int(rng, max + 1) }, () => pick(rng, parts)).join("");
}

export const globTarget: FuzzTarget = {
  name: "glob",
  generate(rng) {
    if (chance(rng, 0.1)) {
      // Backtracking bait: many stars, a long name that almost matches.
      const stars = 2 + int(rng, 12);
      const pattern = "*a".repeat(stars) + pick(rng, ["b", "?b", "[b]", ""]);
      return { pattern, name: "a".repeat(50 + int(rng, 200)) + pick(rng, ["", "b", "c"]) };
    }
    return { pattern: word(rng, PATTERN_PARTS, 8), name: word(rng, NAME_CHARS, 12) };
  },
  run(input) {
    const { pattern, name } = input as { pattern: string; name: string };
    const got = componentMatcher(pattern).test(name);
    // The oracle's recursion is deep for long names; it is only consulted for short ones.
    if (name.length <= 64) {
      const want = oracle(pattern, name);
      if (got !== want) {
        throw new Error(`glob ${JSON.stringify(pattern)} on ${JSON.stringify(name)}: ${got}`);
      }
    }
  },
};
