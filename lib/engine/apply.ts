/**
 * The one executor: carries out a plan, prints it (--dry-run) or reports it as JSON (--json).
 *
 * Writes into the jail never go through a path the kernel resolves from the top. A user who can
 * write somewhere inside the jail could otherwise swap a directory we checked for a symlink to
 * the host between our check and our write. So the executor opens the jail root without
 * following a symlink, walks each destination's parent one component at a time with
 * openat(O_DIRECTORY|O_NOFOLLOW), and acts relative to the last directory descriptor: a symlink
 * or non-directory anywhere stops the operation (the plan only contains canonical paths, so one
 * there means the jail changed since planning). Once a directory is open, later operations in it
 * follow that directory even if its name is swapped afterwards.
 *
 * Files are written to a fresh temp name opened with O_CREAT|O_EXCL|O_NOFOLLOW in that directory,
 * owned, moded and timed through the descriptor, and renamed into place, so an existing
 * destination symlink is replaced, never written through.
 *
 * Writers that do not go through `applyPlan`, each for a reason a plan cannot serve:
 * - jk_jailuser's home move (lib/admin/jailuser_home.ts): copies the user's whole home tree, with
 *   every file type, owner, time and hard link, from the host into the jail, verifies the copy,
 *   renames it into place and at the end removes the old home on the host; a plan names single
 *   files. The source, which the user controls, is read through held directory descriptors; the
 *   copy is written by path into a fresh temp directory under a parent checked to be root's and
 *   writable by nobody else, so nobody can swap a path there. usermod runs as a program
 *   (runProgram below) because the host's account database is its business.
 * - jk_socketd's sockets and empty root (lib/socketd/forwarder.ts): a socket exists only as
 *   long as the process that bound it, so it is bound by the forwarder itself, and only where
 *   lib/socketd/rules.ts planSocket found that nobody but root can change the path; the empty
 *   chroot directory is created on the host, outside any jail, and checked before use.
 * - The daemons' pid files, jk_socketd's and jk_chrootlaunch's (lib/core/safeio.ts
 *   writePidFile): a file on the host, written by a root daemon at start and removed at stop,
 *   by the one pid-file policy (a directory only root can change, no symlink, no hard link).
 * - tools/install.ts: the installation itself, into PREFIX/DESTDIR, before any jail exists.
 */
import * as posix from "../core/posixpath.ts";
import { JailkitError } from "../core/errors.ts";
import { jsonText, writeLine } from "../core/output.ts";
import type { Attrs, Op, Plan } from "../core/plan.ts";
import { components } from "./jailpath.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  close,
  copyFileRange,
  Dir,
  ErrnoError,
  fchmod,
  fchmodat,
  fchown,
  fchownat,
  type FileStat,
  fsync,
  futimens,
  geteuid,
  linkat,
  mkdirat,
  mknodat,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  open,
  openat,
  read,
  readlinkat,
  RENAME_NOREPLACE,
  renameat,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  sendfile,
  statx,
  symlinkat,
  unlinkat,
  utimensat,
  write,
} from "../../ffi/libc.ts";

/**
 * Directory descriptors kept open per run. jk_init works in a few hundred directories and keeps
 * coming back to the same ones; past this many the least recently used is closed (and walked to
 * again if needed), well below any descriptor limit.
 */
const DIR_CACHE_SIZE = 128;
/** Bytes asked of one kernel copy call (the kernel caps a call near 2 GiB). */
const KERNEL_COPY_CHUNK = 1 << 30;
const READ_CHUNK = 1 << 20;
/** One read buffer for the whole run (user-space copies are the rare fallback). */
let readBuffer: Uint8Array<ArrayBuffer> | undefined;

/** What became of an operation: `planned` in a dry run, else `done` or `failed`. */
export type OpStatus = "planned" | "done" | "failed";

/** The outcome of one operation, in plan order. */
export interface OpResult {
  /** The operation as planned. */
  op: Op;
  /** Whether it was carried out. */
  status: OpStatus;
  /** Why it failed (the system's message with the path), for `failed` only. */
  error?: string;
}

/** How `applyPlan` runs. */
export interface ApplyOptions {
  /** `dry-run` prints what would be done and changes nothing. */
  mode: "apply" | "dry-run";
  /** Also print the messages marked verbose (-v). */
  verbose: boolean;
  /** Receives every human-readable line; absent in --json mode (stdout carries only JSON). */
  print?: (stream: "stdout" | "stderr", line: string) => void;
}

/** Every operation's outcome and how many failed. */
export interface ApplyResult {
  /** One entry per operation, in plan order. */
  results: OpResult[];
  /** How many operations failed; zero means the jail is now as planned. */
  failed: number;
}

