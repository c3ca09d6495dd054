/**
 * Builders for the hand-made binaries the ELF, ld.so.cache and resolver tests feed to the
 * parsers: small but structurally real ELF objects (any class/byte order) and ld.so.cache files
 * in every layout. They return the layout so tests can corrupt precise fields.
 */
import { dirname, join } from "node:path";

/** What to put in a generated ELF object. */
export interface ElfSpec {
  elfClass?: 32 | 64;
  endian?: "little" | "big";
  machine?: number;
  type?: number;
  flags?: number;
  osAbi?: number;
  interp?: string;
  needed?: string[];
  /** DT_FILTER names (emitted after the DT_NEEDED entries). */
  filters?: string[];
  /** DT_AUXILIARY names (emitted after the DT_FILTER entries). */
  auxiliary?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  flags1?: number;
  /** No PT_DYNAMIC at all (a static program). */
  noDynamic?: boolean;
  /**
   * Map the string table and dynamic section with a second PT_LOAD whose address is unrelated
   * to its file offset (as in real objects), instead of one PT_LOAD covering the whole file.
   */
  splitLoad?: boolean;
}

/** Address of the second PT_LOAD of a `splitLoad` object. */
export const SPLIT_VADDR = 0x800000;

/** Where things ended up in a generated object. */
export interface ElfLayout {
  is64: boolean;
  le: boolean;
  phoff: number;
  phnum: number;
  phentsize: number;
  /** Index of each program header by type name. */
  ph: { load: number; interp: number | null; dynamic: number | null };
  interpOff: number | null;
  interpSize: number;
  strtabOff: number;
  strtabSize: number;
  dynOff: number;
  dynSize: number;
  /** Offset of each string (by value) inside the string table. */
  strings: Map<string, number>;
  /** The virtual address the file offset 0 is loaded at. */
  base: number;
}

export const EM_X86_64 = 62;
export const EM_386 = 3;
export const EM_PPC = 20;
export const EM_AARCH64 = 183;

const enc = new TextEncoder();

/** A DataView writer that knows the object's class and byte order. */
export class Writer {
  readonly dv: DataView;
  constructor(readonly bytes: Uint8Array, readonly is64: boolean, readonly le: boolean) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number, v: number): void {
    this.dv.setUint16(at, v, this.le);
  }
  u32(at: number, v: number): void {
    this.dv.setUint32(at, v, this.le);
  }
  /** An address/offset-sized field (4 or 8 bytes). */
  word(at: number, v: number | bigint): void {
    if (this.is64) this.dv.setBigUint64(at, BigInt(v), this.le);
    else this.dv.setUint32(at, Number(v), this.le);
  }
}

