/**
 * The dependency resolver that replaces jailkit's `ldd` call: given files to put in a jail, it
 * finds every shared library, program interpreter and `#!` interpreter they need, following the
 * glibc loader's rules, without executing anything.
 *
 * Search order per DT_NEEDED name, as glibc's loader does it:
 *  1. an object already loaded for this program whose SONAME or load name matches (no search);
 *  2. DT_RPATH of the requesting object, then of the object that loaded it, up to the program
 *     (skipped entirely when the requesting object has DT_RUNPATH; the program's own DT_RPATH is
 *     ignored when the program has DT_RUNPATH);
 *  3. DT_RUNPATH of the requesting object (never inherited);
 *  4. ld.so.cache (skipped, like 5., for objects linked with -z nodeflib);
 *  5. the loader's default directories (Debian: /lib/TRIPLET, /usr/lib/TRIPLET, /lib, /usr/lib,
 *     as `ld.so --help` on Debian 12 lists them).
 * In every directory the glibc-hwcaps/<subdir>/ variants are looked at first; we keep every
 * variant present (the jail may run on another CPU) and continue until a baseline copy is found.
 * A candidate whose ELF class, byte order or machine differs from the requester is skipped, as the
 * loader skips it. LD_LIBRARY_PATH and LD_PRELOAD are not honoured: the tools run as root.
 *
 * Paths are returned as the loader spells them (what `ldd` prints, e.g.
 * /lib/x86_64-linux-gnu/libc.so.6 from the cache, /usr/bin/../lib/x.so from $ORIGIN/../lib);
 * the copy engine reproduces symlinks such as /lib -> usr/lib itself.
 */
import { dirname, resolve } from "../core/posixpath.ts";
import { JailkitError } from "../core/errors.ts";
import {
  abiCompatible,
  DF_1_NODEFLIB,
  type ElfAbi,
  type ElfInfo,
  EM,
  fsError,
  isDynamicallyLinked,
  multiarchTriplet,
  parseElf,
  withFileReader,
} from "./elf.ts";
import { type LdCache, LdCacheIndex, readLdCache } from "./ldcache.ts";
import { readLdSoConf } from "./ldconf.ts";
import { linkText, lstatOrUndefined } from "./jailpath.ts";
import { fileInfo } from "../../ffi/libc.ts";

/** A library, interpreter or program that could not be found. */
export interface MissingDependency {
  /** The name that was looked for (a DT_NEEDED name, a PT_INTERP or `#!` path, an env NAME). */
  needed: string;
  /** The file that needs it. */
  by: string;
  /**
   * "library": a DT_NEEDED/DT_FILTER/DT_AUXILIARY name; "interpreter": a PT_INTERP or `#!`
   * interpreter path; "program": the NAME of `#!/usr/bin/env NAME`.
   */
  kind: "library" | "interpreter" | "program";
  /** Set for a DT_AUXILIARY filtee: the loader runs the program without it. */
  optional?: true;
}

/** A file that could not be inspected (unreadable, malformed ELF, bad `#!` line, bad cache). */
export interface ResolveError {
  /** The file concerned (spelled without the root prefix). */
  path: string;
  /** "<path>: <reason>", ready to print. */
  message: string;
}

/** The result of {@link resolveDependencies}. */
export interface DependencyResult {
  /**
   * Libraries and interpreters needed by the inputs, transitively, in discovery order, without
   * duplicates. The inputs themselves are not listed unless another input needs them.
   */
  files: string[];
  /** Needed names that were not found; the caller must report them. */
  missing: MissingDependency[];
  /** Files that could not be inspected. */
  errors: ResolveError[];
}

/** Options for {@link DependencyResolver}. */
export interface ResolveOptions {
  /**
   * Filesystem prefix under which every path is read (default "": the real root). Results are
   * spelled without it. A prefix, not a chroot: keep symlinks inside it relative.
   */
  root?: string;
  /**
   * The ld.so.cache to use: a parsed cache, or null for none. Default: read /etc/ld.so.cache
   * below `root`.
   */
  ldCache?: LdCache | null;
  /**
   * When there is no cache file (or it cannot be parsed), search the directories listed in
   * /etc/ld.so.conf in its place (default true): a tree without a cache is normally about to get
   * one from ldconfig, which indexes exactly those directories.
   */
  ldSoConfFallback?: boolean;
  /** Replaces the loader's default directories for an ABI (tests, foreign layouts). */
  defaultDirs?: (abi: ElfAbi) => string[];
}

