/**
 * Shell-style globbing of host paths (`*`, `?`, `[...]`, `[!...]`), as jk_init's path lists
 * (`/usr/lib/*-linux-gnu/libnss_files.so.2`) and ld.so.conf's `include` lines use it. Matching
 * happens component by component with readdir, never through a shell, and the number of
 * results is bounded.
 */
import { JailkitError } from "../core/errors.ts";

export const MAX_GLOB_MATCHES = 20000;

export function hasGlobChars(path: string): boolean {
  return /[*?[]/.test(path);
}

/**
 * Translates one path component's pattern into an anchored RegExp. As in the shell, a leading
 * dot must be matched explicitly.
 */
export function componentPattern(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, (m) => "\\" + m)}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, (m) => "\\" + m);
  }
  const dotRule = pattern.startsWith(".") ? "" : "(?!\\.)";
  return new RegExp(`^${dotRule}${re}$`);
}

export interface GlobOptions {
  /** Filesystem prefix the pattern is matched under; results are spelled without it. */
  root?: string;
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
      const re = componentPattern(part);
      for (const dir of current) {
        let names: string[];
        try {
          names = [...Deno.readDirSync(root + dir)].map((e) => e.name).filter((n) => re.test(n));
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
      Deno.lstatSync(root + p);
      return true;
    } catch {
      return false;
    }
  });
}
