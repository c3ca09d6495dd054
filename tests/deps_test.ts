import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  defaultInterpreter,
  defaultLibraryDirs,
  DependencyResolver,
  envProgram,
  expandSearchPath,
  parseShebang,
  resolveDependencies,
  type ResolveOptions,
} from "../lib/engine/deps.ts";
import { type ElfAbi, isDynamicallyLinked, readElf } from "../lib/engine/elf.ts";
import { expectedCacheFlags, parseLdCache, readLdCache } from "../lib/engine/ldcache.ts";
import { rootTest, tempDir } from "./helpers.ts";
import {
  buildElf,
  buildLdCache,
  type ElfSpec,
  EM_386,
  EM_AARCH64,
  writeFileIn,
} from "./elf_fixture.ts";

const X86_64: ElfAbi = { elfClass: 64, endian: "little", machine: 62, flags: 0 };
const I386: ElfAbi = { elfClass: 32, endian: "little", machine: 3, flags: 0 };
const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// The ldd comparison: on this host, for every dynamically linked ELF file in the usual program
// directories, our closure must contain every path ldd prints, spelled the same way.

/** Regular files under `dir` (recursively when asked), symlinks and special files left out. */
function regularFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const e of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    const p = join(dir, e.name);
    if (e.isFile) out.push(p);
    else if (e.isDirectory && recursive) out.push(...regularFiles(p, true));
  }
  return out;
}

interface LddReport {
  libs: string[];
  notFound: string[];
}

/** Parses `ldd f1 f2 ...` output (a "path:" header precedes each file when there are several). */
function parseLdd(stdout: string, files: string[]): Map<string, LddReport> {
  const reports = new Map<string, LddReport>();
  let next = 0;
  let current: LddReport | null = null;
  if (files.length === 1) {
    current = { libs: [], notFound: [] };
    reports.set(files[0], current);
  }
  for (const line of stdout.split("\n")) {
    if (files.length > 1 && next < files.length && line === `${files[next]}:`) {
      current = { libs: [], notFound: [] };
      reports.set(files[next++], current);
      continue;
    }
    const t = line.trim();
    if (t === "" || current === null) continue;
    if (/^(linux-vdso|linux-gate)\.so\.1\b/.test(t)) continue;
    if (t === "statically linked" || t === "not a dynamic executable") continue;
    let m = /^(\S+) => not found$/.exec(t);
    if (m) {
      current.notFound.push(m[1]);
      continue;
    }
    m = /^\S+ => (\/\S*) \(0x[0-9a-f]+\)$/.exec(t) ?? /^(\/\S*) \(0x[0-9a-f]+\)$/.exec(t);
    if (!m) throw new Error(`unexpected ldd line: ${JSON.stringify(line)}`);
    current.libs.push(m[1]);
  }
  return reports;
}

async function runLdd(files: string[]): Promise<Map<string, LddReport>> {
  const out = await new Deno.Command("ldd", {
    args: files,
    stdout: "piped",
    stderr: "null",
    env: { LC_ALL: "C" },
  }).output();
  return parseLdd(new TextDecoder().decode(out.stdout), files);
}

function realpathOrNull(p: string): string | null {
  try {
    return Deno.realPathSync(p);
  } catch {
    return null;
  }
}

