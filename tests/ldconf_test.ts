import assert from "node:assert/strict";
import { readLdSoConf } from "../lib/engine/ldconf.ts";
import { componentMatcher, expandGlob } from "../lib/engine/glob.ts";
import { tempDir } from "./helpers.ts";
import { writeFileIn } from "./elf_fixture.ts";

function conf(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const t = tempDir("ldconf");
  for (const [path, text] of Object.entries(files)) writeFileIn(t.dir, path, text, 0o644);
  return t;
}

Deno.test("ld.so.conf: directories, comments, hwcap lines, =TYPE suffixes, sorted include globs", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": [
      "# comment",
      "include /etc/ld.so.conf.d/*.conf",
      "/usr/local/lib   # trailing comment",
      "  /opt/a/lib/  ",
      "/opt/libc5=libc5",
      "hwcap 1 nosegneg",
      "HWCAP 2 other",
      "/usr/local/lib",
      "",
    ].join("\n"),
    "/etc/ld.so.conf.d/b.conf": "/b/lib\n",
    "/etc/ld.so.conf.d/a.conf": "/a/lib\n",
    "/etc/ld.so.conf.d/.hidden.conf": "/hidden\n",
    "/etc/ld.so.conf.d/c.conf.dpkg-old": "/old\n",
  });
  try {
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir });
    assert.deepEqual(r.dirs, ["/a/lib", "/b/lib", "/usr/local/lib", "/opt/a/lib", "/opt/libc5"]);
    assert.deepEqual(r.warnings, []);
  } finally {
    cleanup();
  }
});

Deno.test("ld.so.conf: relative includes are relative to the including file; several patterns per line", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": "include sub/*.conf other.conf\n",
    "/etc/sub/one.conf": "/one\ninclude ../deeper/x?.conf\n",
    "/etc/deeper/x1.conf": "/x1\n",
    "/etc/deeper/x2.conf": "/x2\n",
    "/etc/deeper/xx.conf": "/xx-not-matched-by-x?-twice\n",
    "/etc/other.conf": "/other\n",
  });
  try {
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir });
    assert.deepEqual(r.dirs, ["/one", "/x1", "/x2", "/xx-not-matched-by-x?-twice", "/other"]);
    assert.deepEqual(r.warnings, []);
  } finally {
    cleanup();
  }
});

Deno.test("ld.so.conf: include cycles are cut and depth is bounded", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": "include /etc/a.conf\n/top\n",
    "/etc/a.conf": "/a\ninclude /etc/b.conf\n",
    "/etc/b.conf": "/b\ninclude /etc/a.conf\ninclude /etc/ld.so.conf\n",
    "/etc/self.conf": "include self.conf\n/self\n",
  });
  try {
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir });
    assert.deepEqual(r.dirs, ["/a", "/b", "/top"]);
    assert.deepEqual(r.warnings, [
      "/etc/a.conf: include cycle (/etc/ld.so.conf -> /etc/a.conf -> /etc/b.conf -> /etc/a.conf), not followed",
      "/etc/ld.so.conf: include cycle (/etc/ld.so.conf -> /etc/a.conf -> /etc/b.conf -> /etc/ld.so.conf), not followed",
    ]);
    const self = readLdSoConf("/etc/self.conf", { root: dir });
    assert.deepEqual(self.dirs, ["/self"]);
    assert.equal(self.warnings.length, 1);
  } finally {
    cleanup();
  }
  // A chain longer than the bound (distinct files, no cycle).
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`/etc/c${i}.conf`] = `/d${i}\ninclude /etc/c${i + 1}.conf\n`;
  const deep = conf(files);
  try {
    const r = readLdSoConf("/etc/c0.conf", { root: deep.dir, maxDepth: 5 });
    assert.deepEqual(r.dirs, ["/d0", "/d1", "/d2", "/d3", "/d4", "/d5"]);
    assert.deepEqual(r.warnings, ["/etc/c6.conf: includes nested deeper than 5, not followed"]);
  } finally {
    deep.cleanup();
  }
});

Deno.test("ld.so.conf: problems are warnings, a missing top file is simply empty", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf":
      "relative/dir\ninclude /etc/missing.conf\ninclude /etc/nomatch/*.conf\n/ok\n",
  });
  try {
    Deno.mkdirSync(`${dir}/etc/adir.conf`);
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir });
    assert.deepEqual(r.dirs, ["/ok"]);
    assert.deepEqual(r.warnings, [
      '/etc/ld.so.conf:1: "relative/dir" is not an absolute directory',
    ]);
    assert.deepEqual(readLdSoConf("/etc/none.conf", { root: dir }), { dirs: [], warnings: [] });
    Deno.writeTextFileSync(`${dir}/etc/inc.conf`, "include /etc/adir.conf\n");
    assert.deepEqual(readLdSoConf("/etc/inc.conf", { root: dir }).warnings, [
      "/etc/adir.conf: not a regular file",
    ]);
  } finally {
    cleanup();
  }
});

Deno.test("glob translation and expansion", () => {
  assert.ok(componentMatcher("*.conf").test("a.conf"));
  assert.ok(!componentMatcher("*.conf").test(".a.conf"));
  assert.ok(componentMatcher(".*.conf").test(".a.conf"));
  assert.ok(componentMatcher("x[0-9].c[!x]nf").test("x7.conf"));
  assert.ok(!componentMatcher("x[0-9].c[!o]nf").test("x7.conf"));
  assert.ok(componentMatcher("a[^b]c").test("axc"));
  assert.ok(componentMatcher("a+b(c).conf").test("a+b(c).conf"));
  assert.ok(componentMatcher("[abc").test("[abc"));
  const { dir, cleanup } = conf({});
  try {
    for (let i = 0; i < 20; i++) {
      writeFileIn(dir, `/d/f${String(i).padStart(2, "0")}.conf`, "", 0o644);
    }
    const warnings: string[] = [];
    const all = expandGlob("/d/*.conf", {
      root: dir,
      maxMatches: 100,
      onOverflow: (m) => warnings.push(m),
    });
    assert.equal(all.length, 20);
    assert.equal(all[0], "/d/f00.conf");
    const some = expandGlob("/d/*.conf", {
      root: dir,
      maxMatches: 5,
      onOverflow: (m) => warnings.push(m),
    });
    assert.equal(some.length, 5);
    assert.match(warnings[0], /matches more than 5 paths/);
    assert.deepEqual(expandGlob("/d/f01.conf", { root: dir, maxMatches: 5 }), ["/d/f01.conf"]);
    assert.deepEqual(expandGlob("/d/nope.conf", { root: dir, maxMatches: 5 }), []);
    assert.deepEqual(expandGlob("/*/f1?.conf", { root: dir, maxMatches: 100 }).length, 10);
  } finally {
    cleanup();
  }
});

