/**
 * Reading whole trees cheaply (jk_update's comparison of a jail with the host): a directory's
 * entries in one getdents64 pass, each stated relative to the open directory (and to the
 * directory it is compared with) by the name bytes getdents64 returned, into buffers reused
 * from call to call. A missing entry is an answer here, not an exception: scans meet them
 * whenever the host lacks what the jail has, and an ErrnoError (with its strerror call) per
 * entry costs more than the stat. Deno.lstatSync and Deno.readDirSync spend more on building
 * their objects, Date and name encoding than on the system call.
 */
import { checkUint, fail, fixedBytes, lastErrno } from "./base.ts";
import { AT_FDCWD, AT_SYMLINK_NOFOLLOW } from "./files.ts";
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
const TWO_32 = 2 ** 32;

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
  const major = v.getUint32(136, true);
  const minor = v.getUint32(140, true);
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode: v.getUint16(28, true),
    size: v.getUint32(40, true) + v.getUint32(44, true) * TWO_32,
    mtimeSec: v.getUint32(112, true) + v.getInt32(116, true) * TWO_32,
    mtimeNsec: v.getUint32(120, true),
    // glibc's makedev() in arithmetic, as FileStat.dev (files.ts).
    dev: ((major & 0xfffff000) >>> 0) * TWO_32 + (major & 0xfff) * 2 ** 8 +
      ((minor & 0xffffff00) >>> 0) * 2 ** 12 + (minor & 0xff),
  };
}

/**
 * statx of `path` relative to the open directory `dirfd` (AT_FDCWD: an ordinary path), not
 * following a symlink at the last component. Undefined when nothing is there (ENOENT, or
 * ENOTDIR for a path through a non-directory); other failures throw an ErrnoError.
 */
export function statEntry(dirfd: number, path: string): EntryStat | undefined {
  if (dirfd !== AT_FDCWD) checkUint("statx", "descriptor", dirfd, 0x7fffffff);
  if (path.includes("\0")) {
    throw new RangeError(`statx: path contains a NUL byte: ${JSON.stringify(path)}`);
  }
  const buf = shared().path;
  const { read, written } = encoder.encodeInto(path, buf);
  if (read < path.length || written >= buf.length) {
    throw new RangeError(`statx: path longer than ${buf.length - 1} bytes`);
  }
  buf[written] = 0;
  return statx(dirfd, buf, () => path);
}

/** A name's bytes as a string: ASCII directly, anything else through the UTF-8 decoder. */
function decodeName(raw: Uint8Array): string {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] >= 0x80) return utf8.decode(raw);
  }
  return String.fromCharCode.apply(null, raw as unknown as number[]);
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
  checkUint("getdents64", "descriptor", fd, 0x7fffffff);
  if (other !== -1) checkUint("statx", "descriptor", other, 0x7fffffff);
  const { dents, dentsView } = shared();
  const entries: StatedEntry[] = [];
  const undecodable: Uint8Array[] = [];
  for (;;) {
    const n = Number(libc().getdents64(fd, dents, BigInt(dents.length)));
    if (n < 0) fail("getdents64");
    if (n === 0) break;
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
      if (entries.length + undecodable.length >= MAX_DIR_ENTRIES) {
        throw new RangeError(`getdents64: more than ${MAX_DIR_ENTRIES} entries`);
      }
      const raw = dents.subarray(start, end);
      let name: string;
      try {
        name = decodeName(raw);
      } catch {
        undecodable.push(raw.slice());
        continue;
      }
      // The name with its NUL, in place in the getdents buffer.
      const cName = dents.subarray(start, end + 1);
      entries.push({
        name,
        stat: statx(fd, cName, () => name),
        other: other === -1 ? undefined : statx(other, cName, () => name),
      });
    }
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { entries, undecodable };
}
