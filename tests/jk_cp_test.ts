/**
 * jk_cp end to end, as root: real jails on a root-owned path, real programs run inside them
 * with chroot, hostile file names, planted symlinks, dry runs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { librariesOf, REPO_ROOT, rootTest, runTool, safeTestRoot, SYSTEM_PATH } from "./helpers.ts";
import { TestNamespace } from "./namespace.ts";

function run(cmd: string, args: string[]): { code: number; out: string } {
  const env = { LC_ALL: "C", PATH: SYSTEM_PATH };
  const o = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", env })
    .outputSync();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

function newJail(root: string, name = "jail"): string {
  const jail = `${root}/${name}`;
  Deno.mkdirSync(jail, { mode: 0o755 });
  Deno.chmodSync(jail, 0o755);
  return jail;
}

/** A digest of everything in a tree: names, types, modes, owners, link texts and contents. */
export function treeDigest(dir: string, opts: { dirTimes?: boolean } = {}): string {
  const h = createHash("sha256");
  const walk = (p: string, rel: string) => {
    const st = Deno.lstatSync(p);
    const time = st.isDirectory && opts.dirTimes === false ? "" : st.mtime?.getTime();
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${time}\0`);
    if (st.isSymlink) h.update(`L${Deno.readLinkSync(p)}\0`);
    else if (st.isFile) h.update(Deno.readFileSync(p));
    else if (st.isDirectory) {
      for (const n of [...Deno.readDirSync(p)].map((e) => e.name).sort()) {
        walk(`${p}/${n}`, `${rel}/${n}`);
      }
    } else h.update(`D${st.rdev}\0`);
  };
  walk(dir, "");
  return h.digest("hex");
}

const PROGRAMS: [string, string[], RegExp][] = [
  ["ssh", ["-V"], /OpenSSH/],
  ["scp", [], /usage: scp/],
  ["rsync", ["--version"], /rsync\s+version/],
  ["bash", ["--version"], /GNU bash/],
  ["perl", ["-e", "print 'perl-ok'"], /perl-ok/],
  ["python3", ["--version"], /Python 3\./],
  ["git", ["--version"], /git version/],
];

rootTest(
  "jk_cp copies ssh, scp, rsync, bash, perl, python3, git and each runs inside the jail",
  async () => {
    const { dir, cleanup } = safeTestRoot("jkcp-progs");
    try {
      const jail = newJail(dir);
      const r = await runTool("jk_cp", ["-j", jail, "/dev/null", ...PROGRAMS.map((p) => p[0])]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^Copying /usr/bin/ssh to ${jail}/usr/bin/ssh$`, "m"));
      assert.match(r.stdout, new RegExp(`^Creating symlink ${jail}/lib to usr/lib$`, "m"));
      assert.equal(
        Deno.readLinkSync(`${jail}/lib`),
        "usr/lib",
        "usr-merged host gives lib -> usr/lib",
      );
      assert.ok(Deno.statSync(`${jail}/etc/ld.so.cache`).isFile, "loader cache generated");
      // ssh looks its user up; users are jk_init's business, so the test writes them
      Deno.writeTextFileSync(`${jail}/etc/passwd`, "root:x:0:0:root:/root:/bin/bash\n");
      Deno.writeTextFileSync(`${jail}/etc/group`, "root:x:0:\n");
      for (const [prog, args, expect] of PROGRAMS) {
        const path = run("sh", ["-c", `command -v ${prog}`]).out.trim();
        const res = run("chroot", [jail, path, ...args]);
        assert.match(res.out, expect, `${prog} inside the jail: ${res.out}`);
        assert.doesNotMatch(res.out, /error while loading shared libraries/);
      }
      // Copied files are root-owned and keep the host mode.
      const st = Deno.statSync(`${jail}/usr/bin/ssh`);
      assert.equal(st.uid, 0);
      assert.equal((st.mode ?? 0) & 0o7777, (Deno.statSync("/usr/bin/ssh").mode ?? 0) & 0o7777);
    } finally {
      cleanup();
    }
  },
);