Deno.test("closure contains every library ldd lists for system programs (exact spelling)", async () => {
  const t0 = performance.now();
  const candidates = [
    ...regularFiles("/usr/bin", false),
    ...regularFiles("/usr/sbin", false),
    ...regularFiles("/usr/lib/openssh", true),
    ...regularFiles("/usr/libexec", true),
  ];
  const dynamic: string[] = [];
  for (const f of candidates) {
    try {
      const info = readElf(f);
      if (info && isDynamicallyLinked(info)) dynamic.push(f);
    } catch {
      // Not a file we can compare against ldd (ldd would fail on it too).
    }
  }
  assert.ok(dynamic.length > 200, `only ${dynamic.length} dynamic ELF files found`);

  // System programs only use libraries that are also in the default directories, so they cannot
  // tell a cache lookup from a directory scan. A probe program needing the libraries that only
  // the cache knows (ld.so.conf additions such as /usr/local/lib) covers that; it is a hand-made
  // ELF object which ldd maps but never runs.
  const host = readElf("/usr/bin/ls")!;
  const defaults = new Set(defaultLibraryDirs(host));
  // One name per file: glibc's trace mode prints a garbage name for a second name of a file it
  // already mapped (seen as "visibility=hidden => not found"), which is an ldd artefact.
  const byFile = new Map<string, string>();
  for (const e of readLdCache("/etc/ld.so.cache")!.entries) {
    if (defaults.has(dirname(e.path)) || defaults.has(dirname(dirname(e.path)))) continue;
    if (!(expectedCacheFlags(host) ?? [e.flags]).includes(e.flags)) continue;
    const real = realpathOrNull(e.path);
    if (real !== null && !byFile.has(real)) byFile.set(real, e.name);
  }
  const cacheOnly = [...byFile.values()].slice(0, 64);
  const probeDir = tempDir("ldd-probe");
  const probe = join(probeDir.dir, "probe");
  writeFileIn(
    probeDir.dir,
    "/probe",
    buildElf({
      elfClass: host.elfClass,
      endian: host.endian,
      machine: host.machine,
      flags: host.flags,
      interp: host.interp!,
      needed: cacheOnly,
    }).bytes,
  );
  if (cacheOnly.length > 0) dynamic.push(probe);

  const batches: string[][] = [];
  for (let i = 0; i < dynamic.length; i += 40) batches.push(dynamic.slice(i, i + 40));
  const ldd = new Map<string, LddReport>();
  const tLdd = performance.now();
  for (let i = 0; i < batches.length; i += 4) {
    for (const r of await Promise.all(batches.slice(i, i + 4).map(runLdd))) {
      for (const [k, v] of r) ldd.set(k, v);
    }
  }
  const lddMs = performance.now() - tLdd;

  const resolver = new DependencyResolver();
  const tOurs = performance.now();
  const ours = new Map(dynamic.map((f) => [f, resolver.resolve([f])]));
  const oursMs = performance.now() - tOurs;

  let mismatches = 0;
  let realpathOnly = 0;
  let libsCompared = 0;
  const problems: string[] = [];
  for (const f of dynamic) {
    const report = ldd.get(f);
    if (!report) {
      mismatches++;
      problems.push(`${f}: no ldd output`);
      continue;
    }
    const mine = ours.get(f)!;
    const exact = new Set(mine.files);
    const reals = new Set(mine.files.map(realpathOrNull));
    for (const lib of report.libs) {
      libsCompared++;
      if (exact.has(lib)) continue;
      mismatches++;
      if (reals.has(realpathOrNull(lib))) {
        realpathOnly++;
        problems.push(`${f}: ${lib} only matched by realpath`);
      } else problems.push(`${f}: ${lib} missing from our closure`);
    }
    for (const name of report.notFound) {
      if (!mine.missing.some((m) => m.needed === name)) {
        mismatches++;
        problems.push(`${f}: ldd says ${name} not found, we did not report it missing`);
      }
    }
  }
  probeDir.cleanup();
  const totalMs = performance.now() - t0;
  console.log(
    `ldd comparison: ${dynamic.length} files checked (${candidates.length} regular files scanned, ` +
      `probe needing ${cacheOnly.length} cache-only libraries), ` +
      `${libsCompared} ldd paths compared, ${mismatches} mismatches (${realpathOnly} realpath-only); ` +
      `ldd ${lddMs.toFixed(0)} ms, our resolver ${oursMs.toFixed(0)} ms, total ${
        totalMs.toFixed(0)
      } ms`,
  );
  assert.deepEqual(problems.slice(0, 20), []);
  assert.equal(mismatches, 0);
});

Deno.test("resolving all of /usr/bin is fast and memoised", () => {
  const files = [...Deno.readDirSync("/usr/bin")].map((e) => `/usr/bin/${e.name}`);
  const resolver = new DependencyResolver();
  const t0 = performance.now();
  const first = resolver.resolve(files);
  const firstMs = performance.now() - t0;
  const inspected = resolver.inspectedCount;
  const t1 = performance.now();
  const second = resolver.resolve(files);
  const secondMs = performance.now() - t1;
  console.log(
    `resolved ${files.length} entries of /usr/bin: ${first.files.length} dependencies, ` +
      `${first.missing.length} missing, ${first.errors.length} errors, ` +
      `${resolver.inspectedCount} files inspected; ${firstMs.toFixed(0)} ms cold, ` +
      `${secondMs.toFixed(0)} ms memoised`,
  );
  assert.deepEqual(second, first);
  assert.ok(first.files.includes("/lib/x86_64-linux-gnu/libc.so.6"));
  assert.ok(firstMs < 15000, `took ${firstMs} ms`);
  assert.equal(resolver.inspectedCount, inspected, "the second run must not inspect files again");
});

