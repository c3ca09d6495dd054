/**
 * Safe file I/O outside the executor: opening without following a symlink, the one bounded
 * reader, the streamed content comparison, and the one pid-file policy.
 *
 * One vocabulary for system access, by what the code needs:
 * - Writes into a jail go through lib/engine/apply.ts, which walks directory descriptors with
 *   the ffi/libc.ts `*at` calls (openat with O_NOFOLLOW at every step, mkdirat, renameat2…):
 *   node:fs and Deno.* have no descriptor-relative calls, so only libc can keep a write inside
 *   the jail while someone swaps a directory for a symlink.
 * - Reading or writing one named file goes through this module, on libc descriptors:
 *   open(2) takes the O_NOFOLLOW/O_NONBLOCK/O_CREAT flags and statx on the descriptor answers
 *   for the file actually opened (regular? the inode we lstat'ed? how many links? whose?),
 *   which Deno.openSync cannot (no O_NOFOLLOW, no dev/ino/nlink on an open file). Not node:fs:
 *   loading it makes Deno 2.9 read /proc/self/exe, and jk_lsh and jk_chrootsh read their
 *   configuration with this module where a jail has no /proc; one libc call per read is also
 *   what makes jk_check's whole-file comparison fast.
 * - Deno.* stays for what has no race to lose: lstat/stat/readDir/readLink for reporting and
 *   planning (deciding code re-checks on the descriptor before acting), processes, signals
 *   and sockets. Privilege changes, chroot, execve and syslog are libc (ffi/libc.ts) only.
 *
 * Writers that do not go through `applyPlan` are listed, with their reasons, in the module
 * documentation of lib/engine/apply.ts; the pid file below is one of them.
 */
import { basename, dirname, join } from "./posixpath.ts";
import { JailkitError } from "./errors.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  close,
  fchmod,
  type FileStat,
  ftruncate,
  O_CLOEXEC,
  O_CREAT,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  open,
  read,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  sameBytes,
  statx,
  unlinkat,
  write,
} from "../../ffi/libc.ts";

/** statx of an open descriptor: the file actually opened, whatever its name points at now. */
function fstat(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH);
}

function isRegular(st: FileStat): boolean {
  return (st.mode & S_IFMT) === S_IFREG;
}

/** Closes a descriptor this module opened (callers of openNoFollow/openRegular use it too). */
export function closeFd(fd: number): void {
  close(fd);
}

/**
 * Opens `path` for reading without blocking on a FIFO and, unless `follow`, without following
 * a final symlink (ELOOP instead). Returns a descriptor for closeFd; throws an ErrnoError
 * whose `code` is the errno name (ENOENT, ELOOP, EACCES…).
 */
export function openNoFollow(path: string, follow = false): number {
  return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
}

/** An open regular file and what fstat said about it. */
export interface OpenFile {
  readonly fd: number;
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
}

/**
 * openNoFollow, then fstat: a descriptor that is not a regular file is closed and refused with
 * a JailkitError ("io") naming `path`; so is one that is not the file `expect` (the inode `path`
 * was lstat'ed as): it "changed while it was being checked".
 */
