/**
 * Reading whole trees cheaply (jk_update's comparison of a jail with the host): a directory's
 * entries in one getdents64 pass, each stated relative to the open directory (and to the
 * directory it is compared with) by the name bytes getdents64 returned, into buffers reused
 * from call to call. A missing entry is an answer here, not an exception: scans meet them
 * whenever the host lacks what the jail has, and an ErrnoError (with its strerror call) per
 * entry costs more than the stat. Deno.lstatSync and Deno.readDirSync spend more on building
 * their objects, Date and name encoding than on the system call.
 */
import { checkDirFd, checkFd, devT, fail, fixedBytes, lastErrno, TWO_32 } from "./base.ts";
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_DIRECTORY, O_NONBLOCK } from "./files.ts";
import { libc } from "./symbols.ts";

/** One directory entry with its statx in the directory and in the other one compared. */
export interface StatedEntry {
  name: string;
  /** The entry in the listed directory; undefined when it went away meanwhile. */
  stat: EntryStat | undefined;
  /** The entry of the same name in the other directory; undefined when there is none. */
  other: EntryStat | undefined;
}

/** What a tree comparison needs from struct statx. */
export interface EntryStat {
  /** File type and permission bits (S_IFMT | 07777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time: whole seconds since the epoch and nanoseconds within that second. */
  mtimeSec: number;
  mtimeNsec: number;
  /** The containing device as a dev_t (glibc's encoding, as Deno.FileInfo.dev). */
  dev: number;
}

const ENOENT = 2;
const ENOTDIR = 20;
/** Entries a directory may hold before reading it is refused (hostile trees are bounded). */
export const MAX_DIR_ENTRIES = 1_000_000;
/** STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MTIME | STATX_SIZE. */
const STATX_MASK = 0x1 | 0x2 | 0x8 | 0x10 | 0x40 | 0x200;
/** Longest path statEntry takes (PATH_MAX, its NUL included). */
const PATH_MAX = 4096;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Buffers reused by every call (the wrappers are synchronous and never re-entered). */
let buffers:
  | {
    dents: Uint8Array<ArrayBuffer>;
    dentsView: DataView;
    stat: Uint8Array<ArrayBuffer>;
    statView: DataView;
    path: Uint8Array<ArrayBuffer>;
  }
  | undefined;

function shared() {
  if (buffers === undefined) {
    const dents = fixedBytes(64 * 1024);
    const stat = fixedBytes(256);
    buffers = {
      dents,
      dentsView: new DataView(dents.buffer),
      stat,
      statView: new DataView(stat.buffer),
      path: fixedBytes(PATH_MAX),
    };
  }
  return buffers;
}

/**
 * statx of the NUL-terminated name at the start of `name`, relative to `dirfd`, not following
 * a symlink at the last component; undefined for ENOENT and ENOTDIR.
 */
function statx(dirfd: number, name: Uint8Array<ArrayBuffer>, shown: () => string) {
  const b = shared();
  if (libc().statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_MASK, b.stat) !== 0) {
    const errno = lastErrno();
    if (errno === ENOENT || errno === ENOTDIR) return undefined;
    fail("statx", shown());
  }
  const v = b.statView;
  // 64-bit fields read as two halves: no BigInt per call.
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode: v.getUint16(28, true),
    size: v.getUint32(40, true) + v.getUint32(44, true) * TWO_32,
    mtimeSec: v.getUint32(112, true) + v.getInt32(116, true) * TWO_32,
    mtimeNsec: v.getUint32(120, true),
    dev: devT(v.getUint32(136, true), v.getUint32(140, true)),
  };
}

/**
 * statx of `path` relative to the open directory `dirfd` (AT_FDCWD: an ordinary path), not
 * following a symlink at the last component. Undefined when nothing is there (ENOENT, or
 * ENOTDIR for a path through a non-directory); other failures throw an ErrnoError.
 */