Deno.test("a shared library as input gets the loader spelled like ldd does", () => {
  const libc = "/lib/x86_64-linux-gnu/libc.so.6";
  const r = resolveDependencies(["/lib/x86_64-linux-gnu/libm.so.6"]);
  assert.deepEqual(r.errors, []);
  assert.ok(r.files.includes(libc));
  // libc needs ld-linux-x86-64.so.2: the one mapped in is the default interpreter.
  assert.ok(r.files.includes("/lib64/ld-linux-x86-64.so.2"), r.files.join(" "));
  assert.ok(!r.files.includes("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
});

Deno.test("real #! script: /usr/bin/ldd brings its shell and the shell's libraries", () => {
  const head = Deno.readFileSync("/usr/bin/ldd").subarray(0, 256);
  const shebang = parseShebang(head, "/usr/bin/ldd");
  assert.ok(shebang);
  const r = resolveDependencies(["/usr/bin/ldd"]);
  assert.deepEqual(r.errors, []);
  assert.equal(r.files[0], shebang.interpreter);
  assert.ok(r.files.includes("/lib/x86_64-linux-gnu/libc.so.6"));
  assert.ok(r.files.includes("/lib64/ld-linux-x86-64.so.2"));
});

Deno.test("static and non-ELF files have no dependencies; absent inputs are errors", () => {
  const { dir, cleanup } = tempDir("deps-static");
  try {
    writeFileIn(dir, "/bin/static", buildElf({ noDynamic: true }).bytes);
    writeFileIn(dir, "/bin/static-pie", buildElf({}).bytes);
    writeFileIn(dir, "/etc/data", "just text\n", 0o644);
    writeFileIn(dir, "/bin/empty", "", 0o755);
    const r = resolveDependencies(
      ["/bin/static", "/bin/static-pie", "/etc/data", "/bin/empty", "/bin/nothere"],
      { root: dir, ldCache: null },
    );
    assert.deepEqual(r.files, []);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.errors, [{
      path: "/bin/nothere",
      message: "/bin/nothere: no such file or directory",
    }]);
  } finally {
    cleanup();
  }
});

rootTest(
  "an unreadable input or library is an error entry, not a crash (run as nobody)",
  async () => {
    const { dir, cleanup } = tempDir("deps-perm");
    try {
      Deno.chmodSync(dir, 0o755);
      writeFileIn(dir, "/secret", buildElf({ interp: LD }).bytes, 0o700);
      writeFileIn(
        dir,
        "/bin/prog",
        buildElf({ interp: LD, needed: ["libhidden.so"], runpath: `${dir}/lib` }).bytes,
      );
      writeFileIn(dir, "/lib/libhidden.so", buildElf({}).bytes, 0o600);
      writeFileIn(dir, "/denodir/.keep", "", 0o644);
      Deno.chownSync(join(dir, "denodir"), 65534, 65534);
      const script = `import { resolveDependencies } from ${
        JSON.stringify(new URL("../lib/engine/deps.ts", import.meta.url).href)
      };
      console.log(JSON.stringify(resolveDependencies(${
        JSON.stringify([`${dir}/secret`, `${dir}/bin/prog`])
      }, { ldCache: null })));`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-config", script],
        uid: 65534,
        gid: 65534,
        env: { DENO_DIR: join(dir, "denodir"), HOME: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(r.errors, [
        { path: `${dir}/secret`, message: `${dir}/secret: permission denied` },
        { path: `${dir}/lib/libhidden.so`, message: `${dir}/lib/libhidden.so: permission denied` },
      ]);
      // The loader cannot open it either: the library is also reported missing.
      assert.deepEqual(r.missing, [{
        needed: "libhidden.so",
        by: `${dir}/bin/prog`,
        kind: "library",
      }]);
    } finally {
      cleanup();
    }
  },
);

// ---------------------------------------------------------------------------------------------
// A fake root: every rule of the search order, checked on hand-made objects.

function fakeRoot(
  label: string,
  files: Record<string, ElfSpec | string>,
): { dir: string; cleanup: () => void } {
  const t = tempDir(label);
  for (const [path, spec] of Object.entries(files)) {
    writeFileIn(t.dir, path, typeof spec === "string" ? spec : buildElf(spec).bytes);
  }
  return t;
}

const LD = "/lib64/ld-linux-x86-64.so.2";
const LDSPEC: ElfSpec = { soname: "ld-linux-x86-64.so.2" };
const TRIPLET = "/lib/x86_64-linux-gnu";

function opts(dir: string, extra: ResolveOptions = {}): ResolveOptions {
  return { root: dir, ldCache: null, ...extra };
}

Deno.test("DT_RPATH is inherited down the loading chain, DT_RUNPATH is not", () => {
  const { dir, cleanup } = fakeRoot("deps-rpath", {
    [LD]: LDSPEC,
    "/bin/prog-rpath": { interp: LD, needed: ["libA.so"], rpath: "/opt/r" },
    "/bin/prog-runpath": { interp: LD, needed: ["libA.so"], runpath: "/opt/r" },
    "/opt/r/libA.so": { needed: ["libX.so"], soname: "libA.so" },
    "/opt/r/libX.so": { soname: "libX.so" },
  });
  try {
    const a = resolveDependencies(["/bin/prog-rpath"], opts(dir));
    assert.deepEqual(a.files, [LD, "/opt/r/libA.so", "/opt/r/libX.so"]);
    assert.deepEqual(a.missing, []);
    const b = resolveDependencies(["/bin/prog-runpath"], opts(dir));
    assert.deepEqual(b.files, [LD, "/opt/r/libA.so"]);
    assert.deepEqual(b.missing, [{ needed: "libX.so", by: "/opt/r/libA.so", kind: "library" }]);
  } finally {
    cleanup();
  }
});

Deno.test("an object with DT_RUNPATH ignores its own and inherited DT_RPATH", () => {
  const { dir, cleanup } = fakeRoot("deps-runpath", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libA.so"], rpath: "/opt/rp" },
    "/opt/rp/libA.so": { needed: ["libY.so"], rpath: "/opt/rp", runpath: "/opt/run" },
    "/opt/rp/libY.so": {},
    "/opt/run/libY.so": {},
  });
  try {
    const r = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(r.files, [LD, "/opt/rp/libA.so", "/opt/run/libY.so"]);
  } finally {
    cleanup();
  }
});

Deno.test("$ORIGIN is the program's real directory and the library's load directory", () => {
  const { dir, cleanup } = fakeRoot("deps-origin", {
    [LD]: LDSPEC,
    "/opt/app/bin/prog": { interp: LD, needed: ["libapp.so"], runpath: "$ORIGIN/../lib" },
    "/opt/app/lib/libapp.so": { needed: ["libplug.so"], runpath: "${ORIGIN}/plugins" },
    "/opt/app/lib/plugins/libplug.so": {},
  });
  try {
    Deno.mkdirSync(join(dir, "usr/bin"), { recursive: true });
    Deno.symlinkSync("../../opt/app/bin/prog", join(dir, "usr/bin/prog"));
    const expected = [
      LD,
      "/opt/app/bin/../lib/libapp.so",
      "/opt/app/bin/../lib/plugins/libplug.so",
    ];
    assert.deepEqual(resolveDependencies(["/opt/app/bin/prog"], opts(dir)).files, expected);
    // Through a symlink the kernel still reports the real path, so $ORIGIN does not change.
    const viaLink = resolveDependencies(["/usr/bin/prog"], opts(dir));
    assert.deepEqual(viaLink.files, expected);
    assert.deepEqual(viaLink.missing, []);
  } finally {
    cleanup();
  }
});

Deno.test("ld.so.cache is searched after RUNPATH and before the default directories", () => {
  const { dir, cleanup } = fakeRoot("deps-cache", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libZ.so.1", "libD.so.1"] },
    "/opt/cached/libZ.so.1": { soname: "libZ.so.1" },
    "/opt/cached/libD.so.1": { soname: "libD.so.1" },
    [`${TRIPLET}/libD.so.1`]: { soname: "libD.so.1" },
    "/opt/i386/libZ.so.1": { elfClass: 32, machine: EM_386, soname: "libZ.so.1" },
  });
  try {
    const cacheBytes = buildLdCache([
      // Lying flags: says x86-64 but the file is i386; the ELF check must reject it.
      { flags: 0x0303, name: "libZ.so.1", path: "/opt/i386/libZ.so.1" },
      // i386 flags: rejected by the flags check for an x86-64 requester.
      { flags: 0x0003, name: "libD.so.1", path: "/opt/cached/libD.so.1" },
      { flags: 0x0303, name: "libZ.so.1", path: "/opt/cached/libZ.so.1" },
    ]);
    writeFileIn(dir, "/etc/ld.so.cache", cacheBytes, 0o644);
    const r = resolveDependencies(["/bin/prog"], { root: dir });
    assert.deepEqual(r.files, [LD, "/opt/cached/libZ.so.1", `${TRIPLET}/libD.so.1`]);
    // Without the cache libZ is only a missing entry.
    const none = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(none.missing, [{ needed: "libZ.so.1", by: "/bin/prog", kind: "library" }]);
    // A cache given explicitly is used as is.
    const explicit = resolveDependencies(["/bin/prog"], {
      root: dir,
      ldCache: parseLdCache(cacheBytes, "mem"),
    });
    assert.deepEqual(explicit.files, r.files);
  } finally {
    cleanup();
  }
});

