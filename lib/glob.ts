/**
 * Shell-style globbing of host paths (`*`, `?`, `[...]`, `[!...]`), as jk_init's path lists use
 * it (`/usr/lib/x86_64-linux-gnu/libnss_files*`). Matching happens component by component with
 * readdir, never through a shell, and the number of results is bounded.
 */
import { JailkitError } from "./errors.ts";

const MAX_MATCHES = 20000;

export function hasGlobChars(path: string): boolean {
  return /[*?[]/.test(path);
}

/** Translates one path component's pattern into an anchored RegExp. */
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
  return new RegExp(`^${re}$`);
}

/** Existing host paths matching an absolute pattern, sorted; [] when nothing matches. */
export function expandGlob(pattern: string): string[] {
  if (!pattern.startsWith("/")) {
    throw new JailkitError("usage", `glob pattern ${pattern} is not an absolute path`);
  }
  const parts = pattern.split("/").filter((p) => p !== "");
  let current = ["/"];
  for (const part of parts) {
    const next: string[] = [];
    if (!hasGlobChars(part)) {
      for (const dir of current) next.push(dir === "/" ? `/${part}` : `${dir}/${part}`);
    } else {
      const re = componentPattern(part);
      for (const dir of current) {
        let entries: string[];
        try {
          entries = [...Deno.readDirSync(dir)].map((e) => e.name);
        } catch {
          continue; // not a directory or unreadable: matches nothing, as in the shell
        }
        for (const name of entries.sort()) {
          if (name.startsWith(".") && !part.startsWith(".")) continue;
          if (re.test(name)) next.push(dir === "/" ? `/${name}` : `${dir}/${name}`);
          if (next.length > MAX_MATCHES) {
            throw new JailkitError(
              "usage",
              `glob ${pattern} matches more than ${MAX_MATCHES} paths`,
            );
          }
        }
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  return current.filter((p) => {
    try {
      Deno.lstatSync(p);
      return true;
    } catch {
      return false;
    }
  });
}