/** Builds an ELF object: ehdr, program headers, PT_INTERP string, .dynstr, .dynamic. */
export function buildElf(spec: ElfSpec = {}): { bytes: Uint8Array; layout: ElfLayout } {
  const is64 = (spec.elfClass ?? 64) === 64;
  const le = (spec.endian ?? "little") === "little";
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const dynent = is64 ? 16 : 8;
  const base = 0x10000;

  const withDynamic = !spec.noDynamic;
  const phTypes: ("load" | "load2" | "interp" | "dynamic")[] = ["load"];
  if (spec.splitLoad) phTypes.push("load2");
  if (spec.interp !== undefined) phTypes.push("interp");
  if (withDynamic) phTypes.push("dynamic");
  const phoff = ehsize;
  const phnum = phTypes.length;

  // String table: NUL, then each distinct string.
  const strings = new Map<string, number>();
  const strParts: number[] = [0];
  const addStr = (s: string) => {
    if (strings.has(s)) return;
    strings.set(s, strParts.length);
    strParts.push(...enc.encode(s), 0);
  };
  for (const n of [...spec.needed ?? [], ...spec.filters ?? [], ...spec.auxiliary ?? []]) addStr(n);
  if (spec.soname !== undefined) addStr(spec.soname);
  if (spec.rpath !== undefined) addStr(spec.rpath);
  if (spec.runpath !== undefined) addStr(spec.runpath);

  let off = phoff + phnum * phentsize;
  let interpOff: number | null = null;
  let interpBytes = new Uint8Array(0);
  if (spec.interp !== undefined) {
    interpBytes = new Uint8Array([...enc.encode(spec.interp), 0]);
    interpOff = off;
    off += interpBytes.length;
  }
  const strtabOff = off;
  const strtabSize = withDynamic ? strParts.length : 0;
  off += strtabSize;
  off = Math.ceil(off / 8) * 8;
  const dynOff = off;
  const entries: [number, number][] = [];
  if (withDynamic) {
    for (const n of spec.needed ?? []) entries.push([1, strings.get(n)!]);
    for (const n of spec.filters ?? []) entries.push([0x7fffffff, strings.get(n)!]);
    for (const n of spec.auxiliary ?? []) entries.push([0x7ffffffd, strings.get(n)!]);
    if (spec.soname !== undefined) entries.push([14, strings.get(spec.soname)!]);
    if (spec.rpath !== undefined) entries.push([15, strings.get(spec.rpath)!]);
    if (spec.runpath !== undefined) entries.push([29, strings.get(spec.runpath)!]);
    if (spec.flags1 !== undefined) entries.push([0x6ffffffb, spec.flags1]);
    entries.push([5, spec.splitLoad ? SPLIT_VADDR : base + strtabOff], [10, strtabSize], [0, 0]);
  }
  const dynSize = entries.length * dynent;
  const total = dynOff + dynSize;

  const bytes = new Uint8Array(total);
  const w = new Writer(bytes, is64, le);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, spec.osAbi ?? 0]);
  w.u16(16, spec.type ?? 3);
  w.u16(18, spec.machine ?? EM_X86_64);
  w.u32(20, 1);
  w.word(24, base);
  w.word(is64 ? 32 : 28, phoff);
  w.u32(is64 ? 48 : 36, spec.flags ?? 0);
  w.u16(is64 ? 52 : 40, ehsize);
  w.u16(is64 ? 54 : 42, phentsize);
  w.u16(is64 ? 56 : 44, phnum);

  const ph = { load: 0, interp: null as number | null, dynamic: null as number | null };
  // With splitLoad the second segment maps [strtabOff, total) at SPLIT_VADDR.
  const vaddrOf = (o: number) =>
    spec.splitLoad && o >= strtabOff ? SPLIT_VADDR + (o - strtabOff) : base + o;
  phTypes.forEach((t, i) => {
    const at = phoff + i * phentsize;
    const [type, o, sz] = t === "load"
      ? [1, 0, spec.splitLoad ? strtabOff : total]
      : t === "load2"
      ? [1, strtabOff, total - strtabOff]
      : t === "interp"
      ? [3, interpOff!, interpBytes.length]
      : [2, dynOff, dynSize];
    if (t === "interp") ph.interp = i;
    if (t === "dynamic") ph.dynamic = i;
    writePhdr(w, at, { type, offset: o, vaddr: vaddrOf(o), filesz: sz, memsz: sz });
  });
  if (interpOff !== null) bytes.set(interpBytes, interpOff);
  if (withDynamic) bytes.set(strParts, strtabOff);
  entries.forEach(([tag, val], i) => {
    const at = dynOff + i * dynent;
    if (is64) {
      w.dv.setBigInt64(at, BigInt(tag), le);
      w.dv.setBigUint64(at + 8, BigInt(val), le);
    } else {
      w.dv.setInt32(at, tag, le);
      w.dv.setUint32(at + 4, val, le);
    }
  });
  return {
    bytes,
    layout: {
      is64,
      le,
      phoff,
      phnum,
      phentsize,
      ph,
      interpOff,
      interpSize: interpBytes.length,
      strtabOff,
      strtabSize,
      dynOff,
      dynSize,
      strings,
      base,
    },
  };
}

/** Writes one program header. */
export function writePhdr(
  w: Writer,
  at: number,
  p: {
    type: number;
    offset: number | bigint;
    vaddr: number | bigint;
    filesz: number | bigint;
    memsz: number | bigint;
  },
): void {
  w.u32(at, p.type);
  if (w.is64) {
    w.u32(at + 4, 4);
    w.word(at + 8, p.offset);
    w.word(at + 16, p.vaddr);
    w.word(at + 24, p.vaddr);
    w.word(at + 32, p.filesz);
    w.word(at + 40, p.memsz);
    w.word(at + 48, 0x1000);
  } else {
    w.word(at + 4, p.offset);
    w.word(at + 8, p.vaddr);
    w.word(at + 12, p.vaddr);
    w.word(at + 16, p.filesz);
    w.word(at + 20, p.memsz);
    w.u32(at + 24, 4);
    w.u32(at + 28, 0x1000);
  }
}

/** Field offsets inside a program header / dynamic entry, per class. */
export function phField(is64: boolean, field: "offset" | "vaddr" | "filesz"): number {
  if (is64) return { offset: 8, vaddr: 16, filesz: 32 }[field];
  return { offset: 4, vaddr: 8, filesz: 16 }[field];
}

