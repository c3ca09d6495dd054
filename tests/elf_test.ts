import assert from "node:assert/strict";
import { join } from "node:path";
import {
  abiCompatible,
  type ByteReader,
  bytesReader,
  type ElfInfo,
  isDynamicallyLinked,
  multiarchTriplet,
  parseElf,
  readElf,
} from "../lib/engine/elf.ts";
import { JailkitError } from "../lib/core/errors.ts";
import { assertJailkitError, tempDir } from "./helpers.ts";
import {
  buildElf,
  dynValueOffset,
  type ElfLayout,
  type ElfSpec,
  EM_386,
  EM_AARCH64,
  EM_PPC,
  phField,
  SPLIT_VADDR,
  Writer,
} from "./elf_fixture.ts";

const SAMPLE: ElfSpec = {
  interp: "/lib64/ld-linux-x86-64.so.2",
  needed: ["libfoo.so.1", "libc.so.6"],
  soname: "libsample.so.1",
  runpath: "$ORIGIN/../lib",
};

function parse(bytes: Uint8Array, path = "/x/sample"): ElfInfo | null {
  return parseElf(bytesReader(bytes), path);
}

/** Asserts a clean parse error for `path` whose message matches `re`. */
function assertParseError(fn: () => unknown, re: RegExp, path = "/x/sample"): void {
  assertJailkitError(fn, "parse", re, path);
}

function writer(bytes: Uint8Array, layout: ElfLayout): Writer {
  return new Writer(bytes, layout.is64, layout.le);
}

function phAt(layout: ElfLayout, index: number, field: "offset" | "vaddr" | "filesz"): number {
  return layout.phoff + index * layout.phentsize + phField(layout.is64, field);
}

Deno.test("hand-built objects of every class and byte order parse to the same facts", () => {
  for (const elfClass of [32, 64] as const) {
    for (const endian of ["little", "big"] as const) {
      const machine = elfClass === 32 ? (endian === "big" ? EM_PPC : EM_386) : EM_AARCH64;
      const { bytes } = buildElf({
        ...SAMPLE,
        elfClass,
        endian,
        machine,
        rpath: "/opt/r",
        flags1: 8,
      });
      const info = parse(bytes)!;
      assert.deepEqual(info, {
        path: "/x/sample",
        elfClass,
        endian,
        osAbi: 0,
        type: 3,
        machine,
        flags: 0,
        interp: "/lib64/ld-linux-x86-64.so.2",
        needed: ["libfoo.so.1", "libc.so.6"],
        dependencies: [
          { name: "libfoo.so.1", tag: "DT_NEEDED" },
          { name: "libc.so.6", tag: "DT_NEEDED" },
        ],
        soname: "libsample.so.1",
        rpath: "/opt/r",
        runpath: "$ORIGIN/../lib",
        flags1: 8,
        dynamic: true,
      });
    }
  }
});

Deno.test("DT_STRTAB is mapped to a file offset through the PT_LOAD that contains it", () => {
  for (const elfClass of [32, 64] as const) {
    for (const endian of ["little", "big"] as const) {
      const { bytes, layout } = buildElf({ ...SAMPLE, elfClass, endian, splitLoad: true });
      assert.equal(layout.phnum, 4);
      const info = parse(bytes)!;
      assert.deepEqual(info.needed, SAMPLE.needed);
      assert.equal(info.runpath, SAMPLE.runpath);
      // An address in the gap between the two segments belongs to neither.
      const gap = bytes.slice();
      writer(gap, layout).word(dynValueOffset(bytes, layout, 5), SPLIT_VADDR - 1);
      assertParseError(
        () => parse(gap),
        /DT_STRTAB address 0x7fffff is not inside the file data of any PT_LOAD/,
      );
    }
  }
});

