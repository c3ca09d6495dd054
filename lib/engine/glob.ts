/**
 * Shell-style globbing of host paths (`*`, `?`, `[...]`, `[!...]`), as jk_init's path lists
 * (`/usr/lib/*-linux-gnu/libnss_files.so.2`) and ld.so.conf's `include` lines use it. Matching
 * happens component by component with readdir, never through a shell, and the number of
 * results is bounded.
 *
 * Pattern syntax of one component, as bash matches it in the C locale:
 * - `*` any run of characters, `?` one character (a Unicode code point);
 * - `[...]` one character of the class; `[!...]` or `[^...]` one character not in it; a `]`
 *   right after the opening (and optional negation) is a member; `a-z` is a range by code
 *   point, and a reversed range such as `z-a` contains nothing (the rest of the class still
 *   counts), so it never is an error; a `-` first or last is a member; a `[` without a closing
 *   `]` is an ordinary character;
 * - a backslash is an ordinary character (ldconfig and jk_init paths never quote);
 * - a name starting with `.` is matched only by a pattern starting with `.`.
 * The matcher runs in O(pattern × name) steps whatever the pattern: a `*` is backtracked to
 * only from the most recent `*`, never through nested alternatives as a RegExp would.
 */
import { JailkitError } from "../core/errors.ts";
import { directoryNames, fileInfo } from "../../ffi/libc.ts";

export const MAX_GLOB_MATCHES = 20000;

export function hasGlobChars(path: string): boolean {
  return /[*?[]/.test(path);
}

type Token =
  | { kind: "star" }
  | { kind: "one" }
  | { kind: "char"; c: number }
  | { kind: "class"; negate: boolean; singles: Set<number>; ranges: [number, number][] };

/** A compiled pattern for one path component. */
export interface ComponentMatcher {
  test(name: string): boolean;
}

function parseComponent(pattern: string): Token[] {
  const p = Array.from(pattern, (ch) => ch.codePointAt(0)!);
  const tokens: Token[] = [];
  const BRACKET_CLOSE = 0x5d;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === 0x2a) {
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === 0x3f) tokens.push({ kind: "one" });
    else if (c === 0x5b) {
      let j = i + 1;
      const negate = p[j] === 0x21 || p[j] === 0x5e;
      if (negate) j++;
      const bodyStart = j;
      if (p[j] === BRACKET_CLOSE) j++; // a leading `]` is a member
      while (j < p.length && p[j] !== BRACKET_CLOSE) j++;
      if (j >= p.length) {
        tokens.push({ kind: "char", c });
        continue;
      }
      const body = p.slice(bodyStart, j);
      const singles = new Set<number>();
      const ranges: [number, number][] = [];
      for (let k = 0; k < body.length; k++) {
        if (k + 2 < body.length && body[k + 1] === 0x2d) {
          if (body[k] <= body[k + 2]) ranges.push([body[k], body[k + 2]]);
          k += 2;
        } else singles.add(body[k]);
      }
      tokens.push({ kind: "class", negate, singles, ranges });
      i = j;
    } else tokens.push({ kind: "char", c });
  }
  return tokens;
}

function tokenMatches(t: Token, c: number): boolean {
  switch (t.kind) {
    case "one":
      return true;
    case "char":
      return t.c === c;
    case "class": {
      const member = t.singles.has(c) || t.ranges.some(([lo, hi]) => c >= lo && c <= hi);
      return member !== t.negate;
    }
    case "star":
      return false;
  }
}

/**
 * Compiles one path component's pattern (syntax in the module comment). Never throws: every
 * string is a valid pattern.
 */
export function componentMatcher(pattern: string): ComponentMatcher {
  const tokens = parseComponent(pattern);
  const explicitDot = pattern.startsWith(".");
  return {
    test(name: string): boolean {
      if (!explicitDot && name.startsWith(".")) return false;
      const s = Array.from(name, (ch) => ch.codePointAt(0)!);
      let ti = 0;
      let si = 0;
      let starTi = -1; // token index just after the last `*` seen
      let starSi = 0; // name index that `*` is currently extended to
      while (si < s.length) {
        const t = tokens[ti];
        if (t !== undefined && t.kind === "star") {
          starTi = ++ti;
          starSi = si;
        } else if (t !== undefined && tokenMatches(t, s[si])) {
          ti++;
          si++;
        } else if (starTi >= 0) {
          ti = starTi;
          si = ++starSi;
        } else return false;
      }
      while (ti < tokens.length && tokens[ti].kind === "star") ti++;
      return ti === tokens.length;
    },
  };
}

/** Where `expandGlob` looks and how much it may return. */
export interface GlobOptions {
  /** Filesystem prefix the pattern is matched under; results are spelled without it. */
  root?: string;
  /** Most paths returned (default MAX_GLOB_MATCHES), so a broad pattern cannot exhaust memory. */
  maxMatches?: number;
  /**
   * Called instead of throwing when more than `maxMatches` paths match; the result is then
   * cut to `maxMatches`.
   */
  onOverflow?: (message: string) => void;
}

/** Existing paths matching an absolute pattern, sorted per directory; [] when nothing matches. */
export function expandGlob(pattern: string, opts: GlobOptions = {}): string[] {
  if (!pattern.startsWith("/")) {
    throw new JailkitError("usage", `glob pattern ${pattern} is not an absolute path`);
  }
  const root = opts.root ?? "";
  const max = opts.maxMatches ?? MAX_GLOB_MATCHES;
  const join = (dir: string, name: string) => dir === "/" ? `/${name}` : `${dir}/${name}`;
  const parts = pattern.split("/").filter((p) => p !== "");
  let current = ["/"];
  for (const part of parts) {
    let next: string[] = [];
    if (!hasGlobChars(part)) {
      next = current.map((dir) => join(dir, part));
    } else {
      const re = componentMatcher(part);
      for (const dir of current) {
        let names: string[];
        try {
          names = directoryNames(root + dir).filter((n) => re.test(n));
        } catch {
          continue; // not a directory or unreadable: matches nothing, as in the shell
        }
        for (const name of names.sort()) next.push(join(dir, name));
      }
    }
    if (next.length > max) {
      const message = `glob ${pattern} matches more than ${max} paths`;
      if (!opts.onOverflow) throw new JailkitError("usage", message);
      opts.onOverflow(`${message}; extra ones ignored`);
      next.length = max;
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.filter((p) => {
    try {
      return fileInfo(root + p, false) !== undefined;
    } catch {
      return false;
    }
  });
}