/** PATH used to resolve `#!/usr/bin/env NAME`: fixed, never the caller's environment. */
export const SAFE_PATH = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
] as const;

/** Bytes the kernel reads for a `#!` line (BINPRM_BUF_SIZE). */
export const SHEBANG_MAX = 256;
/** Nesting of `#!` interpreters the kernel allows (BINPRM_MAX_RECURSION). */
export const MAX_INTERPRETER_DEPTH = 4;
const MAX_SYMLINKS = 40;
const MAX_HWCAPS_SUBDIRS = 64;

/** The loader's built-in search directories for objects of this ABI (Debian layout). */
export function defaultLibraryDirs(abi: ElfAbi): string[] {
  const triplet = multiarchTriplet(abi);
  if (triplet === null) {
    return abi.elfClass === 64
      ? ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
      : ["/lib", "/usr/lib"];
  }
  const dirs = [`/lib/${triplet}`, `/usr/lib/${triplet}`];
  // Debian's libc6-i386 (the amd64 multilib) keeps its libraries in /lib32 and /usr/lib32.
  if (abi.machine === EM.I386) dirs.push("/lib32", "/usr/lib32");
  return [...dirs, "/lib", "/usr/lib"];
}

/**
 * The program interpreter glibc uses for objects of this ABI when none is named (what `ldd`
 * reports for a shared library that needs it), or null when we do not know it.
 */
export function defaultInterpreter(abi: ElfAbi): string | null {
  const is64 = abi.elfClass === 64;
  const le = abi.endian === "little";
  switch (abi.machine) {
    case EM.X86_64:
      return is64 ? "/lib64/ld-linux-x86-64.so.2" : "/libx32/ld-linux-x32.so.2";
    case EM.I386:
      return "/lib/ld-linux.so.2";
    case EM.AARCH64:
      return le ? "/lib/ld-linux-aarch64.so.1" : "/lib/ld-linux-aarch64_be.so.1";
    case EM.ARM:
      return (abi.flags & 0x400) ? "/lib/ld-linux-armhf.so.3" : "/lib/ld-linux.so.3";
    case EM.PPC64:
      return le ? "/lib64/ld64.so.2" : "/lib64/ld64.so.1";
    case EM.S390:
      return is64 ? "/lib/ld64.so.1" : "/lib/ld.so.1";
    case EM.RISCV:
      return is64 ? "/lib/ld-linux-riscv64-lp64d.so.1" : null;
    case EM.LOONGARCH:
      return "/lib64/ld-linux-loongarch-lp64d.so.1";
    default:
      return null;
  }
}

/** Value of `$LIB` in DT_RPATH/DT_RUNPATH for this ABI (Debian: "lib/<triplet>"). */
export function dstLib(abi: ElfAbi): string {
  const triplet = multiarchTriplet(abi);
  if (triplet !== null) return `lib/${triplet}`;
  return abi.elfClass === 64 ? "lib64" : "lib";
}

/**
 * Value of `$PLATFORM` (the kernel's AT_PLATFORM) for this ABI, or null where it depends on the
 * CPU model; path elements using an unknown `$PLATFORM` are dropped, as the loader drops them.
 */
export function dstPlatform(abi: ElfAbi): string | null {
  switch (abi.machine) {
    case EM.X86_64:
      return abi.elfClass === 64 ? "x86_64" : null;
    case EM.I386:
      return "i686";
    case EM.AARCH64:
      return abi.endian === "little" ? "aarch64" : "aarch64_be";
    default:
      return null;
  }
}

/**
 * Expands one DT_RPATH/DT_RUNPATH string into search directories: `$ORIGIN`, `${ORIGIN}`,
 * `$LIB`, `$PLATFORM` are substituted (a name continuing with a letter, digit or `_` is not a
 * token), elements whose substitution is unknown (`origin` null, unknown platform) are dropped,
 * and so are elements that are not absolute afterwards (an empty element means the current
 * directory of the future process, which we cannot know). Trailing slashes are removed.
 */