/** Offset of the value of the dynamic entry with tag `tag` (first occurrence). */
export function dynValueOffset(bytes: Uint8Array, layout: ElfLayout, tag: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ent = layout.is64 ? 16 : 8;
  for (let at = layout.dynOff; at < layout.dynOff + layout.dynSize; at += ent) {
    const t = layout.is64 ? Number(dv.getBigInt64(at, layout.le)) : dv.getInt32(at, layout.le);
    if (t === tag) return at + ent / 2;
  }
  throw new Error(`no dynamic tag ${tag}`);
}

/** Writes `bytes` to `root + path`, creating parent directories. */
export function writeFileIn(root: string, path: string, bytes: Uint8Array | string, mode = 0o755) {
  const full = join(root, path);
  Deno.mkdirSync(dirname(full), { recursive: true });
  Deno.writeFileSync(full, typeof bytes === "string" ? enc.encode(bytes) : bytes, { mode });
  Deno.chmodSync(full, mode);
}

/** One entry for {@link buildLdCache}. */
export interface CacheEntrySpec {
  flags: number;
  name: string;
  path: string;
  /** Index into `hwcaps` for a glibc-hwcaps entry. */
  hwcapsIndex?: number;
}

/**
 * Builds an ld.so.cache in the given layout. Strings live after the new table (or after the
 * old one for "old"); offsets use the base each format defines.
 */
export function buildLdCache(
  entries: CacheEntrySpec[],
  opts: {
    format?: "new" | "old" | "old+new";
    endian?: "little" | "big";
    hwcaps?: string[];
    align?: 4 | 8;
  } = {},
): Uint8Array {
  const format = opts.format ?? "new";
  const le = (opts.endian ?? "little") === "little";
  const n = entries.length;
  const oldEnd = 16 + 12 * n;
  const align = opts.align ?? 8;
  const newAt = format === "new"
    ? 0
    : format === "old"
    ? oldEnd
    : Math.ceil(oldEnd / align) * align;
  const newTableEnd = format === "old" ? newAt : newAt + 48 + 24 * n;

  // String area (shared by both tables), starting at newTableEnd.
  const strBytes: number[] = [];
  const strOff = new Map<string, number>();
  const addStr = (s: string) => {
    if (!strOff.has(s)) {
      strOff.set(s, strBytes.length);
      strBytes.push(...enc.encode(s), 0);
    }
  };
  for (const e of entries) {
    addStr(e.name);
    addStr(e.path);
  }
  for (const h of opts.hwcaps ?? []) addStr(h);
  const strStart = newTableEnd;
  let total = strStart + strBytes.length;
  let extAt = 0;
  let extData = 0;
  const hw = opts.hwcaps ?? [];
  if (format !== "old" && hw.length > 0) {
    extAt = Math.ceil(total / 4) * 4;
    extData = extAt + 8 + 16;
    total = extData + 4 * hw.length;
  }
  const bytes = new Uint8Array(total);
  const dv = new DataView(bytes.buffer);
  bytes.set(strBytes, strStart);

  if (format !== "new") {
    bytes.set(enc.encode("ld.so-1.7.0"), 0);
    dv.setUint32(12, n, true);
    entries.forEach((e, i) => {
      const at = 16 + 12 * i;
      dv.setInt32(at, e.flags, true);
      dv.setUint32(at + 4, strStart - oldEnd + strOff.get(e.name)!, true);
      dv.setUint32(at + 8, strStart - oldEnd + strOff.get(e.path)!, true);
    });
  }
  if (format !== "old") {
    bytes.set(enc.encode("glibc-ld.so.cache1.1"), newAt);
    dv.setUint32(newAt + 20, n, le);
    dv.setUint32(newAt + 24, strBytes.length, le);
    bytes[newAt + 28] = le ? 2 : 3;
    dv.setUint32(newAt + 32, extAt, le);
    const rel = (s: string) => strStart - newAt + strOff.get(s)!;
    entries.forEach((e, i) => {
      const at = newAt + 48 + 24 * i;
      dv.setInt32(at, e.flags, le);
      dv.setUint32(at + 4, rel(e.name), le);
      dv.setUint32(at + 8, rel(e.path), le);
      const hwcap = e.hwcapsIndex === undefined ? 0n : (1n << 62n) | BigInt(e.hwcapsIndex);
      dv.setBigUint64(at + 16, hwcap, le);
    });
    if (extAt) {
      dv.setUint32(extAt, 0xeaa42174, le);
      dv.setUint32(extAt + 4, 1, le);
      dv.setUint32(extAt + 8, 1, le);
      dv.setUint32(extAt + 16, extData, le);
      dv.setUint32(extAt + 20, 4 * hw.length, le);
      hw.forEach((h, i) => dv.setUint32(extData + 4 * i, rel(h), le));
    }
  }
  return bytes;
}
