/**
 * Descriptor-relative file operations (lib/engine/apply.ts's race-free writes).
 *
 * Writes into a jail walk the jail one directory descriptor at a time (openat with O_NOFOLLOW)
 * and act relative to the last one, so a directory swapped for a symlink after it was checked
 * cannot redirect them. Paths given to the *at wrappers are single names or relative paths;
 * `AT_FDCWD` as the directory makes them ordinary path calls.
 */
import {
  AT_FDCWD,
  checkDirFd,
  checkFd,
  checkUint,
  devT,
  fail,
  fixedBytes,
  MAX_ID,
  transientCString,
  TWO_32,
} from "./base.ts";
import { libc } from "./symbols.ts";

/** x86_64 numbers these flags like most architectures; aarch64 uses the asm-generic ones. */
const ARM64 = Deno.build.arch === "aarch64";

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NONBLOCK = 0o4000;
/** Opening a terminal must not make it our controlling one. */
export const O_NOCTTY = 0o400;
export const O_DIRECTORY = ARM64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = ARM64 ? 0o100000 : 0o400000;
export const O_CLOEXEC = 0o2000000;
/** A descriptor that only names a file: usable as a directory for *at calls, never read. */
export const O_PATH = 0o10000000;

export { AT_FDCWD };
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** renameat2 flags: fail with EEXIST instead of replacing; swap two entries atomically. */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export function open(path: string, flags: number, mode = 0): number {
  return openat(AT_FDCWD, path, flags, mode);
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  checkDirFd("openat", dirfd);
  checkUint("openat", "mode", mode, 0o7777);
  const fd = libc().openat(dirfd, transientCString("openat", "path", path, 0), flags, mode);
  if (fd < 0) fail("openat", path);
  return fd;
}

/** Linux releases the descriptor even when close reports an error (EIO on NFS, say). */
export function close(fd: number): void {
  checkFd("close", fd);
  if (libc().close(fd) !== 0) fail("close");
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  checkDirFd("mkdirat", dirfd);
  checkUint("mkdirat", "mode", mode, 0o7777);
  if (libc().mkdirat(dirfd, transientCString("mkdirat", "path", path, 0), mode) !== 0) {
    fail("mkdirat", path);
  }
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  checkDirFd("symlinkat", dirfd);
  const text = transientCString("symlinkat", "target", target, 0);
  if (libc().symlinkat(text, dirfd, transientCString("symlinkat", "path", path, 1)) !== 0) {
    fail("symlinkat", path);
  }
}

/** renameat2; `flags` is 0, RENAME_NOREPLACE or RENAME_EXCHANGE. */
export function renameat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags = 0,
): void {
  checkDirFd("renameat2", olddirfd);
  checkDirFd("renameat2", newdirfd);
  const from = transientCString("renameat2", "old path", oldpath, 0);
  const to = transientCString("renameat2", "new path", newpath, 1);
  if (libc().renameat2(olddirfd, from, newdirfd, to, flags) !== 0) fail("renameat2", newpath);
}

/** `flags` is 0 or AT_REMOVEDIR. */
export function unlinkat(dirfd: number, path: string, flags = 0): void {
  checkDirFd("unlinkat", dirfd);
  if (libc().unlinkat(dirfd, transientCString("unlinkat", "path", path, 0), flags) !== 0) {
    fail("unlinkat", path);
  }
}

/** `flags` is 0, AT_SYMLINK_NOFOLLOW and/or AT_EMPTY_PATH (with path ""). */
export function fchownat(
  dirfd: number,
  path: string,
  uid: number,
  gid: number,
  flags: number,
): void {
  checkDirFd("fchownat", dirfd);
  checkUint("fchownat", "uid", uid, MAX_ID);
  checkUint("fchownat", "gid", gid, MAX_ID);
  if (
    libc().fchownat(dirfd, transientCString("fchownat", "path", path, 0), uid, gid, flags) !== 0
  ) {
    fail("fchownat", path);
  }
}

export function fchown(fd: number, uid: number, gid: number): void {
  checkFd("fchown", fd);
  checkUint("fchown", "uid", uid, MAX_ID);
  checkUint("fchown", "gid", gid, MAX_ID);
  if (libc().fchown(fd, uid, gid) !== 0) fail("fchown");
}

export function fchmod(fd: number, mode: number): void {
  checkFd("fchmod", fd);
  checkUint("fchmod", "mode", mode, 0o7777);
  if (libc().fchmod(fd, mode) !== 0) fail("fchmod");
}

/**
 * chmod relative to a directory; follows a symlink at `path`. (glibc before 2.39 emulates
 * AT_SYMLINK_NOFOLLOW through /proc, so this wrapper does not offer it: call it only where
 * nobody else can change the entry.)
 */