export function expandSearchPath(value: string, origin: string | null, abi: ElfAbi): string[] {
  const out: string[] = [];
  for (const element of value.split(":")) {
    let unknown = false;
    const expanded = element.replace(
      /\$(?:(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_])|\{(ORIGIN|LIB|PLATFORM)\})/g,
      (_m, bare: string | undefined, braced: string | undefined) => {
        const token = bare ?? braced;
        const value = token === "ORIGIN"
          ? origin
          : token === "LIB"
          ? dstLib(abi)
          : dstPlatform(abi);
        if (value === null) {
          unknown = true;
          return "";
        }
        return value;
      },
    );
    if (unknown || !expanded.startsWith("/")) continue;
    out.push(expanded.replace(/\/+$/, "") || "/");
  }
  return out;
}

/** A parsed `#!` line. */
export interface Shebang {
  /** The interpreter path (first word after `#!`). */
  interpreter: string;
  /** The rest of the line (the kernel passes it as one argument), or null. */
  argument: string | null;
}

/**
 * Parses the `#!` line at the start of `head` (the first bytes of a file), as the kernel does:
 * at most {@link SHEBANG_MAX} bytes, interpreter up to the first blank, the rest (trimmed) is one
 * argument. Returns null when `head` does not start with `#!`. Throws JailkitError("parse") for
 * an empty or over-long interpreter, a relative interpreter path or invalid UTF-8.
 */
export function parseShebang(head: Uint8Array, path: string): Shebang | null {
  if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return null;
  const fail = (reason: string): never => {
    throw new JailkitError("parse", `${path}: ${reason}`);
  };
  const buf = head.subarray(0, SHEBANG_MAX);
  let end = buf.indexOf(0x0a);
  const truncated = end < 0 && head.length > SHEBANG_MAX;
  if (end < 0) end = buf.length;
  let line: string;
  try {
    line = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(2, end));
  } catch {
    return fail("#! line is not valid UTF-8");
  }
  const m = /^[ \t]*([^ \t\r]*)([ \t]+(.*?))?[ \t\r]*$/s.exec(line);
  const interpreter = m ? m[1] : "";
  if (interpreter === "") fail("#! line names no interpreter");
  if (truncated && (!m || m[2] === undefined)) {
    fail(`#! interpreter name longer than ${SHEBANG_MAX} bytes`);
  }
  if (!interpreter.startsWith("/")) {
    fail(`#! interpreter ${JSON.stringify(interpreter)} is not an absolute path`);
  }
  const argument = m && m[3] ? m[3] : null;
  return { interpreter, argument };
}

/**
 * The program `env` will run for a `#!/usr/bin/env ARGUMENT` line, or null when it runs none.
 * Without `-S` the kernel hands env the whole argument as one word, so "python3 -u" is looked up
 * as a program called "python3 -u" (which is what really happens, and fails).
 */
export function envProgram(argument: string): string | null {
  const words = argument.trim().split(/[ \t]+/);
  let split = false;
  const first = words[0];
  if (first === "-S" || first.startsWith("--split-string")) {
    split = true;
    words.shift();
    if (first.startsWith("--split-string=")) words.unshift(first.slice("--split-string=".length));
  } else if (first.startsWith("-S")) {
    split = true;
    words[0] = first.slice(2);
  }
  if (!split) {
    if (words.length > 1) return argument.trim();
    if (first.startsWith("-") || first.includes("=")) return null;
    return first;
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === "") continue;
    if (w === "-u" || w === "-C" || w === "-a" || w === "--unset" || w === "--chdir") {
      i++;
      continue;
    }
    if (w.startsWith("-")) continue;
    if (/^[^=]+=/.test(w)) continue;
    return w;
  }
  return null;
}

type Inspection =
  | { kind: "absent" }
  | { kind: "other" }
  | { kind: "error"; message: string }
  | { kind: "elf"; info: ElfInfo; id: string }
  | { kind: "script"; shebang: Shebang };

/** An object mapped into one program while its closure is computed. */
interface Loaded {
  path: string;
  info: ElfInfo;
  loader: Loaded | null;
  origin: string | null;
}

