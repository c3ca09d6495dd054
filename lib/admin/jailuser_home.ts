/**
 * Moving a jailed user's home tree: copy into a temp directory beside the destination, verify
 * the copy against the original, rename it into place, and remove the old home only at the
 * end, after checking it unchanged since it was copied. The order and why it is safe to stop
 * at any point are in lib/admin/jailuser.ts.
 *
 * This is one of the writers that do not go through lib/engine/apply.ts (the list and the
 * reasons are in that module's documentation): it copies a tree the plan executor does not
 * model (every file type, owners, times, hard links) from the host into the jail.
 */
import * as fs from "node:fs";
import { posix } from "node:path";
import { JailkitError } from "../core/errors.ts";
import { kindOf, lstatOrUndefined, type NodeKind } from "../engine/jailpath.ts";
import { sameContent } from "../core/safeio.ts";
import { runProgram } from "../engine/apply.ts";
import { AT_EMPTY_PATH, deviceNumbers, Dir, mknod, statx } from "../../ffi/libc.ts";

/** Why a home could not be moved; the old home is intact whenever this is thrown. */
export class MoveError extends Error {
  constructor(message: string, readonly problems: readonly string[] = []) {
    super(message);
    this.name = "MoveError";
  }
}

const MAX_DEPTH = 2048;
const MAX_REPORTED = 10;
const CHUNK = 1 << 20;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * What a source entry looked like when it was copied, to notice later changes. Deno reports
 * ctime only to the second, so the millisecond mtime, size, mode and owner are kept as well:
 * a write, chmod or chown is caught at once, and only a same-size rewrite followed by resetting
 * the mtime within the same second (something only the user can do to their own files) is not.
 */
interface Seen {
  kind: NodeKind;
  ino: number;
  size: number;
  mtime: number;
  ctime: number;
  mode: number;
  uid: number | null;
  gid: number | null;
}

export type Manifest = Map<string, Seen>;

function seenOf(info: Deno.FileInfo): Seen {
  return {
    kind: kindOf(info),
    ino: info.ino ?? 0,
    size: info.size,
    mtime: info.mtime?.getTime() ?? 0,
    ctime: info.ctime?.getTime() ?? 0,
    mode: info.mode ?? 0,
    uid: info.uid,
    gid: info.gid,
  };
}

