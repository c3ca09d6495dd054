/**
 * jk_update's decisions on fake trees: a private "host" directory in a temp dir and a jail
 * holding its mirror at the same absolute path, so every rule is exercised without touching
 * the real system. The plan is inspected, and the `remove` operation is applied for real.
 */
import assert from "node:assert/strict";
import { type Finding, planUpdate, requestedDir, scanJail } from "../lib/admin/update.ts";
import { sameContent } from "../lib/core/safeio.ts";
import { applyPlan } from "../lib/engine/apply.ts";
import { JailkitError } from "../lib/core/errors.ts";
import type { Op, Plan } from "../lib/core/plan.ts";
import { rootTest, tempDir } from "./helpers.ts";

type Entry = string | { link: string } | { dir: true };

/** Creates `spec` under `base`: strings are file contents, `{link}` symlinks, `{dir}` dirs. */
function build(base: string, spec: Record<string, Entry>): void {
  for (const [rel, e] of Object.entries(spec)) {
    const p = `${base}/${rel}`;
    Deno.mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true });
    if (typeof e === "string") Deno.writeTextFileSync(p, e);
    else if ("link" in e) Deno.symlinkSync(e.link, p);
    else Deno.mkdirSync(p, { recursive: true });
  }
}

interface Fixture {
  /** The fake host directory (an absolute host path). */
  host: string;
  jail: string;
  /** Where `host` is mirrored inside the jail, as a host path. */
  mirror: string;
  cleanup: () => void;
}

/** `spec` on the fake host, `jailSpec` (the same by default) at its mirror in the jail. */
function fixture(spec: Record<string, Entry>, jailSpec: Record<string, Entry> = spec): Fixture {
  const { dir, cleanup } = tempDir("update");
  const host = `${dir}/host`;
  const jail = `${dir}/jail`;
  const mirror = `${jail}${host}`;
  Deno.mkdirSync(host, { recursive: true });
  Deno.mkdirSync(mirror, { recursive: true });
  build(host, spec);
  build(mirror, jailSpec);
  // Written in the same millisecond as the host's, a jail file of the same size would pass
  // for the host's copy (size and mtime); copies made by the tools get the host's time.
  const age = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) age(p);
      else if (e.isFile) Deno.utimeSync(p, 1e9, 1e9);
    }
  };
  age(mirror);
  return { host, jail, mirror, cleanup };
}

/** The findings that matter (verbose lines dropped), with paths relative to the mirror. */
function decided(
  f: Fixture,
  dirs = [`${f.host}/`],
  more: Partial<Parameters<typeof scanJail>[1]> = {},
) {
  const rel = (p: string) => p.replaceAll(f.jail, "J").replaceAll(f.host, "H");
  const inJail = (p: string) => rel(f.jail + p);
  return scanJail(f.jail, { dirs, skips: [], deleteDeprecated: false, ...more })
    .filter((x) => x.kind !== "verbose")
    .map((x): Record<string, unknown> => {
      switch (x.kind) {
        case "update":
          return { kind: x.kind, inJail: inJail(x.inJail), to: x.to, target: x.target, was: x.was };
        case "remove":
        case "keep":
          return { ...x, inJail: inJail(x.inJail) };
        case "skip":
          return { ...x, path: rel(x.path) };
        case "conflict":
          return { ...x, inJail: inJail(x.inJail), host: rel(x.host) };
        case "error":
          return { kind: x.kind, message: rel(x.message) };
      }
    });
}

/** The lines a plan prints without -v. */
function notes(plan: Plan): string[] {
  return plan.ops.flatMap((o) => o.op === "note" && !o.msg.verbose ? [o.msg.text] : []);
}

function opsOf(plan: Plan, kind: Op["op"]): Op[] {
  return plan.ops.filter((o) => o.op === kind);
}

Deno.test("identical trees: nothing to update, nothing deprecated", () => {
  const f = fixture({
    "a.txt": "alpha",
    "sub/b": "beta",
    "l": { link: "a.txt" },
    "e": { dir: true },
  });
  try {
    assert.deepEqual(decided(f), []);
  } finally {
    f.cleanup();
  }
});

