import assert from "node:assert/strict";
import { resolveDependencies } from "../lib/engine/deps.ts";
import { JailkitError } from "../lib/core/errors.ts";
import {
  expectedCacheFlags,
  type LdCache,
  LdCacheIndex,
  parseLdCache,
  readLdCache,
} from "../lib/engine/ldcache.ts";
import { assertJailkitError, rootTest, tempDir } from "./helpers.ts";
import { buildElf, buildLdCache, type CacheEntrySpec, EM_386, writeFileIn } from "./elf_fixture.ts";

const X86_64 = { elfClass: 64 as const, endian: "little" as const, machine: 62, flags: 0 };
const I386 = { elfClass: 32 as const, endian: "little" as const, machine: 3, flags: 0 };

const ENTRIES: CacheEntrySpec[] = [
  { flags: 0x0303, name: "libz.so.1", path: "/lib/x86_64-linux-gnu/libz.so.1" },
  {
    flags: 0x0303,
    name: "libc.so.6",
    path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6",
    hwcapsIndex: 0,
  },
  { flags: 0x0303, name: "libc.so.6", path: "/lib/x86_64-linux-gnu/libc.so.6" },
  { flags: 0x0003, name: "libc.so.6", path: "/lib/i386-linux-gnu/libc.so.6" },
];

/** The same entries for layouts without glibc-hwcaps information. */
const PLAIN = ENTRIES.map(({ hwcapsIndex: _, ...e }) => e);

function assertParseError(fn: () => unknown, re: RegExp, path = "cache"): void {
  assertJailkitError(fn, "parse", re, path);
}

function lddPath(program: string, name: string): string {
  const out = new Deno.Command("ldd", { args: [program], stdout: "piped", stderr: "null" })
    .outputSync();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) =>
    l.trim().startsWith(`${name} => `)
  );
  assert.ok(line, `ldd ${program} does not list ${name}`);
  return line.trim().split(/\s+/)[2];
}

Deno.test("the real /etc/ld.so.cache parses and agrees with ldd on libc.so.6", () => {
  const cache = readLdCache("/etc/ld.so.cache");
  assert.ok(cache, "this host has no /etc/ld.so.cache");
  assert.ok(cache.entries.length > 50, `${cache.entries.length} entries`);
  const index = new LdCacheIndex(cache);
  const libc = index.lookup("libc.so.6", X86_64);
  assert.ok(libc.length >= 1);
  assert.equal(
    libc.find((e) => e.hwcapsSubdir === null)?.path,
    lddPath("/usr/bin/ls", "libc.so.6"),
  );
  for (const e of cache.entries) {
    assert.ok(e.path.startsWith("/"), e.path);
    assert.ok(!e.name.includes("/"), e.name);
  }
});

Deno.test("new, old and old+new layouts give the same entries", () => {
  const hwcaps = ["x86-64-v3"];
  const fresh = parseLdCache(buildLdCache(ENTRIES, { format: "new", hwcaps }), "cache");
  assert.equal(fresh.format, "new");
  assert.deepEqual(fresh.entries.map((e) => [e.name, e.path, e.flags, e.hwcapsSubdir]), [
    ["libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", 0x0303, null],
    [
      "libc.so.6",
      "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6",
      0x0303,
      "x86-64-v3",
    ],
    ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", 0x0303, null],
    ["libc.so.6", "/lib/i386-linux-gnu/libc.so.6", 0x0003, null],
  ]);
  assert.equal(fresh.entries[1].hwcap, (1n << 62n) | 0n);
  const strip = (c: LdCache) => c.entries.map((e) => [e.name, e.path, e.flags]);
  const old = parseLdCache(buildLdCache(ENTRIES, { format: "old" }), "cache");
  assert.equal(old.format, "old");
  assert.deepEqual(strip(old), strip(fresh));
  for (const align of [4, 8] as const) {
    // 4 entries end the old table at 64 (8-aligned); 3 entries end it at 52, so 4 and 8 differ.
    for (const entries of [ENTRIES, ENTRIES.slice(0, 3)]) {
      const both = parseLdCache(
        buildLdCache(entries, { format: "old+new", align, hwcaps }),
        "cache",
      );
      assert.equal(both.format, "old+new");
      assert.deepEqual(
        both.entries,
        parseLdCache(buildLdCache(entries, { hwcaps }), "cache").entries,
      );
    }
  }
  const be = parseLdCache(buildLdCache(ENTRIES, { endian: "big", hwcaps }), "cache");
  assert.deepEqual(be.entries, fresh.entries);
});

