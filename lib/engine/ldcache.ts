/**
 * Reader for /etc/ld.so.cache, the index ldconfig builds and the loader consults before the
 * default directories. Two layouts exist: the old "ld.so-1.7.0" table (string offsets relative to
 * the end of its entry array), optionally followed by the new "glibc-ld.so.cache1.1" table
 * (string offsets relative to the start of its own header), or the new table alone (what glibc
 * 2.32+ ldconfig writes). The loader prefers the new table whenever it is present, so do we.
 */
import { JailkitError } from "../core/errors.ts";
import { type ElfAbi, EM } from "./elf.ts";

/** One library known to the cache. */
export interface LdCacheEntry {
  /** The key the loader matches DT_NEEDED against (usually the SONAME). */
  name: string;
  /** The file the loader opens, spelled as ldconfig recorded it. */
  path: string;
  /** Type and architecture flags (low byte: format, e.g. 3 = libc6; next byte: ABI). */
  flags: number;
  /** Raw hwcap word (new format only; 0 otherwise). */
  hwcap: bigint;
  /** The glibc-hwcaps subdirectory this entry belongs to (e.g. "x86-64-v3"), or null. */
  hwcapsSubdir: string | null;
}

/** A parsed cache. */
export interface LdCache {
  /** Which table(s) the file had; entries come from the new one when present. */
  format: "old" | "new" | "old+new";
  /** Entries in file order (ldconfig sorts them; the preferred variant of a name comes first). */
  entries: LdCacheEntry[];
}

const OLD_MAGIC = "ld.so-1.7.0";
const NEW_MAGIC = "glibc-ld.so.cache1.1";
const OLD_HEADER = 16;
const OLD_ENTRY = 12;
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const EXTENSION_MAGIC = 0xeaa42174;
const EXTENSION_TAG_HWCAPS = 1;
const HWCAP_EXTENSION_BIT = 1n << 62n;
const MAX_STRING = 4096;
/** Real caches are tens of KB; refuse anything absurd instead of reading it into memory. */
export const MAX_LD_CACHE_SIZE = 64 * 1024 * 1024;

/** Cache flag values (glibc ldconfig). */
export const LD_CACHE_FLAG = {
  TYPE_MASK: 0x00ff,
  ELF: 0x0001,
  ELF_LIBC6: 0x0003,
  REQUIRED_MASK: 0xff00,
  SPARC_LIB64: 0x0100,
  X8664_LIB64: 0x0300,
  S390_LIB64: 0x0400,
  POWERPC_LIB64: 0x0500,
  MIPS64_LIBN32: 0x0600,
  MIPS64_LIBN64: 0x0700,
  X8664_LIBX32: 0x0800,
  ARM_LIBHF: 0x0900,
  AARCH64_LIB64: 0x0a00,
  ARM_LIBSF: 0x0b00,
  RISCV_FLOAT_ABI_SOFT: 0x0f00,
  RISCV_FLOAT_ABI_DOUBLE: 0x1000,
  LARCH_FLOAT_ABI_DOUBLE: 0x1200,
} as const;

const latin1 = new TextDecoder("latin1");
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses the bytes of an ld.so.cache file. Throws `JailkitError("parse", "<path>: <reason>")`
 * for a bad magic, truncation, counts that do not fit the file, or string offsets outside it.
 */
