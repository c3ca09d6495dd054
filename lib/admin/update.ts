/**
 * jk_update's decisions (man/jk_update.8, minus jailkit's defects): compare what a jail holds in
 * some directories with the host files it was copied from, and plan the refreshes.
 *
 * - Each requested directory is resolved inside the jail, every jail symlink on the way being
 *   checked against the host's link of the same name, and each canonical jail directory is
 *   scanned once: on a usr-merged jail `/bin/` and `/usr/bin/` are one directory, so every
 *   change is reported once. A requested directory the jail lacks is a `skip` line.
 * - Jail entries are read through their canonical in-jail path with lstat; a jail symlink is
 *   compared as a link, never followed. A regular file is up to date when it has the host
 *   file's size and mtime (the copy engine gives copies the host's mtime; jk_cp -f decides
 *   the same way), else when its bytes are the host's (same inode, or same size and bytes).
 * - Outdated files are replaced by the copy engine (temp file renamed over the old entry, so a
 *   jail symlink in the way is replaced, never written through); changed host symlinks are
 *   recreated with the host's link text. Set-id bits are stripped as on any copy; the owner
 *   is kept when the jail copy had the host's non-root owner (installed with -o on purpose).
 * - The runtime copy that older jailkit-deno builds put into every jk_lsh jail is removed
 *   (lib/engine/runtime_copy.ts), whatever directories were requested.
 * - Jail entries that the host does not have are kept and reported unless the caller asks for
 *   their removal (`deleteDeprecated`): nothing records which of them jailkit put there, and
 *   jailkit 2.23 deleted local additions (scripts, site binaries) this way.
 * - A thin jail's mount points (jk_thin.ini(5)) show the host at every login: they are neither
 *   scanned, reported nor filled; only -v mentions them.
 */
import * as posix from "../core/posixpath.ts";
import type { CopyPlanner } from "../engine/copy.ts";
import { planRuntimeCopyRemoval } from "../engine/runtime_copy.ts";
import { JailkitError } from "../core/errors.ts";
import {
  components,
  JailView,
  kindOf,
  kindOfMode,
  LOADER_CACHE,
  lstatOrUndefined,
  type NodeKind,
} from "../engine/jailpath.ts";
import { type Op, type Plan, PlanBuilder } from "../core/plan.ts";
import { sameContent } from "../core/safeio.ts";
import {
  AT_FDCWD,
  close,
  type EntryStat,
  ErrnoError,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  open,
  statDirectory,
  type StatedEntry,
  statEntry,
} from "../../ffi/libc.ts";
import { mountPointOf, outsideMountPoints } from "../config/thin.ts";

/** What jailkit 2.23 scans when no directory is named. */
export const DEFAULT_DIRS: readonly string[] = ["/bin/", "/lib/", "/usr/", "/opt/"];

/**
 * Files the tools write for the jail itself; they differ from the host's on purpose and are
 * never replaced from it (the host's shadow file must never reach a jail).
 */
const JAIL_OWN_FILES = new Set([
  "/etc/passwd",
  "/etc/group",
  "/etc/shadow",
  "/etc/gshadow",
  LOADER_CACHE,
  "/etc/jailkit",
]);

/** Symlinks followed while resolving one requested directory, as the kernel's ELOOP limit. */
const MAX_SYMLINKS = 40;
/** Nesting accepted below a requested directory (PATH_MAX / 2: every level costs 2 bytes). */
const MAX_DEPTH = 2048;

/** What `scanJail` compares and what it leaves alone. */
export interface ScanOptions {
  /** Directories to compare, as host paths or JAIL-prefixed; DEFAULT_DIRS when empty. */
  dirs: readonly string[];
  /** Paths left alone: host, in-jail or JAIL-prefixed spellings, trailing slashes ignored. */
  skips: readonly string[];
  /** Plan the removal of jail entries the host does not have (jailkit's behaviour). */
  deleteDeprecated: boolean;
  /** A thin jail's mount points (canonical in-jail paths): left alone. */
  mountPoints?: readonly string[];
  /**
   * Also return the `scanning DIR` and `checking FILE` lines (default); without them a quiet
   * run keeps two objects per entry fewer until the end.
   */
  verbose?: boolean;
}