Deno.test("static objects and objects without program headers have no dependencies", () => {
  const stat = parse(buildElf({ noDynamic: true }).bytes)!;
  assert.equal(stat.dynamic, false);
  assert.equal(isDynamicallyLinked(stat), false);
  const { bytes } = buildElf(SAMPLE);
  const noPh = bytes.slice();
  new DataView(noPh.buffer).setUint16(56, 0, true);
  const info = parse(noPh)!;
  assert.equal(info.interp, null);
  assert.deepEqual(info.needed, []);
  assert.equal(isDynamicallyLinked(parse(bytes)!), true);
});

Deno.test("non-ELF data is null, not an error", () => {
  assert.equal(parse(new Uint8Array(0)), null);
  assert.equal(parse(new Uint8Array([0x7f, 0x45, 0x4c])), null);
  assert.equal(parse(new TextEncoder().encode("#!/bin/sh\necho\n")), null);
  assert.equal(parse(new Uint8Array(4096)), null);
});

Deno.test("truncation at every header boundary gives a precise parse error", () => {
  const { bytes, layout } = buildElf(SAMPLE);
  const cut = (n: number) => () => parse(bytes.slice(0, n));
  assert.equal(cut(3)(), null);
  assertParseError(cut(4), /truncated ELF identification \(4 bytes, need 16\)/);
  assertParseError(cut(15), /truncated ELF identification \(15 bytes, need 16\)/);
  assertParseError(cut(16), /truncated ELF header \(16 bytes, need 64 for ELF64\)/);
  assertParseError(cut(63), /truncated ELF header \(63 bytes, need 64 for ELF64\)/);
  const phEnd = layout.phoff + layout.phnum * layout.phentsize;
  assertParseError(
    cut(64),
    /program header table \[64, \d+\) \(3 entries\) beyond end of file \(size 64\)/,
  );
  assertParseError(cut(phEnd - 1), /program header table .* beyond end of file/);
  assertParseError(cut(phEnd), /PT_INTERP \[\d+, \d+\) beyond end of file/);
  assertParseError(
    cut(layout.interpOff! + layout.interpSize - 1),
    /PT_INTERP .* beyond end of file/,
  );
  assertParseError(cut(layout.strtabOff + 1), /PT_DYNAMIC \[\d+, \d+\) beyond end of file/);
  assertParseError(cut(layout.dynOff + 1), /PT_DYNAMIC .* beyond end of file/);
  assertParseError(cut(bytes.length - 1), /PT_DYNAMIC .* beyond end of file/);
  assert.ok(cut(bytes.length)());
  const small = buildElf({ ...SAMPLE, elfClass: 32 }).bytes;
  assertParseError(
    () => parse(small.slice(0, 40)),
    /truncated ELF header \(40 bytes, need 52 for ELF32\)/,
  );
});

Deno.test("every truncation length of every sample ends in null, a result or a parse error", () => {
  for (const spec of [SAMPLE, { ...SAMPLE, elfClass: 32 as const, endian: "big" as const }]) {
    const { bytes } = buildElf(spec);
    for (let n = 0; n <= bytes.length; n++) {
      try {
        const r = parse(bytes.slice(0, n));
        if (n < 4) assert.equal(r, null);
        if (n === bytes.length) assert.deepEqual(r?.needed, SAMPLE.needed);
      } catch (e) {
        assert.ok(e instanceof JailkitError && e.kind === "parse", `length ${n}: ${e}`);
      }
    }
  }
});