export function openRegular(
  path: string,
  follow = false,
  expect?: { readonly dev: number; readonly ino: number },
): OpenFile {
  const fd = openNoFollow(path, follow);
  try {
    const st = fstat(fd);
    const ino = Number(st.ino);
    if (expect && (!isRegular(st) || st.dev !== expect.dev || ino !== expect.ino)) {
      throw new JailkitError("io", `${path} changed while it was being checked`);
    }
    if (!isRegular(st)) throw new JailkitError("io", `${path} is not a regular file`);
    return { fd, size: st.size, dev: st.dev, ino };
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** Fills `buf` from the descriptor's position unless the file ends first; returns the bytes read. */
function readFull(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  let used = 0;
  while (used < buf.length) {
    const n = read(fd, buf.subarray(used));
    if (n === 0) break;
    used += n;
  }
  return used;
}

/**
 * The bytes of an open file from its position to its end, or undefined when there are more than
 * `max`. Never holds more than `max + 1` bytes, so /dev/zero or a file that keeps growing cannot
 * exhaust memory; the buffer starts at the size fstat reports and grows only as data arrives.
 * The one bounded reader: config files, passwd/group files, pid files.
 */
export function readBounded(fd: number, max: number): Uint8Array | undefined {
  let hint = 0;
  try {
    hint = fstat(fd).size;
  } catch {
    // Only a hint; reading tells.
  }
  let buf = new Uint8Array(Math.min(max, Math.max(hint, 4095)) + 1);
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      if (used > max) return undefined;
      const bigger = new Uint8Array(Math.min(max + 1, buf.length * 2));
      bigger.set(buf);
      buf = bigger;
    }
    const n = read(fd, buf.subarray(used));
    if (n === 0) return buf.subarray(0, used);
    used += n;
  }
}

/**
 * readBounded on `path`, opened with openNoFollow (`follow` as there). Throws an ErrnoError
 * when the file cannot be opened or read; undefined when it holds more than `max` bytes.
 */
export function readBoundedFile(path: string, max: number, follow = true): Uint8Array | undefined {
  const fd = openNoFollow(path, follow);
  try {
    return readBounded(fd, max);
  } finally {
    close(fd);
  }
}

/** Bytes compared at a time by sameContent: two buffers of this size, allocated once. */
export const COMPARE_CHUNK = 1024 * 1024;
let compareBuffers: [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>] | undefined;

export interface SameContentOptions {
  /** Follow a final symlink at `b` (the host side of jk_check). `a` is never followed. */
  readonly followB?: boolean;
  /**
   * The inode `a` was lstat'ed as: when the opened file is another one (or no regular file),
   * it changed since, and sameContent throws "changed while it was being checked".
   */
  readonly expectA?: { readonly dev: number; readonly ino: number };
}

/**
 * True when two regular files hold the same bytes: the same inode, or the same size and every
 * byte equal, up to the size fstat reported when they were opened (a file still being written
 * is not chased). Streams through two fixed COMPARE_CHUNK buffers (never a whole file in
 * memory), opens without following `a`'s symlink (nor `b`'s unless followB) and without
 * blocking on a FIFO. Throws a JailkitError ("io") when either is not a regular file, or an ErrnoError.
 */