/** jk_update's switches and section keys, as `planUpdate` takes them. */
export interface UpdateOptions extends ScanOptions {
  /** Hard-link refreshed files where the executor allows it (-k). */
  hardlink: boolean;
  /** Word the report lines as jailkit's dry run does ("will update outdated file"). */
  dryRun: boolean;
}

/** One decision of the scan, in scan order. `inJail` paths are canonical. */
export type Finding =
  /** Not compared: skipped by the caller, absent from the jail, or maintained by the jail. */
  | { kind: "skip"; path: string; why: "skipped" | "not in the jail" | "jail's own file" }
  /** The jail entry differs from the host entry `src`; it becomes a copy or a symlink. */
  | {
    kind: "update";
    inJail: string;
    src: string;
    to: "file" | "symlink";
    /** Link text, for `to: "symlink"`. */
    target?: string;
    /** What the jail had there. */
    was: NodeKind;
    /** The jail copy had set-id bits that the host file has too (installed with -s). */
    wasSetid: boolean;
    /** The jail copy had the host file's non-root owner (installed with -o). */
    keepOwner: boolean;
  }
  /** Not on the host, planned for removal (children come before their directory). */
  | { kind: "remove"; inJail: string; dir: boolean }
  /** Not on the host and kept. */
  | {
    kind: "keep";
    inJail: string;
    dir: boolean;
    why: "not on the host" | "mount point" | "not emptied";
  }
  /** Host and jail disagree on the type (a directory on one side): left alone. */
  | { kind: "conflict"; inJail: string; host: string; jailKind: NodeKind; hostKind: NodeKind }
  /** Could not be compared; reported on stderr and counted as a failure. */
  | { kind: "error"; message: string }
  /** -v lines: `scanning DIR`, `checking FILE`, directories reached twice. */
  | { kind: "verbose"; text: string };