/**
 * Where printing goes by default: the process's stdout/stderr, one line at a time, escaped by
 * lib/core/output.ts (the lines carry jail paths, link targets and messages about them).
 */
export const consolePrinter: (stream: "stdout" | "stderr", line: string) => void = writeLine;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

function attrText(a: Attrs): string {
  return `${octal(a.mode)} ${a.uid}:${a.gid}`;
}

function hostOf(plan: Plan, inJail: string): string {
  return inJail === "/" ? plan.jail : plan.jail + inJail;
}

/** One line describing an operation, for --dry-run. */
export function describeOp(plan: Plan, op: Op): string {
  switch (op.op) {
    case "mkdir":
      return `mkdir ${hostOf(plan, op.path)} (${attrText(op.attrs)}${
        op.exact ? ", also if it exists" : ""
      })`;
    case "copy":
      return `copy ${op.src} -> ${hostOf(plan, op.path)} (${attrText(op.attrs)})${
        op.replace ? " replacing" : ""
      }`;
    case "link":
      return `hardlink ${op.src} -> ${hostOf(plan, op.path)} (copy ${
        attrText(op.attrs)
      } if linking fails)`;
    case "symlink":
      return `symlink ${hostOf(plan, op.path)} -> ${op.target}${op.replace ? " replacing" : ""}`;
    case "mknod":
      return `mknod ${hostOf(plan, op.path)} ${op.kind} ${op.major} ${op.minor} (${
        attrText(op.attrs)
      })`;
    case "write":
      return `write ${hostOf(plan, op.path)} (${
        new TextEncoder().encode(op.content).length
      } bytes, ${attrText(op.attrs)})`;
    case "append-host":
      return `append to ${op.hostPath}: ${JSON.stringify(op.text)}`;
    case "write-host":
      return `write ${op.hostPath} (${new TextEncoder().encode(op.content).length} bytes, ${
        attrText(HOST_FILE_ATTRS)
      }): ${op.summary}`;
    case "ldconfig":
      return `ldconfig -X -r ${plan.jail}`;
    case "run":
      return `run ${op.argv.map((a) => JSON.stringify(a)).join(" ")}`;
    case "remove":
      return `remove ${op.what} ${hostOf(plan, op.path)}`;
    case "note":
      return op.msg.text;
  }
}

/** Carries out (or, in dry-run mode, describes) every operation in order. */
export function applyPlan(plan: Plan, opts: ApplyOptions): ApplyResult {
  const results: OpResult[] = [];
  const print = opts.print;
  const say = (
    msg: { text: string; verbose?: boolean; stream?: "stdout" | "stderr" } | undefined,
  ) => {
    if (msg && print && (!msg.verbose || opts.verbose)) print(msg.stream ?? "stdout", msg.text);
  };
  if (opts.mode === "dry-run") {
    for (const op of plan.ops) {
      if (op.op === "note") say(op.msg);
      else print?.("stdout", `would ${describeOp(plan, op)}`);
      results.push({ op, status: "planned" });
    }
    return { results, failed: 0 };
  }
  const ex = new Executor(plan);
  let failed = 0;
  try {
    for (const op of plan.ops) {
      if (op.op === "note") {
        say(op.msg);
        results.push({ op, status: "done" });
        continue;
      }
      try {
        if (op.op === "write-host" && op.whenAllDone && failed > 0) {
          throw new JailkitError(
            "io",
            `not writing ${op.hostPath}: ${failed} earlier operation(s) failed`,
          );
        }
        ex.run(op, say);
        results.push({ op, status: "done" });
      } catch (e) {
        failed++;
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof RemoveError) {
          // Two printed lines, each escaped on its own: panels take the path at the end of
          // the first.
          print?.("stderr", `ERROR: ${e.head}`);
          print?.("stderr", `  (${e.reason})`);
        } else print?.("stderr", `ERROR: ${message}`);
        results.push({ op, status: "failed", error: message });
      }
    }
    try {
      ex.finishDirectoryTimes();
    } catch (e) {
      failed++;
      print?.("stderr", `ERROR: ${e instanceof Error ? e.message : String(e)}`);
    }
  } finally {
    ex.close();
  }
  return { results, failed };
}

/** The --json document: the plan's operations with their outcome. */
export function resultToJson(plan: Plan, result: ApplyResult, dryRun: boolean): string {
  return jsonText(
    {
      jail: plan.jail,
      dryRun,
      operations: result.results.map((r) => ({
        ...r.op,
        status: r.status,
        ...(r.error ? { error: r.error } : {}),
      })),
      summary: {
        operations: result.results.filter((r) => r.op.op !== "note").length,
        failed: result.failed,
      },
    },
  );
}