Deno.test("without a cache file, ld.so.conf directories stand in for it; a bad cache is reported", () => {
  const { dir, cleanup } = fakeRoot("deps-conf", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libL.so"] },
    "/usr/local/lib/libL.so": {},
  });
  try {
    writeFileIn(dir, "/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644);
    writeFileIn(dir, "/etc/ld.so.conf.d/local.conf", "/usr/local/lib\n", 0o644);
    assert.deepEqual(resolveDependencies(["/bin/prog"], { root: dir }).files, [
      LD,
      "/usr/local/lib/libL.so",
    ]);
    assert.deepEqual(
      resolveDependencies(["/bin/prog"], { root: dir, ldSoConfFallback: false }).missing,
      [{ needed: "libL.so", by: "/bin/prog", kind: "library" }],
    );
    writeFileIn(dir, "/etc/ld.so.cache", "garbage that is no cache", 0o644);
    const r = resolveDependencies(["/bin/prog"], { root: dir });
    assert.deepEqual(r.files, [LD, "/usr/local/lib/libL.so"]);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].path, "/etc/ld.so.cache");
    assert.match(r.errors[0].message, /bad magic/);
  } finally {
    cleanup();
  }
});

Deno.test("default directories: order, wrong-class candidates skipped, -z nodeflib honoured", () => {
  const { dir, cleanup } = fakeRoot("deps-defaults", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libW.so", "libV.so"] },
    "/bin/nodeflib": { interp: LD, needed: ["libV.so"], flags1: 0x800 },
    [`${TRIPLET}/libW.so`]: { elfClass: 32, machine: EM_386 },
    [`/usr${TRIPLET}/libW.so`]: {},
    [`/usr${TRIPLET}/libV.so`]: {},
    "/lib/libV.so": {},
  });
  try {
    const r = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(r.files, [LD, `/usr${TRIPLET}/libW.so`, `/usr${TRIPLET}/libV.so`]);
    const n = resolveDependencies(["/bin/nodeflib"], opts(dir));
    assert.deepEqual(n.missing, [{ needed: "libV.so", by: "/bin/nodeflib", kind: "library" }]);
  } finally {
    cleanup();
  }
});

