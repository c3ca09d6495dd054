/**
 * Mutation helpers shared by the fuzz targets: seeded picks, byte-level mutations of binary
 * seeds (ELF files, ld.so.cache) and line/token-level mutations of text seeds (ini, passwd,
 * ld.so.conf). Everything draws from the PRNG it is given, so a seed reproduces an input.
 */

/** A PRNG as tests/fuzz/target.ts makes it: values in [0, 1). */
export type Rng = () => number;

export function int(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[int(rng, items.length)];
}

export function chance(rng: Rng, p: number): boolean {
  return rng() < p;
}

/** Values at the edges of fixed-width fields, where parsers forget a bound. */
const EDGE_VALUES = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

/**
 * A copy of `seed` with a few mutations; `hot` is the length of the prefix where most of them
 * land (headers, where one changed byte changes how the rest is read).
 */
export function mutateBytes(rng: Rng, seed: Uint8Array, hot = seed.length): Uint8Array {
  let out = seed.slice();
  const rounds = 1 + int(rng, 8);
  const at = (len: number) =>
    chance(rng, 0.7) ? int(rng, Math.max(1, Math.min(hot, len))) : int(rng, Math.max(1, len));
  for (let r = 0; r < rounds; r++) {
    if (out.length === 0) out = new Uint8Array([int(rng, 256)]);
    switch (int(rng, 7)) {
      case 0: // flip a bit
        out[at(out.length)] ^= 1 << int(rng, 8);
        break;
      case 1: // random byte
        out[at(out.length)] = int(rng, 256);
        break;
      case 2: { // an edge value written as a little- or big-endian 16/32/64-bit field
        const v = pick(rng, EDGE_VALUES);
        const width = pick(rng, [2, 4, 8]);
        const p = at(out.length);
        const big = chance(rng, 0.3);
        for (let i = 0; i < width && p + i < out.length; i++) {
          const shift = big ? (width - 1 - i) * 8 : i * 8;
          out[p + i] = shift >= 32 ? 0 : (v >>> shift) & 0xff;
        }
        break;
      }
      case 3: { // truncate
        out = out.slice(0, at(out.length));
        break;
      }
      case 4: { // copy a block over another place (offsets pointing into themselves)
        const from = at(out.length);
        const to = at(out.length);
        const len = 1 + int(rng, 64);
        out.copyWithin(to, from, Math.min(out.length, from + len));
        break;
      }
      case 5: { // insert random bytes
        const p = at(out.length);
        const extra = new Uint8Array(1 + int(rng, 16)).map(() => int(rng, 256));
        const grown = new Uint8Array(out.length + extra.length);
        grown.set(out.subarray(0, p));
        grown.set(extra, p);
        grown.set(out.subarray(p), p + extra.length);
        out = grown;
        break;
      }
      case 6: { // zero a run
        const p = at(out.length);
        out.fill(0, p, Math.min(out.length, p + 1 + int(rng, 32)));
        break;
      }
    }
  }
  return out;
}

/** Random bytes, sometimes starting with `magic`. */
export function randomBytes(rng: Rng, max: number, magic?: Uint8Array): Uint8Array {
  const out = new Uint8Array(int(rng, max + 1)).map(() => int(rng, 256));
  if (magic && chance(rng, 0.7)) out.set(magic.subarray(0, Math.min(magic.length, out.length)));
  return out;
}

/** Characters that mean something to line-based parsers, or to a terminal. */
const TEXT_NOISE = [
  "\n",
  "\r\n",
  "\r",
  "\t",
  " ",
  "\0",
  "\x1b[31m",
  "\u009b",
  "\ufffd",
  "\ud800",
  "é",
  "😀",
  "=",
  ":",
  ",",
  "#",
  ";",
  "[",
  "]",
  "/",
  "/./",
  "..",
  "*",
  "?",
  "[!a-z]",
  "[z-a]",
  "\\",
  '"',
  "'",
  "-",
  "0",
  "-1",
  "4294967295",
  "4294967296",
  "99999999999999999999",
  "1e309",
  "NaN",
  "0x10",
  "0777",
  "%s%n",
  "$HOME",
];

/** A copy of `seed` with a few line- and character-level mutations. */
export function mutateText(rng: Rng, seed: string, tokens: readonly string[] = []): string {
  let lines = seed.split("\n");
  const rounds = 1 + int(rng, 6);
  const noise = tokens.length > 0 && chance(rng, 0.5) ? tokens : TEXT_NOISE;
  for (let r = 0; r < rounds; r++) {
    if (lines.length === 0) lines = [""];
    const i = int(rng, lines.length);
    switch (int(rng, 8)) {
      case 0: // drop a line
        lines.splice(i, 1);
        break;
      case 1: // duplicate a line
        lines.splice(i, 0, lines[i]);
        break;
      case 2: // swap two lines
        [lines[i], lines[int(rng, lines.length)]] = [lines[int(rng, lines.length)], lines[i]];
        break;
      case 3: { // insert a token inside a line
        const p = int(rng, lines[i].length + 1);
        lines[i] = lines[i].slice(0, p) + pick(rng, noise) + lines[i].slice(p);
        break;
      }
      case 4: { // delete a slice of a line
        const p = int(rng, lines[i].length + 1);
        lines[i] = lines[i].slice(0, p) + lines[i].slice(p + 1 + int(rng, 8));
        break;
      }
      case 5: // repeat a line's tail (long values)
        lines[i] += lines[i].slice(int(rng, lines[i].length + 1)).repeat(1 + int(rng, 50));
        break;
      case 6: // a line of tokens
        lines.splice(
          i,
          0,
          Array.from({ length: 1 + int(rng, 6) }, () => pick(rng, noise)).join(""),
        );
        break;
      case 7: // a line from elsewhere in the file, cut at random
        lines[i] = lines[int(rng, lines.length)].slice(int(rng, 20));
        break;
    }
  }
  return lines.join("\n");
}

/** Reads a file as a fuzzing seed, or undefined when this machine lacks it. */
export function seedFile(path: string, maxBytes = 4 * 1024 * 1024): Uint8Array | undefined {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile || info.size > maxBytes) return undefined;
    return Deno.readFileSync(path);
  } catch {
    return undefined;
  }
}

/** A seed file's text, or undefined. */
export function seedText(path: string): string | undefined {
  const bytes = seedFile(path);
  return bytes && new TextDecoder().decode(bytes);
}

/** The error may leave the code under test only if it is one of `allowed`. */
export function expectOnly(
  e: unknown,
  allowed: readonly (abstract new (...a: never[]) => Error)[],
) {
  if (allowed.some((cls) => e instanceof cls)) return;
  throw e;
}