Deno.test("hostile header fields: offsets beyond EOF, huge counts, wrong sizes", () => {
  const { bytes, layout } = buildElf(SAMPLE);
  const mutate = (f: (w: Writer, b: Uint8Array) => void) => {
    const b = bytes.slice();
    f(writer(b, layout), b);
    return () => parse(b);
  };
  assertParseError(
    mutate((w) => w.word(32, bytes.length + 100)),
    new RegExp(
      `program header table \\[${bytes.length + 100}, \\d+\\) \\(3 entries\\) beyond end of file`,
    ),
  );
  assertParseError(mutate((w) => w.u16(56, 65535)), /\(65535 entries\) beyond end of file/);
  assertParseError(mutate((w) => w.word(32, 1n << 60n)), /e_phoff 0x1000000000000000 is too large/);
  assertParseError(mutate((w) => w.u16(54, 40)), /e_phentsize 40, expected 56/);
  assertParseError(mutate((_w, b) => (b[4] = 3)), /unsupported ELF class 3/);
  assertParseError(mutate((_w, b) => (b[5] = 0)), /unsupported ELF data encoding 0/);
  assertParseError(mutate((_w, b) => (b[6] = 2)), /unsupported ELF identification version 2/);
  assertParseError(mutate((w) => w.u32(20, 7)), /unsupported e_version 7/);
  // A 64-bit program header value beyond 2^53.
  assertParseError(
    mutate((w) => w.word(phAt(layout, 2, "filesz"), 0xffffffffffffffffn)),
    /program header 2 p_filesz 0xffffffffffffffff is too large/,
  );
});

Deno.test("hostile segments: PT_INTERP and PT_DYNAMIC outside the file or malformed", () => {
  const { bytes, layout } = buildElf(SAMPLE);
  const interp = layout.ph.interp!;
  const dyn = layout.ph.dynamic!;
  const mutate = (f: (w: Writer, b: Uint8Array) => void) => {
    const b = bytes.slice();
    f(writer(b, layout), b);
    return () => parse(b);
  };
  assertParseError(
    mutate((w) => w.word(phAt(layout, dyn, "offset"), bytes.length)),
    new RegExp(
      `PT_DYNAMIC \\[${bytes.length}, \\d+\\) beyond end of file \\(size ${bytes.length}\\)`,
    ),
  );
  assertParseError(
    mutate((w) => w.word(phAt(layout, dyn, "filesz"), 0x7fffffff)),
    /PT_DYNAMIC .* beyond end of file/,
  );
  assertParseError(
    mutate((w) => w.word(phAt(layout, interp, "offset"), bytes.length - 2)),
    /PT_INTERP .* beyond end of file/,
  );
  assertParseError(mutate((w) => w.word(phAt(layout, interp, "filesz"), 0)), /empty PT_INTERP/);
  assertParseError(
    mutate((_w, b) => (b[layout.interpOff! + layout.interpSize - 1] = 0x78)),
    /PT_INTERP is not NUL-terminated/,
  );
  assertParseError(
    mutate((_w, b) => (b[layout.interpOff!] = 0x78)),
    /PT_INTERP "xlib64\/.*" is not an absolute path/,
  );
  assertParseError(
    mutate((w) => w.word(phAt(layout, interp, "filesz"), 5000)),
    /PT_INTERP .* beyond end of file|longer than 4096/,
  );
  // Two PT_INTERP / two PT_DYNAMIC headers.
  assertParseError(mutate((w) => w.u32(layout.phoff, 3)), /more than one PT_INTERP/);
  assertParseError(
    mutate((w) => w.u32(layout.phoff + interp * layout.phentsize, 2)),
    /more than one PT_DYNAMIC/,
  );
});

