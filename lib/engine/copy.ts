/**
 * The copy planner shared by jk_cp, jk_init and jk_update: decides, without writing anything,
 * how to reproduce host files in a jail (man/jk_cp.8, minus jailkit's defects).
 *
 * Files land at the same absolute path as on the host. Host symlinks are reproduced with the
 * same link text and their targets copied too, so a usr-merged host yields `lib -> usr/lib` in
 * the jail. Libraries come from our own ELF resolver (lib/engine/deps.ts): nothing we copy is ever
 * executed, and a library that cannot be found is reported.
 */
import * as posix from "../core/posixpath.ts";
import { JailkitError } from "../core/errors.ts";
import { JailView, kindOf, linkText, LOADER_CACHE, lstatOrUndefined } from "./jailpath.ts";
import type { Attrs } from "../core/plan.ts";
import { PlanBuilder } from "../core/plan.ts";
import { expandGlob, hasGlobChars } from "./glob.ts";
import { DependencyResolver } from "./deps.ts";
import { deviceNumbers, directoryNames } from "../../ffi/libc.ts";

/**
 * How host files are reproduced in the jail; each field is one of jk_cp's switches or jk_init's
 * keys.
 */
export interface CopyOptions {
  /** Replace existing files and symlinks that differ from the host (-f). */
  force: boolean;
  /** Try hard links first (-k); set-id or non-root files are still copied. */
  hardlink: boolean;
  /** Keep host owner and group (-o, paths_w_owner); otherwise root:root. */
  keepOwner: boolean;
  /** Keep set-uid/set-gid bits (-s, paths_w_setuid); otherwise stripped. */
  keepSetid: boolean;
  /** Expand shell globs in names that do not exist literally. */
  glob: boolean;
  /** Also copy the libraries and interpreters the copied programs need. */
  resolveLibs: boolean;
}

/** A thin jail's copy of the host's loader cache: replaced whenever the host's differs. */
const HOST_CACHE_COPY: CopyOptions = {
  force: true,
  hardlink: false,
  keepOwner: false,
  keepSetid: false,
  glob: false,
  resolveLibs: false,
};

/** The longest chain of host symlinks / nested mirrorings we follow before calling it a loop. */
const MAX_DEPTH = 40;

/** Why a requested source produced nothing (reported by the caller). */
export interface MissingSource {
  /** The host path or pattern as requested. */
  path: string;
  /** True when it was a pattern that matched nothing; false when the path does not exist. */
  glob: boolean;
}

/**
 * Decides how to reproduce host files, programs and their libraries in one jail, without writing:
 * the result is a plan for `applyPlan`.
 *
 * @example jk_cp's work: plan a program with its libraries, then show what would be done
 * ```ts
 * import { strict as assert } from "node:assert";
 * import { applyPlan, CopyPlanner } from "../../mod.ts";
 *
 * const planner = new CopyPlanner("/srv/jail");
 * planner.copyPaths(["/bin/sh", "/usr/bin/no-such-program"], {
 *   force: false,
 *   hardlink: false,
 *   keepOwner: false,
 *   keepSetid: false,
 *   glob: false,
 *   resolveLibs: true,
 * });
 * planner.finishLibraryCache();
 * assert.deepEqual(planner.missing, [{ path: "/usr/bin/no-such-program", glob: false }]);
 *
 * const result = applyPlan(planner.plan.build(), {
 *   mode: "dry-run", // prints "would copy …" lines, changes nothing
 *   verbose: false,
 *   print: (_stream, line) => console.log(line),
 * });
 * assert.equal(result.failed, 0);
 * ```
 */
export class CopyPlanner {
  /**
   * The jail as it will be once the planned operations are done; planning consults it instead of
   * the disk.
   */
  readonly view: JailView;
  /** The operations planned so far; `plan.build()` gives the plan to carry out. */
  readonly plan: PlanBuilder;
  /** Requested sources that produced nothing, for the caller to report. */
  readonly missing: MissingSource[] = [];
  readonly #handled = new Set<string>();
  readonly #scan = new Set<string>();
  readonly #resolver = new DependencyResolver();
  #copiedLibrary = false;