Deno.test("glibc-hwcaps variants are all included, then the baseline copy", () => {
  const { dir, cleanup } = fakeRoot("deps-hwcaps", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libH.so", "libOnlyV3.so"] },
    [`${TRIPLET}/glibc-hwcaps/x86-64-v3/libH.so`]: { needed: ["libV3dep.so"] },
    [`${TRIPLET}/glibc-hwcaps/x86-64-v2/libH.so`]: {},
    [`${TRIPLET}/libH.so`]: {},
    [`${TRIPLET}/libV3dep.so`]: {},
    [`${TRIPLET}/glibc-hwcaps/x86-64-v3/libOnlyV3.so`]: {},
    [`/usr${TRIPLET}/libOnlyV3.so`]: {},
  });
  try {
    const r = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(r.files, [
      LD,
      `${TRIPLET}/glibc-hwcaps/x86-64-v3/libH.so`,
      `${TRIPLET}/glibc-hwcaps/x86-64-v2/libH.so`,
      `${TRIPLET}/libH.so`,
      `${TRIPLET}/glibc-hwcaps/x86-64-v3/libOnlyV3.so`,
      `/usr${TRIPLET}/libOnlyV3.so`,
      `${TRIPLET}/libV3dep.so`,
    ]);
    assert.deepEqual(r.missing, []);
  } finally {
    cleanup();
  }
});

