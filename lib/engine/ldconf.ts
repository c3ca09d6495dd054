/**
 * Reader for /etc/ld.so.conf, the list of directories ldconfig indexes into ld.so.cache. The
 * resolver uses it when a tree has no usable cache, so libraries in /usr/local/lib and friends
 * are still found. Syntax as ldconfig reads it: one directory per line (an old "=TYPE" suffix is
 * dropped), `#` starts a comment, `include PATTERN...` pulls in files matching shell globs
 * (relative patterns are relative to the including file's directory), `hwcap` lines are ignored.
 */
import { dirname, join } from "../core/posixpath.ts";
import { expandGlob } from "./glob.ts";

/** Result of reading an ld.so.conf tree. */
export interface LdSoConf {
  /** Directories in the order ldconfig would scan them, duplicates removed. */
  dirs: string[];
  /** Problems found ("FILE:LINE: message" or "FILE: message"); reading continued past them. */
  warnings: string[];
}

/** Options for {@link readLdSoConf}. */
export interface LdSoConfOptions {
  /**
   * Filesystem prefix: every path (the file, includes, globs) is read below it, and results are
   * spelled without it. Default "" (the real root). A prefix, not a chroot: absolute symlinks
   * inside it still point at the host.
   */
  root?: string;
  /** Deepest include nesting followed (default 16). */
  maxDepth?: number;
  /** Most files one include pattern may expand to (default 1024). */
  maxGlobMatches?: number;
  /** Most include targets followed in the whole tree, counting repeats (default 65536). */
  maxIncludes?: number;
}

/** Largest configuration file read; ld.so.conf files are a few hundred bytes. */
export const MAX_LDCONF_SIZE = 1024 * 1024;

/**
 * Reads `path` (default /etc/ld.so.conf) and everything it includes. A missing top-level file
 * gives no directories and no warning (ldconfig treats it the same). Include cycles are cut,
 * nesting is bounded, unreadable includes and relative directories become warnings. Never
 * throws.
 *
 * Files are told apart by device and inode, not by spelling: `/etc/a.conf`, `/./etc/a.conf`,
 * `//etc/a.conf` and a symlink to it are one file. A file already read in full is not read
 * again (its directories are in the list already), so the work grows with the number of
 * distinct files, not with the number of include paths through them.
 */
export function readLdSoConf(path = "/etc/ld.so.conf", opts: LdSoConfOptions = {}): LdSoConf {
  const root = (opts.root ?? "").replace(/\/+$/, "");
  const maxDepth = opts.maxDepth ?? 16;
  const maxMatches = opts.maxGlobMatches ?? 1024;
  const maxIncludes = opts.maxIncludes ?? 65536;
  let includes = 0;
  const dirs: string[] = [];
  const seenDirs = new Set<string>();
  const warnings: string[] = [];
  const active: { file: string; id: string }[] = [];
  const done = new Set<string>();

  const parseFile = (file: string, depth: number, fromInclude: boolean): void => {
    if (depth > maxDepth) {
      warnings.push(`${file}: includes nested deeper than ${maxDepth}, not followed`);
      return;
    }
    const read = readText(root + file, file, fromInclude, warnings);
    if (read === null) return;
    if (active.some((a) => a.id === read.id)) {
      const chain = [...active.map((a) => a.file), file].join(" -> ");
      warnings.push(`${file}: include cycle (${chain}), not followed`);
      return;
    }
    if (done.has(read.id)) return;
    const text = read.text;
    active.push({ file, id: read.id });
    try {
      const lines = text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const lineNo = i + 1;
        const hash = lines[i].indexOf("#");
        const line = (hash >= 0 ? lines[i].slice(0, hash) : lines[i]).trim();
        if (line === "") continue;
        const keyword = /^(\S+)\s+(.*)$/.exec(line);
        if (keyword && keyword[1] === "include") {
          for (const pattern of keyword[2].split(/\s+/)) {
            const abs = pattern.startsWith("/") ? pattern : join(dirname(file), pattern);
            const matches = expandGlob(abs, {
              root,
              maxMatches,
              onOverflow: (m) => warnings.push(`${file}:${lineNo}: ${m}`),
            });
            for (const m of matches) {
              if (includes++ === maxIncludes) {
                warnings.push(
                  `${file}:${lineNo}: more than ${maxIncludes} includes, rest not followed`,
                );
              }
              if (includes > maxIncludes) break;
              parseFile(m, depth + 1, true);
            }
          }
          continue;
        }
        if (keyword && keyword[1].toLowerCase() === "hwcap") continue;
        const eq = line.indexOf("=");
        let dir = (eq >= 0 ? line.slice(0, eq) : line).trim();
        if (!dir.startsWith("/")) {
          warnings.push(`${file}:${lineNo}: ${JSON.stringify(dir)} is not an absolute directory`);
          continue;
        }
        dir = dir.replace(/\/+$/, "") || "/";
        if (!seenDirs.has(dir)) {
          seenDirs.add(dir);
          dirs.push(dir);
        }
      }
    } finally {
      active.pop();
      done.add(read.id);
    }
  };

  parseFile(path, 0, false);
  return { dirs, warnings };
}

function readText(
  real: string,
  file: string,
  warnMissing: boolean,
  warnings: string[],
): { text: string; id: string } | null {
  try {
    const st = Deno.statSync(real);
    if (!st.isFile) {
      warnings.push(`${file}: not a regular file`);
      return null;
    }
    if (st.size > MAX_LDCONF_SIZE) {
      warnings.push(`${file}: larger than ${MAX_LDCONF_SIZE} bytes, ignored`);
      return null;
    }
    const text = new TextDecoder().decode(Deno.readFileSync(real));
    return { text, id: `${st.dev}:${st.ino}` };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !warnMissing) return null;
    warnings.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}