/** A library file chosen for a name. */
interface Candidate {
  path: string;
  info: ElfInfo;
  id: string;
}

/**
 * Candidates found in a search list, whether a baseline (non-hwcaps) copy was among them, and
 * the files met on the way that could not be inspected (kept so memoised searches report them
 * again in every result).
 */
interface SearchResult {
  found: Candidate[];
  complete: boolean;
  errors: ResolveError[];
}

class Collector {
  readonly files: string[] = [];
  readonly missing: MissingDependency[] = [];
  readonly errors: ResolveError[] = [];
  readonly #files = new Set<string>();
  readonly #keys = new Set<string>();

  addFile(path: string): void {
    if (this.#files.has(path)) return;
    this.#files.add(path);
    this.files.push(path);
  }
  addMissing(m: MissingDependency): void {
    const key = `m\0${m.needed}\0${m.by}`;
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.missing.push(m);
  }
  addError(path: string, message: string): void {
    const key = `e\0${path}\0${message}`;
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.errors.push({ path, message });
  }
}

/**
 * A resolver with memoised file inspection and library searches; reuse one instance for many
 * calls (jk_init resolves hundreds of files). Not safe against files changing between calls.
 */
export class DependencyResolver {
  readonly #root: string;
  readonly #opts: ResolveOptions;
  readonly #inspected = new Map<string, Inspection>();
  readonly #searches = new Map<string, SearchResult>();
  readonly #hwcapsDirs = new Map<string, string[]>();
  readonly #expanded = new Map<string, string[]>();
  #cache:
    | { index: LdCacheIndex | null; confDirs: string[] | null; error: ResolveError | null }
    | null = null;

  /** A resolver whose memoised state lives as long as the instance. */
  constructor(opts: ResolveOptions = {}) {
    this.#opts = opts;
    this.#root = (opts.root ?? "").replace(/\/+$/, "");
  }

  /** How many distinct paths were inspected so far (for measurements). */
  get inspectedCount(): number {
    return this.#inspected.size;
  }

  /** Resolves the transitive dependencies of `paths`; see {@link resolveDependencies}. */
  resolve(paths: string[]): DependencyResult {
    const out = new Collector();
    for (const p of paths) {
      if (this.#root !== "" && !p.startsWith("/")) {
        out.addError(p, `${p}: relative path given with a root prefix`);
        continue;
      }
      const path = this.#root === "" ? resolve(p) : p;
      const ins = this.#inspect(path);
      if (ins.kind === "absent") out.addError(path, `${path}: no such file or directory`);
      else this.#resolveInspected(path, ins, out, 0);
    }
    const cacheError = this.#cache?.error;
    if (cacheError) out.addError(cacheError.path, cacheError.message);
    return { files: out.files, missing: out.missing, errors: out.errors };
  }

  #resolveInspected(path: string, ins: Inspection, out: Collector, depth: number): void {
    switch (ins.kind) {
      case "error":
        out.addError(path, ins.message);
        return;
      case "elf":
        if (isDynamicallyLinked(ins.info)) this.#resolveProgram(path, ins.info, ins.id, out);
        return;
      case "script":
        this.#resolveScript(path, ins.shebang, out, depth);
        return;
      default:
        return;
    }
  }

  /** Follows a `#!` interpreter (and an env target) as further programs. */
  #resolveScript(path: string, shebang: Shebang, out: Collector, depth: number): void {
    if (depth >= MAX_INTERPRETER_DEPTH) {
      out.addError(path, `${path}: more than ${MAX_INTERPRETER_DEPTH} levels of #! interpreters`);
      return;
    }
    const follow = (program: string, kind: "interpreter" | "program") => {
      const ins = this.#inspect(program);
      if (ins.kind === "absent") {
        out.addMissing({ needed: program, by: path, kind });
        return;
      }
      out.addFile(program);
      this.#resolveInspected(program, ins, out, depth + 1);
    };
    follow(shebang.interpreter, "interpreter");
    if (shebang.argument === null || !/(^|\/)env$/.test(shebang.interpreter)) return;
    const name = envProgram(shebang.argument);
    if (name === null) return;
    if (name.includes("/")) {
      if (name.startsWith("/")) follow(name, "program");
      else out.addMissing({ needed: name, by: path, kind: "program" });
      return;
    }
    const found = SAFE_PATH.map((d) => `${d}/${name}`).find((p) => this.#isExecutable(p));
    if (found) follow(found, "program");
    else out.addMissing({ needed: name, by: path, kind: "program" });
  }