Deno.test("cache entries for glibc-hwcaps subdirectories are all kept", () => {
  const { dir, cleanup } = fakeRoot("deps-cache-hwcaps", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libQ.so.1"] },
    "/usr/lib/q/glibc-hwcaps/x86-64-v3/libQ.so.1": {},
    "/usr/lib/q/libQ.so.1": {},
  });
  try {
    const cache = buildLdCache([
      {
        flags: 0x0303,
        name: "libQ.so.1",
        path: "/usr/lib/q/glibc-hwcaps/x86-64-v3/libQ.so.1",
        hwcapsIndex: 0,
      },
      { flags: 0x0303, name: "libQ.so.1", path: "/usr/lib/q/libQ.so.1" },
    ], { hwcaps: ["x86-64-v3"] });
    const r = resolveDependencies(["/bin/prog"], {
      root: dir,
      ldCache: parseLdCache(cache, "mem"),
    });
    assert.deepEqual(r.files, [
      LD,
      "/usr/lib/q/glibc-hwcaps/x86-64-v3/libQ.so.1",
      "/usr/lib/q/libQ.so.1",
    ]);
  } finally {
    cleanup();
  }
});

Deno.test("an already loaded object is reused by SONAME (diamonds, loops, first load wins)", () => {
  const { dir, cleanup } = fakeRoot("deps-reuse", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libA.so", "libB.so", "libfoo.so.1"], runpath: "/opt/p" },
    "/opt/p/libfoo.so.1": { soname: "libfoo.so.1" },
    [`${TRIPLET}/libfoo.so.1`]: { soname: "libfoo.so.1" },
    [`${TRIPLET}/libA.so`]: { needed: ["libfoo.so.1", "libL1.so"] },
    [`${TRIPLET}/libB.so`]: { needed: ["libL1.so"] },
    [`${TRIPLET}/libL1.so`]: { soname: "libL1.so", needed: ["libL2.so"] },
    [`${TRIPLET}/libL2.so`]: { soname: "libL2.so", needed: ["libL1.so", "ld-linux-x86-64.so.2"] },
  });
  try {
    const r = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(r.files, [
      LD,
      `${TRIPLET}/libA.so`,
      `${TRIPLET}/libB.so`,
      "/opt/p/libfoo.so.1",
      `${TRIPLET}/libL1.so`,
      `${TRIPLET}/libL2.so`,
    ]);
    assert.deepEqual(r.missing, []);
  } finally {
    cleanup();
  }
});

Deno.test("missing libraries and broken candidates are reported, never dropped", () => {
  const { dir, cleanup } = fakeRoot("deps-missing", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libgone.so", "libbroken.so"] },
    "/bin/noint": { interp: "/lib/ld-gone.so", needed: [] },
  });
  try {
    const broken = buildElf({ needed: ["x"] }).bytes.slice(0, 70);
    writeFileIn(dir, `${TRIPLET}/libbroken.so`, broken);
    writeFileIn(dir, "/bin/bad", broken);
    const r = resolveDependencies(["/bin/prog", "/bin/noint", "/bin/bad"], opts(dir));
    assert.deepEqual(r.files, [LD]);
    assert.deepEqual(r.missing, [
      { needed: "libgone.so", by: "/bin/prog", kind: "library" },
      { needed: "libbroken.so", by: "/bin/prog", kind: "library" },
      { needed: "/lib/ld-gone.so", by: "/bin/noint", kind: "interpreter" },
    ]);
    assert.equal(r.errors.length, 2);
    assert.equal(r.errors[0].path, `${TRIPLET}/libbroken.so`);
    assert.match(r.errors[0].message, /program header table .* beyond end of file/);
    assert.equal(r.errors[1].path, "/bin/bad");
    // Memoised: a second call reports the same problems again.
    const resolver = new DependencyResolver(opts(dir));
    resolver.resolve(["/bin/prog"]);
    assert.equal(resolver.resolve(["/bin/prog"]).errors.length, 1);
  } finally {
    cleanup();
  }
});