/** A failed removal: the line hosting panels parse ends with the path, the reason follows. */
class RemoveError extends JailkitError {
  constructor(readonly head: string, readonly reason: string, cause: unknown) {
    super("io", `${head}\n  (${reason})`, { cause });
  }
}

function ioError(action: string, path: string, e: unknown): JailkitError {
  const reason = e instanceof Error ? e.message : String(e);
  return new JailkitError("io", `${action} ${path}: ${reason}`, { cause: e });
}

function errnoCode(e: unknown): string | undefined {
  return e instanceof ErrnoError ? e.code : undefined;
}

function isType(st: FileStat | undefined, type: number): boolean {
  return st !== undefined && (st.mode & S_IFMT) === type;
}

/** lstat of `name` in a directory, or undefined when it is missing (or vanished meanwhile). */
function statQuiet(dirfd: number, name: string): FileStat | undefined {
  try {
    return statx(dirfd, name, AT_SYMLINK_NOFOLLOW);
  } catch {
    return undefined;
  }
}

/** Cleanup after a failure: the original error is what the caller reports. */
function removeQuietly(dirfd: number, name: string, flags = 0): void {
  try {
    unlinkat(dirfd, name, flags);
  } catch { /* already gone, or never created */ }
}

function closeQuietly(fd: number): void {
  if (fd < 0) return;
  try {
    close(fd);
  } catch { /* Linux released the descriptor anyway */ }
}

/** Marks the handle closed first, so a stale handle can never reach a reused descriptor. */
function closeDir(dir: Dir): void {
  try {
    dir.close();
  } catch { /* Linux released the descriptor anyway */ }
}

/** Random per run; a counter makes each name of the run unique (creation is O_EXCL anyway). */
let tempPrefix: string | undefined;
let tempCount = 0;