  /** The library closure of one program, loaded the way the loader would load it. */
  #resolveProgram(path: string, info: ElfInfo, id: string, out: Collector): void {
    const byName = new Map<string, Loaded>();
    const byId = new Map<string, Loaded>();
    const main: Loaded = { path, info, loader: null, origin: this.#programOrigin(path) };
    byId.set(id, main);
    if (info.soname !== null) byName.set(info.soname, main);

    // The interpreter is mapped before anything else, so a DT_NEEDED naming its SONAME reuses it.
    // Without PT_INTERP (a library given as input) the default interpreter stands in, and is
    // listed only once something needs it, as ldd lists it.
    let unlisted: Loaded | null = null;
    const reuse = (obj: Loaded) => {
      if (obj === unlisted) {
        out.addFile(obj.path);
        unlisted = null;
      }
    };
    const interpPath = info.interp ?? defaultInterpreter(info);
    if (interpPath !== null) {
      const ins = this.#inspect(interpPath);
      if (info.interp !== null) {
        if (ins.kind === "absent") {
          out.addMissing({ needed: interpPath, by: path, kind: "interpreter" });
        } else out.addFile(interpPath);
        if (ins.kind === "error") out.addError(interpPath, ins.message);
        else if (ins.kind === "other" || ins.kind === "script") {
          out.addError(interpPath, `${interpPath}: program interpreter is not an ELF file`);
        } else if (ins.kind === "elf" && !abiCompatible(info, ins.info)) {
          out.addError(
            interpPath,
            `${interpPath}: program interpreter of ${path} is for another architecture`,
          );
        }
      }
      if (ins.kind === "elf" && abiCompatible(info, ins.info)) {
        const rtld: Loaded = { path: interpPath, info: ins.info, loader: null, origin: null };
        byId.set(ins.id, rtld);
        if (ins.info.soname !== null) byName.set(ins.info.soname, rtld);
        if (info.interp === null) unlisted = rtld;
      }
    }

    const queue: Loaded[] = [main];
    for (let q = 0; q < queue.length; q++) {
      const obj = queue[q];
      for (const { name, tag } of obj.info.dependencies) {
        const known = byName.get(name);
        if (known) {
          reuse(known);
          continue;
        }
        const found = this.#search(name, obj, out);
        if (found.length === 0) {
          const m: MissingDependency = { needed: name, by: obj.path, kind: "library" };
          if (tag === "DT_AUXILIARY") m.optional = true;
          out.addMissing(m);
          continue;
        }
        for (const c of found) {
          const already = byId.get(c.id);
          if (already) {
            if (!byName.has(name)) byName.set(name, already);
            reuse(already);
            continue;
          }
          const lib: Loaded = { path: c.path, info: c.info, loader: obj, origin: dirname(c.path) };
          byId.set(c.id, lib);
          if (!byName.has(name)) byName.set(name, lib);
          if (c.info.soname !== null && !byName.has(c.info.soname)) byName.set(c.info.soname, lib);
          out.addFile(c.path);
          queue.push(lib);
        }
      }
    }
  }