Deno.test("a 32-bit program gets 32-bit libraries from its own multiarch directories", () => {
  const ld32 = "/lib/ld-linux.so.2";
  const { dir, cleanup } = fakeRoot("deps-i386", {
    [ld32]: { elfClass: 32, machine: EM_386, soname: "ld-linux.so.2" },
    "/bin/prog32": { elfClass: 32, machine: EM_386, interp: ld32, needed: ["libc.so.6"] },
    [`${TRIPLET}/libc.so.6`]: { needed: ["ld-linux-x86-64.so.2"] },
    "/lib/i386-linux-gnu/libc.so.6": { elfClass: 32, machine: EM_386, needed: ["ld-linux.so.2"] },
  });
  try {
    const r = resolveDependencies(["/bin/prog32"], opts(dir));
    assert.deepEqual(r.files, [ld32, "/lib/i386-linux-gnu/libc.so.6"]);
  } finally {
    cleanup();
  }
});

Deno.test("DT_FILTER filtees are loaded; a missing DT_AUXILIARY is reported as optional", () => {
  const { dir, cleanup } = fakeRoot("deps-filter", {
    [LD]: LDSPEC,
    "/bin/prog": { interp: LD, needed: ["libF.so"] },
    [`${TRIPLET}/libF.so`]: {
      filters: ["libFiltee.so"],
      auxiliary: ["libAux.so", "visibility=hidden"],
    },
    [`${TRIPLET}/libFiltee.so`]: {},
    [`${TRIPLET}/libAux.so`]: { needed: ["libAuxDep.so"] },
    [`${TRIPLET}/libAuxDep.so`]: {},
  });
  try {
    const r = resolveDependencies(["/bin/prog"], opts(dir));
    assert.deepEqual(r.files, [
      LD,
      `${TRIPLET}/libF.so`,
      `${TRIPLET}/libFiltee.so`,
      `${TRIPLET}/libAux.so`,
      `${TRIPLET}/libAuxDep.so`,
    ]);
    assert.deepEqual(r.missing, [
      { needed: "visibility=hidden", by: `${TRIPLET}/libF.so`, kind: "library", optional: true },
    ]);
  } finally {
    cleanup();
  }
});

// ---------------------------------------------------------------------------------------------
// #! scripts.