export function statEntry(dirfd: number, path: string): EntryStat | undefined {
  checkDirFd("statx", dirfd);
  return statx(dirfd, pathBytes("statx", path), () => path);
}

/** STATX_BASIC_STATS | STATX_BTIME: everything Deno.FileInfo carries. */
const STATX_FILE_INFO = 0xfff;
const STATX_BTIME = 0x800;

/** NUL-terminated `path` in the shared path buffer. */
function pathBytes(syscall: string, path: string): Uint8Array<ArrayBuffer> {
  if (path.includes("\0")) {
    throw new RangeError(`${syscall}: path contains a NUL byte: ${JSON.stringify(path)}`);
  }
  const buf = shared().path;
  const { read, written } = encoder.encodeInto(path, buf);
  if (read < path.length || written >= buf.length) {
    throw new RangeError(`${syscall}: path longer than ${buf.length - 1} bytes`);
  }
  buf[written] = 0;
  return buf;
}

/**
 * A statx timestamp at `at` as a Date of whole milliseconds, as Deno's own stat gives (whole
 * seconds for ctime, which Deno takes from st_ctime without its nanoseconds).
 */
function statxDate(v: DataView, at: number, wholeSeconds = false): Date {
  const sec = v.getUint32(at, true) + v.getInt32(at + 4, true) * TWO_32;
  return new Date(sec * 1000 + (wholeSeconds ? 0 : Math.floor(v.getUint32(at + 8, true) / 1e6)));
}

/**
 * lstat of `path` (stat with `follow`) as a Deno.FileInfo, from one statx into reused buffers.
 * Planning a jail stats thousands of host paths, many of them missing: Deno.lstatSync spends
 * more on its op and on the NotFound exception than the kernel spends on the call. Undefined
 * for ENOENT and ENOTDIR; any other failure throws an ErrnoError.
 */