Deno.test("hostile dynamic section: string table out of range, bad offsets, no DT_STRTAB", () => {
  const { bytes, layout } = buildElf(SAMPLE);
  const mutate = (f: (w: Writer, b: Uint8Array) => void) => {
    const b = bytes.slice();
    f(writer(b, layout), b);
    return () => parse(b);
  };
  const strtab = dynValueOffset(bytes, layout, 5);
  const strsz = dynValueOffset(bytes, layout, 10);
  const firstNeeded = dynValueOffset(bytes, layout, 1);
  assertParseError(
    mutate((w) => w.word(strtab, 0x7000000)),
    /DT_STRTAB address 0x7000000 is not inside the file data of any PT_LOAD/,
  );
  assertParseError(
    mutate((w) => w.word(strsz, 1 << 30)),
    /dynamic string table \[\d+, \d+\) beyond end of file/,
  );
  assertParseError(
    mutate((w) => w.word(firstNeeded, layout.strtabSize)),
    new RegExp(
      `DT_NEEDED string offset ${layout.strtabSize} outside dynamic string table \\(size ${layout.strtabSize}\\)`,
    ),
  );
  // The runpath is the last string: cut the table just before its NUL.
  assertParseError(
    mutate((w) => w.word(strsz, layout.strtabSize - 1)),
    /DT_RUNPATH string at offset \d+ is not NUL-terminated within the string table/,
  );
  assertParseError(
    mutate((w, b) => {
      // Turn DT_STRTAB into DT_DEBUG (21): strings are used but there is no table.
      const tagAt = strtab - 8;
      new DataView(b.buffer).setBigInt64(tagAt, 21n, true);
      void w;
    }),
    /dynamic section uses strings but has no DT_STRTAB/,
  );
  // Without a DT_NULL the scan just ends at the segment end.
  const noNull = bytes.slice();
  new DataView(noNull.buffer).setBigInt64(layout.dynOff + layout.dynSize - 16, 21n, true);
  assert.deepEqual(parse(noNull)?.needed, SAMPLE.needed);
});

Deno.test("overlapping structures (dynamic over the headers, strings over the dynamic) stay bounded", () => {
  const { bytes, layout } = buildElf(SAMPLE);
  const dyn = layout.ph.dynamic!;
  const overHeaders = bytes.slice();
  const w = writer(overHeaders, layout);
  w.word(phAt(layout, dyn, "offset"), 0);
  w.word(phAt(layout, dyn, "filesz"), bytes.length);
  // The ELF header read as dynamic entries: a tag 0x10102464c457f... is none of ours, so the scan
  // walks on into the real entries. Either a clean result or a clean error is fine.
  try {
    parse(overHeaders);
  } catch (e) {
    assert.ok(e instanceof JailkitError && e.kind === "parse", String(e));
  }
  const strIntoDyn = bytes.slice();
  writer(strIntoDyn, layout).word(dynValueOffset(bytes, layout, 5), layout.base + layout.dynOff);
  try {
    parse(strIntoDyn);
  } catch (e) {
    assert.ok(e instanceof JailkitError && e.kind === "parse", String(e));
  }
});

Deno.test("DT_NEEDED names must be plain file names", () => {
  for (
    const [name, re] of [
      ["../../etc/x", /DT_NEEDED "\.\.\/\.\.\/etc\/x" contains '\/'/],
      ["a/b", /DT_NEEDED "a\/b" contains '\/'/],
      ["/abs/lib.so", /contains '\/'/],
      ["..", /DT_NEEDED "\.\." is not a file name/],
      ["", /empty DT_NEEDED name/],
    ] as const
  ) {
    assertParseError(() => parse(buildElf({ needed: [name] }).bytes), re);
  }
  const filter = buildElf({ filters: ["x/y"] }).bytes;
  assertParseError(() => parse(filter), /DT_FILTER "x\/y" contains '\/'/);
  assertParseError(
    () => parse(buildElf({ needed: ["x".repeat(5000)] }).bytes),
    /DT_NEEDED string at offset 1 is longer than 4096 bytes/,
  );
  const { bytes, layout } = buildElf({ needed: ["libé.so"] });
  bytes[layout.strtabOff + 4] = 0xff;
  assertParseError(() => parse(bytes), /DT_NEEDED string is not valid UTF-8/);
  assert.deepEqual(parse(buildElf({ needed: ["x".repeat(4096)] }).bytes)?.needed, [
    "x".repeat(4096),
  ]);
});

Deno.test("DT_FILTER and DT_AUXILIARY are dependencies in dynamic-section order", () => {
  const info = parse(buildElf({ needed: ["a.so"], filters: ["f.so"], auxiliary: ["x.so"] }).bytes)!;
  assert.deepEqual(info.needed, ["a.so"]);
  assert.deepEqual(info.dependencies, [
    { name: "a.so", tag: "DT_NEEDED" },
    { name: "f.so", tag: "DT_FILTER" },
    { name: "x.so", tag: "DT_AUXILIARY" },
  ]);
});