  /** Every file the loader may open for `name` needed by `obj` (hwcaps variants first). */
  #search(name: string, obj: Loaded, out: Collector): Candidate[] {
    const abi = obj.info;
    const found: Candidate[] = [];
    const take = (r: SearchResult): boolean => {
      for (const c of r.found) if (!found.some((f) => f.id === c.id)) found.push(c);
      for (const e of r.errors) out.addError(e.path, e.message);
      return r.complete;
    };
    if (obj.info.runpath === null) {
      for (let l: Loaded | null = obj; l !== null; l = l.loader) {
        if (l.info.rpath === null) continue;
        // Only the program's own RPATH is known to be dropped in favour of its RUNPATH.
        if (l.loader === null && l.info.runpath !== null) continue;
        if (take(this.#searchDirs(this.#expand(l, l.info.rpath), name, abi))) return found;
      }
    } else if (take(this.#searchDirs(this.#expand(obj, obj.info.runpath), name, abi))) {
      return found;
    }
    if (obj.info.flags1 & DF_1_NODEFLIB) return found;
    if (take(this.#searchCache(name, abi))) return found;
    const defaults = this.#opts.defaultDirs?.(abi) ?? defaultLibraryDirs(abi);
    take(this.#searchDirs(defaults, name, abi));
    return found;
  }

  #expand(obj: Loaded, value: string): string[] {
    const key = `${obj.origin}\0${abiKey(obj.info)}\0${value}`;
    let dirs = this.#expanded.get(key);
    if (!dirs) {
      dirs = expandSearchPath(value, obj.origin, obj.info);
      this.#expanded.set(key, dirs);
    }
    return dirs;
  }

  #searchDirs(dirs: string[], name: string, abi: ElfAbi): SearchResult {
    const key = `d\0${abiKey(abi)}\0${name}\0${dirs.join("\0")}`;
    let result = this.#searches.get(key);
    if (result) return result;
    result = { found: [], complete: false, errors: [] };
    for (const dir of dirs) {
      const prefix = dir === "/" ? "" : dir;
      for (const sub of this.#hwcapsSubdirs(dir)) {
        const c = this.#candidate(`${prefix}/glibc-hwcaps/${sub}/${name}`, abi, result.errors);
        if (c) result.found.push(c);
      }
      const c = this.#candidate(`${prefix}/${name}`, abi, result.errors);
      if (c) {
        result.found.push(c);
        result.complete = true;
        break;
      }
    }
    this.#searches.set(key, result);
    return result;
  }

  #searchCache(name: string, abi: ElfAbi): SearchResult {
    const cache = this.#loadCache();
    if (cache.index === null) {
      return cache.confDirs === null
        ? { found: [], complete: false, errors: [] }
        : this.#searchDirs(cache.confDirs, name, abi);
    }
    const key = `c\0${abiKey(abi)}\0${name}`;
    let result = this.#searches.get(key);
    if (result) return result;
    result = { found: [], complete: false, errors: [] };
    // Keep every usable entry: hwcaps variants for other CPUs, then the baseline copy.
    for (const entry of cache.index.lookup(name, abi)) {
      const c = this.#candidate(entry.path, abi, result.errors);
      if (!c || result.found.some((f) => f.id === c.id)) continue;
      result.found.push(c);
      if (entry.hwcapsSubdir === null) result.complete = true;
    }
    this.#searches.set(key, result);
    return result;
  }

  #loadCache(): {
    index: LdCacheIndex | null;
    confDirs: string[] | null;
    error: ResolveError | null;
  } {
    if (this.#cache) return this.#cache;
    let cache: LdCache | null = null;
    let error: ResolveError | null = null;
    if (this.#opts.ldCache !== undefined) {
      cache = this.#opts.ldCache;
    } else {
      try {
        cache = readLdCache(`${this.#root}/etc/ld.so.cache`);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        error = { path: "/etc/ld.so.cache", message };
      }
    }
    let confDirs: string[] | null = null;
    if (
      cache === null && this.#opts.ldCache === undefined && this.#opts.ldSoConfFallback !== false
    ) {
      confDirs = readLdSoConf("/etc/ld.so.conf", { root: this.#root }).dirs;
    }
    this.#cache = { index: cache ? new LdCacheIndex(cache) : null, confDirs, error };
    return this.#cache;
  }

  /**
   * The file at `path` if it is an ELF object the requester's loader would accept. A file that
   * cannot be inspected is noted in `errors` and skipped (the loader would fail on it; we report
   * it and keep looking).
   */
  #candidate(path: string, abi: ElfAbi, errors: ResolveError[]): Candidate | null {
    const ins = this.#inspect(path);
    if (ins.kind === "error") errors.push({ path, message: ins.message });
    if (ins.kind !== "elf" || !abiCompatible(abi, ins.info)) return null;
    return { path, info: ins.info, id: ins.id };
  }

  #hwcapsSubdirs(dir: string): string[] {
    let subs = this.#hwcapsDirs.get(dir);
    if (!subs) {
      subs = [];
      try {
        for (const e of Deno.readDirSync(`${this.#root}${dir === "/" ? "" : dir}/glibc-hwcaps`)) {
          if (e.isDirectory || e.isSymlink) subs.push(e.name);
          if (subs.length >= MAX_HWCAPS_SUBDIRS) break;
        }
      } catch {
        // No glibc-hwcaps directory: the common case.
      }
      // Highest level first, as the loader prefers it (x86-64-v4 before -v3, z16 before z15).
      subs.sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
      this.#hwcapsDirs.set(dir, subs);
    }
    return subs;
  }

  /** Reads the start of a file once: ELF, `#!` script, something else, or an error. */
  #inspect(path: string): Inspection {
    const cached = this.#inspected.get(path);
    if (cached) return cached;
    let result: Inspection;
    const real = this.#root + path;
    try {
      result = withFileReader<Inspection>(real, (reader, st) => {
        const id = `${st.dev}:${st.ino}`;
        if (reader.size >= 2) {
          const head = reader.read(0, Math.min(reader.size, SHEBANG_MAX + 1));
          const shebang = parseShebang(head, path);
          if (shebang) return { kind: "script", shebang };
        }
        const info = parseElf(reader, path);
        return info ? { kind: "elf", info, id } : { kind: "other" };
      }) ?? { kind: "other" };
    } catch (e) {
      const err = e instanceof JailkitError ? e : fsError(path, e);
      result = err.kind === "not-found"
        ? { kind: "absent" }
        : { kind: "error", message: err.message };
    }
    this.#inspected.set(path, result);
    return result;
  }

  #isExecutable(path: string): boolean {
    try {
      const st = fileInfo(this.#root + path, true);
      return st !== undefined && st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
    } catch {
      return false;
    }
  }

  /**
   * $ORIGIN of a program: the directory of its fully resolved path, as the kernel reports it
   * through /proc/self/exe. Symlinks are resolved below the root. Null when it cannot be.
   */
  #programOrigin(path: string): string | null {
    const real = this.#realpath(path);
    return real === null ? null : dirname(real);
  }