Deno.test("a file is outdated when its bytes differ; the host's size and mtime mean a current copy", () => {
  const f = fixture(
    { "size": "host-size", "same-size": "AAAA", "same": "same", "newer": "data", "kept": "XXXX" },
    { "size": "jail", "same-size": "AAAB", "same": "same", "newer": "data", "kept": "XXXY" },
  );
  try {
    // A time that differs only makes the bytes count: a jail copy newer than the host with the
    // same bytes is up to date, one with older times and other bytes of the same length is not.
    Deno.utimeSync(`${f.mirror}/newer`, 2e9, 2e9);
    Deno.utimeSync(`${f.mirror}/same-size`, 1, 1);
    Deno.utimeSync(`${f.host}/same-size`, 2, 2);
    // The host's size and mtime, as every copy gets them, are taken as the host's copy without
    // reading it (jk_cp -f decides so too; jk_check reads every byte and reports this one).
    Deno.utimeSync(`${f.mirror}/kept`, 1, 1);
    Deno.utimeSync(`${f.host}/kept`, 1, 1);
    assert.deepEqual(decided(f), [
      { kind: "update", inJail: "JH/same-size", to: "file", target: undefined, was: "file" },
      { kind: "update", inJail: "JH/size", to: "file", target: undefined, was: "file" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("mtimes are compared to the millisecond, the precision of the copy engine", () => {
  const f = fixture({ "sub-ms": "host", "other-ms": "host" }, {
    "sub-ms": "jail",
    "other-ms": "jail",
  });
  try {
    // The host file's nanoseconds below the millisecond never reach a copy (futimens from
    // milliseconds): the same millisecond and size is the host's copy. (Deno.utimeSync keeps
    // milliseconds only; touch sets the nanoseconds.)
    const touch = new Deno.Command("touch", { args: ["-d", "@1000.0015678", `${f.host}/sub-ms`] });
    assert.ok(touch.outputSync().success);
    assert.equal(Deno.lstatSync(`${f.host}/sub-ms`).mtime?.getTime(), 1000001);
    Deno.utimeSync(`${f.mirror}/sub-ms`, 1000.001, 1000.001);
    Deno.utimeSync(`${f.host}/other-ms`, 1000.0025, 1000.0025);
    Deno.utimeSync(`${f.mirror}/other-ms`, 1000.001, 1000.001);
    assert.deepEqual(decided(f), [
      { kind: "update", inJail: "JH/other-ms", to: "file", target: undefined, was: "file" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("a jail name that is not UTF-8 is reported, never skipped", () => {
  const f = fixture({ "a": "a" });
  try {
    // Created through a byte path: Deno's own functions would pass a lossy name around.
    const name = new Uint8Array([0x62, 0xff, 0x63]);
    const dir = new TextEncoder().encode(`${f.mirror}/`);
    const path = new Uint8Array([...dir, ...name]);
    const sh = new Deno.Command("sh", {
      args: [
        "-c",
        'printf x > "$(printf "$0")"',
        [...path].map((b) => `\\${b.toString(8)}`).join(""),
      ],
    }).outputSync();
    assert.ok(sh.success, new TextDecoder().decode(sh.stderr));
    assert.deepEqual(decided(f), [
      { kind: "error", message: "cannot compare JH/b\uFFFDc: its name is not UTF-8" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("verbose: false drops the scanning and checking lines, and nothing else", () => {
  const f = fixture({ "a": "a", "sub/b": "b", "l": { link: "a" } }, { "a": "A", "sub/b": "b" });
  try {
    const scan = (verbose?: boolean) =>
      scanJail(f.jail, { dirs: [`${f.host}/`], skips: [], deleteDeprecated: false, verbose });
    const all = scan();
    assert.ok(all.some((x) => x.kind === "verbose" && x.text.startsWith("checking ")));
    assert.ok(all.some((x) => x.kind === "verbose" && x.text.startsWith("scanning ")));
    assert.deepEqual(scan(false), all.filter((x) => x.kind !== "verbose"));
  } finally {
    f.cleanup();
  }
});

Deno.test("sameContent: every byte, hard links, and never through a final symlink", () => {
  const { dir, cleanup } = tempDir("same");
  try {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    Deno.writeFileSync(`${dir}/a`, big);
    const other = big.slice();
    other[150_000] ^= 1; // one byte differs, far from the start
    Deno.writeFileSync(`${dir}/b`, other);
    Deno.writeFileSync(`${dir}/c`, big);
    Deno.linkSync(`${dir}/a`, `${dir}/hard`);
    Deno.symlinkSync(`${dir}/a`, `${dir}/sym`);
    assert.equal(sameContent(`${dir}/a`, `${dir}/b`), false);
    assert.equal(sameContent(`${dir}/a`, `${dir}/c`), true);
    assert.equal(sameContent(`${dir}/a`, `${dir}/hard`), true);
    assert.throws(() => sameContent(`${dir}/a`, `${dir}/sym`), /ELOOP|symbolic links|loop/i);
  } finally {
    cleanup();
  }
});

Deno.test("host symlink changes are propagated; type changes between file and link too", () => {
  const f = fixture(
    { "t1": "1", "t2": "2", "link": { link: "t2" }, "was-file": { link: "t1" }, "was-link": "x" },
    { "t1": "1", "t2": "2", "link": { link: "t1" }, "was-file": "1", "was-link": { link: "t1" } },
  );
  try {
    assert.deepEqual(decided(f), [
      { kind: "update", inJail: "JH/link", to: "symlink", target: "t2", was: "symlink" },
      { kind: "update", inJail: "JH/was-file", to: "symlink", target: "t1", was: "file" },
      { kind: "update", inJail: "JH/was-link", to: "file", target: undefined, was: "symlink" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("a planted jail symlink to a host file is replaced, never followed", async () => {
  const f = fixture({ "prog": "the program" }, {});
  try {
    const secret = `${f.host}/../secret`;
    Deno.writeTextFileSync(secret, "the program"); // same bytes: following it would say "equal"
    Deno.symlinkSync(secret, `${f.mirror}/prog`);
    const [d] = decided(f);
    assert.deepEqual(d, {
      kind: "update",
      inJail: "JH/prog",
      to: "file",
      target: undefined,
      was: "symlink",
    });
    const { plan } = await planUpdate(f.jail, {
      dirs: [f.host],
      skips: [],
      deleteDeprecated: false,
      hardlink: false,
      dryRun: false,
    });
    const copies = opsOf(plan, "copy") as Extract<Op, { op: "copy" }>[];
    assert.equal(copies.length, 1);
    assert.equal(copies[0].path, `${f.host}/prog`);
    assert.equal(copies[0].replace, true, "the link is replaced by rename, not written through");
  } finally {
    f.cleanup();
  }
});

Deno.test("entries the host lacks are kept and reported once, unless removal is asked for", () => {
  const f = fixture({ "keep": "k" }, {
    "keep": "k",
    "local.sh": "#!/bin/sh",
    "site/a": "a",
    "site/deep/b": "b",
    "dangling": { link: "nowhere" },
  });
  try {
    assert.deepEqual(decided(f), [
      { kind: "keep", inJail: "JH/dangling", dir: false, why: "not on the host" },
      { kind: "keep", inJail: "JH/local.sh", dir: false, why: "not on the host" },
      { kind: "keep", inJail: "JH/site", dir: true, why: "not on the host" },
    ]);
    // Removal: children first, each directory after what it holds.
    assert.deepEqual(decided(f, [`${f.host}/`], { deleteDeprecated: true }), [
      { kind: "remove", inJail: "JH/dangling", dir: false },
      { kind: "remove", inJail: "JH/local.sh", dir: false },
      { kind: "remove", inJail: "JH/site/a", dir: false },
      { kind: "remove", inJail: "JH/site/deep/b", dir: false },
      { kind: "remove", inJail: "JH/site/deep", dir: true },
      { kind: "remove", inJail: "JH/site", dir: true },
    ]);
    // A skipped entry keeps its directories: nothing is removed that would take it along.
    assert.deepEqual(
      decided(f, [`${f.host}/`], { deleteDeprecated: true, skips: [`${f.host}/site/deep/b/`] }),
      [
        { kind: "remove", inJail: "JH/dangling", dir: false },
        { kind: "remove", inJail: "JH/local.sh", dir: false },
        { kind: "remove", inJail: "JH/site/a", dir: false },
        { kind: "skip", path: "JH/site/deep/b", why: "skipped" },
        { kind: "keep", inJail: "JH/site/deep", dir: true, why: "not emptied" },
        { kind: "keep", inJail: "JH/site", dir: true, why: "not emptied" },
      ],
    );
  } finally {
    f.cleanup();
  }
});

Deno.test("a directory on one side and something else on the other is left alone", () => {
  const f = fixture(
    { "d-vs-file/x": "x", "file-vs-d": "f", "link-vs-d": { link: "file-vs-d" } },
    { "d-vs-file": "jail file", "file-vs-d/y": "y", "link-vs-d/z": "z" },
  );
  try {
    assert.deepEqual(decided(f), [
      {
        kind: "conflict",
        inJail: "JH/d-vs-file",
        host: "H/d-vs-file",
        jailKind: "file",
        hostKind: "dir",
      },
      {
        kind: "conflict",
        inJail: "JH/file-vs-d",
        host: "H/file-vs-d",
        jailKind: "dir",
        hostKind: "file",
      },
      {
        kind: "conflict",
        inJail: "JH/link-vs-d",
        host: "H/link-vs-d",
        jailKind: "dir",
        hostKind: "symlink",
      },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("skips match host and jail spellings, with or without a trailing slash", () => {
  const f = fixture({ "a": "1", "b": "1", "c/d": "1" }, { "a": "2", "b": "2", "c/d": "2" });
  try {
    const r = decided(f, [`${f.host}/`], {
      skips: [`${f.host}/a`, `${f.jail}${f.host}/b/`, `${f.host}/c/`],
    });
    assert.deepEqual(r, [
      { kind: "skip", path: "JH/a", why: "skipped" },
      { kind: "skip", path: "JH/b", why: "skipped" },
      { kind: "skip", path: "JH/c", why: "skipped" },
    ]);
    // A skipped requested directory: jailkit's line, with the trailing slash.
    assert.deepEqual(decided(f, [`${f.host}/`], { skips: [f.host] }), [
      { kind: "skip", path: "JH/", why: "skipped" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("usr-merged layout: bin -> usr/bin is scanned once, whatever the order", () => {
  const spec: Record<string, Entry> = {
    "usr/bin/ls": "ls",
    "usr/bin/cat": "cat",
    "usr/lib/libx.so.1": "lib",
    "bin": { link: "usr/bin" },
    "lib": { link: "usr/lib" },
  };
  const f = fixture(spec, { ...spec, "usr/bin/ls": "old ls" });
  try {
    const expected = [
      { kind: "update", inJail: "JH/usr/bin/ls", to: "file", target: undefined, was: "file" },
    ];
    const h = f.host;
    assert.deepEqual(decided(f, [`${h}/bin/`, `${h}/lib/`, `${h}/usr/`]), expected);
    assert.deepEqual(decided(f, [`${h}/usr/`, `${h}/bin/`, `${h}/lib`]), expected);
    assert.deepEqual(decided(f, [`${h}/usr/bin`, `${h}/usr/`]), expected);
    // The line for a directory reached twice is a verbose one.
    const all = scanJail(f.jail, {
      dirs: [`${h}/usr/`, `${h}/bin/`],
      skips: [],
      deleteDeprecated: false,
    });
    assert.ok(
      all.some((x) =>
        x.kind === "verbose" &&
        x.text === `${f.mirror}/bin/ is ${f.mirror}/usr/bin/, already scanned`
      ),
    );
    // Skipping the directory by its canonical name also skips it through the symlink.
    assert.deepEqual(decided(f, [`${h}/bin/`], { skips: [`${h}/usr/bin`] }), [
      { kind: "skip", path: "JH/bin/", why: "skipped" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("a jail that was not usr-merged is compared through the host's symlinks", () => {
  // The host was usr-merged after the jail was built: JAIL/bin is a real directory.
  const f = fixture(
    { "usr/bin/ls": "new ls", "bin": { link: "usr/bin" } },
    { "usr/bin/ls": "new ls", "bin/ls": "old ls" },
  );
  try {
    assert.deepEqual(decided(f, [`${f.host}/bin/`, `${f.host}/usr/`]), [
      { kind: "update", inJail: "JH/bin/ls", to: "file", target: undefined, was: "file" },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("a requested directory the jail lacks is a skip; a planted jail symlink an error", () => {
  const f = fixture({ "opt/x": "x", "srv/y": "y" }, { "srv": { dir: true } });
  try {
    Deno.symlinkSync("/etc", `${f.mirror}/opt`);
    assert.deepEqual(decided(f, [`${f.host}/missing/`, `${f.host}/opt/`]), [
      { kind: "skip", path: "JH/missing/", why: "not in the jail" },
      {
        kind: "error",
        message:
          `JH/opt is a symlink to /etc but H/opt is a directory on the host: not scanning JH/opt/`,
      },
    ]);
  } finally {
    f.cleanup();
  }
});

Deno.test("the jail's own files in /etc are never replaced from the host", () => {
  const { dir, cleanup } = tempDir("own");
  try {
    Deno.mkdirSync(`${dir}/etc/jailkit`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    Deno.writeTextFileSync(`${dir}/etc/group`, "root:x:0:\n");
    const found = scanJail(dir, { dirs: ["/etc/"], skips: [], deleteDeprecated: true })
      .filter((x) => x.kind !== "verbose");
    assert.deepEqual(found, [
      { kind: "skip", path: `${dir}/etc/group`, why: "jail's own file" },
      { kind: "skip", path: `${dir}/etc/jailkit`, why: "jail's own file" },
      { kind: "skip", path: `${dir}/etc/passwd`, why: "jail's own file" },
    ]);
  } finally {
    cleanup();
  }
});

Deno.test("requestedDir strips the jail prefix and refuses the whole jail", () => {
  assert.equal(requestedDir("/srv/j", "/srv/j/usr/"), "/usr");
  assert.equal(requestedDir("/srv/j", "/usr//lib/"), "/usr/lib");
  assert.equal(requestedDir("/srv/j", "opt"), "/opt");
  assert.equal(requestedDir("/srv/j", "/srv/jail2/x"), "/srv/jail2/x");
  for (const whole of ["/", "/srv/j", "/srv/j/", "/usr/.."]) {
    assert.throws(() => requestedDir("/srv/j", whole), (e: unknown) => {
      return e instanceof JailkitError && e.kind === "usage" && /whole jail/.test(e.message);
    });
  }
});

Deno.test("planUpdate: jailkit's lines, atomic replacement, removals, ldconfig only after copies", async () => {
  const f = fixture(
    { "a": "new", "t": "t", "l": { link: "t" } },
    { "a": "old", "t": "t", "l": { link: "a" }, "gone": "g", "gone-dir/x": "x" },
  );
  const base = { dirs: [f.host], skips: [], hardlink: false };
  try {
    const p = (rel: string) => `${f.mirror}/${rel}`;
    const real = await planUpdate(f.jail, { ...base, deleteDeprecated: true, dryRun: false });
    assert.equal(real.problems, 0);
    assert.deepEqual(notes(real.plan), [
      `removing outdated file ${p("a")}`,
      `removing outdated file ${p("l")}`,
    ]);
    const copy = opsOf(real.plan, "copy")[0] as Extract<Op, { op: "copy" }>;
    assert.deepEqual([copy.src, copy.path, copy.replace], [`${f.host}/a`, `${f.host}/a`, true]);
    assert.equal(copy.msg?.text, `Copying ${f.host}/a to ${p("a")}`);
    const link = opsOf(real.plan, "symlink")[0] as Extract<Op, { op: "symlink" }>;
    assert.deepEqual([link.path, link.target, link.replace], [`${f.host}/l`, "t", true]);
    assert.equal(link.msg?.text, `Creating symlink ${p("l")} to t`);
    assert.deepEqual(
      opsOf(real.plan, "remove").map((o) => (o as { msg: { text: string } }).msg.text),
      [
        `removing deprecated file ${p("gone")}`,
        `removing deprecated file ${p("gone-dir/x")}`,
        `removing deprecated directory ${p("gone-dir")}`,
      ],
    );
    assert.equal(opsOf(real.plan, "ldconfig").length, 1, "something was copied");

    const dry = await planUpdate(f.jail, { ...base, deleteDeprecated: true, dryRun: true });
    assert.deepEqual(notes(dry.plan), [
      `will update outdated file ${p("a")}`,
      `will remove deprecated file ${p("gone")}`,
      `will remove deprecated file ${p("gone-dir/x")}`,
      `will remove deprecated directory ${p("gone-dir")}`,
      `will update outdated file ${p("l")}`,
    ]);

    const kept = await planUpdate(f.jail, { ...base, deleteDeprecated: false, dryRun: false });
    assert.ok(
      notes(kept.plan).includes(
        `WARNING: ${
          p("gone-dir")
        }/ is not on the host; keeping it (use --delete-deprecated to remove)`,
      ),
    );
    assert.equal(opsOf(kept.plan, "remove").length, 0);
  } finally {
    f.cleanup();
  }
  const same = fixture({ "a": "same" });
  try {
    const r = await planUpdate(same.jail, {
      dirs: [same.host],
      skips: [],
      hardlink: true,
      deleteDeprecated: true,
      dryRun: false,
    });
    assert.deepEqual(r.plan.ops.filter((o) => o.op !== "note" || !o.msg.verbose), []);
  } finally {
    same.cleanup();
  }
});

Deno.test("planUpdate counts what could not be compared as a problem", async () => {
  const f = fixture({ "opt/x": "x" }, {});
  try {
    Deno.symlinkSync("/etc", `${f.mirror}/opt`);
    const r = await planUpdate(f.jail, {
      dirs: [`${f.host}/opt`],
      skips: [],
      hardlink: false,
      deleteDeprecated: false,
      dryRun: false,
    });
    assert.equal(r.problems, 1);
    const err = r.plan.ops.find((o) => o.op === "note" && o.msg.stream === "stderr");
    assert.match((err as { msg: { text: string } }).msg.text, /^ERROR: .* is a symlink to \/etc/);
  } finally {
    f.cleanup();
  }
});

rootTest("owner and set-id bits of the jail copy are noticed", async () => {
  const f = fixture({ "owned": "new", "suid": "new", "plain": "new" }, {
    "owned": "old",
    "suid": "old",
    "plain": "old",
  });
  try {
    for (const p of [`${f.host}/owned`, `${f.mirror}/owned`]) Deno.chownSync(p, 4321, 4321);
    for (const p of [`${f.host}/suid`, `${f.mirror}/suid`]) Deno.chmodSync(p, 0o4755);
    Deno.chownSync(`${f.mirror}/plain`, 4321, 4321); // the host's is root's: not kept
    const found = scanJail(f.jail, { dirs: [f.host], skips: [], deleteDeprecated: false })
      .filter((x): x is Extract<Finding, { kind: "update" }> => x.kind === "update")
      .map((x) => [x.inJail.slice(f.host.length), x.keepOwner, x.wasSetid]);
    assert.deepEqual(found, [["/owned", true, false], ["/plain", false, false], [
      "/suid",
      false,
      true,
    ]]);
    const { plan } = await planUpdate(f.jail, {
      dirs: [f.host],
      skips: [],
      hardlink: false,
      deleteDeprecated: false,
      dryRun: false,
    });
    const attrs = Object.fromEntries(
      (opsOf(plan, "copy") as Extract<Op, { op: "copy" }>[]).map((o) => [
        o.path.slice(f.host.length),
        [o.attrs.uid, o.attrs.mode.toString(8)],
      ]),
    );
    assert.deepEqual(attrs, { "/owned": [4321, "644"], "/plain": [0, "644"], "/suid": [0, "755"] });
    const text = notes(plan).join("\n");
    assert.match(text, /WARNING: .*\/suid was installed set-uid\/set-gid; the updated copy is not/);
    assert.match(text, /removing setuid and setgid permissions from .*\/suid/);
  } finally {
    f.cleanup();
  }
});

Deno.test("the remove operation: the entry itself, never the jail, never through a symlink", () => {
  const { dir, cleanup } = tempDir("remove");
  try {
    const jail = `${dir}/jail`;
    build(jail, {
      "d/link": { link: "/etc/hostname" },
      "d/full/x": "x",
      "d/empty": { dir: true },
      "real/f": "keep me",
      "via": { link: "real" },
    });
    const remove = (path: string, isDir: boolean): Op => ({
      op: "remove",
      path,
      dir: isDir,
      what: isDir ? "deprecated directory" : "deprecated file",
    });
    const lines: string[] = [];
    const plan: Plan = {
      jail,
      ops: [
        remove("/d/link", false),
        remove("/d/empty", true),
        remove("/d/full", true),
        remove("/via/f", false),
        remove("/", true),
        remove("/d/never-there", false),
      ],
    };
    const r = applyPlan(plan, {
      mode: "apply",
      verbose: false,
      // One printed line per call: the printer escapes a newline inside a line.
      print: (_s, l) => lines.push(l),
    });
    assert.deepEqual(r.results.map((x) => x.status), [
      "done",
      "done",
      "failed",
      "failed",
      "failed",
      "done",
    ]);
    assert.equal(Deno.readTextFileSync("/etc/hostname").length > 0, true, "link target untouched");
    assert.throws(() => Deno.lstatSync(`${jail}/d/link`), Deno.errors.NotFound);
    assert.throws(() => Deno.lstatSync(`${jail}/d/empty`), Deno.errors.NotFound);
    assert.equal(Deno.readTextFileSync(`${jail}/real/f`), "keep me");
    // The line panels parse ends with the path; the reason is on the next line.
    assert.equal(lines[0], `ERROR: failed to remove deprecated directory ${jail}/d/full`);
    assert.match(lines[1], /^ {2}\(.*not empty.*\)$/i);
    assert.match(lines[2], /refusing to write through symlink .*\/via/);
    assert.match(lines[3], /refusing to remove the jail/);
  } finally {
    cleanup();
  }
});