export function sameContent(a: string, b: string, opts: SameContentOptions = {}): boolean {
  const fa = openRegular(a, false, opts.expectA);
  try {
    const fb = openRegular(b, opts.followB ?? false);
    try {
      if (fa.dev === fb.dev && fa.ino === fb.ino) return true;
      if (fa.size !== fb.size) return false;
      const [ba, bb] = compareBuffers ??= [
        new Uint8Array(COMPARE_CHUNK),
        new Uint8Array(COMPARE_CHUNK),
      ];
      // Up to the size both descriptors reported: no read is spent on finding the end.
      for (let left = fa.size; left > 0;) {
        const want = Math.min(left, COMPARE_CHUNK);
        const na = readFull(fa.fd, ba.subarray(0, want));
        const nb = readFull(fb.fd, bb.subarray(0, want));
        // One of them shrank since fstat: no longer the same size.
        if (na !== want || nb !== want) return false;
        if (!sameBytes(ba, bb, want)) return false;
        left -= want;
      }
      return true;
    } finally {
      close(fb.fd);
    }
  } finally {
    close(fa.fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Pid files

/** What pidDirProblem needs to know of a directory on the way. */
export interface DirStat {
  readonly isSymlink: boolean;
  readonly mode: number;
  readonly uid: number;
}

/**
 * Why a pid file may not be created in `realDir` (a canonical directory), or undefined: every
 * component from / down must be a root-owned directory writable by neither group nor others,
 * so nobody but root can put a symlink or a hard link where the file will be.
 */
export function pidDirProblem(
  realDir: string,
  lstat: (path: string) => DirStat | undefined,
): string | undefined {
  let path = "";
  for (const part of ["", ...realDir.split("/").filter((p) => p !== "")]) {
    path = part === "" ? "/" : `${path === "/" ? "" : path}/${part}`;
    const st = lstat(path);
    if (!st || st.isSymlink || (st.mode & S_IFMT) !== S_IFDIR) return `${path} is not a directory`;
    if (st.uid !== 0) return `${path} is not owned by root`;
    if ((st.mode & 0o022) !== 0) return `${path} is writable by group or others`;
  }
  return undefined;
}

function lstatDir(path: string): DirStat | undefined {
  try {
    const st = Deno.lstatSync(path);
    return { isSymlink: st.isSymlink, mode: st.mode ?? 0, uid: st.uid ?? -1 };
  } catch {
    return undefined;
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Writes `pid` and a newline to `path` (absolute), the one pid-file policy of the daemons
 * (jk_socketd, jk_chrootlaunch), which run as root:
 * - in the real directory, which pidDirProblem accepts (nobody but root can plant a link there);
 * - opened with O_NOFOLLOW (a symlink at the name is refused) and O_NONBLOCK (a FIFO cannot
 *   block us), created 0644, and not truncated before the checks;
 * - written only when the opened file is a regular file with no other hard link, owned by us:
 *   a planted link must not turn a root daemon into a tool that overwrites some other file.
 * O_EXCL is not used: a pid file left by a daemon that died is ours to overwrite.
 * Throws a JailkitError whose message starts "pid file PATH not written".
 */
export function writePidFile(path: string, pid: number): void {
  const refused = (kind: "io" | "unsafe-jail" | "usage", why: string) =>
    new JailkitError(kind, `pid file ${path} not written: ${why}`);
  const name = basename(path);
  if (name === "" || name === "." || name === ".." || path.endsWith("/")) {
    throw refused("usage", "it does not name a file");
  }
  let dir: string;
  try {
    dir = Deno.realPathSync(dirname(path));
  } catch (e) {
    throw refused("io", messageOf(e));
  }
  const problem = pidDirProblem(dir, lstatDir);
  if (problem) throw refused("unsafe-jail", problem);
  let fd: number;
  try {
    fd = open(
      join(dir, name),
      O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
      0o644,
    );
  } catch (e) {
    throw refused("io", `cannot open: ${messageOf(e)}`);
  }
  try {
    const info = fstat(fd);
    if (!isRegular(info)) throw refused("unsafe-jail", "not a regular file");
    if (info.nlink !== 1) throw refused("unsafe-jail", `has ${info.nlink} hard links`);
    if (info.uid !== Deno.uid()) {
      throw refused("unsafe-jail", `owned by uid ${info.uid}, not by us`);
    }
    fchmod(fd, 0o644);
    ftruncate(fd, 0);
    const bytes = new TextEncoder().encode(`${pid}\n`);
    let offset = 0;
    while (offset < bytes.length) offset += write(fd, bytes.subarray(offset));
  } catch (e) {
    if (e instanceof JailkitError) throw e;
    throw refused("io", messageOf(e));
  } finally {
    close(fd);
  }
}

/** Longest pid file removePidFile reads: "PID\n" is a few bytes. */
const MAX_PID_FILE_BYTES = 64;

/**
 * Removes the pid file writePidFile wrote, if it is still a regular file naming `pid` (a later
 * instance may have taken it over); never follows a symlink. Throws an ErrnoError.
 */
export function removePidFile(path: string, pid: number): void {
  let fd: number;
  try {
    fd = openNoFollow(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ELOOP") return;
    throw e;
  }
  let ours: boolean;
  try {
    const bytes = isRegular(fstat(fd)) ? readBounded(fd, MAX_PID_FILE_BYTES) : undefined;
    ours = bytes !== undefined && new TextDecoder().decode(bytes) === `${pid}\n`;
  } finally {
    close(fd);
  }
  if (ours) unlinkat(AT_FDCWD, path);
}