function sameSeen(a: Seen, b: Seen): boolean {
  return a.kind === b.kind && a.ino === b.ino && a.size === b.size && a.mtime === b.mtime &&
    a.ctime === b.ctime && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sortedNames(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/**
 * Refuses sources a copy would get wrong or a removal would damage: a symlinked home, a mount
 * point (or a mount inside it: removing the old home would descend into it), and overlap with
 * the destination.
 */
export function checkMoveSource(source: string, destination: string, jail: string): Deno.FileInfo {
  const info = lstatOrUndefined(source);
  if (info === undefined) throw new MoveError(`${source} does not exist`);
  if (info.isSymlink) {
    throw new MoveError(`${source} is a symlink; point the account at the real directory first`);
  }
  if (!info.isDirectory) throw new MoveError(`${source} is not a directory`);
  const parent = lstatOrUndefined(posix.dirname(source));
  if (parent !== undefined && parent.dev !== info.dev) {
    throw new MoveError(`${source} is a mount point; move it by hand`);
  }
  for (const [a, b] of [[source, destination], [source, jail]]) {
    if (b === a || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
      throw new MoveError(`${source} and ${b} overlap; cannot move one into the other`);
    }
  }
  return info;
}

/**
 * A source directory held open, and its entries reached through it. The home being moved
 * belongs to the user, who could swap one of its directories for a symlink while we copy: each
 * directory is opened relative to the one above without following a symlink (openat with
 * O_NOFOLLOW) and checked to be the directory that was listed, and its entries are named
 * through /proc/self/fd, so every read stays inside the tree that was checked.
 */
class SourceDir {
  private constructor(private readonly dir: Dir) {}

  /** Opens `path` (no symlink at its last component), which must still be `info`. */
  static open(path: string, info: Deno.FileInfo): SourceDir {
    return SourceDir.#checked(Dir.open(path, O_RDONLY), info);
  }

  /** The subdirectory `name`, which must still be `info`. */
  child(name: string, info: Deno.FileInfo): SourceDir {
    return SourceDir.#checked(this.dir.openDir(name, O_RDONLY), info);
  }

  static #checked(dir: Dir, info: Deno.FileInfo): SourceDir {
    try {
      const now = statx(dir.fd, "", AT_EMPTY_PATH);
      if (info.ino === null || now.ino !== BigInt(info.ino)) {
        throw new Error("changed while being copied");
      }
      return new SourceDir(dir);
    } catch (e) {
      dir.close();
      throw e;
    }
  }

  /** A path naming `name` in this very directory, whatever happens to its path meanwhile. */
  entry(name: string): string {
    return `/proc/self/fd/${this.dir.fd}/${name}`;
  }

  names(): string[] {
    return sortedNames(`/proc/self/fd/${this.dir.fd}`);
  }

  close(): void {
    this.dir.close();
  }
}

/**
 * Copies the tree at `src` to the new path `dst` (which must not exist), keeping modes, owners,
 * times, symlinks as symlinks, hard links between files of the tree, fifos and devices.
 * Sockets cannot be copied (they belong to a running program) and make the copy fail. Returns
 * what each source entry looked like, for `unchangedSince`. On failure, throws MoveError with
 * every problem found; the partial copy is left for the caller to remove. The source is read
 * through SourceDir; `dst` is a new directory in a root-owned parent that only root can write.
 */
export function copyTree(src: string, dst: string): Manifest {
  const manifest: Manifest = new Map();
  const problems: string[] = [];
  const links = new Map<string, string>();
  const top = Deno.lstatSync(src);
  const dirs: { path: string; info: Deno.FileInfo }[] = [];

  /** Copies the entry `source` (read through it) shown as `from` in messages. */
  const copyEntry = (
    source: string,
    from: string,
    to: string,
    rel: string,
    info: Deno.FileInfo,
    depth: number,
    open: () => SourceDir,
  ) => {
    if (info.dev !== top.dev) {
      problems.push(`${from} is on another file system (a mount point); unmount it first`);
      return;
    }
    manifest.set(rel, seenOf(info));
    const kind = kindOf(info);
    try {
      if (kind === "dir") {
        if (depth > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} nested directories`);
        Deno.mkdirSync(to, { mode: 0o700 });
        dirs.push({ path: to, info });
        const dir = open();
        try {
          for (const name of dir.names()) {
            const child = Deno.lstatSync(dir.entry(name));
            copyEntry(
              dir.entry(name),
              `${from}/${name}`,
              `${to}/${name}`,
              `${rel}/${name}`,
              child,
              depth + 1,
              () => dir.child(name, child),
            );
          }
        } finally {
          dir.close();
        }
        return;
      }
      if (kind === "socket") {
        throw new Error("is a socket, which cannot be copied (it belongs to a running program)");
      }
      const key = `${info.dev}:${info.ino}`;
      const first = (info.nlink ?? 1) > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        Deno.linkSync(first, to);
        return;
      }
      if (kind === "file") copyFile(source, to, info);
      else if (kind === "symlink") {
        Deno.symlinkSync(Deno.readLinkSync(source), to);
        fs.lchownSync(to, ...owner(info));
        fs.lutimesSync(to, info.atime ?? new Date(), info.mtime ?? new Date());
      } else {
        if (kind === "fifo") runProgram(["/usr/bin/mkfifo", "-m", "600", "--", to]);
        else {
          const { major, minor } = deviceNumbers(info.rdev ?? 0);
          mknod(to, kind === "char" ? "c" : "b", 0o600, major, minor);
        }
        setAttrs(to, info);
      }
      if ((info.nlink ?? 1) > 1) links.set(key, to);
    } catch (e) {
      problems.push(`${from}: ${reason(e)}`);
    }
  };

  copyEntry(src, src, dst, "", top, 0, () => SourceDir.open(src, top));
  // Directory attributes last: filling a directory changes its times, and a read-only mode
  // would stop the copy into it.
  for (const { path, info } of dirs.reverse()) {
    try {
      setAttrs(path, info);
    } catch (e) {
      problems.push(`${path}: ${reason(e)}`);
    }
  }
  if (problems.length > 0) {
    throw new MoveError(`cannot copy ${src} to ${dst}`, problems);
  }
  return manifest;
}

/** uid and gid of a file; Deno leaves them null only on platforms without them (Windows). */
export function owner(info: Deno.FileInfo): [number, number] {
  if (info.uid === null || info.gid === null) {
    throw new JailkitError("io", "file owner unknown on this platform");
  }
  return [info.uid, info.gid];
}

function setAttrs(path: string, info: Deno.FileInfo): void {
  // chown before chmod: chown clears set-id bits that the mode may legitimately carry
  fs.lchownSync(path, ...owner(info));
  Deno.chmodSync(path, (info.mode ?? 0) & 0o7777);
  Deno.utimeSync(path, info.atime ?? new Date(), info.mtime ?? new Date());
}

function copyFile(from: string, to: string, info: Deno.FileInfo): void {
  let sfd = -1;
  let dfd = -1;
  try {
    // O_NOFOLLOW | O_NONBLOCK: a symlink or fifo swapped in since lstat is refused, not followed
    sfd = fs.openSync(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const before = fs.fstatSync(sfd);
    if (!before.isFile() || before.ino !== info.ino) throw new Error("changed while being copied");
    dfd = fs.openSync(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = fs.readSync(sfd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let off = 0;
      while (off < n) off += fs.writeSync(dfd, buf, off, n - off);
    }
    fs.fsyncSync(dfd);
    const after = fs.fstatSync(sfd);
    if (
      after.ctimeMs !== before.ctimeMs || after.mtimeMs !== before.mtimeMs ||
      after.size !== before.size
    ) {
      throw new Error("changed while being copied");
    }
  } finally {
    if (sfd >= 0) fs.closeSync(sfd);
    if (dfd >= 0) fs.closeSync(dfd);
  }
  setAttrs(to, info);
}

/**
 * Every difference between the trees at `a` and `b` (at most MAX_REPORTED): names, types,
 * modes, owners, modification times, sizes, contents, link texts, device numbers, and which
 * files are hard links of each other. Empty when `b` is a faithful copy of `a`.
 */
export function compareTrees(a: string, b: string): string[] {
  const diffs: string[] = [];
  const groupsA = new Map<string, string>();
  const groupsB = new Map<string, string>();
  const note = (d: string) => {
    if (diffs.length < MAX_REPORTED) diffs.push(d);
  };
  const walk = (pa: string, pb: string, rel: string, depth: number) => {
    if (diffs.length >= MAX_REPORTED) return;
    const ia = lstatOrUndefined(pa);
    const ib = lstatOrUndefined(pb);
    const where = rel === "" ? "." : rel.slice(1);
    if (ia === undefined || ib === undefined) {
      note(`${where}: ${ia === undefined ? `missing in ${a}` : `missing in ${b}`}`);
      return;
    }
    const ka = kindOf(ia);
    if (ka !== kindOf(ib)) return note(`${where}: ${ka} became ${kindOf(ib)}`);
    if (ka !== "symlink" && (ia.mode ?? 0) !== (ib.mode ?? 0)) {
      return note(
        `${where}: mode ${(ia.mode ?? 0).toString(8)} became ${(ib.mode ?? 0).toString(8)}`,
      );
    }
    if (ia.uid !== ib.uid || ia.gid !== ib.gid) {
      return note(`${where}: owner ${ia.uid}:${ia.gid} became ${ib.uid}:${ib.gid}`);
    }
    if (ia.mtime?.getTime() !== ib.mtime?.getTime()) {
      return note(`${where}: modification time differs`);
    }
    if (ka === "dir") {
      if (depth > MAX_DEPTH) return note(`${where}: more than ${MAX_DEPTH} nested directories`);
      const na = sortedNames(pa);
      const nb = sortedNames(pb);
      const all = [...new Set([...na, ...nb])].sort();
      for (const n of all) walk(`${pa}/${n}`, `${pb}/${n}`, `${rel}/${n}`, depth + 1);
      return;
    }
    if ((ia.nlink ?? 1) > 1 || (ib.nlink ?? 1) > 1) {
      const ga = `${ia.dev}:${ia.ino}`;
      const gb = `${ib.dev}:${ib.ino}`;
      const firstA = groupsA.get(ga);
      const firstB = groupsB.get(gb);
      if (firstA !== firstB) return note(`${where}: hard links differ`);
      if (firstA === undefined) {
        groupsA.set(ga, rel);
        groupsB.set(gb, rel);
      }
    }
    if (ka === "symlink" && Deno.readLinkSync(pa) !== Deno.readLinkSync(pb)) {
      return note(`${where}: link text differs`);
    }
    if ((ka === "char" || ka === "block") && ia.rdev !== ib.rdev) {
      return note(`${where}: device numbers differ`);
    }
    if (ka === "file" && (ia.size !== ib.size || !sameContent(pa, pb))) {
      return note(`${where}: content differs`);
    }
  };
  try {
    walk(a, b, "", 0);
  } catch (e) {
    note(`cannot compare ${a} with ${b}: ${reason(e)}`);
  }
  return diffs;
}

/** Source entries that changed (or appeared) since `manifest` was taken; empty when none. */
export function unchangedSince(src: string, manifest: Manifest): string[] {
  const changed: string[] = [];
  const walk = (path: string, rel: string, depth: number) => {
    if (changed.length >= MAX_REPORTED) return;
    const info = lstatOrUndefined(path);
    const was = manifest.get(rel);
    const where = rel === "" ? src : path;
    if (info === undefined || was === undefined) {
      changed.push(`${where} ${info === undefined ? "disappeared" : "appeared"}`);
      return;
    }
    const now = seenOf(info);
    if (!sameSeen(now, was)) {
      changed.push(`${where} changed`);
      return;
    }
    if (now.kind === "dir" && depth <= MAX_DEPTH) {
      for (const n of sortedNames(path)) walk(`${path}/${n}`, `${rel}/${n}`, depth + 1);
    }
  };
  try {
    walk(src, "", 0);
  } catch (e) {
    changed.push(`cannot re-read ${src}: ${reason(e)}`);
  }
  return changed;
}

function isEmptyDir(path: string): boolean {
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}

export function removeQuietly(path: string): string | undefined {
  try {
    Deno.removeSync(path, { recursive: true });
    return undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    return reason(e);
  }
}

export const TEMP_PREFIX = ".jk_jailuser";

export type DestinationState = "fresh" | "empty" | "identical" | "same";

/**
 * What is at `destination` now (read-only, so --dry-run can tell too): nothing ("fresh"), an
 * empty directory to be replaced ("empty"), a tree identical to `source` ("identical", an
 * earlier run stopped after copying), or the source directory itself ("same": a bind mount,
 * e.g. of /home into the jail; there is nothing to move and, above all, nothing to remove).
 * Anything else throws MoveError. When the parent exists it must be root's and not
 * group/other-writable, or someone could swap our temp directory for a symlink between our
 * writes.
 */
export function checkDestination(source: string, destination: string): DestinationState {
  const existing = lstatOrUndefined(destination);
  const src = lstatOrUndefined(source);
  if (
    existing !== undefined && src !== undefined && existing.dev === src.dev &&
    existing.ino === src.ino
  ) {
    return "same";
  }
  const parent = posix.dirname(destination);
  const pinfo = lstatOrUndefined(parent);
  if (pinfo !== undefined) {
    if (!pinfo.isDirectory || pinfo.isSymlink) throw new MoveError(`${parent} is not a directory`);
    if (pinfo.uid !== 0 || ((pinfo.mode ?? 0) & 0o022) !== 0) {
      throw new MoveError(`${parent} must be owned by root and not writable by group or others`);
    }
  }
  if (existing === undefined) return "fresh";
  if (!existing.isDirectory || existing.isSymlink) {
    throw new MoveError(`${destination} exists and is not a directory`);
  }
  if (isEmptyDir(destination)) return "empty";
  const diffs = compareTrees(source, destination);
  if (diffs.length > 0) {
    throw new MoveError(
      `${destination} already exists and differs from ${source}; merge them by hand`,
      diffs,
    );
  }
  return "identical";
}

/**
 * Puts a complete, verified copy of `source` at `destination` (host paths; the destination's
 * parent must exist and be root's). An existing destination is accepted when it is an empty
 * directory (replaced) or already identical to the source (an earlier run stopped before
 * finishing). Returns the manifest of the source for the final unchanged-check. The source is
 * never modified; on failure the temp copy is removed and MoveError says why.
 */
export function placeCopy(
  source: string,
  destination: string,
  user: string,
  state: DestinationState = checkDestination(source, destination),
): Manifest {
  if (state === "same") throw new MoveError(`${destination} is ${source} itself`);
  if (state === "identical") return manifestOf(source);
  const parent = posix.dirname(destination);
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const temp = `${parent}/${TEMP_PREFIX}.${user}.${rand}`;
  let manifest: Manifest;
  try {
    manifest = copyTree(source, temp);
    const diffs = compareTrees(source, temp);
    if (diffs.length > 0) throw new MoveError(`the copy of ${source} does not match it`, diffs);
    // rename(2) replaces an empty directory atomically and fails on a non-empty one
    Deno.renameSync(temp, destination);
  } catch (e) {
    const left = removeQuietly(temp);
    const extra = left === undefined ? [] : [`could not remove the partial copy ${temp}: ${left}`];
    if (e instanceof MoveError) throw new MoveError(e.message, [...e.problems, ...extra]);
    throw new MoveError(`cannot put ${source} at ${destination}: ${reason(e)}`, extra);
  }
  return manifest;
}

function manifestOf(src: string): Manifest {
  const manifest: Manifest = new Map();
  const walk = (path: string, rel: string, depth: number) => {
    const info = Deno.lstatSync(path);
    manifest.set(rel, seenOf(info));
    if (info.isDirectory && depth <= MAX_DEPTH) {
      for (const n of sortedNames(path)) walk(`${path}/${n}`, `${rel}/${n}`, depth + 1);
    }
  };
  walk(src, "", 0);
  return manifest;
}

/** Temp directories an interrupted run left beside `destination` for `user`. */
export function leftoverTemps(destination: string, user: string): string[] {
  const parent = posix.dirname(destination);
  const prefix = `${TEMP_PREFIX}.${user}.`;
  try {
    return [...Deno.readDirSync(parent)].filter((e) => e.name.startsWith(prefix)).map((e) =>
      `${parent}/${e.name}`
    ).sort();
  } catch {
    return [];
  }
}