export function fchmodat(dirfd: number, path: string, mode: number): void {
  checkDirFd("fchmodat", dirfd);
  checkUint("fchmodat", "mode", mode, 0o7777);
  if (libc().fchmodat(dirfd, transientCString("fchmodat", "path", path, 0), mode, 0) !== 0) {
    fail("fchmodat", path);
  }
}

/** Reused by `timespecs`: the kernel reads the times during the call and keeps nothing. */
let timesBuffer: { bytes: Uint8Array<ArrayBuffer>; view: DataView } | undefined;

/** struct timespec[2] { atime, mtime } from milliseconds since the epoch (as Date, FileInfo). */
function timespecs(syscall: string, atimeMs: number, mtimeMs: number): Uint8Array<ArrayBuffer> {
  if (timesBuffer === undefined) {
    const bytes = fixedBytes(32);
    timesBuffer = { bytes, view: new DataView(bytes.buffer) };
  }
  setTimespec(syscall, timesBuffer.view, 0, atimeMs);
  setTimespec(syscall, timesBuffer.view, 16, mtimeMs);
  return timesBuffer.bytes;
}

/** One struct timespec at `at`; the 64-bit seconds as two halves, no BigInt per call. */
function setTimespec(syscall: string, view: DataView, at: number, ms: number): void {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new RangeError(`${syscall}: time ${ms} is not a valid date in milliseconds`);
  }
  const seconds = Math.floor(ms / 1000);
  const nanoseconds = Math.min(Math.round((ms - seconds * 1000) * 1e6), 999_999_999);
  const high = Math.floor(seconds / TWO_32);
  view.setUint32(at, seconds - high * TWO_32, true);
  view.setInt32(at + 4, high, true);
  view.setUint32(at + 8, nanoseconds, true);
  view.setUint32(at + 12, 0, true);
}

/** Sets access and modification times (milliseconds since the epoch) of an open file. */
export function futimens(fd: number, atimeMs: number, mtimeMs: number): void {
  checkFd("futimens", fd);
  if (libc().futimens(fd, timespecs("futimens", atimeMs, mtimeMs)) !== 0) fail("futimens");
}

/** utimensat; `flags` is 0 or AT_SYMLINK_NOFOLLOW. Times in milliseconds since the epoch. */
export function utimensat(
  dirfd: number,
  path: string,
  atimeMs: number,
  mtimeMs: number,
  flags: number,
): void {
  checkDirFd("utimensat", dirfd);
  const times = timespecs("utimensat", atimeMs, mtimeMs);
  if (libc().utimensat(dirfd, transientCString("utimensat", "path", path, 0), times, flags) !== 0) {
    fail("utimensat", path);
  }
}

/**
 * linkat; `flags` 0 links a symlink itself rather than its target, AT_EMPTY_PATH (with
 * oldpath "") links the very inode `olddirfd` refers to (needs CAP_DAC_READ_SEARCH).
 */
export function linkat(
  olddirfd: number,
  oldpath: string,
  newdirfd: number,
  newpath: string,
  flags: number,
): void {
  checkDirFd("linkat", olddirfd);
  checkDirFd("linkat", newdirfd);
  const from = transientCString("linkat", "old path", oldpath, 0);
  const to = transientCString("linkat", "new path", newpath, 1);
  if (libc().linkat(olddirfd, from, newdirfd, to, flags) !== 0) fail("linkat", newpath);
}

/** PATH_MAX: the kernel refuses to create longer link texts. */
const LINK_MAX = 4096;

/** Reused by `readlinkat`: the link text is decoded before it returns. */
let linkBuffer: Uint8Array<ArrayBuffer> | undefined;

export function readlinkat(dirfd: number, path: string): string {
  checkDirFd("readlinkat", dirfd);
  const buf = linkBuffer ??= fixedBytes(LINK_MAX + 1);
  const n = Number(
    libc().readlinkat(
      dirfd,
      transientCString("readlinkat", "path", path, 0),
      buf,
      BigInt(LINK_MAX + 1),
    ),
  );
  if (n < 0) fail("readlinkat", path);
  if (n > LINK_MAX) throw new RangeError(`readlinkat(${path}): link text longer than ${LINK_MAX}`);
  return new TextDecoder().decode(buf.subarray(0, n));
}