const KIND_WORDS: Record<NodeKind, string> = {
  dir: "directory",
  file: "file",
  symlink: "symlink",
  char: "character device",
  block: "block device",
  fifo: "fifo",
  socket: "socket",
};

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function withoutTrailingSlash(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/**
 * The requested directory as a host path: a JAIL-prefixed spelling loses its prefix, a
 * relative one is taken from `/`. The whole jail is refused: compared with the host root,
 * every user file in it would count as deprecated.
 */
export function requestedDir(jail: string, dir: string): string {
  let d = dir;
  if (d === jail || d.startsWith(jail + "/")) d = d.slice(jail.length);
  const host = withoutTrailingSlash(posix.resolve("/", d));
  if (host === "/") {
    throw new JailkitError(
      "usage",
      `refusing to compare the whole jail with the host root (${dir}): name directories such as /usr/`,
    );
  }
  return host;
}

/** Scans the requested directories and returns every decision, in order. Reads, never writes. */
export function scanJail(
  jail: string,
  opts: ScanOptions,
  view: JailView = new JailView(jail),
): Finding[] {
  return new Scanner(jail, view, opts).run();
}

/** Modification time in whole milliseconds: the precision the copy engine sets. */
function mtimeMs(s: EntryStat): number {
  return s.mtimeSec * 1000 + Math.floor(s.mtimeNsec / 1e6);
}

const lossy = new TextDecoder();

class Scanner {
  readonly #found: Finding[] = [];
  /** Canonical in-jail directories already scanned (or being scanned). */
  readonly #visited = new Set<string>();
  readonly #skips: Set<string>;

  constructor(readonly jail: string, readonly view: JailView, readonly opts: ScanOptions) {
    this.#skips = new Set(opts.skips.filter((s) => s !== "").map(withoutTrailingSlash));
  }

  #host(inJail: string): string {
    return this.view.hostPath(inJail);
  }

  /** A -v line when `inJail` is at or below a mount point, which is then left alone. */
  #mounted(inJail: string): boolean {
    const point = mountPointOf(inJail, this.opts.mountPoints ?? []);
    if (point === undefined) return false;
    const where = inJail === point ? "is" : `is below ${this.#host(point)},`;
    this.#found.push({
      kind: "verbose",
      text: `${this.#host(inJail)} ${where} a mount point of this thin jail: not compared`,
    });
    return true;
  }

  #skipped(host: string, inJail: string): boolean {
    // Asked for every entry: no strings are built when nothing is skipped (the usual case).
    if (this.#skips.size === 0) return false;
    const skips = this.#skips;
    return skips.has(host) || skips.has(inJail) || skips.has(this.jail + host) ||
      skips.has(this.jail + inJail);
  }

  run(): Finding[] {
    const dirs = this.opts.dirs.length > 0 ? this.opts.dirs : DEFAULT_DIRS;
    for (const hostDir of dirs.map((d) => requestedDir(this.jail, d))) {
      const shown = `${this.jail}${hostDir}/`;
      if (this.#skips.has(hostDir) || this.#skips.has(this.jail + hostDir)) {
        this.#found.push({ kind: "skip", path: shown, why: "skipped" });
        continue;
      }
      const canon = this.#resolveDir(hostDir);
      if (canon === undefined) continue;
      if (this.#skips.has(canon) || this.#skips.has(this.jail + canon)) {
        this.#found.push({ kind: "skip", path: shown, why: "skipped" });
        continue;
      }
      if (this.#visited.has(canon)) {
        this.#found.push({
          kind: "verbose",
          text: `${shown} is ${this.#host(canon)}/, already scanned`,
        });
        continue;
      }
      this.#scanDir(canon, hostDir, 0);
    }
    return this.#found;
  }

  /**
   * Canonical in-jail directory of a requested host directory, walking it one component at a
   * time: a jail symlink is followed (inside the jail) only when the host has the same link
   * at the same path, so a planted `JAIL/opt -> /etc` cannot redirect the scan.
   */
  #resolveDir(hostDir: string): string | undefined {
    const shown = `${this.jail}${hostDir}/`;
    const pending = components(hostDir);
    const done: string[] = [];
    let budget = MAX_SYMLINKS;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === "..") {
        done.pop();
        continue;
      }
      const cand = "/" + [...done, name].join("/");
      if (this.#mounted(cand)) return undefined;
      const node = this.view.lookup(cand);
      if (node === undefined) {
        this.#found.push({ kind: "skip", path: shown, why: "not in the jail" });
        return undefined;
      }
      if (node.kind === "symlink") {
        const info = lstatOrUndefined(cand);
        const hostText = info?.isSymlink ? Deno.readLinkSync(cand) : undefined;
        if (hostText !== node.target) {
          this.#found.push({
            kind: "error",
            message: `${this.#host(cand)} is a symlink to ${node.target} but ${cand} is ${
              hostText === undefined
                ? info === undefined ? "missing" : `a ${KIND_WORDS[kindOf(info)]}`
                : `a symlink to ${hostText}`
            } on the host: not scanning ${shown}`,
          });
          return undefined;
        }
        if (--budget < 0) {
          this.#found.push({
            kind: "error",
            message: `too many levels of symlinks in ${shown}`,
          });
          return undefined;
        }
        if (node.target!.startsWith("/")) done.length = 0;
        pending.unshift(...components(node.target!));
        continue;
      }
      if (node.kind !== "dir") {
        this.#found.push({
          kind: "error",
          message: `${this.#host(cand)} is a ${
            KIND_WORDS[node.kind]
          }, not a directory: not scanning ${shown}`,
        });
        return undefined;
      }
      done.push(name);
    }
    return "/" + done.join("/");
  }

  /**
   * The sorted names in the jail directory `inJail`, opened without following a symlink there,
   * and each name's entry in the jail and (through `hostDir`, when given) on the host: every
   * statx is made relative to the two open directories, which are closed before the caller
   * descends (a deep tree never holds more than two descriptors). A name that is not UTF-8
   * cannot be reported or copied by name: it is an error, never skipped silently.
   */
  #list(
    inJail: string,
    hostDir?: string,
  ): { listed: StatedEntry[]; complete: boolean } | undefined {
    const where = this.#host(inJail);
    let jailFd = -1;
    let hostFd = -1;
    try {
      jailFd = open(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (hostDir !== undefined) {
        try {
          hostFd = open(hostDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } catch (e) {
          // No such directory on the host: everything in the jail's is deprecated.
          if (!(e instanceof ErrnoError) || (e.code !== "ENOENT" && e.code !== "ENOTDIR")) throw e;
        }
      }
      const { entries, undecodable } = statDirectory(jailFd, hostFd);
      for (const raw of undecodable) {
        this.#found.push({
          kind: "error",
          message: `cannot compare ${join(where, lossy.decode(raw))}: its name is not UTF-8`,
        });
      }
      return { listed: entries, complete: undecodable.length === 0 };
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      this.#found.push({ kind: "error", message: `cannot read directory ${where}: ${e.message}` });
      return undefined;
    } finally {
      if (hostFd >= 0) close(hostFd);
      if (jailFd >= 0) close(jailFd);
    }
  }

  #scanDir(inJailDir: string, hostDir: string, depth: number): void {
    if (depth > MAX_DEPTH) {
      this.#found.push({
        kind: "error",
        message: `${this.#host(inJailDir)} is nested too deeply, not scanned`,
      });
      return;
    }
    this.#visited.add(inJailDir);
    if (this.opts.verbose !== false) {
      this.#found.push({ kind: "verbose", text: `scanning ${this.#host(inJailDir)}/` });
    }
    const dirInfo = statEntry(AT_FDCWD, this.#host(inJailDir));
    const list = this.#list(inJailDir, hostDir);
    if (list === undefined || dirInfo === undefined) return;
    for (const { name, stat: j, other: h } of list.listed) {
      const inJail = join(inJailDir, name);
      const host = join(hostDir, name);
      if (this.#mounted(inJail)) continue;
      if (this.#skipped(host, inJail)) {
        this.#found.push({ kind: "skip", path: this.#host(inJail), why: "skipped" });
        continue;
      }
      if (JAIL_OWN_FILES.has(inJail) || JAIL_OWN_FILES.has(host)) {
        this.#found.push({ kind: "skip", path: this.#host(inJail), why: "jail's own file" });
        continue;
      }
      if (j === undefined) continue; // removed while we were looking
      if (h === undefined) {
        this.#deprecated(inJail, host, j, dirInfo.dev, depth);
        continue;
      }
      this.#compare(inJail, host, j, h, depth);
    }
  }

  #compare(inJail: string, host: string, j: EntryStat, h: EntryStat, depth: number) {
    const jailKind = kindOfMode(j.mode);
    const hostKind = kindOfMode(h.mode);
    const conflict = () => this.#found.push({ kind: "conflict", inJail, host, jailKind, hostKind });
    if (hostKind === "dir") {
      if (jailKind !== "dir") return conflict();
      if (!this.#visited.has(inJail)) this.#scanDir(inJail, host, depth + 1);
      return;
    }
    if (jailKind === "dir") return conflict();
    const update = (to: "file" | "symlink", target?: string) => {
      const mode = j.mode;
      const wasFile = jailKind === "file";
      this.#found.push({
        kind: "update",
        inJail,
        src: host,
        to,
        target,
        was: jailKind,
        wasSetid: wasFile && (mode & 0o6000) !== 0 && (h.mode & 0o6000) !== 0,
        keepOwner: wasFile && j.uid === h.uid && j.gid === h.gid && (h.uid !== 0 || h.gid !== 0),
      });
    };
    if (hostKind === "symlink") {
      const text = Deno.readLinkSync(host);
      if (jailKind !== "symlink" || Deno.readLinkSync(this.#host(inJail)) !== text) {
        update("symlink", text);
      }
      return;
    }
    if (hostKind !== "file") {
      this.#found.push({
        kind: "verbose",
        text: `${host} is a ${KIND_WORDS[hostKind]} on the host, not compared`,
      });
      return;
    }
    if (jailKind !== "file") return update("file");
    if (this.opts.verbose !== false) {
      this.#found.push({ kind: "verbose", text: `checking ${this.#host(inJail)}` });
    }
    // The copy engine gives every copy its host file's mtime, so equal size and mtime mean the
    // copy is current, as jk_cp -f decides: nothing is read (jk_check compares every byte).
    if (j.size === h.size && mtimeMs(j) === mtimeMs(h)) return;
    let same: boolean;
    try {
      same = sameContent(host, this.#host(inJail));
    } catch (e) {
      this.#found.push({
        kind: "error",
        message: `cannot compare ${this.#host(inJail)} with ${host}: ${(e as Error).message}`,
      });
      return;
    }
    if (!same) update("file");
  }

  /**
   * A jail entry the host does not have. Kept (reported once, not descended into) unless
   * removal was asked for; then a directory goes only when all it holds went too, and a
   * mount point (another file system, perhaps someone's data) never does.
   * Returns whether the entry is planned for removal.
   */
  #deprecated(
    inJail: string,
    host: string,
    j: EntryStat,
    parentDev: number,
    depth: number,
  ): boolean {
    const dir = kindOfMode(j.mode) === "dir";
    if (!this.opts.deleteDeprecated) {
      this.#found.push({ kind: "keep", inJail, dir, why: "not on the host" });
      return false;
    }
    if (!dir) {
      this.#found.push({ kind: "remove", inJail, dir });
      return true;
    }
    if (j.dev !== parentDev) {
      this.#found.push({ kind: "keep", inJail, dir, why: "mount point" });
      return false;
    }
    const list = depth < MAX_DEPTH ? this.#list(inJail) : undefined;
    let all = list?.complete === true;
    for (const { name, stat: info } of list?.listed ?? []) {
      const child = join(inJail, name);
      const hostChild = join(host, name);
      if (this.#skipped(hostChild, child)) {
        this.#found.push({ kind: "skip", path: this.#host(child), why: "skipped" });
        all = false;
        continue;
      }
      if (info === undefined) continue;
      if (!this.#deprecated(child, hostChild, info, j.dev, depth + 1)) all = false;
    }
    this.#found.push(
      all ? { kind: "remove", inJail, dir } : { kind: "keep", inJail, dir, why: "not emptied" },
    );
    return all;
  }
}