export function fileInfo(path: string, follow: boolean): Deno.FileInfo | undefined {
  const name = pathBytes("statx", path);
  const b = shared();
  const flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (libc().statx(AT_FDCWD, name, flags, STATX_FILE_INFO, b.stat) !== 0) {
    const errno = lastErrno();
    if (errno === ENOENT || errno === ENOTDIR) return undefined;
    fail("statx", path);
  }
  const v = b.statView;
  const mode = v.getUint16(28, true);
  const type = mode & 0o170000;
  const u64 = (at: number) => v.getUint32(at, true) + v.getUint32(at + 4, true) * TWO_32;
  return {
    isFile: type === 0o100000,
    isDirectory: type === 0o040000,
    isSymlink: type === 0o120000,
    size: u64(40),
    mtime: statxDate(v, 112),
    atime: statxDate(v, 64),
    birthtime: (v.getUint32(0, true) & STATX_BTIME) !== 0 ? statxDate(v, 80) : null,
    ctime: statxDate(v, 96, true),
    dev: devT(v.getUint32(136, true), v.getUint32(140, true)),
    ino: u64(32),
    mode,
    nlink: v.getUint32(16, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    rdev: devT(v.getUint32(128, true), v.getUint32(132, true)),
    blksize: v.getUint32(4, true),
    blocks: u64(48),
    isBlockDevice: type === 0o060000,
    isCharDevice: type === 0o020000,
    isFifo: type === 0o010000,
    isSocket: type === 0o140000,
  };
}

const lossyUtf8 = new TextDecoder("utf-8");
/** O_NONBLOCK: a FIFO cannot be opened as a directory, but must not hang the attempt either. */
const DIR_FLAGS = O_DIRECTORY | O_NONBLOCK | O_CLOEXEC;

/**
 * Reads the open directory `fd` from its current position with getdents64 into the shared
 * buffer, calling `each` with the bounds of every name but `.` and `..` (the byte at `end` is
 * the name's NUL) while the buffer holds them. Records are bounds-checked; more than
 * MAX_DIR_ENTRIES names is refused. `label` names the directory in errors.
 */
function readEntries(fd: number, label: string, each: (start: number, end: number) => void): void {
  const { dents, dentsView } = shared();
  let count = 0;
  for (;;) {
    const n = Number(libc().getdents64(fd, dents, BigInt(dents.length)));
    if (n < 0) fail("getdents64", label);
    if (n === 0) return;
    for (let at = 0; at < n;) {
      const reclen = dentsView.getUint16(at + 16, true);
      if (reclen < 20 || at + reclen > n) throw new RangeError("getdents64: malformed record");
      const start = at + 19;
      const end = dents.indexOf(0, start);
      if (end === -1 || end >= at + reclen) throw new RangeError("getdents64: malformed name");
      at += reclen;
      if (
        dents[start] === 0x2e &&
        (end === start + 1 || (end === start + 2 && dents[start + 1] === 0x2e))
      ) {
        continue;
      }
      if (++count > MAX_DIR_ENTRIES) {
        throw new RangeError(`getdents64(${label}): more than ${MAX_DIR_ENTRIES} entries`);
      }
      each(start, end);
    }
  }
}

/**
 * The names in the directory at `path` (followed if a symlink, as Deno.readDirSync does),
 * except `.` and `..`, in the order the kernel gives them. Invalid UTF-8 is decoded with U+FFFD
 * as Deno.readDirSync decodes it (lib/core/output.ts prints that mark visibly). At most
 * MAX_DIR_ENTRIES; failures throw an ErrnoError.
 */
export function directoryNames(path: string): string[] {
  const fd = Number(libc().openat(AT_FDCWD, pathBytes("openat", path), DIR_FLAGS, 0));
  if (fd < 0) fail("openat", path);
  try {
    const { dents } = shared();
    const names: string[] = [];
    readEntries(fd, path, (start, end) => {
      const raw = dents.subarray(start, end);
      names.push(isAscii(raw) ? ascii(raw) : lossyUtf8.decode(raw));
    });
    return names;
  } finally {
    libc().close(fd);
  }
}

function isAscii(raw: Uint8Array): boolean {
  for (let i = 0; i < raw.length; i++) if (raw[i] >= 0x80) return false;
  return true;
}

function ascii(raw: Uint8Array): string {
  return String.fromCharCode.apply(null, raw as unknown as number[]);
}

/** A name's bytes as a string: ASCII directly, anything else through the UTF-8 decoder. */
function decodeName(raw: Uint8Array): string {
  return isAscii(raw) ? ascii(raw) : utf8.decode(raw);
}

/**
 * Every entry of the open directory `fd` except `.` and `..`, sorted by name (UTF-16 order,
 * as Array.prototype.sort), each with its statx relative to `fd` and, when `other` is a
 * descriptor (not -1), relative to `other`: the kernel's name bytes are passed on as they
 * came, nothing is encoded again. A name that is not UTF-8 cannot be named in a message or a
 * plan: its bytes are returned in `undecodable`, for the caller to report rather than skip.
 * The directory is read from the descriptor's current position.
 */
export function statDirectory(
  fd: number,
  other: number,
): { entries: StatedEntry[]; undecodable: Uint8Array[] } {
  checkFd("getdents64", fd);
  if (other !== -1) checkFd("statx", other);
  const { dents } = shared();
  const entries: StatedEntry[] = [];
  const undecodable: Uint8Array[] = [];
  readEntries(fd, `descriptor ${fd}`, (start, end) => {
    const raw = dents.subarray(start, end);
    let name: string;
    try {
      name = decodeName(raw);
    } catch {
      undecodable.push(raw.slice());
      return;
    }
    // The name with its NUL, in place in the getdents buffer.
    const cName = dents.subarray(start, end + 1);
    entries.push({
      name,
      stat: statx(fd, cName, () => name),
      other: other === -1 ? undefined : statx(other, cName, () => name),
    });
  });
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { entries, undecodable };
}