Deno.test("#! scripts bring their interpreter, env targets from the safe PATH, and closures", () => {
  const { dir, cleanup } = fakeRoot("deps-script", {
    [LD]: LDSPEC,
    "/bin/fakesh": { interp: LD, needed: ["libsh.so"] },
    [`${TRIPLET}/libsh.so`]: {},
    "/usr/bin/env": { interp: LD },
    "/usr/bin/fakepy": { interp: LD, needed: ["libpy.so"] },
    [`${TRIPLET}/libpy.so`]: {},
    "/s/plain": "#!/bin/fakesh -e\necho hi\n",
    "/s/env": "#!/usr/bin/env fakepy\nprint(1)\n",
    "/s/env-split": "#!/usr/bin/env -S -u HOME X=1 fakepy -u\n",
    "/s/env-nosplit": "#!/usr/bin/env fakepy -u\n",
    "/s/env-absent": "#!/usr/bin/env nosuchprog\n",
    "/s/nested": "#!/s/plain\n",
    "/s/loop1": "#!/s/loop2\n",
    "/s/loop2": "#!/s/loop1\n",
    "/s/relative": "#!fakesh\n",
    "/s/gone": "#! /bin/gone arg\n",
  });
  try {
    const sh = ["/bin/fakesh", LD, `${TRIPLET}/libsh.so`];
    const py = ["/usr/bin/fakepy", `${TRIPLET}/libpy.so`];
    const run = (p: string) => resolveDependencies([p], opts(dir));
    assert.deepEqual(run("/s/plain"), { files: sh, missing: [], errors: [] });
    assert.deepEqual(run("/s/env").files, ["/usr/bin/env", LD, ...py]);
    assert.deepEqual(run("/s/env-split").files, ["/usr/bin/env", LD, ...py]);
    assert.deepEqual(run("/s/env-nosplit").missing, [{
      needed: "fakepy -u",
      by: "/s/env-nosplit",
      kind: "program",
    }]);
    assert.deepEqual(run("/s/env-absent").missing, [{
      needed: "nosuchprog",
      by: "/s/env-absent",
      kind: "program",
    }]);
    assert.deepEqual(run("/s/nested").files, ["/s/plain", ...sh]);
    const loop = run("/s/loop1");
    assert.equal(loop.errors.length, 1);
    assert.match(loop.errors[0].message, /more than 4 levels of #! interpreters/);
    assert.deepEqual(run("/s/relative").errors, [{
      path: "/s/relative",
      message: '/s/relative: #! interpreter "fakesh" is not an absolute path',
    }]);
    assert.deepEqual(run("/s/gone").missing, [{
      needed: "/bin/gone",
      by: "/s/gone",
      kind: "interpreter",
    }]);
  } finally {
    cleanup();
  }
});

Deno.test("parseShebang follows the kernel's rules", () => {
  const p = (s: string | Uint8Array) =>
    parseShebang(typeof s === "string" ? enc.encode(s) : s, "f");
  assert.equal(p("no shebang"), null);
  assert.equal(p("#"), null);
  assert.deepEqual(p("#!/bin/sh"), { interpreter: "/bin/sh", argument: null });
  assert.deepEqual(p("#!  /bin/sh  -e -x \r\nrest"), { interpreter: "/bin/sh", argument: "-e -x" });
  assert.deepEqual(p("#!/bin/sh\t\n"), { interpreter: "/bin/sh", argument: null });
  assert.throws(() => p("#!\n"), /f: #! line names no interpreter/);
  assert.throws(() => p(`#!/${"x".repeat(300)}`), /interpreter name longer than 256 bytes/);
  // A long argument is cut at 256 bytes by the kernel, not refused.
  const long = p(`#!/bin/sh ${"a".repeat(400)}`);
  assert.equal(long?.interpreter, "/bin/sh");
  assert.throws(() => p(new Uint8Array([0x23, 0x21, 0x2f, 0xff, 0xfe])), /not valid UTF-8/);
});

Deno.test("envProgram picks the program env would run", () => {
  assert.equal(envProgram("python3"), "python3");
  assert.equal(envProgram("python3 -u"), "python3 -u");
  assert.equal(envProgram("-S python3 -u"), "python3");
  assert.equal(envProgram("-Spython3"), "python3");
  assert.equal(envProgram("--split-string=python3 -u"), "python3");
  assert.equal(envProgram("-S -i -u VAR A=b perl -w"), "perl");
  assert.equal(envProgram("-i"), null);
  assert.equal(envProgram("A=b"), null);
});

// ---------------------------------------------------------------------------------------------
// Search-path details.

Deno.test("expandSearchPath substitutes DSTs like the loader", () => {
  assert.deepEqual(
    expandSearchPath(
      "$ORIGIN/../lib:${ORIGIN}/x:/a/$LIB/b:/p/$PLATFORM/:$ORIGINAL/y",
      "/o",
      X86_64,
    ),
    ["/o/../lib", "/o/x", "/a/lib/x86_64-linux-gnu/b", "/p/x86_64", "$ORIGINAL/y"].filter((d) =>
      d.startsWith("/")
    ),
  );
  assert.deepEqual(expandSearchPath("/x/$ORIGINAL", "/o", X86_64), ["/x/$ORIGINAL"]);
  assert.deepEqual(expandSearchPath("$ORIGIN/lib:/ok", null, X86_64), ["/ok"]);
  assert.deepEqual(expandSearchPath("::relative:/ok//:/", "/o", X86_64), ["/ok", "/"]);
  assert.deepEqual(expandSearchPath("/p/$PLATFORM", "/o", { ...X86_64, machine: 21 }), []);
  assert.deepEqual(expandSearchPath("/p/$PLATFORM/$LIB", "/o", I386), [
    "/p/i686/lib/i386-linux-gnu",
  ]);
});

Deno.test("default directories and interpreters per architecture", () => {
  assert.deepEqual(defaultLibraryDirs(X86_64), [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib",
    "/usr/lib",
  ]);
  assert.deepEqual(defaultLibraryDirs(I386), [
    "/lib/i386-linux-gnu",
    "/usr/lib/i386-linux-gnu",
    "/lib32",
    "/usr/lib32",
    "/lib",
    "/usr/lib",
  ]);
  assert.deepEqual(
    defaultLibraryDirs({ ...X86_64, machine: EM_AARCH64 })[0],
    "/lib/aarch64-linux-gnu",
  );
  assert.deepEqual(defaultLibraryDirs({ ...X86_64, machine: 0x1234 }), [
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
  ]);
  assert.equal(defaultInterpreter(X86_64), "/lib64/ld-linux-x86-64.so.2");
  assert.equal(defaultInterpreter(I386), "/lib/ld-linux.so.2");
  assert.equal(
    defaultInterpreter({ elfClass: 32, endian: "little", machine: 40, flags: 0x05000400 }),
    "/lib/ld-linux-armhf.so.3",
  );
});