/** jk_update's decisions: the plan and the scan it came from. */
export interface UpdatePlan {
  /** Every refresh and removal, ready for `applyPlan`; reports are its notes. */
  plan: Plan;
  /** Every decision of the scan, in scan order, for callers that report differently. */
  findings: Finding[];
  /** Findings that are failures (reported on stderr): the tool exits 7. */
  problems: number;
}

/**
 * Scans the jail and turns the findings into a plan: report lines as notes, refreshes through
 * the copy engine (which also copies any library a refreshed program now needs), removals as
 * `remove` operations, and `ldconfig` only when something was copied.
 */
export async function planUpdate(jail: string, opts: UpdateOptions): Promise<UpdatePlan> {
  // Jail entries being replaced look absent to the copy engine, so it plans an ordinary copy
  // (with its messages, hard-link rules and library scan), which is then made to replace.
  const replaced = new Set<string>();
  const view = new JailView(jail, (p) => replaced.has(p) ? undefined : lstatOrUndefined(p));
  const plan = new PlanBuilder(jail);
  // The copy engine, with the ELF reader and the library resolver, is loaded only when
  // something is to be copied: most runs find nothing to do.
  let planner: CopyPlanner | undefined;
  const copier = async () =>
    planner ??= new (await import("../engine/copy.ts")).CopyPlanner(jail, { view, plan });
  // The runtime copy of the older jk_lsh layout goes, and is not compared entry by entry.
  const runtimeCopy = planRuntimeCopyRemoval(view, plan);
  const findings = scanJail(
    jail,
    runtimeCopy === undefined ? opts : { ...opts, skips: [...opts.skips, runtimeCopy] },
    view,
  );
  const shown = (inJail: string) => view.hostPath(inJail);
  const copyOpts = {
    force: false,
    hardlink: opts.hardlink,
    keepSetid: false,
    glob: false,
    resolveLibs: false,
  };
  const linkTargets: string[] = [];
  let problems = 0;
  const fail = (message: string) => {
    plan.note(`ERROR: ${message}`, { stream: "stderr" });
    problems++;
  };
  for (const f of findings) {
    switch (f.kind) {
      case "skip":
        plan.note(f.why === "skipped" ? `skip ${f.path}` : `skip ${f.path} (${f.why})`);
        break;
      case "verbose":
        plan.note(f.text, { verbose: true });
        break;
      case "error":
        fail(f.message);
        break;
      case "conflict":
        plan.note(
          `WARNING: ${shown(f.inJail)} is a ${KIND_WORDS[f.jailKind]} but ${f.host} is a ${
            KIND_WORDS[f.hostKind]
          } on the host; leaving it`,
        );
        break;
      case "keep": {
        const p = shown(f.inJail) + (f.dir ? "/" : "");
        plan.note(
          f.why === "not on the host"
            ? `WARNING: ${p} is not on the host; keeping it (use --delete-deprecated to remove)`
            : f.why === "mount point"
            ? `WARNING: ${p} is not on the host but is a mount point; keeping it`
            : `keeping deprecated directory ${p}: not everything in it is removed`,
        );
        break;
      }
      case "remove": {
        const what = `deprecated ${f.dir ? "directory" : "file"}`;
        if (opts.dryRun) plan.note(`will remove ${what} ${shown(f.inJail)}`);
        plan.add({
          op: "remove",
          path: f.inJail,
          dir: f.dir,
          what,
          msg: { text: `removing ${what} ${shown(f.inJail)}` },
        });
        break;
      }
      case "update": {
        const p = shown(f.inJail);
        plan.note(opts.dryRun ? `will update outdated file ${p}` : `removing outdated file ${p}`);
        if (f.wasSetid) {
          plan.note(
            `WARNING: ${p} was installed set-uid/set-gid; the updated copy is not (jk_cp -f -s -j ${jail} ${f.src} restores the bits)`,
          );
        }
        if (f.to === "symlink") {
          plan.add({
            op: "symlink",
            path: f.inJail,
            target: f.target!,
            replace: true,
            msg: { text: `Creating symlink ${p} to ${f.target}` },
          });
          view.record(f.inJail, { kind: "symlink", target: f.target });
          linkTargets.push(posix.resolve(posix.dirname(f.src), f.target!));
          break;
        }
        replaced.add(p);
        const from = plan.ops.length;
        try {
          (await copier()).copyPaths([f.src], { ...copyOpts, keepOwner: f.keepOwner });
          if (!makeReplace(plan.ops, from, f.inJail)) {
            throw new JailkitError("io", `the copy engine planned no copy of ${f.src} to ${p}`);
          }
        } catch (e) {
          if (!(e instanceof JailkitError)) throw e;
          replaced.delete(p);
          fail(e.message);
        }
        break;
      }
    }
  }
  try {
    // Targets of changed links, then the libraries of everything refreshed: what is missing
    // is copied, what exists is left to its own comparison.
    if (planner !== undefined || linkTargets.length > 0) {
      const copying = await copier();
      copying.copyPaths(linkTargets, { ...copyOpts, keepOwner: false });
      copying.copyPaths([], { ...copyOpts, keepOwner: false, resolveLibs: true });
    }
    // A library a refreshed program needs under a thin jail's mount point is seen there.
    const points = opts.mountPoints ?? [];
    if (points.length > 0) {
      plan.ops.splice(0, plan.ops.length, ...outsideMountPoints(plan.ops, points));
    }
    const copying = plan.ops.some((o) => COPYING_OPS.has(o.op));
    if (points.length > 0) {
      // A thin jail's loader cache is the host's, which changes with the libraries under the
      // binds. This look only spares loading the copy engine; that decides, through the view.
      const host = lstatOrUndefined(LOADER_CACHE);
      const mine = lstatOrUndefined(`${jail}${LOADER_CACHE}`);
      if (
        copying || host?.size !== mine?.size || host?.mtime?.getTime() !== mine?.mtime?.getTime()
      ) {
        (await copier()).finishLibraryCache(true);
      }
    } else if (copying) (await copier()).finishLibraryCache();
  } catch (e) {
    if (!(e instanceof JailkitError)) throw e;
    fail(e.message);
  }
  return { plan: plan.build(), findings, problems };
}

const COPYING_OPS = new Set<Op["op"]>(["copy", "link", "symlink", "mkdir", "mknod"]);

/** Turns the copy the engine planned for `inJail` into a replacement of the jail entry. */
function makeReplace(ops: Op[], from: number, inJail: string): boolean {
  for (let i = from; i < ops.length; i++) {
    const op = ops[i];
    if ((op.op === "copy" || op.op === "link") && op.path === inJail) {
      op.replace = true;
      return true;
    }
  }
  return false;
}