  /**
   * `jail` is the normalised jail directory. `opts.lstat` stands in for the host's lstat, so a
   * caller can make entries it is about to replace look absent (jk_update does). A caller that
   * planned before it needed the copy engine passes its `view` and `plan` to go on with.
   */
  constructor(
    readonly jail: string,
    opts: { lstat?: typeof lstatOrUndefined; view?: JailView; plan?: PlanBuilder } = {},
  ) {
    this.view = opts.view ?? new JailView(jail, opts.lstat);
    this.plan = opts.plan ?? new PlanBuilder(jail);
  }

  /** JAIL + in-jail path, as jailkit prints destinations. */
  #host(inJail: string): string {
    return this.view.hostPath(inJail);
  }

  /**
   * Plans copies of host paths (absolute; globs expanded when `opts.glob`), then of everything
   * they need at run time. Missing sources are collected in `missing`.
   */
  copyPaths(paths: readonly string[], opts: CopyOptions): void {
    for (const p of paths) this.#copy(p, opts, 0);
    if (opts.resolveLibs) this.#copyDependencies(opts);
  }

  /** Creates a directory (and its parents) even when the host has no such directory. */
  emptyDir(inJail: string): void {
    this.#ensureDir(posix.normalize(inJail), FIXED_DIR_OPTS, 0, true);
  }

  /**
   * Plans `ldconfig -r` when libraries were copied or the jail has no loader cache yet. A thin
   * jail (`thin`) gets the host's cache instead, refreshed as jk_cp -f would: its sessions see
   * the host's library directories through the binds, which `ldconfig -r` finds empty here, and
   * a library the cache lists outside them is where the copies mirror it, or missing (the loader
   * then searches on).
   */
  finishLibraryCache(thin = false): void {
    if (thin && lstatOrUndefined(LOADER_CACHE)?.isFile) {
      this.#copy(LOADER_CACHE, HOST_CACHE_COPY, 0);
      return;
    }
    const cache = this.view.lookup(this.view.resolve(LOADER_CACHE, true));
    if (!this.#copiedLibrary && cache !== undefined) return;
    if (!this.plan.changes && cache !== undefined) return;
    this.#ensureDir("/etc", FIXED_DIR_OPTS, 0, true);
    this.plan.add({ op: "ldconfig" });
  }

  #attrs(info: Deno.FileInfo, opts: { keepOwner: boolean; keepSetid: boolean }): Attrs {
    const mode = (info.mode ?? 0) & 0o7777;
    return {
      mode: opts.keepSetid ? mode : mode & ~0o6000,
      uid: opts.keepOwner ? info.uid ?? 0 : 0,
      gid: opts.keepOwner ? info.gid ?? 0 : 0,
      atime: info.atime?.getTime(),
      mtime: info.mtime?.getTime(),
    };
  }

  /**
   * Makes sure the host directory `hostDir` exists in the jail, mirroring each missing
   * component from the host (directories with their mode, symlinks with their link text and
   * their targets), and returns its canonical in-jail path. With `hostOptional`, components the
   * host lacks become plain root-owned 0755 directories.
   */
  #ensureDir(hostDir: string, opts: CopyOptions, depth: number, hostOptional = false): string {
    if (depth > MAX_DEPTH) {
      throw new JailkitError(
        "unsafe-jail",
        `too many levels of symlinks while mirroring ${hostDir}`,
      );
    }
    let canon = "/";
    let hostSoFar = "";
    for (const comp of hostDir.split("/").filter((c) => c !== "")) {
      hostSoFar += "/" + comp;
      const inJail = canon === "/" ? `/${comp}` : `${canon}/${comp}`;
      const node = this.view.lookup(inJail);
      if (node === undefined) {
        const info = lstatOrUndefined(hostSoFar);
        if (info?.isSymlink) {
          const text = linkText(hostSoFar);
          this.#planSymlink(inJail, text, false);
          this.#ensureDir(
            posix.resolve(posix.dirname(hostSoFar), text),
            opts,
            depth + 1,
            hostOptional,
          );
          canon = this.#resolvedDir(inJail);
        } else if (info?.isDirectory) {
          this.#planMkdir(inJail, this.#attrs(info, opts));
          canon = inJail;
        } else if (info === undefined && hostOptional) {
          this.#planMkdir(inJail, { mode: 0o755, uid: 0, gid: 0 });
          canon = inJail;
        } else {
          throw new JailkitError(
            info === undefined ? "not-found" : "io",
            `cannot mirror ${hostSoFar} into the jail: ${
              info === undefined
                ? "it does not exist on the host"
                : "it is not a directory on the host"
            }`,
          );
        }
      } else if (node.kind === "dir") {
        canon = inJail;
      } else if (node.kind === "symlink") {
        if (!node.planned) this.#requireSameLink(hostSoFar, inJail, node.target!);
        const resolved = this.view.resolve(inJail, true);
        if (this.view.lookup(resolved) === undefined) {
          // A dangling link in the jail: create what it points to, mirrored from the host path
          // of the same name (in-jail paths and host paths coincide by construction).
          this.#ensureDir(resolved, opts, depth + 1, hostOptional);
        }
        canon = this.#resolvedDir(inJail);
      } else {
        throw new JailkitError(
          "unsafe-jail",
          `${this.#host(inJail)} is not a directory in the jail (needed for ${hostDir})`,
        );
      }
    }
    return canon;
  }

  /**
   * A jail symlink standing where the host has a directory (or a different link) is not
   * something we made: someone with write access planted it to steer our writes, so we refuse
   * rather than follow it (e.g. `JAIL/usr/lib -> /etc`).
   */
  #requireSameLink(hostPath: string, inJail: string, jailTarget: string): void {
    const info = lstatOrUndefined(hostPath);
    const hostTarget = info?.isSymlink ? linkText(hostPath) : undefined;
    if (hostTarget === jailTarget) return;
    throw new JailkitError(
      "unsafe-jail",
      `${this.#host(inJail)} is a symlink to ${jailTarget} but ${hostPath} is ${
        hostTarget === undefined
          ? info === undefined ? "missing on the host" : "not a symlink on the host"
          : `a symlink to ${hostTarget} on the host`
      }: refusing to copy through it`,
    );
  }

  #resolvedDir(inJail: string): string {
    const resolved = this.view.resolve(inJail, true);
    if (this.view.lookup(resolved)?.kind !== "dir") {
      throw new JailkitError(
        "unsafe-jail",
        `${this.#host(inJail)} does not lead to a directory in the jail`,
      );
    }
    return resolved;
  }

  #planMkdir(inJail: string, attrs: Attrs): void {
    this.plan.add({
      op: "mkdir",
      path: inJail,
      attrs,
      msg: { text: `Create directory ${this.#host(inJail)}`, verbose: true },
    });
    this.view.record(inJail, { kind: "dir" });
  }

  #planSymlink(inJail: string, target: string, replace: boolean): void {
    this.plan.add({
      op: "symlink",
      path: inJail,
      target,
      replace,
      msg: { text: `Creating symlink ${this.#host(inJail)} to ${target}` },
    });
    this.view.record(inJail, { kind: "symlink", target });
  }

  #copy(source: string, opts: CopyOptions, depth: number): void {
    if (!source.startsWith("/")) {
      throw new JailkitError("usage", `${source} is not an absolute path`);
    }
    if (depth > MAX_DEPTH) {
      throw new JailkitError("unsafe-jail", `too many levels of symlinks at ${source}`);
    }
    const src = posix.normalize(source);
    if (this.#handled.has(src)) return;
    this.#handled.add(src);
    const info = lstatOrUndefined(src);
    if (info === undefined) {
      if (opts.glob && hasGlobChars(src)) {
        const matches = expandGlob(src);
        if (matches.length === 0) this.missing.push({ path: src, glob: true });
        for (const m of matches) this.#copy(m, opts, depth + 1);
      } else {
        this.missing.push({ path: src, glob: false });
      }
      return;
    }
    if (src === "/") {
      throw new JailkitError("usage", "refusing to copy the whole host root into a jail");
    }
    const parent = this.#ensureDir(posix.dirname(src), opts, depth);
    const dest = parent === "/" ? `/${posix.basename(src)}` : `${parent}/${posix.basename(src)}`;
    const existing = this.view.lookup(dest);
    const kind = kindOf(info);
    switch (kind) {
      case "symlink":
        return this.#copySymlink(src, dest, existing, opts, depth);
      case "dir":
        return this.#copyDir(src, dest, info, existing, opts, depth);
      case "file":
        return this.#copyFile(src, dest, info, existing, opts);
      case "char":
      case "block":
        return this.#copyDevice(dest, info, existing, kind);
      default:
        this.plan.note(
          `WARNING: ${src} is a ${kind}; only files, directories, symlinks and devices are copied`,
          {
            stream: "stderr",
          },
        );
    }
  }

  #copySymlink(
    src: string,
    dest: string,
    existing: ReturnType<JailView["lookup"]>,
    opts: CopyOptions,
    depth: number,
  ): void {
    const text = linkText(src);
    if (existing === undefined) {
      this.#planSymlink(dest, text, false);
    } else if (existing.kind === "symlink" && existing.target === text) {
      // already right
    } else if (!opts.force) {
      this.plan.note(`${this.#host(dest)} already exists, will not touch it`, { verbose: true });
    } else if (existing.kind === "dir") {
      this.plan.note(`ERROR: ${this.#host(dest)} is a directory, not replacing it with a symlink`, {
        stream: "stderr",
      });
      return;
    } else {
      this.#planSymlink(dest, text, true);
    }
    this.#copy(posix.resolve(posix.dirname(src), text), opts, depth + 1);
  }

  #copyDir(
    src: string,
    dest: string,
    info: Deno.FileInfo,
    existing: ReturnType<JailView["lookup"]>,
    opts: CopyOptions,
    depth: number,
  ): void {
    if (existing === undefined) {
      this.#planMkdir(dest, this.#attrs(info, opts));
    } else if (existing.kind === "symlink") {
      if (this.view.lookup(this.view.resolve(dest, true))?.kind !== "dir") {
        this.plan.note(
          `ERROR: ${this.#host(dest)} is a symlink that does not lead to a directory`,
          {
            stream: "stderr",
          },
        );
        return;
      }
    } else if (existing.kind !== "dir") {
      this.plan.note(`ERROR: ${this.#host(dest)} exists and is not a directory`, {
        stream: "stderr",
      });
      return;
    } else if (opts.force) {
      this.plan.note(`Destination dir ${this.#host(dest)} exists`, { verbose: true });
    }
    let names: string[];
    try {
      names = directoryNames(src).sort();
    } catch (e) {
      this.plan.note(`ERROR: cannot read directory ${src}: ${(e as Error).message}`, {
        stream: "stderr",
      });
      return;
    }
    for (const name of names) this.#copy(`${src}/${name}`, opts, depth + 1);
  }

  #copyFile(
    src: string,
    dest: string,
    info: Deno.FileInfo,
    existing: ReturnType<JailView["lookup"]>,
    opts: CopyOptions,
  ): void {
    const mode = info.mode ?? 0;
    if ((mode & 0o111) !== 0 || posix.basename(src).includes(".so")) this.#scan.add(src);
    const attrs = this.#attrs(info, opts);
    let replace = false;
    if (existing !== undefined) {
      if (!opts.force) {
        this.plan.note(`${this.#host(dest)} already exists, will not touch it`, { verbose: true });
        return;
      }
      if (existing.kind === "dir") {
        this.plan.note(`ERROR: ${this.#host(dest)} is a directory, not replacing it with a file`, {
          stream: "stderr",
        });
        return;
      }
      if (existing.kind === "file" && this.#upToDate(dest, attrs, info)) {
        this.plan.note(`${this.#host(dest)} is up to date`, { verbose: true });
        return;
      }
      this.plan.note(`Destination file ${this.#host(dest)} exists, will delete to force update`, {
        verbose: true,
      });
      replace = true;
    }
    const host = this.#host(dest);
    if (opts.hardlink) {
      this.plan.add({
        op: "link",
        src,
        path: dest,
        attrs,
        replace,
        keepSetid: opts.keepSetid,
        msg: { text: `Trying to link ${src} to ${host}` },
      });
    } else {
      this.plan.add({
        op: "copy",
        src,
        path: dest,
        attrs,
        replace,
        msg: { text: `Copying ${src} to ${host}` },
      });
    }
    if (!opts.keepSetid && (mode & 0o6000) !== 0) {
      this.plan.note(`removing setuid and setgid permissions from ${host}`);
    }
    if (/(^|\/)(lib|lib64|lib32|libx32)\//.test(src) || src.includes(".so")) {
      this.#copiedLibrary = true;
    }
    this.view.record(dest, { kind: "file" });
  }

  /** A jail file whose size, mtime, mode and owner match the host needs no refresh with -f. */
  #upToDate(dest: string, attrs: Attrs, info: Deno.FileInfo): boolean {
    const j = lstatOrUndefined(this.#host(dest));
    return j !== undefined && j.isFile && j.size === info.size &&
      j.mtime?.getTime() === info.mtime?.getTime() && ((j.mode ?? 0) & 0o7777) === attrs.mode &&
      j.uid === attrs.uid && j.gid === attrs.gid;
  }

  #copyDevice(
    dest: string,
    info: Deno.FileInfo,
    existing: ReturnType<JailView["lookup"]>,
    kind: "char" | "block",
  ): void {
    if (existing !== undefined) {
      this.plan.note(`Device ${this.#host(dest)} does exist already`, { verbose: true });
      return;
    }
    const { major, minor } = deviceNumbers(info.rdev ?? 0);
    this.plan.add({
      op: "mknod",
      path: dest,
      kind: kind === "char" ? "c" : "b",
      major,
      minor,
      attrs: this.#attrs(info, FIXED_DIR_OPTS),
      msg: { text: `Creating device ${this.#host(dest)}`, verbose: true },
    });
    this.view.record(dest, { kind });
  }

  #copyDependencies(opts: CopyOptions): void {
    if (this.#scan.size === 0) return;
    const scanned = [...this.#scan];
    this.#scan.clear();
    const deps = this.#resolver.resolve(scanned);
    for (const m of deps.missing) {
      // A missing shared library breaks the program; a script whose interpreter is not
      // installed (common inside whole copied directories), or an optional (auxiliary)
      // library, is only worth a verbose line.
      if (m.kind === "library" && !m.optional) {
        this.plan.note(`WARNING: library ${m.needed} needed by ${m.by} was not found`, {
          stream: "stderr",
        });
      } else {
        this.plan.note(`${m.kind} ${m.needed} needed by ${m.by} is not installed`, {
          verbose: true,
        });
      }
    }
    for (const e of deps.errors) {
      this.plan.note(`WARNING: cannot inspect ${e.path}: ${e.message}`, { stream: "stderr" });
    }
    const libOpts: CopyOptions = {
      ...opts,
      keepOwner: false,
      keepSetid: false,
      glob: false,
      resolveLibs: false,
    };
    for (const f of deps.files) this.#copy(f, libOpts, 0);
    // Interpreters found in scripts are dependencies too: their own closure was included.
    this.#scan.clear();
  }
}

const FIXED_DIR_OPTS: CopyOptions = {
  force: false,
  hardlink: false,
  keepOwner: false,
  keepSetid: false,
  glob: false,
  resolveLibs: false,
};