Deno.test("lookup filters by the loader's flags for the requester's ABI", () => {
  const index = new LdCacheIndex(
    parseLdCache(buildLdCache(ENTRIES, { hwcaps: ["x86-64-v3"] }), "cache"),
  );
  assert.deepEqual(index.lookup("libc.so.6", X86_64).map((e) => e.path), [
    "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libc.so.6",
    "/lib/x86_64-linux-gnu/libc.so.6",
  ]);
  assert.deepEqual(index.lookup("libc.so.6", I386).map((e) => e.path), [
    "/lib/i386-linux-gnu/libc.so.6",
  ]);
  assert.deepEqual(index.lookup("libnope.so", X86_64), []);
  assert.deepEqual(expectedCacheFlags(X86_64), [0x0303]);
  assert.deepEqual(expectedCacheFlags(I386), [0x0001, 0x0003]);
  assert.equal(expectedCacheFlags({ ...X86_64, machine: 0x4242 }), null);
  // Unknown machine: only the type byte is checked; the ELF check of the file decides the rest.
  const odd = { ...X86_64, machine: 0x4242 };
  assert.equal(index.lookup("libc.so.6", odd).length, 3);
});

Deno.test("hostile caches: truncated anywhere, garbage, absurd counts, offsets outside the file", () => {
  const good = buildLdCache(ENTRIES, { hwcaps: ["x86-64-v3"] });
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => parseLdCache(good.slice(0, n), "cache"), (e: unknown) => {
      assert.ok(e instanceof JailkitError && e.kind === "parse", `length ${n}: ${e}`);
      assert.ok(e.message.startsWith("cache: "));
      return true;
    });
  }
  const oldGood = buildLdCache(ENTRIES, { format: "old" });
  for (let n = 0; n < oldGood.length; n++) {
    assert.throws(
      () => parseLdCache(oldGood.slice(0, n), "cache"),
      JailkitError,
      `old, length ${n}`,
    );
  }
  assertParseError(() => parseLdCache(good.slice(0, 10), "cache"), /truncated header \(10 bytes\)/);
  assertParseError(
    () => parseLdCache(good.slice(0, 30), "cache"),
    /truncated new-format header at offset 0/,
  );
  assertParseError(
    () => parseLdCache(new TextEncoder().encode("hello, I am not a cache at all"), "cache"),
    /bad magic/,
  );
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const junk = new Uint8Array(64 + (i % 50)).map(() =>
      (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
    );
    assertParseError(() => parseLdCache(junk, "cache"), /bad magic/);
  }
  const patch = (bytes: Uint8Array, f: (dv: DataView) => void) => {
    const b = bytes.slice();
    f(new DataView(b.buffer));
    return b;
  };
  assertParseError(
    () => parseLdCache(patch(good, (dv) => dv.setUint32(20, 0xffffffff, true)), "cache"),
    /new-format table of 4294967295 entries needs \d+ bytes, file has \d+/,
  );
  assertParseError(
    () => parseLdCache(patch(oldGood, (dv) => dv.setUint32(12, 100000, true)), "cache"),
    /old-format table of 100000 entries/,
  );
  assertParseError(
    () => parseLdCache(patch(good, (dv) => dv.setUint32(48 + 4, 1 << 30, true)), "cache"),
    /entry 0 key string offset 1073741824 outside the file/,
  );
  assertParseError(
    () => parseLdCache(patch(oldGood, (dv) => dv.setUint32(16 + 8, 1 << 20, true)), "cache"),
    /old entry 0 value string offset 1048576 outside the file/,
  );
  // Last string without its NUL: cut the final byte.
  const noHw = buildLdCache(PLAIN);
  assertParseError(
    () => parseLdCache(noHw.slice(0, -1), "cache"),
    /string at offset \d+ is not NUL-terminated/,
  );
  assertParseError(
    () => parseLdCache(patch(good, (dv) => dv.setUint32(32, good.length + 8, true)), "cache"),
    /extension directory at offset \d+ beyond end of file/,
  );
  assertParseError(
    () => parseLdCache(patch(good, (dv) => dv.setUint8(28, 1)), "cache"),
    /invalid byte-order flag 1/,
  );
  // An entry pointing at a hwcaps subdirectory that does not exist.
  assertParseError(
    () =>
      parseLdCache(
        patch(good, (dv) => dv.setBigUint64(48 + 24 + 16, (1n << 62n) | 5n, true)),
        "cache",
      ),
    /entry 1 refers to glibc-hwcaps subdirectory 5, but only 1 exist/,
  );
  // A string longer than PATH_MAX.
  const long = buildLdCache([{ flags: 0x0303, name: "x".repeat(5000), path: "/y" }]);
  assertParseError(() => parseLdCache(long, "cache"), /longer than 4096 bytes/);
});

