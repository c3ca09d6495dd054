/**
 * Paths inside a jail, and the safety rules every tool applies before writing into one.
 *
 * Two kinds of path exist and must never be confused: a *host path* (what the kernel resolves
 * for us, outside any chroot) and an *in-jail path* (absolute, as a jailed process sees it).
 * `JailView.resolve` turns an in-jail path into its canonical form by walking it one component
 * at a time and interpreting each symlink it meets as the jailed process would (absolute link
 * text restarts at the jail root, `..` stops at it), so no lookup ever leaves the jail. The
 * canonical form names only real directories in its parents, which is what the executor
 * re-verifies before it writes.
 */
import * as posix from "../core/posixpath.ts";
import { JailkitError } from "../core/errors.ts";
import { AT_FDCWD, fileInfo, readlinkat } from "../../ffi/libc.ts";

/** What the planner needs to know about one directory entry. */
export type NodeKind = "dir" | "file" | "symlink" | "char" | "block" | "fifo" | "socket";

/** One entry of the jail as the planner sees it, on disk or only planned. */
export interface JailNode {
  /** Decides whether a path may pass through it (directories) or be followed (symlinks). */
  kind: NodeKind;
  /** Link text, for symlinks. */
  target?: string;
  /** true when the node only exists in the plan, not yet on disk. */
  planned?: boolean;
}

/** The loader's cache, at the same path on the host and in a jail (ldconfig(8)). */
export const LOADER_CACHE = "/etc/ld.so.cache";

/** The largest number of symlinks one resolution may traverse, as the kernel's ELOOP limit. */
const MAX_SYMLINKS = 40;
/** Longest in-jail path accepted (PATH_MAX). */
const MAX_PATH = 4096;

export function kindOf(info: Deno.FileInfo): NodeKind {
  if (info.isSymlink) return "symlink";
  if (info.isDirectory) return "dir";
  if (info.isFile) return "file";
  if (info.isCharDevice) return "char";
  if (info.isBlockDevice) return "block";
  if (info.isFifo) return "fifo";
  return "socket";
}

/** The kind of a file from its st_mode (S_IFMT bits, the same on every Linux). */
export function kindOfMode(mode: number): NodeKind {
  switch (mode & 0o170000) {
    case 0o120000:
      return "symlink";
    case 0o040000:
      return "dir";
    case 0o100000:
      return "file";
    case 0o020000:
      return "char";
    case 0o060000:
      return "block";
    case 0o010000:
      return "fifo";
    default:
      return "socket";
  }
}

/**
 * lstat that answers undefined for a missing path (and for a path through a non-directory).
 * Through ffi (ffi/libc/dirs.ts fileInfo): planning asks it for every host and jail path.
 */
export function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  return fileInfo(path, false);
}

/** The text of the symlink at `path`. */
export function linkText(path: string): string {
  return readlinkat(AT_FDCWD, path);
}

/** Normalises a jail argument: absolute, no trailing slash, no `.`/`..`/`//`. */
export function normalizeJail(jail: string, cwd = Deno.cwd()): string {
  if (jail === "") throw new JailkitError("usage", "the jail directory is empty");
  if (jail.includes("\0")) {
    throw new JailkitError("usage", "the jail directory contains a NUL byte");
  }
  const abs = posix.resolve(cwd, jail);
  return abs.length > 1 ? abs.replace(/\/+$/, "") : abs;
}

/** Splits an absolute path into its components (empty for "/"). */
export function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

function describeMode(info: Deno.FileInfo): string {
  return `${((info.mode ?? 0) & 0o7777).toString(8).padStart(4, "0")} ${info.uid}:${info.gid}`;
}

/**
 * Refuses a jail whose location lets anyone but root change what the jail contains: every
 * ancestor directory must be a real directory (not a symlink), owned by root and writable by
 * neither group nor others; the jail itself (when it exists) must also be owned by group root
 * and carry no set-id bits. The system directories inside the jail get the same test. Each
 * message names the offending component.
 */
export function checkJailSafety(jail: string, lstat = lstatOrUndefined): void {
  const parts = components(jail);
  if (parts.length === 0) {
    throw new JailkitError("unsafe-jail", "refusing to use / as a jail");
  }
  let path = "";
  for (let i = 0; i < parts.length; i++) {
    const isJail = i === parts.length - 1;
    const parent = path === "" ? "/" : path;
    path += "/" + parts[i];
    if (i === 0) checkAncestor("/", lstat("/"));
    const info = lstat(path);
    if (info === undefined) {
      if (isJail) return; // jk_init creates it; its parent chain has been checked
      throw new JailkitError(
        "unsafe-jail",
        `${path} does not exist (every parent of the jail must exist; parent checked: ${parent})`,
      );
    }
    if (isJail) checkJailRoot(path, info);
    else checkAncestor(path, info);
  }
  for (const sub of ["etc", "usr", "var", "bin", "sbin", "lib", "lib64", "dev", "proc", "sys"]) {
    const info = lstat(`${jail}/${sub}`);
    if (info === undefined || info.isSymlink) continue; // symlinks are resolved inside the jail
    if (!info.isDirectory) {
      throw new JailkitError("unsafe-jail", `${jail}/${sub} is not a directory`);
    }
    checkAncestor(`${jail}/${sub}`, info);
  }
}