export function parseLdCache(bytes: Uint8Array, path: string): LdCache {
  const fail: (reason: string) => never = (reason) => {
    throw new JailkitError("parse", `${path}: ${reason}`);
  };
  const size = bytes.length;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const startsWith = (at: number, magic: string) =>
    at + magic.length <= size && latin1.decode(bytes.subarray(at, at + magic.length)) === magic;

  const readString = (base: number, rel: number, what: string): string => {
    const at = base + rel;
    if (rel < 0 || at >= size) fail(`${what} string offset ${rel} outside the file (size ${size})`);
    const limit = Math.min(size, at + MAX_STRING + 1);
    const nul = bytes.subarray(at, limit).indexOf(0);
    if (nul < 0) {
      fail(
        limit === size
          ? `${what} string at offset ${at} is not NUL-terminated`
          : `${what} string at offset ${at} is longer than ${MAX_STRING} bytes`,
      );
    }
    try {
      return utf8.decode(bytes.subarray(at, at + nul));
    } catch {
      return fail(`${what} string at offset ${at} is not valid UTF-8`);
    }
  };

  let newAt: number | null = null;
  let format: LdCache["format"];
  if (startsWith(0, OLD_MAGIC)) {
    if (size < OLD_HEADER) fail(`truncated old-format header (${size} bytes, need ${OLD_HEADER})`);
    // The old table records no byte order: it is in the order of the host that wrote it, and
    // caches are only read on the host (or the same-architecture jail) they were written for.
    const nlibs = dv.getUint32(12, HOST_LE);
    const end = OLD_HEADER + nlibs * OLD_ENTRY;
    if (end > size) {
      fail(`old-format table of ${nlibs} entries needs ${end} bytes, file has ${size}`);
    }
    // ldconfig aligns the new table to its alignment (8 on 64-bit hosts, 4 on some 32-bit ones).
    for (const align of [8, 4]) {
      const at = Math.ceil(end / align) * align;
      if (startsWith(at, NEW_MAGIC)) {
        newAt = at;
        break;
      }
    }
    if (newAt === null) {
      const entries: LdCacheEntry[] = [];
      for (let i = 0; i < nlibs; i++) {
        const at = OLD_HEADER + i * OLD_ENTRY;
        entries.push({
          flags: dv.getInt32(at, HOST_LE),
          name: readString(end, dv.getUint32(at + 4, HOST_LE), `old entry ${i} key`),
          path: readString(end, dv.getUint32(at + 8, HOST_LE), `old entry ${i} value`),
          hwcap: 0n,
          hwcapsSubdir: null,
        });
      }
      return { format: "old", entries };
    }
    format = "old+new";
  } else if (startsWith(0, NEW_MAGIC)) {
    newAt = 0;
    format = "new";
  } else {
    const head = latin1.decode(bytes.subarray(0, NEW_MAGIC.length));
    if (
      head.length < NEW_MAGIC.length && (NEW_MAGIC.startsWith(head) || OLD_MAGIC.startsWith(head))
    ) {
      fail(`truncated header (${size} bytes)`);
    }
    return fail("not an ld.so.cache file (bad magic)");
  }

  const base = newAt;
  if (base + NEW_HEADER > size) {
    fail(`truncated new-format header at offset ${base} (file has ${size} bytes)`);
  }
  const endianFlag = bytes[base + 28];
  // 0 = written before glibc recorded it (host order), 2 = little, 3 = big.
  if (endianFlag !== 0 && endianFlag !== 2 && endianFlag !== 3) {
    fail(`invalid byte-order flag ${endianFlag} in new-format header`);
  }
  const le = endianFlag === 0 ? HOST_LE : endianFlag === 2;
  const nlibs = dv.getUint32(base + 20, le);
  const tableEnd = base + NEW_HEADER + nlibs * NEW_ENTRY;
  if (tableEnd > size) {
    fail(`new-format table of ${nlibs} entries needs ${tableEnd} bytes, file has ${size}`);
  }

  const hwcapsNames = readHwcapsExtension(dv, base, le, fail, readString);

  const entries: LdCacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const at = base + NEW_HEADER + i * NEW_ENTRY;
    const what = `entry ${i}`;
    const hwcap = dv.getBigUint64(at + 16, le);
    let hwcapsSubdir: string | null = null;
    if (hwcap & HWCAP_EXTENSION_BIT) {
      const index = Number(hwcap & 0xffffffffn);
      if (index >= hwcapsNames.length) {
        fail(
          `${what} refers to glibc-hwcaps subdirectory ${index}, but only ${hwcapsNames.length} exist`,
        );
      }
      hwcapsSubdir = hwcapsNames[index];
    }
    entries.push({
      flags: dv.getInt32(at, le),
      name: readString(base, dv.getUint32(at + 4, le), `${what} key`),
      path: readString(base, dv.getUint32(at + 8, le), `${what} value`),
      hwcap,
      hwcapsSubdir,
    });
  }
  return { format, entries };
}

/**
 * The glibc-hwcaps subdirectory names from the new format's extension area (glibc 2.33+). The
 * directory and section offsets are file offsets; the names are in the new table's string area.
 */