/** A reader of a large virtual file: zeros except for the given pieces; counts bytes read. */
function sparseReader(
  size: number,
  pieces: [number, Uint8Array][],
): ByteReader & { bytesRead: number } {
  const r = {
    size,
    bytesRead: 0,
    read(offset: number, length: number): Uint8Array {
      assert.ok(
        offset >= 0 && offset + length <= size,
        `read outside the file: ${offset}+${length}`,
      );
      r.bytesRead += length;
      const out = new Uint8Array(length);
      for (const [at, data] of pieces) {
        const from = Math.max(at, offset);
        const to = Math.min(at + data.length, offset + length);
        if (from < to) out.set(data.subarray(from - at, to - at), from - offset);
      }
      return out;
    },
  };
  return r;
}

Deno.test("a 200 MB object is parsed by reading a few KB at its offsets", () => {
  // Headers at the start; dynamic section and string table near the end, as in big binaries.
  const { bytes, layout } = buildElf(SAMPLE);
  const far = 200 * 1024 * 1024;
  const shift = far - layout.strtabOff;
  const head = bytes.slice(0, layout.strtabOff);
  const tail = bytes.slice(layout.strtabOff);
  const w = writer(head, layout);
  w.word(phAt(layout, 0, "filesz"), far + tail.length);
  w.word(phAt(layout, layout.ph.dynamic!, "offset"), layout.dynOff + shift);
  const tailCopy = tail.slice();
  const strtabAt = dynValueOffset(bytes, layout, 5) - layout.strtabOff;
  new DataView(tailCopy.buffer).setBigUint64(strtabAt, BigInt(layout.base + far), true);
  const reader = sparseReader(far + tail.length, [[0, head], [far, tailCopy]]);
  const info = parseElf(reader, "/big");
  assert.deepEqual(info?.needed, SAMPLE.needed);
  assert.ok(reader.bytesRead < 16 * 1024, `read ${reader.bytesRead} bytes`);

  // The same through the file reader, on a sparse file.
  const { dir, cleanup } = tempDir("elf-big");
  try {
    const path = join(dir, "big");
    const f = Deno.openSync(path, { write: true, create: true });
    f.writeSync(head);
    f.seekSync(far, Deno.SeekMode.Start);
    f.writeSync(tailCopy);
    f.close();
    const t0 = performance.now();
    assert.deepEqual(readElf(path)?.needed, SAMPLE.needed);
    assert.ok(performance.now() - t0 < 1000);
  } finally {
    cleanup();
  }
});

Deno.test("random corruption never escapes as anything but a parse error", () => {
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const samples = [
    buildElf(SAMPLE).bytes,
    buildElf({ ...SAMPLE, elfClass: 32, endian: "big", machine: EM_PPC }).bytes,
  ];
  let parsed = 0;
  let rejected = 0;
  for (let i = 0; i < 4000; i++) {
    const b = samples[i % 2].slice(0, samples[i % 2].length - rnd(8));
    for (let k = 1 + rnd(4); k > 0; k--) b[rnd(b.length)] = rnd(256);
    try {
      parse(b);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof JailkitError && e.kind === "parse", `iteration ${i}: ${e}`);
      assert.ok(e.message.startsWith("/x/sample: "));
      rejected++;
    }
  }
  assert.ok(parsed > 0 && rejected > 0, `${parsed} parsed, ${rejected} rejected`);
});