rootTest("jk_cp copies hostile file names literally and executes nothing", async () => {
  const { dir, cleanup } = safeTestRoot("jkcp-names");
  try {
    const jail = newJail(dir);
    const src = `${dir}/src`;
    Deno.mkdirSync(src, { mode: 0o755 });
    // Relative canaries: the tool runs with cwd=dir, where a shell would create them.
    const canary = `${dir}/PWNED`;
    const names = [
      "a;touch PWNED",
      "$(touch PWNED2)",
      "`touch PWNED3`",
      "it's",
      'q"uote',
      "sp ace",
      "new\nline",
      "back\\slash",
    ];
    for (const n of names) {
      // Executable, and an ELF header with garbage after it: the resolver must read, not run
      const path = `${src}/${n}`;
      Deno.writeFileSync(path, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0xff, 0xff]));
      Deno.chmodSync(path, 0o755);
    }
    const files = [...Deno.readDirSync(src)].map((e) => `${src}/${e.name}`);
    const r = await runTool("jk_cp", ["-j", jail, ...files], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const f of files) {
      assert.deepEqual(Deno.readFileSync(`${jail}${f}`), Deno.readFileSync(f), f);
    }
    for (const suffix of ["", "2", "3"]) {
      assert.throws(
        () => Deno.lstatSync(canary + suffix),
        Deno.errors.NotFound,
        "nothing executed",
      );
    }
    assert.match(r.stderr, /WARNING: cannot inspect .*: /, "malformed ELF reported, not fatal");
  } finally {
    cleanup();
  }
});

rootTest(
  "a planted JAIL/usr/lib -> /etc symlink makes jk_cp refuse and write nothing",
  async () => {
    const { dir, cleanup } = safeTestRoot("jkcp-plant");
    try {
      const jail = newJail(dir);
      Deno.mkdirSync(`${jail}/usr`, { mode: 0o755 });
      Deno.symlinkSync("/etc", `${jail}/usr/lib`);
      const before = [...Deno.readDirSync("/etc")].length;
      const jailBefore = treeDigest(jail);
      const r = await runTool("jk_cp", ["-j", jail, "/usr/lib/x86_64-linux-gnu/libz.so.1"]);
      assert.equal(r.code, 6, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /usr\/lib is a symlink to \/etc but \/usr\/lib is not a symlink on the host/,
      );
      assert.equal([...Deno.readDirSync("/etc")].length, before);
      assert.equal(treeDigest(jail), jailBefore);
    } finally {
      cleanup();
    }
  },
);

