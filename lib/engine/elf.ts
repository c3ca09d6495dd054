/**
 * ELF reader for the dependency resolver. We never run the files we inspect (jailkit ran `ldd`),
 * so everything the loader would need is read from the file itself: the ELF header, the program
 * headers, PT_INTERP, and the dynamic section with its string table. Files are read at offsets
 * through a small block cache, never whole (binaries can be hundreds of MB), and every offset,
 * count and size is checked against the file size before it is used: the input is hostile.
 */
import { JailkitError } from "../core/errors.ts";
import {
  AT_EMPTY_PATH,
  close,
  fileInfo,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDONLY,
  open,
  pread,
  S_IFMT,
  S_IFREG,
  statx,
} from "../../ffi/libc.ts";

/** Random access to a file or buffer of known size. */
export interface ByteReader {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes starting at `offset`. Callers check `offset + length <= size` first;
   * the reader throws a JailkitError if the bytes cannot be produced anyway (file shrank).
   */
  read(offset: number, length: number): Uint8Array;
}

/** A ByteReader over bytes already in memory (tests, small files). */
export function bytesReader(bytes: Uint8Array): ByteReader {
  return {
    size: bytes.length,
    read(offset: number, length: number): Uint8Array {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new RangeError(`read [${offset}, ${offset + length}) outside ${bytes.length} bytes`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

// Header, program headers, dynamic section and the NEEDED strings of one file are usually within
// a few blocks; caching them turns dozens of small reads into a handful of pread calls.
const BLOCK = 4096;
const MAX_CACHED_BLOCKS = 32;

class FdReader implements ByteReader {
  readonly #blocks = new Map<number, Uint8Array>();

  constructor(readonly fd: number, readonly size: number, readonly path: string) {}

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read [${offset}, ${offset + length}) outside ${this.size} bytes`);
    }
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / BLOCK);
    if (first === last) {
      const start = offset - first * BLOCK;
      return this.#block(first).subarray(start, start + length);
    }
    if (last - first >= MAX_CACHED_BLOCKS) return this.#pread(offset, length);
    const out = new Uint8Array(length);
    let pos = 0;
    for (let b = first; b <= last; b++) {
      const block = this.#block(b);
      const from = b === first ? offset - b * BLOCK : 0;
      const to = Math.min(block.length, offset + length - b * BLOCK);
      out.set(block.subarray(from, to), pos);
      pos += to - from;
    }
    return out;
  }

  #block(index: number): Uint8Array {
    const cached = this.#blocks.get(index);
    if (cached) return cached;
    const start = index * BLOCK;
    const block = this.#pread(start, Math.min(BLOCK, this.size - start));
    if (this.#blocks.size >= MAX_CACHED_BLOCKS) {
      const oldest = this.#blocks.keys().next().value as number;
      this.#blocks.delete(oldest);
    }
    this.#blocks.set(index, block);
    return block;
  }

  #pread(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = pread(this.fd, buf.subarray(done), offset + done);
      if (n <= 0) {
        throw new JailkitError(
          "parse",
          `${this.path}: unexpected end of file at offset ${
            offset + done
          } (file shrank while reading)`,
        );
      }
      done += n;
    }
    return buf;
  }
}

/** Well-known e_machine values (the ones whose Debian multiarch triplet we know). */
export const EM = {
  SPARC: 2,
  I386: 3,
  M68K: 4,
  MIPS: 8,
  PARISC: 15,
  PPC: 20,
  PPC64: 21,
  S390: 22,
  ARM: 40,
  SH: 42,
  SPARCV9: 43,
  IA_64: 50,
  X86_64: 62,
  AARCH64: 183,
  RISCV: 243,
  LOONGARCH: 258,
  ALPHA: 0x9026,
} as const;

/** e_type values. */
export const ET = { REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** DT_FLAGS_1 bit: the object asks not to search ld.so.cache and the default directories. */
export const DF_1_NODEFLIB = 0x800;

/** What the dependency resolver needs to know about one ELF file. */
export interface ElfInfo {
  /** The path the file was read from (as given). */
  path: string;
  /** ELFCLASS32 or ELFCLASS64. */
  elfClass: 32 | 64;
  /** EI_DATA: byte order of every multi-byte field. */
  endian: "little" | "big";
  /** EI_OSABI byte (0 = System V, 3 = GNU/Linux). */
  osAbi: number;
  /** e_type (see {@link ET}). */
  type: number;
  /** e_machine (see {@link EM}). */
  machine: number;
  /** e_flags: carries ABI variants (ARM float ABI, MIPS n32, RISC-V float ABI). */
  flags: number;
  /** PT_INTERP: the program interpreter the kernel loads, or null. */
  interp: string | null;
  /** DT_NEEDED names in file order; each is a plain file name (no '/'). */
  needed: string[];
  /**
   * Every object the loader maps for this one, in dynamic-section order (the order it maps
   * them): DT_NEEDED, DT_FILTER (mandatory filtee) and DT_AUXILIARY (optional filtee).
   */
  dependencies: ElfDependency[];
  /** DT_SONAME, or null. */
  soname: string | null;
  /** DT_RPATH string (colon-separated, unexpanded), or null. */
  rpath: string | null;
  /** DT_RUNPATH string (colon-separated, unexpanded), or null. */
  runpath: string | null;
  /** DT_FLAGS_1 value (0 when absent). */
  flags1: number;
  /** The file has a PT_DYNAMIC segment. */
  dynamic: boolean;
}

/** One object named in the dynamic section. */
export interface ElfDependency {
  /** A plain file name (no '/'). */
  name: string;
  /** DT_NEEDED, DT_FILTER, or DT_AUXILIARY (the loader ignores an auxiliary it cannot find). */
  tag: "DT_NEEDED" | "DT_FILTER" | "DT_AUXILIARY";
}

/** True when the loader is involved: the file has an interpreter or needs libraries. */
export function isDynamicallyLinked(info: Pick<ElfInfo, "interp" | "dependencies">): boolean {
  return info.interp !== null || info.dependencies.length > 0;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_FLAGS_1 = 0x6ffffffb;
const DT_AUXILIARY = 0x7ffffffd;
const DT_FILTER = 0x7fffffff;

/** Longest string we accept from the file (PATH_MAX). */
export const MAX_ELF_STRING = 4096;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Parses an ELF file through `reader`. Returns null when the data does not start with the ELF
 * magic (not an ELF file). Throws `JailkitError("parse", "<path>: <reason>")` for anything
 * malformed: truncation, offsets or sizes outside the file, unterminated or oversized strings,
 * invalid UTF-8, a DT_NEEDED that is not a plain file name.
 */
export function parseElf(reader: ByteReader, path: string): ElfInfo | null {
  const size = reader.size;
  const fail: (reason: string) => never = (reason) => {
    throw new JailkitError("parse", `${path}: ${reason}`);
  };
  if (size < 4) return null;
  const magic = reader.read(0, 4);
  if (magic[0] !== 0x7f || magic[1] !== 0x45 || magic[2] !== 0x4c || magic[3] !== 0x46) {
    return null;
  }
  if (size < 16) fail(`truncated ELF identification (${size} bytes, need 16)`);
  const ident = reader.read(0, 16);
  const cls = ident[4];
  if (cls !== 1 && cls !== 2) fail(`unsupported ELF class ${cls}`);
  const elfClass: 32 | 64 = cls === 1 ? 32 : 64;
  const data = ident[5];
  if (data !== 1 && data !== 2) fail(`unsupported ELF data encoding ${data}`);
  const le = data === 1;
  if (ident[6] !== 1) fail(`unsupported ELF identification version ${ident[6]}`);
  const is64 = elfClass === 64;
  const ehsize = is64 ? 64 : 52;
  if (size < ehsize) {
    fail(`truncated ELF header (${size} bytes, need ${ehsize} for ELF${elfClass})`);
  }

  const view = (offset: number, length: number): DataView => {
    const bytes = reader.read(offset, length);
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  // 64-bit fields are used as JS numbers; anything beyond 2^53 cannot be a valid offset in a file
  // we can read, so it is rejected by name instead of being silently rounded.
  const word = (dv: DataView, at: number, what: string): number => {
    if (!is64) return dv.getUint32(at, le);
    const lo = dv.getUint32(at + (le ? 0 : 4), le);
    const hi = dv.getUint32(at + (le ? 4 : 0), le);
    if (hi > 0x1fffff) {
      fail(`${what} ${hex(hi)}${lo.toString(16).padStart(8, "0")} is too large`);
    }
    return hi * 0x100000000 + lo;
  };

  const eh = view(0, ehsize);
  const type = eh.getUint16(16, le);
  const machine = eh.getUint16(18, le);
  const version = eh.getUint32(20, le);
  if (version !== 1) fail(`unsupported e_version ${version}`);
  const phoff = word(eh, is64 ? 32 : 28, "e_phoff");
  const flags = eh.getUint32(is64 ? 48 : 36, le);
  const phentsize = eh.getUint16(is64 ? 54 : 42, le);
  const phnum = eh.getUint16(is64 ? 56 : 44, le);

  const info: ElfInfo = {
    path,
    elfClass,
    endian: le ? "little" : "big",
    osAbi: ident[7],
    type,
    machine,
    flags,
    interp: null,
    needed: [],
    dependencies: [],
    soname: null,
    rpath: null,
    runpath: null,
    flags1: 0,
    dynamic: false,
  };
  if (phnum === 0) return info;

  const wantPhent = is64 ? 56 : 32;
  if (phentsize !== wantPhent) fail(`e_phentsize ${phentsize}, expected ${wantPhent}`);
  const phEnd = phoff + phnum * phentsize;
  if (phEnd > size) {
    fail(
      `program header table [${phoff}, ${phEnd}) (${phnum} entries) beyond end of file (size ${size})`,
    );
  }

  const loads: { offset: number; vaddr: number; filesz: number }[] = [];
  let interpSeg: { offset: number; filesz: number } | null = null;
  let dynSeg: { offset: number; filesz: number } | null = null;
  for (let i = 0; i < phnum; i++) {
    const ph = view(phoff + i * phentsize, phentsize);
    const pType = ph.getUint32(0, le);
    if (pType !== PT_LOAD && pType !== PT_DYNAMIC && pType !== PT_INTERP) continue;
    const offset = word(ph, is64 ? 8 : 4, `program header ${i} p_offset`);
    const vaddr = word(ph, is64 ? 16 : 8, `program header ${i} p_vaddr`);
    const filesz = word(ph, is64 ? 32 : 16, `program header ${i} p_filesz`);
    if (pType === PT_LOAD) {
      loads.push({ offset, vaddr, filesz });
    } else if (pType === PT_INTERP) {
      if (interpSeg) fail("more than one PT_INTERP program header");
      interpSeg = { offset, filesz };
    } else {
      if (dynSeg) fail("more than one PT_DYNAMIC program header");
      dynSeg = { offset, filesz };
    }
  }

  if (interpSeg) {
    const { offset, filesz } = interpSeg;
    if (offset + filesz > size) {
      fail(`PT_INTERP [${offset}, ${offset + filesz}) beyond end of file (size ${size})`);
    }
    if (filesz === 0) fail("empty PT_INTERP");
    if (filesz > MAX_ELF_STRING) {
      fail(`PT_INTERP is ${filesz} bytes, longer than ${MAX_ELF_STRING}`);
    }
    const bytes = reader.read(offset, filesz);
    const nul = bytes.indexOf(0);
    if (nul < 0) fail("PT_INTERP is not NUL-terminated");
    const interp = decode(bytes.subarray(0, nul), "PT_INTERP", fail);
    if (!interp.startsWith("/")) {
      fail(`PT_INTERP ${JSON.stringify(interp)} is not an absolute path`);
    }
    info.interp = interp;
  }

  if (!dynSeg) return info;
  info.dynamic = true;
  const { offset: dynOff, filesz: dynSize } = dynSeg;
  if (dynOff + dynSize > size) {
    fail(`PT_DYNAMIC [${dynOff}, ${dynOff + dynSize}) beyond end of file (size ${size})`);
  }
  const entsize = is64 ? 16 : 8;
  const count = Math.floor(dynSize / entsize);
  const depOffsets: { tag: ElfDependency["tag"]; offset: number }[] = [];
  let strtabAddr: number | null = null;
  let strsz: number | null = null;
  let sonameOff: number | null = null;
  let rpathOff: number | null = null;
  let runpathOff: number | null = null;
  // Read the segment in blocks of entries: the count is bounded by the file size, and a
  // missing DT_NULL just ends at the segment end.
  const chunkEntries = 256;
  scan: for (let first = 0; first < count; first += chunkEntries) {
    const n = Math.min(chunkEntries, count - first);
    const dv = view(dynOff + first * entsize, n * entsize);
    for (let k = 0; k < n; k++) {
      const at = k * entsize;
      let tag: number;
      if (is64) {
        // d_tag is signed; the tags we use all have a zero high word.
        const hi = dv.getUint32(at + (le ? 4 : 0), le);
        const lo = dv.getUint32(at + (le ? 0 : 4), le);
        tag = hi === 0 ? lo : -1;
      } else {
        tag = dv.getInt32(at, le);
      }
      if (tag === DT_NULL) break scan;
      const index = first + k;
      const value = (): number => word(dv, at + entsize / 2, `dynamic entry ${index} value`);
      switch (tag) {
        case DT_NEEDED:
          depOffsets.push({ tag: "DT_NEEDED", offset: value() });
          break;
        case DT_FILTER:
          depOffsets.push({ tag: "DT_FILTER", offset: value() });
          break;
        case DT_AUXILIARY:
          depOffsets.push({ tag: "DT_AUXILIARY", offset: value() });
          break;
        case DT_STRTAB:
          strtabAddr = value();
          break;
        case DT_STRSZ:
          strsz = value();
          break;
        case DT_SONAME:
          sonameOff = value();
          break;
        case DT_RPATH:
          rpathOff = value();
          break;
        case DT_RUNPATH:
          runpathOff = value();
          break;
        case DT_FLAGS_1:
          info.flags1 = dv.getUint32(at + (is64 ? (le ? 8 : 12) : 4), le);
          break;
      }
    }
  }

  const usesStrings = depOffsets.length > 0 || sonameOff !== null || rpathOff !== null ||
    runpathOff !== null;
  if (!usesStrings) return info;
  if (strtabAddr === null) fail("dynamic section uses strings but has no DT_STRTAB");
  const addr = strtabAddr;
  const seg = loads.find((l) => addr >= l.vaddr && addr < l.vaddr + l.filesz);
  if (!seg) fail(`DT_STRTAB address ${hex(addr)} is not inside the file data of any PT_LOAD`);
  const strOff = seg.offset + (addr - seg.vaddr);
  const segEnd = seg.offset + seg.filesz;
  const strEnd = strsz === null ? segEnd : strOff + strsz;
  if (strEnd > size) {
    fail(
      `dynamic string table [${strOff}, ${strEnd}) beyond end of file (size ${size})`,
    );
  }
  const strtabSize = strEnd - strOff;

  const readString = (rel: number, what: string): string => {
    if (rel >= strtabSize) {
      fail(`${what} string offset ${rel} outside dynamic string table (size ${strtabSize})`);
    }
    const avail = Math.min(strtabSize - rel, MAX_ELF_STRING + 1);
    let len = Math.min(avail, 256);
    for (;;) {
      const bytes = reader.read(strOff + rel, len);
      const nul = bytes.indexOf(0);
      if (nul >= 0) return decode(bytes.subarray(0, nul), what, fail);
      if (len === avail) {
        if (avail > MAX_ELF_STRING) {
          fail(`${what} string at offset ${rel} is longer than ${MAX_ELF_STRING} bytes`);
        }
        fail(`${what} string at offset ${rel} is not NUL-terminated within the string table`);
      }
      len = Math.min(avail, len * 4);
    }
  };

  for (const { tag, offset } of depOffsets) {
    const name = readString(offset, tag);
    if (name === "") fail(`empty ${tag} name`);
    if (name.includes("/")) {
      fail(`${tag} ${JSON.stringify(name)} contains '/' (only plain file names are accepted)`);
    }
    if (name === "." || name === "..") fail(`${tag} ${JSON.stringify(name)} is not a file name`);
    info.dependencies.push({ name, tag });
    if (tag === "DT_NEEDED") info.needed.push(name);
  }
  if (sonameOff !== null) info.soname = readString(sonameOff, "DT_SONAME");
  if (rpathOff !== null) info.rpath = readString(rpathOff, "DT_RPATH");
  if (runpathOff !== null) info.runpath = readString(runpathOff, "DT_RUNPATH");
  return info;
}

function decode(bytes: Uint8Array, what: string, fail: (reason: string) => never): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail(`${what} string is not valid UTF-8`);
  }
}

/**
 * Maps a failed open/stat/read to a {@link JailkitError} naming the path: "not-found" (ENOENT,
 * ENOTDIR), "permission" (EACCES, EPERM) or "io". A JailkitError is returned unchanged.
 */
export function fsError(path: string, e: unknown): JailkitError {
  if (e instanceof JailkitError) return e;
  const code = (e as { code?: string }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "ENOENT" || code === "ENOTDIR" || e instanceof Deno.errors.NotFound) {
    return new JailkitError("not-found", `${path}: no such file or directory`, { cause: e });
  }
  if (
    code === "EACCES" || code === "EPERM" || e instanceof Deno.errors.PermissionDenied
  ) {
    return new JailkitError("permission", `${path}: permission denied`, { cause: e });
  }
  return new JailkitError("io", `${path}: ${msg}`, { cause: e });
}

/** Identity of an opened file (from fstat). */
export interface FileIdentity {
  /** st_dev of the opened file. */
  dev: number;
  /** st_ino of the opened file. */
  ino: number;
}

/**
 * Opens `path` for reading without blocking (a FIFO swapped in after a check cannot hang us)
 * and calls `fn` with a bounded reader and the file's identity when it is a regular file.
 * Returns null for anything that is not a regular file. Open/read failures throw JailkitError
 * (not-found, permission, io); a JailkitError thrown by `fn` passes through unchanged.
 */
export function withFileReader<T>(
  path: string,
  fn: (reader: ByteReader, id: FileIdentity) => T,
): T | null {
  let fd: number;
  try {
    // Never open special files: opening a device can have side effects (tapes, ttys).
    const st = fileInfo(path, true);
    if (st === undefined) {
      throw new JailkitError("not-found", `${path}: no such file or directory`);
    }
    if (!st.isFile) return null;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  } catch (e) {
    throw fsError(path, e);
  }
  try {
    const st = statx(fd, "", AT_EMPTY_PATH);
    if ((st.mode & S_IFMT) !== S_IFREG) return null;
    return fn(new FdReader(fd, st.size, path), { dev: st.dev, ino: Number(st.ino) });
  } catch (e) {
    throw fsError(path, e);
  } finally {
    close(fd);
  }
}

/**
 * Reads the ELF file at `path` through a bounded reader. Returns null when it is not an ELF
 * file (no magic, or not a regular file). Throws JailkitError: "parse" for malformed ELF,
 * "not-found", "permission" or "io" when it cannot be read.
 */
export function readElf(path: string): ElfInfo | null {
  return withFileReader(path, (reader) => parseElf(reader, path));
}

const EF_ARM_ABI_FLOAT_SOFT = 0x200;
const EF_ARM_ABI_FLOAT_HARD = 0x400;
const EF_MIPS_ABI2 = 0x20;
const EF_MIPS_NAN2008 = 0x400;
const EF_RISCV_FLOAT_ABI = 0x6;

/** The e_flags bits that make two objects of one machine incompatible (float ABI, n32). */
function abiFlags(info: Pick<ElfInfo, "machine" | "flags">): number {
  switch (info.machine) {
    case EM.ARM:
      return info.flags & (EF_ARM_ABI_FLOAT_HARD | EF_ARM_ABI_FLOAT_SOFT);
    case EM.MIPS:
      return info.flags & (EF_MIPS_ABI2 | EF_MIPS_NAN2008);
    case EM.RISCV:
      return info.flags & EF_RISCV_FLOAT_ABI;
    default:
      return 0;
  }
}

/** The ELF identity a loader compares before accepting a library for a program. */
export type ElfAbi = Pick<ElfInfo, "elfClass" | "endian" | "machine" | "flags">;

/**
 * True when a library with ABI `lib` can be loaded into a process whose objects have ABI `by`:
 * same class, byte order and machine, and the same float/ABI variant where e_flags encodes one.
 * The loader silently skips a candidate that fails this and keeps searching.
 */
export function abiCompatible(by: ElfAbi, lib: ElfAbi): boolean {
  return by.elfClass === lib.elfClass && by.endian === lib.endian &&
    by.machine === lib.machine && abiFlags(by) === abiFlags(lib);
}

/**
 * The Debian multiarch triplet for objects of this ABI (e.g. "x86_64-linux-gnu",
 * "arm-linux-gnueabihf"), or null for a machine we do not know.
 */
export function multiarchTriplet(abi: ElfAbi): string | null {
  const be = abi.endian === "big";
  const is64 = abi.elfClass === 64;
  switch (abi.machine) {
    case EM.X86_64:
      return is64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
    case EM.I386:
      return "i386-linux-gnu";
    case EM.AARCH64:
      return be ? "aarch64_be-linux-gnu" : "aarch64-linux-gnu";
    case EM.ARM:
      return (abi.flags & EF_ARM_ABI_FLOAT_HARD) ? "arm-linux-gnueabihf" : "arm-linux-gnueabi";
    case EM.PPC64:
      return be ? "powerpc64-linux-gnu" : "powerpc64le-linux-gnu";
    case EM.PPC:
      return "powerpc-linux-gnu";
    case EM.S390:
      return is64 ? "s390x-linux-gnu" : "s390-linux-gnu";
    case EM.RISCV:
      return is64 ? "riscv64-linux-gnu" : "riscv32-linux-gnu";
    case EM.MIPS: {
      const el = be ? "" : "el";
      if (is64) return `mips64${el}-linux-gnuabi64`;
      if (abi.flags & EF_MIPS_ABI2) return `mips64${el}-linux-gnuabin32`;
      return `mips${el}-linux-gnu`;
    }
    case EM.SPARCV9:
      return "sparc64-linux-gnu";
    case EM.SPARC:
      return "sparc-linux-gnu";
    case EM.IA_64:
      return "ia64-linux-gnu";
    case EM.LOONGARCH:
      return "loongarch64-linux-gnu";
    case EM.ALPHA:
      return "alpha-linux-gnu";
    case EM.M68K:
      return "m68k-linux-gnu";
    case EM.SH:
      return "sh4-linux-gnu";
    case EM.PARISC:
      return "hppa-linux-gnu";
    default:
      return null;
  }
}