function tempName(): string {
  tempPrefix ??= `.jk_tmp.${
    Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
  return `${tempPrefix}.${(tempCount++).toString(36)}`;
}

/** Where an operation acts: the entry `name` in the open directory `dir`; `host` for messages. */
interface Place {
  dir: Dir;
  name: string;
  host: string;
}

/** Errors after which a kernel copy method is skipped for the next one (nothing copied yet). */
const KERNEL_COPY_REFUSALS = new Set(["EXDEV", "EINVAL", "ENOSYS", "EOPNOTSUPP"]);

/** The kernel copy methods, in the order copyData tries them. */
const KERNEL_COPIES = [
  copyFileRange,
  (i: number, o: number, n: number) => sendfile(o, i, n),
] as const;

/**
 * Kernel copy methods refused between two file systems (source and destination st_dev), so
 * the next file between them does not pay for the refusal again (jk_init copies hundreds).
 */
const refusedCopies = new Map<string, Set<number>>();

/** st_dev of open directories, asked once each: the files created in one share it. */
const dirDevices = new WeakMap<Dir, number>();

function dirDevice(dir: Dir): number {
  let dev = dirDevices.get(dir);
  if (dev === undefined) {
    dev = statx(dir.fd, "", AT_EMPTY_PATH).dev;
    dirDevices.set(dir, dev);
  }
  return dev;
}

/**
 * Copies `from` (whose fstat said `size` bytes) into `to` (`pair`: their devices) inside the
 * kernel: copy_file_range, else sendfile (where the kernel refuses copy_file_range between
 * these filesystems), else read/write. The kernel copies stop at `size`; a file that says 0
 * (as /proc and /sys files do) or of which they copied nothing is read to its end.
 */
function copyData(from: number, to: number, size: number, pair: string): void {
  if (size > 0 && kernelCopy(from, to, size, pair)) return;
  const buf = readBuffer ??= new Uint8Array(new ArrayBuffer(READ_CHUNK));
  for (let n; (n = read(from, buf)) > 0;) writeAll(to, buf.subarray(0, n));
}

/** copyData's kernel copy; false when no method copied anything. */
function kernelCopy(from: number, to: number, size: number, pair: string): boolean {
  let refused = refusedCopies.get(pair);
  for (let method = 0; method < KERNEL_COPIES.length; method++) {
    if (refused?.has(method)) continue;
    const step = KERNEL_COPIES[method];
    let copied = 0;
    try {
      for (let n; copied < size && (n = step(from, to, KERNEL_COPY_CHUNK)) > 0;) copied += n;
    } catch (e) {
      if (copied === 0 && KERNEL_COPY_REFUSALS.has(errnoCode(e) ?? "")) {
        refused = (refused ?? new Set<number>()).add(method);
        refusedCopies.set(pair, refused);
        continue;
      }
      throw e;
    }
    // Nothing copied: one of /proc or /sys, whose data only read(2) sees.
    return copied > 0;
  }
  return false;
}

function writeAll(fd: number, data: Uint8Array<ArrayBuffer>): void {
  for (let off = 0; off < data.length;) off += write(fd, data.subarray(off));
}

function readAll(fd: number): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = readBuffer ??= new Uint8Array(new ArrayBuffer(READ_CHUNK));
  for (let n; (n = read(fd, buf)) > 0;) {
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(new ArrayBuffer(total));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/**
 * rename without replacing. RENAME_NOREPLACE where the filesystem has it, else link + unlink,
 * which fails the same way (EEXIST) when the destination exists.
 */
function renameNoReplace(fromDir: number, from: string, toDir: number, to: string): void {
  try {
    renameat(fromDir, from, toDir, to, RENAME_NOREPLACE);
  } catch (e) {
    if (errnoCode(e) !== "EINVAL") throw e;
    linkat(fromDir, from, toDir, to, 0);
    unlinkat(fromDir, from);
  }
}

/**
 * Creates `name` in `dirfd` with exclusive open, writes `content`, sets owner then mode (chown
 * clears set-id bits) and syncs; removes it again if anything fails.
 */
function writeExclusive(
  dirfd: number,
  name: string,
  label: string,
  content: Uint8Array<ArrayBuffer>,
  attrs: Attrs,
): void {
  let fd = -1;
  try {
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600);
    writeAll(fd, content);
    fchown(fd, attrs.uid, attrs.gid);
    fchmod(fd, attrs.mode & 0o7777);
    fsync(fd);
    const done = fd;
    fd = -1;
    close(done);
  } catch (e) {
    closeQuietly(fd);
    if (errnoCode(e) !== "EEXIST") removeQuietly(dirfd, name);
    throw ioError("cannot write", label, e);
  }
}

class Executor {
  #root: Dir | undefined;
  /** Open directories by canonical in-jail path, least recently used first. */
  readonly #dirs = new Map<string, Dir>();
  readonly #dirTimes: { inJail: string; atime: number; mtime: number }[] = [];

  constructor(readonly plan: Plan) {}

  run(op: Exclude<Op, { op: "note" }>, say: (m: Op["msg"]) => void): void {
    switch (op.op) {
      case "mkdir":
        this.#mkdir(op.path, op.attrs, op.exact === true);
        break;
      case "copy":
        this.#copy(op.src, op.path, op.attrs, op.replace);
        break;
      case "link":
        say(op.msg);
        if (!this.#link(op.src, op.path, op.replace, op.keepSetid)) {
          say({
            text: `Linking ${op.src} to ${
              hostOf(this.plan, op.path)
            } failed, will revert to copying`,
          });
          this.#copy(op.src, op.path, op.attrs, op.replace);
        }
        return;
      case "symlink":
        this.#symlink(op.path, op.target, op.replace);
        break;
      case "mknod":
        this.#mknod(op.path, op.kind, op.major, op.minor, op.attrs);
        break;
      case "write":
        this.#write(op.path, new TextEncoder().encode(op.content), op.attrs);
        break;
      case "append-host":
        appendHostFile(op.hostPath, op.text);
        break;
      case "write-host":
        writeHostFile(op.hostPath, op.content, op.expected);
        break;
      case "ldconfig":
        say(op.msg);
        runLdconfig(this.plan.jail);
        return;
      case "run":
        say(op.msg);
        runProgram(op.argv);
        return;
      case "remove":
        this.#remove(op.path, op.dir, op.what);
        break;
    }
    say(op.msg);
  }

  /** Closes every directory descriptor of the run. */
  close(): void {
    for (const dir of this.#dirs.values()) closeDir(dir);
    this.#dirs.clear();
    if (this.#root) closeDir(this.#root);
    this.#root = undefined;
  }

  /**
   * The error for a directory that could not be opened. O_DIRECTORY|O_NOFOLLOW answers ENOTDIR
   * for a symlink as for a file (ELOOP on some paths), so lstat tells them apart for the message;
   * the refusal itself does not depend on it. An entry that is a directory again (or gone) by
   * the time of the lstat was swapped under us: that is the symlink case.
   */
  #dirError(e: unknown, host: string, parentFd: number, name: string): JailkitError {
    const code = errnoCode(e);
    if (code !== "ENOTDIR" && code !== "ELOOP") return ioError("cannot open directory", host, e);
    const now = statQuiet(parentFd, name);
    if (
      code === "ELOOP" || now === undefined || isType(now, S_IFLNK) || isType(now, S_IFDIR)
    ) {
      return new JailkitError(
        "unsafe-jail",
        `refusing to write through symlink ${host} (the jail changed since planning)`,
        { cause: e },
      );
    }
    return new JailkitError("unsafe-jail", `${host} is not a directory`, { cause: e });
  }

  #rootDir(): Dir {
    if (this.#root) return this.#root;
    const jail = this.plan.jail;
    try {
      this.#root = Dir.open(jail, O_RDONLY);
    } catch (e) {
      throw this.#dirError(e, jail, AT_FDCWD, jail);
    }
    return this.#root;
  }

  #cached(key: string): Dir | undefined {
    const dir = this.#dirs.get(key);
    if (dir) {
      this.#dirs.delete(key);
      this.#dirs.set(key, dir);
    }
    return dir;
  }

  #remember(key: string, dir: Dir): void {
    const old = this.#dirs.get(key);
    if (old && old !== dir) closeDir(old);
    this.#dirs.delete(key);
    this.#dirs.set(key, dir);
    if (this.#dirs.size > DIR_CACHE_SIZE) {
      const [oldestKey, oldest] = this.#dirs.entries().next().value!;
      this.#dirs.delete(oldestKey);
      closeDir(oldest);
    }
  }

  /** Closes the descriptor of a directory that is gone from the jail. */
  #forget(key: string): void {
    const dir = this.#dirs.get(key);
    if (!dir) return;
    this.#dirs.delete(key);
    closeDir(dir);
  }

  /** The directory at `parts` (canonical in-jail components), from the nearest open ancestor. */
  #dir(parts: readonly string[]): Dir {
    if (parts.length === 0) return this.#rootDir();
    const hit = this.#cached("/" + parts.join("/"));
    if (hit) return hit;
    let depth = parts.length - 1;
    let dir: Dir | undefined;
    for (; depth > 0 && !dir; depth--) dir = this.#cached("/" + parts.slice(0, depth).join("/"));
    if (dir) depth++;
    else dir = this.#rootDir();
    for (; depth < parts.length; depth++) {
      let next: Dir;
      try {
        next = dir.openDir(parts[depth]);
      } catch (e) {
        throw this.#dirError(e, `${dir.path}/${parts[depth]}`, dir.fd, parts[depth]);
      }
      this.#remember("/" + parts.slice(0, depth + 1).join("/"), next);
      dir = next;
    }
    return dir;
  }

  /** The open parent directory of a canonical in-jail path, and the entry's name in it. */
  #place(inJail: string): Place {
    const parts = components(inJail);
    if (parts.includes("..")) throw new JailkitError("unsafe-jail", `refusing '..' in ${inJail}`);
    if (parts.length === 0) {
      throw new JailkitError("unsafe-jail", `refusing to replace the jail ${this.plan.jail}`);
    }
    const name = parts[parts.length - 1];
    return {
      dir: this.#dir(parts.slice(0, -1)),
      name,
      host: `${this.plan.jail}/${parts.join("/")}`,
    };
  }

  #mkdir(inJail: string, attrs: Attrs, exact: boolean): void {
    if (components(inJail).length === 0) return this.#mkdirJail(attrs);
    const { dir, name, host } = this.#place(inJail);
    const key = "/" + components(inJail).join("/");
    try {
      mkdirat(dir.fd, name, 0o700);
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw ioError("cannot create directory", host, e);
      let existing: Dir;
      try {
        // O_RDONLY, not O_PATH, when its owner and mode are to be set through it
        existing = exact ? dir.openDir(name, O_RDONLY) : dir.openDir(name);
      } catch (e) {
        const code = errnoCode(e);
        if (code === "ENOTDIR" || code === "ELOOP") {
          throw new JailkitError("unsafe-jail", `${host} exists and is not a directory`);
        }
        throw ioError("cannot open directory", host, e);
      }
      this.#remember(key, existing);
      if (exact) {
        // Through the descriptor opened without following links: the directory checked is
        // the one changed, whatever is renamed meanwhile.
        try {
          fchown(existing.fd, attrs.uid, attrs.gid);
          fchmod(existing.fd, attrs.mode & 0o7777);
        } catch (e) {
          throw ioError("cannot set the owner and mode of", host, e);
        }
      }
      return;
    }
    let made: Dir;
    try {
      made = dir.openDir(name, O_RDONLY);
    } catch (e) {
      throw this.#dirError(e, host, dir.fd, name);
    }
    try {
      fchown(made.fd, attrs.uid, attrs.gid);
      fchmod(made.fd, attrs.mode & 0o7777);
    } catch (e) {
      closeDir(made);
      throw ioError("cannot create directory", host, e);
    }
    this.#remember(key, made);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      this.#dirTimes.push({ inJail, atime: attrs.atime, mtime: attrs.mtime });
    }
  }

  /** The jail itself (jk_init creating it): its ancestors are the host's, checked by the tools. */
  #mkdirJail(attrs: Attrs): void {
    const jail = this.plan.jail;
    try {
      mkdirat(AT_FDCWD, jail, 0o700);
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw ioError("cannot create directory", jail, e);
      try {
        this.#rootDir();
      } catch (e) {
        if (e instanceof JailkitError && e.kind === "unsafe-jail") {
          throw new JailkitError("unsafe-jail", `${jail} exists and is not a directory`);
        }
        throw e;
      }
      return;
    }
    const root = this.#rootDir();
    try {
      fchown(root.fd, attrs.uid, attrs.gid);
      fchmod(root.fd, attrs.mode & 0o7777);
    } catch (e) {
      throw ioError("cannot create directory", jail, e);
    }
    if (attrs.atime !== undefined && attrs.mtime !== undefined) {
      this.#dirTimes.push({ inJail: "/", atime: attrs.atime, mtime: attrs.mtime });
    }
  }

  /**
   * Directory times last, since creating entries inside a directory changes its mtime. Each is
   * set through its re-walked parent, on the entry itself (never a symlink's target).
   */
  finishDirectoryTimes(): void {
    for (const { inJail, atime, mtime } of this.#dirTimes.reverse()) {
      if (components(inJail).length === 0) {
        const root = this.#rootDir();
        try {
          futimens(root.fd, atime, mtime);
        } catch (e) {
          throw ioError("cannot set the times of", this.plan.jail, e);
        }
        continue;
      }
      const { dir, name, host } = this.#place(inJail);
      try {
        utimensat(dir.fd, name, atime, mtime, AT_SYMLINK_NOFOLLOW);
      } catch (e) {
        throw ioError("cannot set the times of", host, e);
      }
    }
  }

  /**
   * Moves a finished temp entry (`from` in `fromDir`) into place; without `replace` an existing
   * entry is an error. The temp entry is removed whenever the move fails.
   */
  #commit(place: Place, fromDir: Dir, from: string, replace: boolean): void {
    const { dir, name, host } = place;
    try {
      if (replace) renameat(fromDir.fd, from, dir.fd, name);
      else renameNoReplace(fromDir.fd, from, dir.fd, name);
    } catch (e) {
      removeQuietly(fromDir.fd, from);
      const code = errnoCode(e);
      if (code === "EISDIR" || (code === "EEXIST" && isType(statQuiet(dir.fd, name), S_IFDIR))) {
        throw new JailkitError("io", `${host} is a directory, not replacing it with a file`);
      }
      if (code === "EEXIST") {
        throw new JailkitError("io", `${host} appeared since planning, not replacing it`);
      }
      throw ioError("cannot move into place", host, e);
    }
  }

  #copy(src: string, inJail: string, attrs: Attrs, replace: boolean): void {
    const place = this.#place(inJail);
    const tmp = tempName();
    let sfd = -1, dfd = -1, created = false;
    try {
      // O_NONBLOCK: a FIFO swapped in for the source must not hang the run.
      sfd = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      const source = statx(sfd, "", AT_EMPTY_PATH);
      if (!isType(source, S_IFREG)) throw new Error("the source is not a regular file");
      dfd = openat(
        place.dir.fd,
        tmp,
        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
        0o600,
      );
      created = true;
      copyData(sfd, dfd, source.size, `${source.dev}:${dirDevice(place.dir)}`);
      // chown first: it clears set-id bits that the following chmod may legitimately set
      fchown(dfd, attrs.uid, attrs.gid);
      fchmod(dfd, attrs.mode & 0o7777);
      if (attrs.atime !== undefined && attrs.mtime !== undefined) {
        futimens(dfd, attrs.atime, attrs.mtime);
      }
      const done = dfd;
      dfd = -1;
      close(done);
    } catch (e) {
      closeQuietly(dfd);
      if (created) removeQuietly(place.dir.fd, tmp);
      throw ioError(`cannot copy ${src} to`, place.host, e);
    } finally {
      closeQuietly(sfd);
    }
    this.#commit(place, place.dir, tmp, replace);
  }

  /**
   * Returns false when the caller should copy instead. The checks and the link are made on one
   * descriptor of the source, so the inode linked is the inode checked.
   */
  #link(src: string, inJail: string, replace: boolean, keepSetid: boolean): boolean {
    const place = this.#place(inJail);
    const tmp = tempName();
    let sfd: number;
    try {
      sfd = open(src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } catch {
      return false;
    }
    try {
      const info = statx(sfd, "", AT_EMPTY_PATH);
      // A hard link is the same inode: it would keep a set-id bit or a non-root owner that
      // copying strips, so those files are always copied.
      if (!isType(info, S_IFREG) || info.uid !== 0 || info.gid !== 0) return false;
      if (!keepSetid && (info.mode & 0o6000) !== 0) return false;
      linkat(sfd, "", place.dir.fd, tmp, AT_EMPTY_PATH);
    } catch {
      return false;
    } finally {
      closeQuietly(sfd);
    }
    this.#commit(place, place.dir, tmp, replace);
    return true;
  }

  #symlink(inJail: string, target: string, replace: boolean): void {
    const place = this.#place(inJail);
    const existing = statQuiet(place.dir.fd, place.name);
    if (isType(existing, S_IFLNK) && this.#linkText(place) === target) return;
    if (existing && !replace) {
      throw new JailkitError("io", `${place.host} exists, not replacing it`);
    }
    const tmp = tempName();
    try {
      symlinkat(target, place.dir.fd, tmp);
    } catch (e) {
      throw ioError("cannot create symlink", place.host, e);
    }
    this.#commit(place, place.dir, tmp, replace);
  }

  #linkText(place: Place): string | undefined {
    try {
      return readlinkat(place.dir.fd, place.name);
    } catch {
      return undefined;
    }
  }

  /**
   * Removes one entry whose parents are real directories inside the jail: never the jail
   * itself, never a directory's contents (unlinkat refuses a non-empty directory, and a
   * directory or non-directory swapped in after the type check). The error line ends with the
   * path (panels parse it); the reason follows on the next line.
   */
  #remove(inJail: string, dir: boolean, what: string): void {
    if (components(inJail).length === 0) {
      throw new JailkitError("unsafe-jail", `refusing to remove the jail ${this.plan.jail}`);
    }
    const place = this.#place(inJail);
    const info = statQuiet(place.dir.fd, place.name);
    if (!info) return; // already gone
    try {
      if (isType(info, S_IFDIR) !== dir) {
        throw new Error(dir ? "it is not a directory" : "it is a directory");
      }
      unlinkat(place.dir.fd, place.name, dir ? AT_REMOVEDIR : 0);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new RemoveError(`failed to remove ${what} ${place.host}`, reason, e);
    }
    this.#forget("/" + components(inJail).join("/"));
  }

  /**
   * The node is made, owned and moded inside a fresh root-only directory beside its destination
   * and only then moved into place: device nodes cannot be opened for fchown/fchmod without
   * opening the device, and by name in a directory a jailed user can write, the entry could be
   * swapped (for a hard link to one of their files) between the calls.
   */
  #mknod(inJail: string, kind: "c" | "b", major: number, minor: number, attrs: Attrs): void {
    const place = this.#place(inJail);
    if (statQuiet(place.dir.fd, place.name)) {
      throw new JailkitError("io", `${place.host} exists, not replacing it`);
    }
    const privateName = tempName();
    const node = "node";
    let priv: Dir | undefined;
    try {
      mkdirat(place.dir.fd, privateName, 0o700);
      priv = place.dir.openDir(privateName);
      const info = statx(priv.fd, "", AT_EMPTY_PATH);
      if (info.uid !== geteuid() || (info.mode & 0o077) !== 0) {
        throw new Error(`${priv.path} was replaced while in use`);
      }
      mknodat(priv.fd, node, kind, 0o600, major, minor);
      fchownat(priv.fd, node, attrs.uid, attrs.gid, AT_SYMLINK_NOFOLLOW);
      fchmodat(priv.fd, node, attrs.mode & 0o7777);
      if (attrs.atime !== undefined && attrs.mtime !== undefined) {
        utimensat(priv.fd, node, attrs.atime, attrs.mtime, AT_SYMLINK_NOFOLLOW);
      }
    } catch (e) {
      if (priv) {
        removeQuietly(priv.fd, node);
        closeDir(priv);
      }
      removeQuietly(place.dir.fd, privateName, AT_REMOVEDIR);
      throw ioError("cannot create device", place.host, e);
    }
    try {
      this.#commit(place, priv, node, false);
    } finally {
      closeDir(priv);
      removeQuietly(place.dir.fd, privateName, AT_REMOVEDIR);
    }
  }

  #write(inJail: string, content: Uint8Array<ArrayBuffer>, attrs: Attrs): void {
    const place = this.#place(inJail);
    const tmp = tempName();
    writeExclusive(place.dir.fd, tmp, place.host, content, attrs);
    this.#commit(place, place.dir, tmp, true);
  }
}

function lstatQuiet(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Owner and mode of the host files `write-host` replaces. */
const HOST_FILE_ATTRS: Attrs = { mode: 0o644, uid: 0, gid: 0 };

/**
 * Replaces a host file with `content` (root:root 0644) if it still holds `expected` (null: it
 * does not exist), by a synced temp file renamed over it, so a reader sees the old file or the
 * new one, never half of one. Read as `appendHostFile` reads.
 */
export function writeHostFile(hostPath: string, content: string, expected: string | null): void {
  const old = readHostFile(hostPath, "replacing");
  const now = old === undefined ? null : new TextDecoder().decode(old.content);
  if (now !== expected) {
    throw new JailkitError(
      "io",
      `${hostPath} changed since planning, not replacing it (run the tool again)`,
    );
  }
  replaceHostFile(hostPath, new TextEncoder().encode(content), HOST_FILE_ATTRS);
}

/**
 * Appends to a host file by writing a complete new copy beside it and renaming it over the
 * old one, so a crash leaves either the old or the new file, never half of the addition.
 * The old content is read through a descriptor opened with O_NOFOLLOW, so a symlink put in its
 * place is refused rather than read.
 */
export function appendHostFile(hostPath: string, text: string): void {
  const old = readHostFile(hostPath, "appending to");
  const add = new TextEncoder().encode(text);
  const before = old?.content ?? new Uint8Array(new ArrayBuffer(0));
  const all = new Uint8Array(new ArrayBuffer(before.length + add.length));
  all.set(before);
  all.set(add, before.length);
  replaceHostFile(hostPath, all, old?.attrs ?? { mode: 0o644, uid: 0, gid: 0 });
}

/**
 * A host file's bytes and attributes, read through a descriptor opened with O_NOFOLLOW (a
 * symlink in its place is refused); undefined when it does not exist.
 */
function readHostFile(
  hostPath: string,
  action: "appending to" | "replacing",
): { content: Uint8Array<ArrayBuffer>; attrs: Attrs } | undefined {
  let fd = -1;
  try {
    fd = open(hostPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  } catch (e) {
    if (errnoCode(e) === "ELOOP") {
      throw new JailkitError("unsafe-jail", `${hostPath} is a symlink, not ${action} it`);
    }
    if (errnoCode(e) === "ENOENT") return undefined;
    throw ioError("cannot read", hostPath, e);
  }
  try {
    const info = statx(fd, "", AT_EMPTY_PATH);
    if (!isType(info, S_IFREG)) {
      throw new JailkitError("io", `${hostPath} is not a regular file, not ${action} it`);
    }
    return {
      content: readAll(fd),
      attrs: { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid },
    };
  } catch (e) {
    throw e instanceof JailkitError ? e : ioError("cannot read", hostPath, e);
  } finally {
    closeQuietly(fd);
  }
}

/** Writes `content` beside `hostPath` (synced) and renames it over `hostPath`. */
function replaceHostFile(hostPath: string, content: Uint8Array<ArrayBuffer>, attrs: Attrs): void {
  // jk_socketd.ini's or jk_thin.ini's directory may not exist yet on a host that never had
  // jailkit
  Deno.mkdirSync(posix.dirname(hostPath), { recursive: true, mode: 0o755 });
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16)).join(
    "",
  );
  const tmp = `${posix.dirname(hostPath)}/.${posix.basename(hostPath)}.jk_tmp.${rand}`;
  writeExclusive(AT_FDCWD, tmp, hostPath, content, attrs);
  try {
    renameat(AT_FDCWD, tmp, AT_FDCWD, hostPath);
  } catch (e) {
    removeQuietly(AT_FDCWD, tmp);
    throw ioError("cannot replace", hostPath, e);
  }
}

/** Runs a program without a shell; a non-zero exit becomes an error carrying its stderr. */
export function runProgram(argv: string[]): void {
  const out = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    clearEnv: true,
  }).outputSync();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new JailkitError(
      "io",
      `${argv.join(" ")} failed (exit ${out.code})${err ? `: ${err}` : ""}`,
    );
  }
}

/** Absolute path of ldconfig: never looked up through the caller's PATH. */
export function ldconfigPath(): string {
  for (const p of ["/usr/sbin/ldconfig", "/sbin/ldconfig"]) {
    if (lstatQuiet(p)?.isFile) return p;
  }
  throw new JailkitError("not-found", "ldconfig not found in /usr/sbin or /sbin");
}

/**
 * `ldconfig -r JAIL` chroots into the jail itself, so it cannot write outside it; -X keeps it
 * from creating SONAME links the host does not have (the jail mirrors the host's links).
 */
function runLdconfig(jail: string): void {
  runProgram([ldconfigPath(), "-X", "-r", jail]);
}