Deno.test("readElf: special files, directories and missing paths", () => {
  const { dir, cleanup } = tempDir("elf-special");
  try {
    const fifo = join(dir, "fifo");
    const mk = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    assert.equal(mk.code, 0);
    assert.equal(readElf(fifo), null);
    assert.equal(readElf(dir), null);
    assert.equal(readElf("/dev/null"), null);
    const empty = join(dir, "empty");
    Deno.writeFileSync(empty, new Uint8Array(0));
    assert.equal(readElf(empty), null);
    assert.throws(() => readElf(join(dir, "nope")), (e: unknown) => {
      assert.ok(e instanceof JailkitError);
      assert.equal(e.kind, "not-found");
      assert.equal(e.message, `${join(dir, "nope")}: no such file or directory`);
      return true;
    });
    const bad = join(dir, "bad");
    Deno.writeFileSync(bad, buildElf(SAMPLE).bytes.slice(0, 100));
    assert.throws(() => readElf(bad), new RegExp(`^JailkitError: ${bad}: program header table`));
  } finally {
    cleanup();
  }
});

Deno.test("readElf on a real program matches what the loader uses", () => {
  const info = readElf("/usr/bin/ls")!;
  assert.equal(info.elfClass, 64);
  assert.equal(info.endian, "little");
  assert.equal(info.machine, 62);
  assert.equal(info.interp, "/lib64/ld-linux-x86-64.so.2");
  assert.ok(info.needed.includes("libc.so.6"));
  const libc = readElf("/lib/x86_64-linux-gnu/libc.so.6")!;
  assert.equal(libc.soname, "libc.so.6");
  assert.deepEqual(libc.needed, ["ld-linux-x86-64.so.2"]);
});

Deno.test("ABI compatibility and multiarch triplets", () => {
  const abi = (elfClass: 32 | 64, endian: "little" | "big", machine: number, flags = 0) => ({
    elfClass,
    endian,
    machine,
    flags,
  });
  assert.equal(multiarchTriplet(abi(64, "little", 62)), "x86_64-linux-gnu");
  assert.equal(multiarchTriplet(abi(32, "little", 62)), "x86_64-linux-gnux32");
  assert.equal(multiarchTriplet(abi(32, "little", 3)), "i386-linux-gnu");
  assert.equal(multiarchTriplet(abi(64, "little", 183)), "aarch64-linux-gnu");
  assert.equal(multiarchTriplet(abi(32, "little", 40, 0x05000400)), "arm-linux-gnueabihf");
  assert.equal(multiarchTriplet(abi(32, "little", 40, 0x05000200)), "arm-linux-gnueabi");
  assert.equal(multiarchTriplet(abi(64, "little", 21)), "powerpc64le-linux-gnu");
  assert.equal(multiarchTriplet(abi(64, "big", 21)), "powerpc64-linux-gnu");
  assert.equal(multiarchTriplet(abi(64, "big", 22)), "s390x-linux-gnu");
  assert.equal(multiarchTriplet(abi(64, "little", 243)), "riscv64-linux-gnu");
  assert.equal(multiarchTriplet(abi(32, "big", 8)), "mips-linux-gnu");
  assert.equal(multiarchTriplet(abi(32, "little", 8)), "mipsel-linux-gnu");
  assert.equal(multiarchTriplet(abi(64, "little", 8)), "mips64el-linux-gnuabi64");
  assert.equal(multiarchTriplet(abi(32, "little", 8, 0x20)), "mips64el-linux-gnuabin32");
  assert.equal(multiarchTriplet(abi(64, "little", 0x4242)), null);

  assert.ok(abiCompatible(abi(64, "little", 62), abi(64, "little", 62)));
  assert.ok(!abiCompatible(abi(64, "little", 62), abi(32, "little", 3)));
  assert.ok(!abiCompatible(abi(64, "little", 62), abi(32, "little", 62)));
  assert.ok(!abiCompatible(abi(64, "little", 21), abi(64, "big", 21)));
  assert.ok(!abiCompatible(abi(32, "little", 40, 0x05000400), abi(32, "little", 40, 0x05000200)));
  assert.ok(abiCompatible(abi(32, "little", 40, 0x05000400), abi(32, "little", 40, 0x04000400)));
});
