/**
 * The one way the administrative tools print. Much of what they print comes from a jail or
 * from the system — file names, user names, process arguments, log messages — and a jailed
 * user chooses those: a directory named `d_ESC]2;T BEL NL ERROR: forged` must neither send
 * escape sequences to root's terminal nor start a line of its own that an admin or a hosting
 * panel parsing the output takes for the tool's.
 *
 * Escape form (documented in jk_check(8), OUTPUT); every escape starts with a backslash, so a
 * backslash of the text is doubled and the output can be read back unambiguously:
 * - `\\` a backslash;
 * - `\xHH` a C0 control (U+0000–U+001F, newline and tab included) or DEL (U+007F);
 * - `\uHHHH` a C1 control (U+0080–U+009F), a line or paragraph separator (U+2028, U+2029), a
 *   bidirectional formatting character (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069: they
 *   reorder what the terminal shows), a lone UTF-16 surrogate, and U+FFFD.
 *
 * Names that are not valid UTF-8: Deno's file system calls decode names lossily, so each
 * invalid byte sequence arrives as U+FFFD; it is printed as `\ufffd`, a visible mark that the
 * name's bytes were not text (the original bytes are not recoverable from Deno's string APIs).
 *
 * JSON output keeps exact names: `jsonText` is JSON, whose string escaping already covers C0;
 * it additionally writes the characters above as `\uHHHH`, which JSON parsers read back to the
 * same string.
 */

// With the `u` flag a valid surrogate pair is one code point, so the surrogate range matches
// lone surrogates only.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffd\ud800-\udfff]/gu;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** `s` with every character that could control a terminal or break a line escaped visibly. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === "\\") return "\\\\";
    const code = c.codePointAt(0)!;
    return code < 0x80 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

// JSON.stringify already escapes C0, quotes, backslashes and lone surrogates.
const JSON_EXTRA = /[\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffd]/g;

/** `JSON.stringify(value, null, indent)` with the characters listed above as `\uHHHH` too. */
export function jsonText(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_EXTRA,
    (c) => `\\u${hex(c.charCodeAt(0), 4)}`,
  );
}

/** A standard stream the tools print on. */
export type Stream = "stdout" | "stderr";

const encoder = new TextEncoder();

/**
 * Streams whose reader went away (`jk_check -v | head`). A run must not end there: a tool that
 * stopped between two writes into a jail would leave half a jail. What it would still have
 * printed there is dropped; the exit status still says how the run went.
 */
const gone = new Set<Stream>();

function write(stream: Stream, text: string): void {
  if (gone.has(stream)) return;
  const bytes = encoder.encode(text);
  const out = stream === "stdout" ? Deno.stdout : Deno.stderr;
  let offset = 0;
  try {
    while (offset < bytes.length) offset += out.writeSync(bytes.subarray(offset));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
    gone.add(stream);
  }
}

/** How much stdout text a LineBatch holds before writing it. */
const BATCH_BYTES = 32 * 1024;

/**
 * `writeLine` for a run that prints a line per operation (jk_init prints thousands): stdout
 * lines are gathered and written in blocks, one write per few hundred lines instead of one
 * each. Order across the two streams is kept: a stderr line first writes out the stdout lines
 * before it. On a terminal every line is written at once, so progress stays visible. Whoever
 * makes one must call `flush` when done, also when an exception ends the run.
 */
export class LineBatch {
  #pending: string[] = [];
  #size = 0;
  readonly #direct = Deno.stdout.isTerminal();

  readonly print = (stream: Stream, line: string): void => {
    if (stream === "stderr" || this.#direct) {
      this.flush();
      writeLine(stream, line);
      return;
    }
    const text = escapeText(line) + "\n";
    this.#pending.push(text);
    this.#size += text.length;
    if (this.#size >= BATCH_BYTES) this.flush();
  };

  /** Writes out the stdout lines gathered so far. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#size = 0;
    write("stdout", text);
  }
}

/**
 * The choke point: prints one line, escaped as a whole. The tool's own words have nothing to
 * escape (a backslash in them is doubled, which keeps the rule simple and the output
 * unambiguous), and nothing embedded in the line can start another one.
 */
export function writeLine(stream: Stream, line: string): void {
  write(stream, escapeText(line) + "\n");
}

/**
 * Prints text the tool wrote itself and that may span lines: its usage text, a `jsonText`
 * document, or lines assembled from `escapeText`-ed parts (jk_list's table, whose columns are
 * measured after escaping). Never for text with unescaped parts from outside.
 */
export function writeOwnText(stream: Stream, text: string): void {
  write(stream, text + "\n");
}