function readHwcapsExtension(
  dv: DataView,
  base: number,
  le: boolean,
  fail: (reason: string) => never,
  readString: (base: number, rel: number, what: string) => string,
): string[] {
  const size = dv.byteLength;
  const ext = dv.getUint32(base + 32, le);
  if (ext === 0) return [];
  if (ext + 8 > size) {
    fail(`extension directory at offset ${ext} beyond end of file (size ${size})`);
  }
  if (dv.getUint32(ext, le) !== EXTENSION_MAGIC) return [];
  const count = dv.getUint32(ext + 4, le);
  const sectionsEnd = ext + 8 + count * 16;
  if (sectionsEnd > size) {
    fail(`extension directory of ${count} sections needs ${sectionsEnd} bytes, file has ${size}`);
  }
  const names: string[] = [];
  for (let s = 0; s < count; s++) {
    const at = ext + 8 + s * 16;
    if (dv.getUint32(at, le) !== EXTENSION_TAG_HWCAPS) continue;
    const offset = dv.getUint32(at + 8, le);
    const length = dv.getUint32(at + 12, le);
    if (length % 4 !== 0) fail(`glibc-hwcaps extension size ${length} is not a multiple of 4`);
    if (offset + length > size) {
      fail(
        `glibc-hwcaps extension [${offset}, ${offset + length}) beyond end of file (size ${size})`,
      );
    }
    for (let k = 0; k < length / 4; k++) {
      names.push(readString(base, dv.getUint32(offset + k * 4, le), `glibc-hwcaps name ${k}`));
    }
  }
  return names;
}

/**
 * Reads and parses the cache at `path`. Returns null when it does not exist (a system without
 * a cache just falls back to the default directories); other failures throw JailkitError.
 */
export function readLdCache(path: string): LdCache | null {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new JailkitError("io", `${path}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isFile) throw new JailkitError("parse", `${path}: not a regular file`);
  if (st.size > MAX_LD_CACHE_SIZE) {
    throw new JailkitError("parse", `${path}: ${st.size} bytes is too large for an ld.so.cache`);
  }
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new JailkitError("permission", `${path}: permission denied`, { cause: e });
    }
    throw new JailkitError("io", `${path}: ${(e as Error).message}`, { cause: e });
  }
  if (bytes.length > MAX_LD_CACHE_SIZE) {
    throw new JailkitError(
      "parse",
      `${path}: grew beyond ${MAX_LD_CACHE_SIZE} bytes while reading`,
    );
  }
  return parseLdCache(bytes, path);
}

/**
 * The cache flag values the loader for objects of ABI `abi` accepts, or null when we do not know
 * them for that machine (then only the ELF check of the candidate decides).
 */
export function expectedCacheFlags(abi: ElfAbi): number[] | null {
  const F = LD_CACHE_FLAG;
  const libc6 = F.ELF_LIBC6;
  const is64 = abi.elfClass === 64;
  switch (abi.machine) {
    case EM.X86_64:
      return [libc6 | (is64 ? F.X8664_LIB64 : F.X8664_LIBX32)];
    case EM.I386:
      return [F.ELF, libc6];
    case EM.AARCH64:
      return [libc6 | F.AARCH64_LIB64];
    case EM.S390:
      return is64 ? [libc6 | F.S390_LIB64] : [F.ELF, libc6];
    case EM.PPC64:
      return [libc6 | F.POWERPC_LIB64];
    case EM.ARM:
      return (abi.flags & 0x400) ? [libc6 | F.ARM_LIBHF] : [libc6 | F.ARM_LIBSF, F.ELF, libc6];
    default:
      return null;
  }
}

/** An index of cache entries by name, filtered for one ABI's flags. */
export class LdCacheIndex {
  readonly #byName = new Map<string, LdCacheEntry[]>();

  /** Indexes `cache` (kept as {@link LdCacheIndex.cache}). */
  constructor(readonly cache: LdCache) {
    for (const e of cache.entries) {
      const list = this.#byName.get(e.name);
      if (list) list.push(e);
      else this.#byName.set(e.name, [e]);
    }
  }

  /**
   * Entries for `name` in cache order whose flags suit ABI `abi` (when the flags for that ABI
   * are known). The caller must still check each file's ELF identity: flags can lie.
   */
  lookup(name: string, abi: ElfAbi): LdCacheEntry[] {
    const all = this.#byName.get(name) ?? [];
    const want = expectedCacheFlags(abi);
    const typeOk = (f: number) => {
      const t = f & LD_CACHE_FLAG.TYPE_MASK;
      return t === LD_CACHE_FLAG.ELF || t === LD_CACHE_FLAG.ELF_LIBC6;
    };
    return all.filter((e) => want ? want.includes(e.flags) : typeOk(e.flags));
  }
}
