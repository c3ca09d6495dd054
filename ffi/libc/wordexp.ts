/**
 * wordexp(3), for jk_lsh's command lines.
 */
import { cString, fixedBytes, POINTER_BYTES } from "./base.ts";
import { libc } from "./symbols.ts";

/** wordexp flags (glibc wordexp.h). */
export const WRDE_NOCMD = 1 << 2;
export const WRDE_SHOWERR = 1 << 4;
export const WRDE_UNDEF = 1 << 5;

/** The flags this wrapper supports; DOOFFS/APPEND/REUSE need caller-managed wordexp_t state. */
const WRDE_SUPPORTED = WRDE_NOCMD | WRDE_SHOWERR | WRDE_UNDEF;

/** wordexp error returns (glibc wordexp.h). */
const WRDE_CODES = {
  1: "WRDE_NOSPACE",
  2: "WRDE_BADCHAR",
  3: "WRDE_BADVAL",
  4: "WRDE_CMDSUB",
  5: "WRDE_SYNTAX",
} as const;

export type WordexpCode = (typeof WRDE_CODES)[keyof typeof WRDE_CODES];

const WRDE_REASONS: Record<WordexpCode, string> = {
  WRDE_NOSPACE: "out of memory",
  WRDE_BADCHAR: "unquoted | & ; < > ( ) { } or newline",
  WRDE_BADVAL: "undefined shell variable",
  WRDE_CMDSUB: "command substitution is not allowed",
  WRDE_SYNTAX: "shell syntax error such as unbalanced quotes",
};

export class WordexpError extends Error {
  constructor(readonly code: WordexpCode, readonly status: number, readonly words: string) {
    super(`wordexp(${JSON.stringify(words)}): ${code} (${WRDE_REASONS[code]})`);
    this.name = "WordexpError";
  }
}

/**
 * Shell-style word expansion by glibc. `flags` combines WRDE_NOCMD, WRDE_UNDEF and WRDE_SHOWERR;
 * jk_lsh passes WRDE_NOCMD so that `$(...)` and backquotes fail with WRDE_CMDSUB.
 */
export function wordexp(words: string, flags: number): string[] {
  if (!Number.isInteger(flags) || (flags & ~WRDE_SUPPORTED) !== 0) {
    throw new RangeError(`wordexp: unsupported flags 0x${flags.toString(16)}`);
  }
  const input = cString("wordexp", "words", words);
  // wordexp_t { size_t we_wordc; char **we_wordv; size_t we_offs; }, zeroed.
  const result = fixedBytes(3 * POINTER_BYTES);
  const status = libc().wordexp(input, result, flags);
  try {
    if (status !== 0) {
      const code = WRDE_CODES[status as keyof typeof WRDE_CODES];
      if (code === undefined) {
        throw new Error(`wordexp(${JSON.stringify(words)}): unknown status ${status}`);
      }
      throw new WordexpError(code, status, words);
    }
    const view = new DataView(result.buffer);
    const count = Number(view.getBigUint64(0, true));
    const vector = Deno.UnsafePointer.create(view.getBigUint64(POINTER_BYTES, true));
    if (count === 0 || vector === null) return [];
    const pointers = new Deno.UnsafePointerView(vector);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const word = pointers.getPointer(i * POINTER_BYTES);
      if (word === null) throw new Error(`wordexp: word ${i} of ${count} is NULL`);
      out.push(Deno.UnsafePointerView.getCString(word));
    }
    return out;
  } finally {
    // Safe on every outcome: glibc leaves the struct zeroed on errors other than WRDE_NOSPACE,
    // and wordfree ignores a NULL we_wordv.
    libc().wordfree(result);
  }
}
