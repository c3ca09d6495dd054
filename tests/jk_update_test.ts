/**
 * jk_update end to end, as root: jails built with our jk_cp (from a private host tree under
 * the safe test root, which the tests then change) and with our jk_init (a usr-merged
 * basicshell jail compared with the real /bin, /lib, /usr), ISPConfig's command line, skips
 * from the command line and from jk_update.ini, planted symlinks and dry runs.
 * With JK_REFERENCE=/opt/jailkit-ref the same tests run jailkit 2.23's jk_update.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DENO, REPO_ROOT, rootTest, runTool, safeTestRoot, SYSTEM_PATH } from "./helpers.ts";

function sha(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

/** Names, types, modes, owners, times, link texts and contents of everything under `dir`. */
function digest(dir: string): string {
  const h = createHash("sha256");
  const walk = (p: string, rel: string) => {
    const st = Deno.lstatSync(p);
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${st.ino}\0${st.mtime?.getTime()}\0`);
    if (st.isSymlink) h.update(`L${Deno.readLinkSync(p)}\0`);
    else if (st.isFile) h.update(Deno.readFileSync(p));
    else if (st.isDirectory) {
      for (const n of [...Deno.readDirSync(p)].map((e) => e.name).sort()) {
        walk(`${p}/${n}`, `${rel}/${n}`);
      }
    }
  };
  walk(dir, "");
  return h.digest("hex");
}

/**
 * Builds jails with our jk_cp / jk_init even when JK_REFERENCE makes runTool run jailkit's
 * tools: only jk_update is under test.
 */
async function ours(tool: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", "--no-config", "--quiet", `${REPO_ROOT}/cli/${tool}.ts`, ...args],
    env: { NO_COLOR: "1", PATH: SYSTEM_PATH, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(
    out.code,
    0,
    `${tool} ${args.join(" ")}: ${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
  );
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** The prefixes of every stdout line ISPConfig ignores (or, for WARNING, logs). */
const PANEL_PREFIXES =
  /^(skip |removing outdated file |removing deprecated |Creating |Copying |Trying to link |WARNING: )/;

interface Setup {
  root: string;
  jail: string;
  /** The private host directory, copied into the jail with jk_cp. */
  host: string;
  /** Where `host` is in the jail, as a host path. */
  mirror: string;
  etc: string;
  cleanup: () => void;
}

/** A jail holding a copy of a private host tree made by our jk_cp. */
async function privateTree(label: string): Promise<Setup> {
  const { dir: root, cleanup } = safeTestRoot(label);
  const jail = `${root}/jail`;
  const host = `${root}/hostdir`;
  const etc = `${root}/etc-jailkit`;
  Deno.mkdirSync(jail, { mode: 0o755 });
  Deno.mkdirSync(`${host}/sub`, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(etc, { mode: 0o755 });
  for (
    const [name, text] of [
      ["a.txt", "alpha"],
      ["b.txt", "beta"],
      ["gone.txt", "gone"],
      [
        "t1",
        "one",
      ],
      ["t2", "two"],
      ["sub/c.txt", "gamma"],
    ]
  ) {
    Deno.writeTextFileSync(`${host}/${name}`, text);
  }
  Deno.symlinkSync("t1", `${host}/link`);
  await ours("jk_cp", ["-j", jail, host]);
  return { root, jail, host, mirror: `${jail}${host}`, etc, cleanup };
}

function update(s: Setup, args: string[]) {
  return runTool("jk_update", args, { env: { JAILKIT_ETC: s.etc } });
}

rootTest(
  "a changed host file is copied again and a retargeted host symlink recreated, each reported once",
  async () => {
    const s = await privateTree("upd-change");
    try {
      Deno.writeTextFileSync(`${s.host}/a.txt`, "alpha, changed on the host");
      Deno.removeSync(`${s.host}/link`);
      Deno.symlinkSync("t2", `${s.host}/link`);
      const r = await update(s, ["-j", s.jail, `${s.host}/`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, "");
      const out = lines(r.stdout);
      for (const l of out) assert.match(l, PANEL_PREFIXES, l);
      assert.deepEqual(out.filter((l) => l.startsWith("removing outdated file ")), [
        `removing outdated file ${s.mirror}/a.txt`,
        `removing outdated file ${s.mirror}/link`,
      ]);
      assert.ok(out.includes(`Copying ${s.host}/a.txt to ${s.mirror}/a.txt`), r.stdout);
      assert.ok(out.includes(`Creating symlink ${s.mirror}/link to t2`), r.stdout);
      assert.equal(Deno.readTextFileSync(`${s.mirror}/a.txt`), "alpha, changed on the host");
      assert.equal(Deno.readLinkSync(`${s.mirror}/link`), "t2");
      // A second run finds nothing to do and says nothing.
      const again = await update(s, ["-j", s.jail, `${s.host}/`]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout + again.stderr, "");
    } finally {
      s.cleanup();
    }
  },
);

rootTest(
  "a file removed from the host is kept and reported, and removed with --delete-deprecated",
  async () => {
    const s = await privateTree("upd-gone");
    try {
      Deno.removeSync(`${s.host}/gone.txt`);
      Deno.removeSync(`${s.host}/sub`, { recursive: true });
      const r = await update(s, ["-j", s.jail, `${s.host}/`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(lines(r.stdout), [
        `WARNING: ${s.mirror}/gone.txt is not on the host; keeping it (use --delete-deprecated to remove)`,
        `WARNING: ${s.mirror}/sub/ is not on the host; keeping it (use --delete-deprecated to remove)`,
      ]);
      assert.equal(
        Deno.readTextFileSync(`${s.mirror}/gone.txt`),
        "gone",
        "no data loss by default",
      );
      assert.equal(Deno.readTextFileSync(`${s.mirror}/sub/c.txt`), "gamma");

      const del = await update(s, ["-j", s.jail, "--delete-deprecated", `${s.host}/`]);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.deepEqual(lines(del.stdout), [
        `removing deprecated file ${s.mirror}/gone.txt`,
        `removing deprecated file ${s.mirror}/sub/c.txt`,
        `removing deprecated directory ${s.mirror}/sub`,
      ]);
      assert.throws(() => Deno.lstatSync(`${s.mirror}/gone.txt`), Deno.errors.NotFound);
      assert.throws(() => Deno.lstatSync(`${s.mirror}/sub`), Deno.errors.NotFound);
    } finally {
      s.cleanup();
    }
  },
);

rootTest("--skip and the ini's skips, directories and hardlinks are honoured", async () => {
  const s = await privateTree("upd-skip");
  try {
    Deno.writeTextFileSync(`${s.host}/a.txt`, "alpha 2");
    Deno.writeTextFileSync(`${s.host}/b.txt`, "beta 2");
    const r = await update(s, [
      "-j",
      s.jail,
      `--skip=${s.host}/a.txt`,
      "-s",
      `${s.mirror}/sub/`,
      `${s.host}/`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = lines(r.stdout);
    assert.ok(out.includes(`skip ${s.mirror}/a.txt`), r.stdout);
    assert.ok(out.includes(`skip ${s.mirror}/sub`), r.stdout);
    assert.equal(Deno.readTextFileSync(`${s.mirror}/a.txt`), "alpha", "skipped file untouched");
    assert.equal(Deno.readTextFileSync(`${s.mirror}/b.txt`), "beta 2");

    Deno.writeTextFileSync(`${s.host}/b.txt`, "beta 3");
    Deno.writeTextFileSync(
      `${s.etc}/jk_update.ini`,
      `[${s.jail}]\nskips = ${s.host}/b.txt/, ${s.host}/sub\ndirectories = ${s.host}/\nhardlinks = 1\n`,
    );
    const c = await update(s, ["-c", s.jail]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const cout = lines(c.stdout);
    assert.ok(cout.includes(`skip ${s.mirror}/b.txt`), c.stdout);
    assert.ok(cout.includes(`Trying to link ${s.host}/a.txt to ${s.mirror}/a.txt`), c.stdout);
    assert.equal(Deno.readTextFileSync(`${s.mirror}/b.txt`), "beta 2", "ini skip honoured");
    assert.equal(
      Deno.statSync(`${s.mirror}/a.txt`).ino,
      Deno.statSync(`${s.host}/a.txt`).ino,
      "hard link",
    );
  } finally {
    s.cleanup();
  }
});

rootTest("--dry-run prints jailkit's lines and changes nothing", async () => {
  const s = await privateTree("upd-dry");
  try {
    Deno.writeTextFileSync(`${s.host}/a.txt`, "alpha 2");
    Deno.removeSync(`${s.host}/gone.txt`);
    const before = digest(s.jail);
    const r = await update(s, ["-d", "-j", s.jail, `${s.host}/`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(lines(r.stdout).includes(`will update outdated file ${s.mirror}/a.txt`), r.stdout);
    assert.equal(digest(s.jail), before);
    const del = await update(s, ["--dry-run", "--delete-deprecated", "-j", s.jail, `${s.host}/`]);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.ok(lines(del.stdout).includes(`will remove deprecated file ${s.mirror}/gone.txt`));
    assert.equal(digest(s.jail), before);
    const json = await update(s, ["--dry-run", "--json", "-j", s.jail, `${s.host}/`]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.dryRun, true);
    assert.ok(
      doc.operations.some((o: { op: string; path: string; replace: boolean }) =>
        o.op === "copy" && o.path === `${s.host}/a.txt` && o.replace
      ),
      json.stdout,
    );
    assert.equal(digest(s.jail), before);
  } finally {
    s.cleanup();
  }
});

/** A usr-merged jail from our jk_init basicshell (bin -> usr/bin, lib -> usr/lib, no /opt). */
async function basicshell(
  label: string,
): Promise<{ jail: string; etc: string; cleanup: () => void }> {
  const { dir, cleanup } = safeTestRoot(label);
  const jail = `${dir}/jail`;
  const etc = `${dir}/etc-jailkit`;
  Deno.mkdirSync(etc, { mode: 0o755 });
  await ours("jk_init", ["-j", jail, "basicshell"], { JAILKIT_ETC: etc });
  assert.equal(Deno.readLinkSync(`${jail}/bin`), "usr/bin");
  return { jail, etc, cleanup };
}

rootTest("an untouched usr-merged jail without /opt: only skip lines, exit 0", async () => {
  const { jail, etc, cleanup } = await basicshell("upd-untouched");
  try {
    const before = digest(jail);
    const r = await runTool("jk_update", ["-j", jail], { env: { JAILKIT_ETC: etc } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, "", "no error for the missing /opt");
    assert.deepEqual(lines(r.stdout), [`skip ${jail}/opt/ (not in the jail)`]);
    assert.equal(digest(jail), before);
  } finally {
    cleanup();
  }
});

rootTest(
  "ISPConfig's jk_update line on a usr-merged jail: one report per change, planted link replaced",
  async () => {
    const { jail, etc, cleanup } = await basicshell("upd-isp");
    try {
      const ls = `${jail}/usr/bin/ls`;
      assert.notEqual(
        Deno.statSync(ls).ino,
        Deno.statSync("/usr/bin/ls").ino,
        "a copy, not the host's inode",
      );
      Deno.writeFileSync(ls, new TextEncoder().encode("tampered"), { append: true });
      // A jail symlink where the host has a regular file, pointing at a host secret.
      const cat = `${jail}/usr/bin/cat`;
      Deno.removeSync(cat);
      Deno.symlinkSync("/etc/shadow", cat);
      const guarded = ["/etc/shadow", "/usr/bin/ls", "/usr/bin/cat"];
      const sums = guarded.map(sha);
      const r = await runTool("jk_update", [`--jail=${jail}`, "-k", "--skip=/opt"], {
        env: { JAILKIT_ETC: etc },
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, "");
      const out = lines(r.stdout);
      for (const l of out) assert.match(l, PANEL_PREFIXES, l);
      assert.deepEqual(out.filter((l) => l.startsWith("removing ")).sort(), [
        `removing outdated file ${jail}/usr/bin/cat`,
        `removing outdated file ${jail}/usr/bin/ls`,
      ]);
      assert.ok(out.includes(`skip ${jail}/opt/`), r.stdout);
      assert.ok(
        !out.some((l) => l.includes(`${jail}/bin/`)),
        "nothing reported through bin -> usr/bin",
      );
      assert.equal(sha(ls), sha("/usr/bin/ls"));
      assert.ok(Deno.lstatSync(cat).isFile, "the planted symlink is replaced by a copy");
      assert.equal(sha(cat), sha("/usr/bin/cat"));
      assert.deepEqual(guarded.map(sha), sums, "host files untouched");
      assert.ok(Deno.lstatSync("/etc/shadow").isFile);
    } finally {
      cleanup();
    }
  },
);

rootTest(
  "a thin jail (jk_init --thin): its mount points are never scanned, reported or filled",
  async () => {
    const { dir, cleanup } = safeTestRoot("upd-thin");
    const jail = `${dir}/jail`;
    const etc = `${dir}/etc-jailkit`;
    Deno.mkdirSync(etc, { mode: 0o755 });
    try {
      await ours("jk_init", ["--thin", "-j", jail, "basicshell"], { JAILKIT_ETC: etc });
      // What a copied jail would show after a host upgrade: an outdated program and a file
      // the host no longer has, both under /usr; the session sees the host's /usr instead.
      Deno.mkdirSync(`${jail}/usr/bin`);
      Deno.writeTextFileSync(`${jail}/usr/bin/ls`, "an older ls");
      Deno.mkdirSync(`${jail}/etc/alternatives/sub`);
      Deno.writeTextFileSync(`${jail}/etc/alternatives/sub/gone`, "");
      Deno.writeTextFileSync(`${jail}/etc/profile`, "# outdated\n");
      const usr = digest(`${jail}/usr`);
      const env = { JAILKIT_ETC: etc };
      const dry = await runTool("jk_update", ["-d", "-j", jail], { env });
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.equal(dry.stderr, "");
      assert.deepEqual(lines(dry.stdout), [`skip ${jail}/opt/ (not in the jail)`]);
      const etcDirs = await runTool("jk_update", ["-d", "-j", jail, "/etc/", "/usr/bin/"], {
        env,
      });
      assert.equal(etcDirs.code, 0, etcDirs.stdout + etcDirs.stderr);
      assert.deepEqual(
        lines(etcDirs.stdout).filter((l) =>
          !l.endsWith("(jail's own file)") && !l.startsWith("would ")
        ),
        [`will update outdated file ${jail}/etc/profile`],
      );
      const real = await runTool("jk_update", ["-j", jail, "/etc/", "/usr/", "/bin/"], { env });
      assert.equal(real.code, 0, real.stdout + real.stderr);
      assert.equal(sha(`${jail}/etc/profile`), sha("/etc/profile"), "the copied part refreshed");
      assert.equal(digest(`${jail}/usr`), usr, "nothing filled or refreshed under /usr");
      assert.ok(!real.stdout.includes(`${jail}/usr`), real.stdout);
      assert.ok(!real.stdout.includes(`${jail}/etc/alternatives`), real.stdout);
      // -v says why they are left alone.
      const verbose = await runTool("jk_update", ["-v", "-d", "-j", jail], { env });
      assert.match(
        verbose.stdout,
        new RegExp(`^${jail}/usr is a mount point of this thin jail: not compared$`, "m"),
      );
      // The loader cache is the host's, which lists the libraries the binds show: refreshed
      // when it differs from the host's, left alone when it does not.
      const cache = `${jail}/etc/ld.so.cache`;
      assert.equal(sha(cache), sha("/etc/ld.so.cache"));
      Deno.writeTextFileSync(cache, "the cache of an older host");
      const stale = await runTool("jk_update", ["-d", "-j", jail], { env });
      assert.deepEqual(lines(stale.stdout), [
        `skip ${jail}/opt/ (not in the jail)`,
        `would copy /etc/ld.so.cache -> ${cache} (0644 0:0) replacing`,
      ]);
      const refreshed = await runTool("jk_update", ["-j", jail], { env });
      assert.equal(refreshed.code, 0, refreshed.stdout + refreshed.stderr);
      assert.equal(sha(cache), sha("/etc/ld.so.cache"));
      const current = await runTool("jk_update", ["-d", "-j", jail], { env });
      assert.deepEqual(lines(current.stdout), [`skip ${jail}/opt/ (not in the jail)`]);
    } finally {
      cleanup();
    }
  },
);

Deno.test("jk_update: jailkit's exit codes for its command line", async () => {
  const etc = Deno.makeTempDirSync({ prefix: "jk-update-etc-" });
  try {
    Deno.writeTextFileSync(
      `${etc}/jk_update.ini`,
      "[/srv/other]\nskips = /x\n[/srv/bad]\nhardlink = 1\nhardlinks = 0\n",
    );
    const run = (args: string[]) => runTool("jk_update", args, { env: { JAILKIT_ETC: etc } });
    const help = await run(["-h"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /-c.*configsection/);
    assert.equal((await run(["-j", "/srv/j", "-c", "/srv/j"])).code, 21);
    const none = await run([]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /must at least specify a jail or a configsection/);
    const missing = await run(["-c", "/srv/nosuch"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not have a section called \/srv\/nosuch/);
    assert.equal((await run(["-f", "-j", "/srv/j"])).code, 1, "unknown option");
    const bad = await run(["-c", "/srv/bad"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /jk_update\.ini:5: hardlinks = 0 contradicts hardlink = 1/);
  } finally {
    Deno.removeSync(etc, { recursive: true });
  }
});