Deno.test("readLdCache: absent file is null, a directory or a huge file is refused", () => {
  const { dir, cleanup } = tempDir("ldcache-read");
  try {
    assert.equal(readLdCache(`${dir}/nope`), null);
    assertParseError(() => readLdCache(dir), /not a regular file/, dir);
    const big = `${dir}/big`;
    const f = Deno.openSync(big, { write: true, create: true });
    f.truncateSync(65 * 1024 * 1024);
    f.close();
    assertParseError(() => readLdCache(big), /too large for an ld.so.cache/, big);
    Deno.writeFileSync(`${dir}/c`, buildLdCache(PLAIN));
    assert.equal(readLdCache(`${dir}/c`)?.entries.length, 4);
  } finally {
    cleanup();
  }
});

rootTest(
  "caches written by the system ldconfig (new, old, compat) parse and drive the resolver",
  () => {
    // ldconfig -r chroots into the fake tree, so it indexes only our hand-made libraries there.
    const { dir, cleanup } = tempDir("ldcache-ldconfig");
    try {
      const lib = "/usr/lib/x86_64-linux-gnu";
      writeFileIn(
        dir,
        "/lib64/ld-linux-x86-64.so.2",
        buildElf({ soname: "ld-linux-x86-64.so.2" }).bytes,
      );
      writeFileIn(
        dir,
        `${lib}/libalpha.so.1`,
        buildElf({ soname: "libalpha.so.1", needed: ["libbeta.so.2"] }).bytes,
      );
      writeFileIn(
        dir,
        `${lib}/glibc-hwcaps/x86-64-v3/libalpha.so.1`,
        buildElf({ soname: "libalpha.so.1" }).bytes,
      );
      writeFileIn(
        dir,
        "/usr/lib/i386-linux-gnu/libalpha.so.1",
        buildElf({ elfClass: 32, machine: EM_386, soname: "libalpha.so.1" }).bytes,
      );
      writeFileIn(dir, "/opt/extra/libbeta.so.2", buildElf({ soname: "libbeta.so.2" }).bytes);
      writeFileIn(dir, "/etc/ld.so.conf", "/usr/lib/i386-linux-gnu\n/opt/extra\n", 0o644);
      writeFileIn(
        dir,
        "/bin/prog",
        buildElf({ interp: "/lib64/ld-linux-x86-64.so.2", needed: ["libalpha.so.1"] }).bytes,
      );
      const results: string[][] = [];
      for (const format of ["new", "old", "compat"]) {
        const out = new Deno.Command("ldconfig", {
          args: ["-r", dir, "-X", "-c", format, "-C", "/etc/ld.so.cache"],
          stdout: "piped",
          stderr: "piped",
        }).outputSync();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const cache = readLdCache(`${dir}/etc/ld.so.cache`)!;
        assert.equal(cache.format, format === "compat" ? "old+new" : format);
        const names = cache.entries.map((e) => `${e.name} ${e.path} ${e.flags.toString(16)}`)
          .sort();
        assert.deepEqual(names, [
          "libalpha.so.1 /usr/lib/i386-linux-gnu/libalpha.so.1 1",
          `libalpha.so.1 ${lib}/glibc-hwcaps/x86-64-v3/libalpha.so.1 303`,
          `libalpha.so.1 ${lib}/libalpha.so.1 303`,
          "libbeta.so.2 /opt/extra/libbeta.so.2 303",
        ]);
        if (format !== "old") {
          assert.equal(
            cache.entries.find((e) => e.path.includes("glibc-hwcaps"))?.hwcapsSubdir,
            "x86-64-v3",
          );
        }
        const r = resolveDependencies(["/bin/prog"], { root: dir });
        assert.deepEqual(r.missing, []);
        assert.deepEqual(r.errors, []);
        results.push(r.files);
      }
      for (const files of results) {
        assert.deepEqual(files, [
          "/lib64/ld-linux-x86-64.so.2",
          `${lib}/glibc-hwcaps/x86-64-v3/libalpha.so.1`,
          `${lib}/libalpha.so.1`,
          "/opt/extra/libbeta.so.2",
        ]);
      }
    } finally {
      cleanup();
    }
  },
);