  #realpath(path: string): string | null {
    const pending = path.split("/").filter((c) => c !== "");
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === ".") continue;
      if (c === "..") {
        done.pop();
        continue;
      }
      const here = `/${[...done, c].join("/")}`;
      let target: string | null = null;
      try {
        const st = lstatOrUndefined(this.#root + here);
        if (st === undefined) return null;
        if (st.isSymlink) target = linkText(this.#root + here);
      } catch {
        return null;
      }
      if (target === null) {
        done.push(c);
        continue;
      }
      if (++links > MAX_SYMLINKS) return null;
      if (target.startsWith("/")) done.length = 0;
      pending.unshift(...target.split("/").filter((x) => x !== ""));
    }
    return `/${done.join("/")}`;
  }
}

function abiKey(abi: ElfAbi): string {
  return `${abi.elfClass}${abi.endian[0]}${abi.machine}:${abi.flags}`;
}

/**
 * Transitive closure of the shared libraries, program interpreters and `#!` interpreters needed
 * by `paths`, without running anything. ELF programs and libraries follow the loader's search
 * order (see the module documentation); `#!` scripts add their interpreter (and, for
 * `#!/usr/bin/env NAME`, NAME found in {@link SAFE_PATH}) with its own closure. Static binaries
 * and other files have no dependencies. Unreadable or malformed files become `errors`, names
 * that cannot be found become `missing`; nothing is dropped silently.
 *
 * @example What a program needs in a jail, found without running ldd
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { readElf, resolveDependencies } from "../../mod.ts";
 *
 * const sh = readElf("/bin/sh");
 * assert.ok(sh !== null && sh.interp !== null); // a dynamically linked program
 *
 * const { files, missing, errors } = resolveDependencies(["/bin/sh"]);
 * assert.deepEqual(missing, []);
 * assert.deepEqual(errors, []);
 * assert.ok(files.includes(sh.interp)); // the program interpreter, then every library
 * ```
 */
export function resolveDependencies(paths: string[], opts?: ResolveOptions): DependencyResult {
  return new DependencyResolver(opts).resolve(paths);
}