Deno.test("glob classes: ranges, negation, a leading ], reversed ranges match nothing", () => {
  const m = (p: string, n: string) => componentMatcher(p).test(n);
  assert.ok(m("[]x]", "]") && m("[]x]", "x") && !m("[]x]", "y"));
  assert.ok(m("[!]x]", "y") && !m("[!]x]", "]"));
  assert.ok(m("[a-]", "-") && m("[-a]", "-") && !m("[a-c]", "-"));
  assert.ok(m("f?o", "f\u{1F600}o"), "? is one code point");
  assert.ok(m("a\\b", "a\\b"), "backslash is literal");
  // bash: `[z-a]` is an empty range, not an error; the rest of the class still matches.
  assert.ok(!m("[z-a]", "a") && !m("[z-a]", "z") && !m("[z-a]", "-"));
  assert.ok(m("[z-ab]", "b") && !m("[z-ab]", "a"));
  assert.ok(m("[!z-a]", "q"));
  assert.ok(m("*", "") && m("**a**", "xay") && !m("*", ".x") && m(".*", ".x"));
});

Deno.test("glob: many stars against a long name answer without backtracking blow-up", () => {
  const pattern = "*a*a*a*a*a*a*a*ab";
  const name = "a".repeat(100);
  assert.equal(componentMatcher(pattern).test(name), false);
  assert.equal(componentMatcher(pattern).test(name + "b"), true);
  assert.equal(componentMatcher("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?x").test("y".repeat(200)), false);
});

Deno.test("ld.so.conf: an include with a reversed range matches nothing, never throws", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": "include /etc/ld.so.conf.d/[z-a]*.conf\ninclude /etc/ld.so.conf.d/*.conf\n",
    "/etc/ld.so.conf.d/a.conf": "/a/lib\n",
  });
  try {
    assert.deepEqual(readLdSoConf("/etc/ld.so.conf", { root: dir }), {
      dirs: ["/a/lib"],
      warnings: [],
    });
    assert.deepEqual(expandGlob("/etc/[z-a]*", { root: dir }), []);
  } finally {
    cleanup();
  }
});

Deno.test("the real /etc/ld.so.conf covers the multiarch directory", () => {
  const r = readLdSoConf();
  assert.deepEqual(r.warnings, []);
  assert.ok(
    r.dirs.includes("/usr/lib/x86_64-linux-gnu") || r.dirs.includes("/lib/x86_64-linux-gnu"),
    r.dirs.join(" "),
  );
});

Deno.test("ld.so.conf: one file included under many spellings is read once", () => {
  const spellings = [
    "/etc/ld.so.conf",
    "/./etc/ld.so.conf",
    "//etc/ld.so.conf",
    "/etc/./ld.so.conf",
    "/etc//ld.so.conf",
    "/etc/../etc/ld.so.conf",
    "/etc/link.conf",
    "/./etc/link.conf",
    "/etc/ld.so.con[f]",
    "/e?c/ld.so.conf",
  ];
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": `/top\n${spellings.map((s) => `include ${s}\n`).join("")}/after\n`,
  });
  try {
    Deno.symlinkSync("ld.so.conf", `${dir}/etc/link.conf`);
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir });
    assert.deepEqual(r.dirs, ["/top", "/after"]);
    assert.equal(r.warnings.length, spellings.length);
    for (const w of r.warnings) assert.match(w, /include cycle/);
  } finally {
    cleanup();
  }
  // A lattice of distinct files, each including the next layer twice, without a cycle.
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) {
    files[`/etc/l${i}.conf`] = `/d${i}\ninclude /etc/l${i + 1}.conf /./etc/l${i + 1}.conf\n`;
  }
  const lattice = conf(files);
  try {
    const r = readLdSoConf("/etc/l0.conf", { root: lattice.dir, maxDepth: 64 });
    assert.equal(r.dirs.length, 40);
    assert.deepEqual(r.warnings, []);
  } finally {
    lattice.cleanup();
  }
});

Deno.test("ld.so.conf: the total number of includes is bounded", () => {
  const { dir, cleanup } = conf({
    "/etc/ld.so.conf": "include /etc/d/*.conf /etc/d/*.conf /etc/d/*.conf\n",
  });
  try {
    for (let i = 0; i < 10; i++) writeFileIn(dir, `/etc/d/${i}.conf`, `/d${i}\n`, 0o644);
    const r = readLdSoConf("/etc/ld.so.conf", { root: dir, maxIncludes: 15 });
    assert.equal(r.dirs.length, 10);
    assert.deepEqual(r.warnings, ["/etc/ld.so.conf:1: more than 15 includes, rest not followed"]);
  } finally {
    cleanup();
  }
});