function checkAncestor(path: string, info: Deno.FileInfo | undefined): void {
  if (info === undefined) throw new JailkitError("unsafe-jail", `${path} does not exist`);
  if (info.isSymlink) {
    throw new JailkitError(
      "unsafe-jail",
      `${path} is a symlink: give the jail by its real path (symlinks in the jail's path are refused)`,
    );
  }
  if (!info.isDirectory) throw new JailkitError("unsafe-jail", `${path} is not a directory`);
  if (info.uid !== 0) {
    throw new JailkitError("unsafe-jail", `${path} is not owned by root (${describeMode(info)})`);
  }
  if (((info.mode ?? 0) & 0o022) !== 0) {
    throw new JailkitError(
      "unsafe-jail",
      `${path} is writable by group or others (${describeMode(info)})`,
    );
  }
}

function checkJailRoot(path: string, info: Deno.FileInfo): void {
  checkAncestor(path, info);
  if (info.gid !== 0) {
    throw new JailkitError(
      "unsafe-jail",
      `${path} is not owned by root:root (${describeMode(info)})`,
    );
  }
  if (((info.mode ?? 0) & 0o6000) !== 0) {
    throw new JailkitError(
      "unsafe-jail",
      `${path} has a set-uid or set-gid bit (${describeMode(info)})`,
    );
  }
}

/**
 * The jail as the planner sees it: the real tree on disk overlaid with what the plan has
 * already decided to create, so later decisions of the same run see earlier ones.
 */
export class JailView {
  readonly #planned = new Map<string, JailNode>();
  readonly #lstat: (path: string) => Deno.FileInfo | undefined;

  /**
   * `jail` is the normalised jail directory; `lstat` stands in for the host's (see CopyPlanner).
   */
  constructor(readonly jail: string, lstat = lstatOrUndefined) {
    this.#lstat = lstat;
  }

  /** Host path of a canonical in-jail path. */
  hostPath(inJail: string): string {
    return inJail === "/" ? this.jail : this.jail + inJail;
  }

  /**
   * Records a node the plan will create (or replace). A directory is only ever recorded when
   * the plan creates it, so nothing below it exists on disk yet.
   */
  record(inJail: string, node: JailNode): void {
    this.#planned.set(inJail, { ...node, planned: true });
  }

  /**
   * The node at a canonical in-jail path (parents already resolved), planned or on disk.
   * Callers must only pass paths produced by `resolve`, so the host lstat below never crosses
   * a symlink inside the jail.
   */
  lookup(inJail: string): JailNode | undefined {
    const planned = this.#planned.get(inJail);
    if (planned) return planned;
    if (inJail === "/") return { kind: "dir" };
    // Inside a directory the plan creates nothing exists on disk yet; asking the kernel would
    // only build a NotFound exception (a third of the planning time of a fresh jail).
    const parent = inJail.slice(0, inJail.lastIndexOf("/")) || "/";
    if (this.#planned.get(parent)?.kind === "dir") return undefined;
    const info = this.#lstat(this.hostPath(inJail));
    if (info === undefined) return undefined;
    const kind = kindOf(info);
    if (kind === "symlink") {
      return { kind, target: linkText(this.hostPath(inJail)) };
    }
    return { kind };
  }

  /**
   * Canonical in-jail path of `inJail`: every parent component is a directory (existing or
   * planned) reached without leaving the jail. The last component is followed only when
   * `followLast` is set. Missing components are kept literally (the caller creates them).
   */
  resolve(inJail: string, followLast: boolean): string {
    if (!inJail.startsWith("/")) {
      throw new JailkitError("usage", `in-jail path ${inJail} is not absolute`);
    }
    if (inJail.length > MAX_PATH) {
      throw new JailkitError(
        "usage",
        `path too long (${inJail.length} bytes): ${inJail.slice(0, 80)}…`,
      );
    }
    let budget = MAX_SYMLINKS;
    const pending = components(inJail);
    const done: string[] = [];
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === "..") {
        done.pop(); // `..` at the jail root stays at the root, as after chroot
        continue;
      }
      const candidate = "/" + [...done, name].join("/");
      const isLast = pending.length === 0;
      const node = this.lookup(candidate);
      if (node?.kind === "symlink" && (!isLast || followLast)) {
        if (--budget < 0) {
          throw new JailkitError(
            "unsafe-jail",
            `too many levels of symlinks in ${this.jail}${inJail}`,
          );
        }
        const text = node.target!;
        if (text.startsWith("/")) done.length = 0;
        pending.unshift(...components(text));
        continue;
      }
      if (!isLast && node !== undefined && node.kind !== "dir") {
        throw new JailkitError(
          "unsafe-jail",
          `${this.hostPath(candidate)} is not a directory (needed as a parent of ${inJail})`,
        );
      }
      done.push(name);
    }
    return "/" + done.join("/");
  }
}