/** What the executor needs from struct statx (the same layout on every architecture). */
export interface FileStat {
  /** File type and permission bits (S_IFMT | 07777). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  /** The containing device as a dev_t (glibc's encoding, the number Deno.FileInfo.dev holds). */
  dev: number;
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_SIZE = 256;
/** Reused by every `statx` call: its fields are read before the function returns. */
let statxBuffer: { bytes: Uint8Array<ArrayBuffer>; view: DataView } | undefined;

/** statx; `flags` combines AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (with path "" for an fd). */
export function statx(dirfd: number, path: string, flags: number): FileStat {
  checkDirFd("statx", dirfd);
  if (statxBuffer === undefined) {
    const bytes = fixedBytes(STATX_SIZE);
    statxBuffer = { bytes, view: new DataView(bytes.buffer) };
  }
  const { bytes: buf, view } = statxBuffer;
  if (
    libc().statx(
      dirfd,
      transientCString("statx", "path", path, 0),
      flags,
      STATX_BASIC_STATS,
      buf,
    ) !== 0
  ) {
    fail("statx", path);
  }
  return {
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    mode: view.getUint16(28, true),
    ino: view.getBigUint64(32, true),
    size: view.getUint32(40, true) + view.getUint32(44, true) * TWO_32,
    rdevMajor: view.getUint32(128, true),
    rdevMinor: view.getUint32(132, true),
    dev: devT(view.getUint32(136, true), view.getUint32(140, true)),
  };
}

/** One read(2); returns the byte count (0 at end of file). */
export function read(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  checkFd("read", fd);
  const n = Number(libc().read(fd, buf, BigInt(buf.length)));
  if (n < 0) fail("read");
  return n;
}

/** One pread(2) at `offset`, leaving the file position alone; returns the byte count (0 at end of file). */
export function pread(fd: number, buf: Uint8Array<ArrayBuffer>, offset: number): number {
  checkFd("pread", fd);
  checkUint("pread", "offset", offset, Number.MAX_SAFE_INTEGER);
  const n = Number(libc().pread(fd, buf, BigInt(buf.length), BigInt(offset)));
  if (n < 0) fail("pread");
  return n;
}

/** One write(2); returns the byte count, which may be short. */
export function write(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  checkFd("write", fd);
  const n = Number(libc().write(fd, buf, BigInt(buf.length)));
  if (n < 0) fail("write");
  return n;
}

/** Whether the first `length` bytes of `a` and `b` are equal (memcmp(3), no errno). */
export function sameBytes(
  a: Uint8Array<ArrayBuffer>,
  b: Uint8Array<ArrayBuffer>,
  length: number,
): boolean {
  if (!Number.isInteger(length) || length < 0 || length > a.length || length > b.length) {
    throw new RangeError(`sameBytes: length ${length} outside both buffers`);
  }
  return libc().memcmp(a, b, BigInt(length)) === 0;
}

export function fsync(fd: number): void {
  checkFd("fsync", fd);
  if (libc().fsync(fd) !== 0) fail("fsync");
}

export function ftruncate(fd: number, length: number): void {
  checkFd("ftruncate", fd);
  checkUint("ftruncate", "length", length, Number.MAX_SAFE_INTEGER);
  if (libc().ftruncate(fd, BigInt(length)) !== 0) fail("ftruncate");
}

/** One copy_file_range(2) at both files' offsets; returns the byte count (0 at end of file). */
export function copyFileRange(fdIn: number, fdOut: number, length: number): number {
  checkFd("copy_file_range", fdIn);
  checkFd("copy_file_range", fdOut);
  checkUint("copy_file_range", "length", length, Number.MAX_SAFE_INTEGER);
  const n = Number(libc().copy_file_range(fdIn, null, fdOut, null, BigInt(length), 0));
  if (n < 0) fail("copy_file_range");
  return n;
}

/** One sendfile(2) from `fdIn`'s offset; returns the byte count (0 at end of file). */
export function sendfile(fdOut: number, fdIn: number, count: number): number {
  checkFd("sendfile", fdOut);
  checkFd("sendfile", fdIn);
  checkUint("sendfile", "count", count, Number.MAX_SAFE_INTEGER);
  const n = Number(libc().sendfile(fdOut, fdIn, null, BigInt(count)));
  if (n < 0) fail("sendfile");
  return n;
}

/**
 * An open directory descriptor with the path it was reached by (for messages). Closing is the
 * owner's job and is explicit; `close` is idempotent, and a closed handle refuses to be used,
 * so a stale number can never name some other file opened later.
 */
export class Dir {
  #fd: number;

  constructor(fd: number, readonly path: string) {
    checkFd("Dir", fd);
    this.#fd = fd;
  }

  get fd(): number {
    if (this.#fd < 0) throw new Error(`directory handle of ${this.path} used after close`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Opens a directory by path; a symlink or non-directory at its last component fails (ENOTDIR
   * or ELOOP). `extra` adds O_PATH or O_RDONLY-style access flags.
   */
  static open(path: string, extra = O_RDONLY): Dir {
    return new Dir(open(path, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | extra), path);
  }

  /** Opens the directory `name` inside this one without following a symlink there. */
  openDir(name: string, extra = O_PATH): Dir {
    const fd = openat(this.fd, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | extra);
    return new Dir(fd, this.path === "/" ? `/${name}` : `${this.path}/${name}`);
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