rootTest(
  "jk_cp -f replaces a planted destination symlink instead of writing through it",
  async () => {
    const { dir, cleanup } = safeTestRoot("jkcp-force");
    try {
      const jail = newJail(dir);
      const victim = `${dir}/victim`;
      Deno.writeTextFileSync(victim, "precious\n");
      const srcDir = `${dir}/s`;
      Deno.mkdirSync(srcDir, { mode: 0o755 });
      Deno.writeTextFileSync(`${srcDir}/foo`, "new content\n");
      const first = await runTool("jk_cp", ["-j", jail, `${srcDir}/foo`]);
      assert.equal(first.code, 0, first.stderr);
      Deno.removeSync(`${jail}${srcDir}/foo`);
      Deno.symlinkSync(victim, `${jail}${srcDir}/foo`);
      const r = await runTool("jk_cp", ["-f", "-j", jail, `${srcDir}/foo`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(Deno.readTextFileSync(victim), "precious\n");
      assert.ok(Deno.lstatSync(`${jail}${srcDir}/foo`).isFile);
      assert.equal(Deno.readTextFileSync(`${jail}${srcDir}/foo`), "new content\n");
    } finally {
      cleanup();
    }
  },
);

rootTest("jk_cp into a thin jail copies nothing under its mount points", async () => {
  const { dir, cleanup } = safeTestRoot("jkcp-thin");
  try {
    const jail = `${dir}/jail`;
    const env = { JAILKIT_ETC: `${dir}/etc` };
    Deno.mkdirSync(env.JAILKIT_ETC, { mode: 0o755 });
    const init = await runTool("jk_init", ["--thin", "-j", jail, "basicshell"], { env });
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const srcDir = `${dir}/s`;
    Deno.mkdirSync(srcDir, { mode: 0o755 });
    Deno.copyFileSync("/usr/bin/true", `${srcDir}/tool`);
    const r = await runTool("jk_cp", ["-j", jail, "/usr/bin/id", "/bin/ls", `${srcDir}/tool`], {
      env,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const said = (file: string, point: string) =>
      `${file}: ${jail}${point} is a mount point of this thin jail, where the session sees the ` +
      "host's: not copied";
    // On a usr-merged host the jail's /bin is a symlink into the /usr mount point.
    const binPoint = Deno.lstatSync("/bin").isSymlink ? "/usr" : "/bin";
    const lines = r.stdout.split("\n").filter((l) => l.includes("mount point"));
    assert.deepEqual(lines, [said("/usr/bin/id", "/usr"), said("/bin/ls", binPoint)]);
    // --json stays one JSON document, the lines among its messages.
    const json = await runTool(
      "jk_cp",
      ["--json", "--dry-run", "-j", jail, "/usr/bin/id", `${srcDir}/tool`],
      { env },
    );
    assert.equal(json.code, 0, json.stdout + json.stderr);
    assert.ok(JSON.stringify(JSON.parse(json.stdout)).includes("is a mount point of this thin"));
    // The session's /usr is the host's: a copy there would only lie hidden under the bind.
    assert.deepEqual([...Deno.readDirSync(`${jail}/usr`)], []);
    assert.ok(Deno.statSync(`${jail}${srcDir}/tool`).isFile);
    // No ldconfig -r over the host's loader cache, which lists what the binds show.
    assert.deepEqual(
      Deno.readFileSync(`${jail}/etc/ld.so.cache`),
      Deno.readFileSync("/etc/ld.so.cache"),
    );
  } finally {
    cleanup();
  }
});

rootTest("--dry-run leaves the jail byte-identical and lists what the real run does", async () => {
  const { dir, cleanup } = safeTestRoot("jkcp-dry");
  try {
    const jail = newJail(dir);
    const before = treeDigest(jail);
    const dry = await runTool("jk_cp", ["--dry-run", "-j", jail, "bash", "/dev/null"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(treeDigest(jail), before);
    const planned = dry.stdout.split("\n").filter((l) => l.startsWith("would "));
    assert.ok(
      planned.some((l) => l === `would copy /usr/bin/bash -> ${jail}/usr/bin/bash (0755 0:0)`),
      dry.stdout,
    );
    assert.ok(planned.some((l) => l.startsWith(`would mknod ${jail}/dev/null c 1 3`)), dry.stdout);
    const json = await runTool("jk_cp", ["--dry-run", "--json", "-j", jail, "bash"]);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.dryRun, true);
    assert.equal(treeDigest(jail), before);
    const real = await runTool("jk_cp", ["--json", "-j", jail, "bash", "/dev/null"]);
    const done = JSON.parse(real.stdout);
    assert.equal(done.summary.failed, 0);
    assert.equal(done.summary.operations, planned.length);
    const st = Deno.lstatSync(`${jail}/dev/null`);
    assert.ok(st.isCharDevice);
    // Second run: nothing left to do, nothing changes.
    const digest = treeDigest(jail);
    const again = await runTool("jk_cp", ["-j", jail, "bash", "/dev/null"]);
    assert.equal(again.code, 0);
    assert.equal(treeDigest(jail), digest);
  } finally {
    cleanup();
  }
});

rootTest(
  "jk_cp strips set-id bits (also with -k), keeps them with -s, keeps owners with -o",
  async () => {
    const { dir, cleanup } = safeTestRoot("jkcp-setid");
    try {
      const jail = newJail(dir);
      const r = await runTool("jk_cp", ["-k", "-j", jail, "/usr/bin/passwd"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /removing setuid and setgid permissions from .*\/usr\/bin\/passwd/);
      const st = Deno.statSync(`${jail}/usr/bin/passwd`);
      assert.equal((st.mode ?? 0) & 0o7777, 0o755);
      assert.notEqual(
        st.ino,
        Deno.statSync("/usr/bin/passwd").ino,
        "-k must not hardlink a setuid file",
      );
      const jail2 = newJail(dir, "jail2");
      const s = await runTool("jk_cp", ["-s", "-j", jail2, "/usr/bin/passwd"]);
      assert.equal(s.code, 0, s.stderr);
      assert.equal((Deno.statSync(`${jail2}/usr/bin/passwd`).mode ?? 0) & 0o7777, 0o4755);
      const owned = `${dir}/owned`;
      Deno.writeTextFileSync(owned, "x");
      Deno.chownSync(owned, 65534, 65534);
      const o = await runTool("jk_cp", ["-o", "--jail", jail2, owned]);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(Deno.statSync(`${jail2}${owned}`).uid, 65534);
      const plain = await runTool("jk_cp", [`--jail=${jail}`, owned]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(Deno.statSync(`${jail}${owned}`).uid, 0);
    } finally {
      cleanup();
    }
  },
);

rootTest("jk_cp exit codes: missing name, unsafe jail, not a directory, usage", async () => {
  const { dir, cleanup } = safeTestRoot("jkcp-exit");
  try {
    const jail = newJail(dir);
    const missingPath = await runTool("jk_cp", ["-j", jail, "/no/such/file", "bash"]);
    assert.equal(missingPath.code, 4);
    assert.match(missingPath.stderr, /\/no\/such\/file does not exist/);
    assert.throws(() => Deno.lstatSync(`${jail}/usr`), Deno.errors.NotFound, "nothing copied");
    // ISPConfig passes optional programs by name: the missing one is reported, the rest copied
    const missingName = await runTool("jk_cp", ["-j", jail, "no-such-program-xyz", "true"]);
    assert.equal(missingName.code, 0, missingName.stderr);
    assert.match(
      missingName.stderr,
      /WARNING: no-such-program-xyz was not found in PATH, not copied/,
    );
    assert.ok(Deno.statSync(`${jail}/usr/bin/true`).isFile);
    const noneFound = await runTool("jk_cp", ["-j", jail, "no-such-program-xyz"]);
    assert.equal(noneFound.code, 2);
    const tmp = Deno.makeTempDirSync();
    const unsafe = await runTool("jk_cp", ["-j", tmp, "bash"]);
    Deno.removeSync(tmp);
    assert.equal(unsafe.code, 6);
    assert.match(unsafe.stderr, /\/tmp is writable by group or others/);
    const notDir = await runTool("jk_cp", ["-j", `${dir}/nope`, "bash"]);
    assert.equal(notDir.code, 3);
    // A jail given through a symlink is a directory, but not a safe one (jailkit: exit 6 too).
    Deno.symlinkSync(jail, `${dir}/link`);
    const linked = await runTool("jk_cp", ["-j", `${dir}/link`, "bash"]);
    assert.equal(linked.code, 6, linked.stderr);
    assert.match(linked.stderr, /link is a symlink/);
    const usage = await runTool("jk_cp", ["--bogus"]);
    assert.equal(usage.code, 1);
    const none = await runTool("jk_cp", ["-j", jail]);
    assert.equal(none.code, 2);
    const legacy = await runTool("jk_cp", [jail, "true"]);
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.ok(Deno.statSync(`${jail}/usr/bin/true`).isFile);
  } finally {
    cleanup();
  }
});

rootTest("jk_cp: an ld.so.conf include with a reversed range [z-a] is no crash", async () => {
  // Without an ld.so.cache the resolver reads /etc/ld.so.conf; a private /etc (overlay in a
  // mount namespace) gets one whose include has a range bash treats as matching nothing.
  const { dir, cleanup } = safeTestRoot("cp-ldconf-range");
  let ns: TestNamespace | undefined;
  try {
    ns = await TestNamespace.create(dir);
    const jail = newJail(dir);
    await ns.must(
      "rm -f /etc/ld.so.cache && printf '%s\\n' 'include /etc/ld.so.conf.d/[z-a]*.conf' " +
        "'include /etc/ld.so.conf.d/*.conf' > /etc/ld.so.conf",
    );
    const deno = Deno.execPath();
    const r = await ns.sh(
      `${deno} run -A --no-config --quiet ${REPO_ROOT}/cli/jk_cp.ts -j ${jail} /usr/bin/true`,
      { env: { NO_COLOR: "1", HOME: "/root" } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /internal error|SyntaxError| {4}at /);
    assert.ok(Deno.statSync(`${jail}/usr/bin/true`).isFile);
    const libc = librariesOf("/usr/bin/true").find((l) => /libc\.so/.test(l))!;
    assert.ok(Deno.statSync(`${jail}${libc}`).isFile, `${libc} copied`);
  } finally {
    if (ns) await ns.close();
    cleanup();
  }
});
