/**
 * jk_jailuser end to end, as root: throwaway host users (useradd/userdel), jails under
 * safeTestRoot(), the command lines ISPConfig, HestiaCP, i-MSCP and VestaCP use, home moves with
 * every kind of entry, failures injected half-way (a full file system, an immutable directory,
 * a socket), and comparison with Debian's jailkit 2.23 (extracted at /opt/jailkit-ref).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rootTest, runTool, safeTestRoot, SYSTEM_PATH } from "./helpers.ts";

const REF = "/opt/jailkit-ref";
const dec = new TextDecoder();

async function sh(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", PATH: SYSTEM_PATH },
  }).output();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

/** Runs an account tool, retrying while another process holds the passwd/group lock. */
async function must(cmd: string, args: string[]): Promise<string> {
  for (let attempt = 0;; attempt++) {
    const r = await sh(cmd, args);
    if (r.code === 0) return r.out;
    if (attempt < 30 && /lock|try again/i.test(r.out)) {
      await new Promise((ok) => setTimeout(ok, 200));
      continue;
    }
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.out}`);
  }
}

function uniq(prefix: string): string {
  return prefix + crypto.randomUUID().replaceAll("-", "").slice(0, 8);
}

function passwdLine(name: string): string | undefined {
  return Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith(`${name}:`));
}

function idsOf(name: string): { uid: number; gid: number } {
  const f = passwdLine(name)!.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function gidOf(group: string): number {
  const line = Deno.readTextFileSync("/etc/group").split("\n").find((l) =>
    l.startsWith(`${group}:`)
  );
  return Number(line!.split(":")[2]);
}

function sha(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

/**
 * Everything that matters about a tree, keyed by relative path: type, mode, owner, mtime, size,
 * content hash, link text, and which entries are hard links of each other.
 */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const groups = new Map<string, string>();
  const walk = (path: string, rel: string) => {
    const i = Deno.lstatSync(path);
    let what = `${(i.mode ?? 0).toString(8)} ${i.uid}:${i.gid} ${i.mtime?.getTime()}`;
    if (i.isSymlink) what = `link ${i.uid}:${i.gid} -> ${Deno.readLinkSync(path)}`;
    else if (i.isFile) what += ` ${i.size} ${sha(path)}`;
    if (!i.isDirectory && (i.nlink ?? 1) > 1) {
      const key = `${i.dev}:${i.ino}`;
      if (!groups.has(key)) groups.set(key, rel);
      what += ` linked-with ${groups.get(key)}`;
    }
    out.set(rel, what);
    if (i.isDirectory) {
      for (const e of [...Deno.readDirSync(path)].map((e) => e.name).sort()) {
        walk(`${path}/${e}`, `${rel}/${e}`);
      }
    }
  };
  walk(dir, ".");
  return out;
}

/** Output that should be empty on success, minus the warning a host without jk_chrootsh gets. */
function unexpectedOutput(r: { stdout: string; stderr: string }): string {
  return (r.stdout + r.stderr).split("\n").filter((l) =>
    l !== "" && !/^WARNING: \/usr\/sbin\/jk_chrootsh is not installed on this host/.test(l)
  ).join("\n");
}

function lsDir(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** A scratch area with a minimal valid jail; undoes users, groups, mounts and flags at the end. */
class Fixture {
  readonly root: string;
  readonly jail: string;
  readonly users: string[] = [];
  readonly groups: string[] = [];
  readonly mounts: string[] = [];
  readonly immutable: string[] = [];
  readonly #cleanup: () => void;

  constructor(label: string) {
    const t = safeTestRoot(`jailuser-${label}`);
    this.root = t.dir;
    this.#cleanup = t.cleanup;
    this.jail = `${this.root}/jail`;
    for (const d of ["", "/etc", "/usr", "/usr/sbin", "/usr/bin"]) {
      Deno.mkdirSync(this.jail + d, { mode: 0o755 });
      Deno.chmodSync(this.jail + d, 0o755);
    }
    Deno.symlinkSync("usr/bin", `${this.jail}/bin`);
    Deno.writeTextFileSync(`${this.jail}/etc/passwd`, "root:x:0:0:root:/root:/bin/bash\n");
    Deno.writeTextFileSync(`${this.jail}/etc/group`, "root:x:0:\n");
    for (const p of ["/usr/sbin/jk_lsh", "/usr/bin/bash"]) {
      Deno.writeTextFileSync(this.jail + p, "#!/bin/sh\n");
      Deno.chmodSync(this.jail + p, 0o755);
    }
    Deno.mkdirSync(`${this.root}/home`, { mode: 0o755 });
    Deno.chmodSync(`${this.root}/home`, 0o755);
  }

  async group(): Promise<string> {
    const name = uniq("jkg");
    await must("groupadd", [name]);
    this.groups.push(name);
    return name;
  }

  /** A host user whose home (not created) is ROOT/home/NAME unless given. */
  async user(opts: { home?: string; groups?: string[]; gecos?: string } = {}): Promise<string> {
    const name = uniq("jkt");
    const home = opts.home ?? `${this.root}/home/${name}`;
    await must("useradd", [
      "-M",
      "-d",
      home,
      "-s",
      "/bin/sh",
      "-c",
      opts.gecos ?? "JK Test,Room 1",
      ...(opts.groups?.length ? ["-G", opts.groups.join(",")] : []),
      name,
    ]);
    this.users.push(name);
    return name;
  }

  /** A home full of awkward entries, owned by `name`. */
  async fillHome(name: string, dir = `${this.root}/home/${name}`): Promise<string> {
    Deno.mkdirSync(`${dir}/a/b/c/d/e`, { recursive: true });
    Deno.mkdirSync(`${dir}/empty`);
    Deno.mkdirSync(`${dir}/private`, { mode: 0o700 });
    Deno.writeTextFileSync(`${dir}/a/b/c/d/e/deep.txt`, "deep\n");
    Deno.writeTextFileSync(`${dir}/private/key`, "secret\n");
    Deno.chmodSync(`${dir}/private/key`, 0o600);
    Deno.writeTextFileSync(`${dir}/run.sh`, "#!/bin/sh\necho hi\n");
    Deno.chmodSync(`${dir}/run.sh`, 0o750);
    for (
      const odd of ["with space", "new\nline", "-rf", "*", "back\\slash", "\u00e9t\u00e9 \u2603"]
    ) {
      Deno.writeTextFileSync(`${dir}/${odd}`, `file ${odd}\n`);
    }
    Deno.writeFileSync(`${dir}/binary`, crypto.getRandomValues(new Uint8Array(65536)));
    Deno.linkSync(`${dir}/run.sh`, `${dir}/a/hardlink-to-run`);
    Deno.symlinkSync("../run.sh", `${dir}/a/rel-link`);
    Deno.symlinkSync("/etc/shadow", `${dir}/abs-link`);
    Deno.symlinkSync("does/not/exist", `${dir}/dangling`);
    assert.equal((await sh("mkfifo", [`${dir}/fifo`])).code, 0);
    await must("chown", ["-hR", `${name}:`, dir]);
    Deno.chmodSync(dir, 0o750);
    Deno.utimeSync(`${dir}/a/b`, new Date(1.1e12), new Date(1.2e12 + 345));
    Deno.utimeSync(`${dir}/binary`, new Date(1.1e12), new Date(1.3e12 + 7));
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const m of this.mounts.reverse()) await sh("umount", [m]);
    for (const p of this.immutable) await sh("chattr", ["-i", p]);
    const errors: string[] = [];
    for (const u of this.users) {
      const r = await sh("userdel", [u]);
      if (r.code !== 0 && passwdLine(u) !== undefined) errors.push(r.out);
    }
    for (const g of this.groups) await sh("groupdel", [g]);
    this.#cleanup();
    for (const name of [...this.users, ...this.groups]) {
      for (const f of ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"]) {
        if (Deno.readTextFileSync(f).split("\n").some((l) => l.startsWith(`${name}:`))) {
          errors.push(`${name} left in ${f}`);
        }
      }
    }
    if (errors.length > 0) throw new Error(`cleanup failed: ${errors.join("; ")}`);
  }
}

async function withFixture(label: string, fn: (f: Fixture) => Promise<void>): Promise<void> {
  const f = new Fixture(label);
  try {
    await fn(f);
  } finally {
    await f.cleanup();
  }
}

rootTest("jk_jailuser: ISPConfig (usermod --home first, then -n -s /bin/bash)", async () => {
  await withFixture("ispconfig", async (f) => {
    const g = await f.group();
    const u = await f.user({ groups: [g] });
    await must("usermod", [`--home=${f.jail}/./home/${u}`, u]);
    const r = await runTool("jk_jailuser", ["-n", "-s", "/bin/bash", "-j", f.jail, u]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(unexpectedOutput(r), "");
    const { uid, gid } = idsOf(u);
    assert.equal(
      passwdLine(u),
      `${u}:x:${uid}:${gid}:JK Test,Room 1:${f.jail}/./home/${u}:/usr/sbin/jk_chrootsh`,
    );
    assert.equal(
      Deno.readTextFileSync(`${f.jail}/etc/passwd`),
      `root:x:0:0:root:/root:/bin/bash\n${u}:x:${uid}:${gid}:JK Test,Room 1:/home/${u}:/bin/bash\n`,
    );
    assert.equal(
      Deno.readTextFileSync(`${f.jail}/etc/group`),
      `root:x:0:\n${u}:x:${gid}:\n${g}:x:${gidOf(g)}:${u}\n`,
    );
    // a second run changes nothing
    const before = [sha(`${f.jail}/etc/passwd`), sha(`${f.jail}/etc/group`), passwdLine(u)];
    const again = await runTool("jk_jailuser", ["-n", "-s", "/bin/bash", "-j", f.jail, u]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      [sha(`${f.jail}/etc/passwd`), sha(`${f.jail}/etc/group`), passwdLine(u)],
      before,
    );
  });
});

rootTest(
  "jk_jailuser: HestiaCP/i-MSCP -m -n moves every kind of entry and removes the old home",
  async () => {
    await withFixture("move", async (f) => {
      const u = await f.user();
      const home = await f.fillHome(u);
      const before = snapshot(home);
      const r = await runTool("jk_jailuser", ["-m", "-n", "-s", "/bin/bash", "-j", f.jail, u]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(unexpectedOutput(r), "");
      const dest = `${f.jail}${home}`;
      assert.deepEqual(snapshot(dest), before);
      assert.equal(lsDir(`${f.root}/home`).length, 0, "old home removed");
      assert.equal(passwdLine(u)!.split(":")[5], `${f.jail}/.${home}`);
      // every new parent directory inside the jail is root's, 0755
      let p = f.jail;
      for (const c of home.split("/").filter((c) => c).slice(0, -1)) {
        p += `/${c}`;
        const i = Deno.lstatSync(p);
        assert.deepEqual(
          [i.isDirectory, i.uid, i.gid, (i.mode ?? 0) & 0o7777],
          [true, 0, 0, 0o755],
          p,
        );
      }
      assert.equal(lsDir(`${f.jail}${f.root}/home`).join(), u, "no temp directory left");
    });
  },
);

rootTest(
  "jk_jailuser: VestaCP interactive (no -n) asks, 'y' moves, 'n' and no stdin do not",
  async () => {
    await withFixture("interactive", async (f) => {
      const [yes, no, mute] = [await f.user(), await f.user(), await f.user()];
      for (const u of [yes, no, mute]) await f.fillHome(u);
      const ry = await runTool("jk_jailuser", ["-s", "/bin/bash", "-j", f.jail, yes], {
        stdin: "y\n",
      });
      assert.equal(ry.code, 0, ry.stderr);
      assert.match(
        ry.stdout,
        /^home directory .* is not within .*\/, move the directory contents\?\n\[Y\]\/\[n\]/,
      );
      assert.ok(Deno.lstatSync(`${f.jail}${f.root}/home/${yes}/a/b/c/d/e/deep.txt`).isFile);
      assert.throws(() => Deno.lstatSync(`${f.root}/home/${yes}`));

      const rn = await runTool("jk_jailuser", ["-s", "/bin/bash", "-j", f.jail, no], {
        stdin: "n\n",
      });
      assert.equal(rn.code, 0, rn.stderr);
      assert.ok(Deno.lstatSync(`${f.root}/home/${no}/run.sh`).isFile);
      assert.equal(passwdLine(no)!.split(":")[6], "/usr/sbin/jk_chrootsh");

      const rm = await runTool("jk_jailuser", ["-s", "/bin/bash", "-j", f.jail, mute]);
      assert.equal(rm.code, 0, rm.stderr);
      assert.match(rm.stderr, /no answer on standard input.*continuing as with -n/);
      assert.ok(Deno.lstatSync(`${f.root}/home/${mute}/run.sh`).isFile);
    });
  },
);

rootTest(
  "jk_jailuser: interactive jail prompt takes the answer, end of input exits 33",
  async () => {
    await withFixture("prompt", async (f) => {
      const u = await f.user();
      const r = await runTool("jk_jailuser", ["--nomove", "-j", `${f.root}/nope`, u], {
        stdin: `${f.jail}\n`,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /nope does not exist/);
      assert.match(r.stdout, /enter jail directory: /);
      assert.ok(Deno.readTextFileSync(`${f.jail}/etc/passwd`).includes(`${u}:x:`));
      const eof = await runTool("jk_jailuser", ["-j", `${f.root}/nope`, u]);
      assert.equal(eof.code, 33);
      assert.match(eof.stderr, /no answer on standard input/);
    });
  },
);

rootTest("jk_jailuser: several users at once, unknown and option-like names skipped", async () => {
  await withFixture("several", async (f) => {
    const g = await f.group();
    const a = await f.user({ groups: [g] });
    const b = await f.user({ groups: [g] });
    const r = await runTool("jk_jailuser", [
      "--noninteractive",
      `--jail=${f.jail}`,
      a,
      "jktnosuchuser",
      b,
      "--",
      "-x",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^user jktnosuchuser does not exist$/m);
    assert.match(r.stderr, /user name "-x" starts with "-"; user skipped/);
    const group = Deno.readTextFileSync(`${f.jail}/etc/group`);
    assert.ok(group.includes(`${g}:x:${gidOf(g)}:${a},${b}\n`), group);
    for (const u of [a, b]) {
      assert.equal(
        passwdLine(u)!.split(":").slice(5).join(":"),
        `${f.jail}/.${f.root}/home/${u}:/usr/sbin/jk_chrootsh`,
      );
      assert.match(
        Deno.readTextFileSync(`${f.jail}/etc/passwd`),
        new RegExp(`^${u}:x:.*:${f.root}/home/${u}:/usr/sbin/jk_lsh$`, "m"),
      );
    }
  });
});

/** Runs a move that must fail and checks that nothing of the user's was changed. */
async function failedMove(f: Fixture, u: string, home: string, expect: RegExp): Promise<void> {
  const before = snapshot(home);
  const line = passwdLine(u);
  const r = await runTool("jk_jailuser", ["-m", "-n", "-j", f.jail, u]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `Not everything was copied to ${f.jail}/\\.${home}, keeping the old directory ${home}`,
    ),
  );
  assert.match(r.stderr, expect);
  assert.deepEqual(snapshot(home), before, "old home intact");
  assert.equal(passwdLine(u), line, "host account unchanged: the user keeps a working home");
}

rootTest(
  "jk_jailuser: a full file system half-way through the copy keeps the old home",
  async () => {
    await withFixture("enospc", async (f) => {
      const u = await f.user();
      const home = await f.fillHome(u);
      Deno.writeFileSync(`${home}/big`, new Uint8Array(512 * 1024).fill(7));
      const parent = `${f.jail}${f.root}/home`;
      Deno.mkdirSync(parent, { recursive: true, mode: 0o755 });
      assert.equal(
        (await sh("mount", ["-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", parent])).code,
        0,
      );
      f.mounts.push(parent);
      await failedMove(f, u, home, /No space left on device/);
      assert.deepEqual(lsDir(parent), [], "the partial copy was removed");
    });
  },
);

rootTest("jk_jailuser: an immutable destination directory keeps the old home", async () => {
  await withFixture("immutable", async (f) => {
    const u = await f.user();
    const home = await f.fillHome(u);
    const parent = `${f.jail}${f.root}/home`;
    Deno.mkdirSync(parent, { recursive: true, mode: 0o755 });
    assert.equal((await sh("chattr", ["+i", parent])).code, 0);
    f.immutable.push(parent);
    await failedMove(f, u, home, /Operation not permitted|permission denied/i);
  });
});

rootTest(
  "jk_jailuser: a socket in the home, or a different existing destination, is refused",
  async () => {
    await withFixture("refuse", async (f) => {
      const u = await f.user();
      const home = await f.fillHome(u);
      const listener = Deno.listen({ transport: "unix", path: `${home}/agent.sock` });
      try {
        await failedMove(f, u, home, /agent\.sock: is a socket/);
      } finally {
        listener.close();
      }
      // closing the listener removes the socket file (Deno does so for unix sockets)
      assert.throws(() => Deno.lstatSync(`${home}/agent.sock`), Deno.errors.NotFound);
      const dest = `${f.jail}${home}`;
      Deno.mkdirSync(dest, { recursive: true });
      Deno.writeTextFileSync(`${dest}/other`, "not the user's");
      await failedMove(f, u, home, /already exists and differs/);
      assert.deepEqual(lsDir(dest), ["other"]);
    });
  },
);

rootTest("jk_jailuser: -m with the home bind-mounted into the jail removes nothing", async () => {
  await withFixture("bind", async (f) => {
    const u = await f.user();
    const home = await f.fillHome(u);
    const before = snapshot(home);
    const dest = `${f.jail}${home}`;
    Deno.mkdirSync(dest, { recursive: true, mode: 0o755 });
    assert.equal((await sh("mount", ["--bind", home, dest])).code, 0);
    f.mounts.push(dest);
    const r = await runTool("jk_jailuser", ["-m", "-n", "-j", f.jail, u]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(snapshot(home), before, "the files seen through both paths are intact");
    assert.match(r.stdout, /is already inside the jail \(it is /);
    assert.equal(passwdLine(u)!.split(":")[5], `${f.jail}/.${home}`);
  });
});

rootTest("jk_jailuser: a run stopped after copying is resumed, not duplicated", async () => {
  await withFixture("resume", async (f) => {
    const u = await f.user();
    const home = await f.fillHome(u);
    const before = snapshot(home);
    const dest = `${f.jail}${home}`;
    Deno.mkdirSync(`${f.jail}${f.root}/home`, { recursive: true, mode: 0o755 });
    assert.equal((await sh("cp", ["-a", home, dest])).code, 0);
    const r = await runTool("jk_jailuser", ["-m", "-n", "-v", "-j", f.jail, u]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(snapshot(dest), before);
    assert.throws(() => Deno.lstatSync(home));
  });
});

rootTest("jk_jailuser: -m after a first run without -m moves the files left behind", async () => {
  await withFixture("later-move", async (f) => {
    const u = await f.user();
    const home = await f.fillHome(u);
    const before = snapshot(home);
    const first = await runTool("jk_jailuser", ["-n", "-j", f.jail, u]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(passwdLine(u)!.split(":")[5], `${f.jail}/.${home}`);
    assert.deepEqual(snapshot(home), before, "without -m nothing moves");
    const second = await runTool("jk_jailuser", ["-m", "-n", "-j", f.jail, u]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(snapshot(`${f.jail}${home}`), before);
    assert.throws(() => Deno.lstatSync(home));
  });
});

rootTest("jk_jailuser: --dry-run changes nothing and shows usermod without a shell", async () => {
  await withFixture("dry", async (f) => {
    const g = await f.group();
    const u = await f.user({ groups: [g] });
    const home = await f.fillHome(u);
    const files = [
      "/etc/passwd",
      "/etc/group",
      "/etc/shadow",
      `${f.jail}/etc/passwd`,
      `${f.jail}/etc/group`,
    ];
    const sums = files.map(sha);
    const tree = snapshot(f.root);
    const r = await runTool("jk_jailuser", ["--dry-run", "-m", "-n", "-j", f.jail, u]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout.includes(
        `would run "/usr/sbin/usermod" "-d" "${f.jail}/.${home}" "-s" "/usr/sbin/jk_chrootsh" "--" "${u}"`,
      ),
      r.stdout,
    );
    assert.match(r.stdout, /would write .*\/etc\/passwd/);
    assert.match(r.stdout, /would copy .* verify the copy/);
    assert.deepEqual(files.map(sha), sums);
    assert.deepEqual(snapshot(f.root), tree);
    const j = await runTool("jk_jailuser", ["--dry-run", "--json", "-m", "-n", "-j", f.jail, u]);
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.dryRun, true);
    assert.ok(
      doc.operations.some((o: { op: string; argv?: string[] }) =>
        o.op === "run" && o.argv?.includes(u)
      ),
    );
  });
});

rootTest("jk_jailuser: the shell is looked up inside the jail, not on the host", async () => {
  await withFixture("shell", async (f) => {
    const u = await f.user();
    Deno.removeSync(`${f.jail}/usr/sbin/jk_lsh`);
    // exists on the host, but not in the jail
    Deno.symlinkSync("/usr/bin/true", `${f.jail}/usr/sbin/jk_lsh`);
    const r = await runTool("jk_jailuser", ["-n", "-j", f.jail, u]);
    assert.equal(r.code, 33);
    assert.match(r.stderr, /invalid shell, .*jk_lsh does not exist/);
    // an absolute link resolved inside the jail is fine
    Deno.removeSync(`${f.jail}/usr/sbin/jk_lsh`);
    Deno.symlinkSync("/bin/bash", `${f.jail}/usr/sbin/jk_lsh`);
    const ok = await runTool("jk_jailuser", ["-n", "-j", f.jail, u]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(passwdLine(u)!.split(":")[6], "/usr/sbin/jk_chrootsh");
  });
});

rootTest(
  "jk_jailuser: a user jailed into a thin jail (jk_init --thin), shells seen through the binds",
  async () => {
    await withFixture("thin", async (f) => {
      const thinJail = `${f.root}/thin`;
      const etc = `${f.root}/etc-jailkit`;
      Deno.mkdirSync(etc, { mode: 0o755 });
      const env = { JAILKIT_ETC: etc };
      const init = await runTool("jk_init", ["--thin", "-j", thinJail, "basicshell"], { env });
      assert.equal(init.code, 0, init.stdout + init.stderr);
      assert.deepEqual(lsDir(`${thinJail}/usr`), [], "nothing copied under /usr");
      const u = await f.user();
      await must("usermod", [`--home=${thinJail}/./home/${u}`, u]);
      const r = await runTool("jk_jailuser", ["-n", "-s", "/bin/bash", "-j", thinJail, u], {
        env,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(unexpectedOutput(r), "");
      const { uid, gid } = idsOf(u);
      assert.equal(
        passwdLine(u),
        `${u}:x:${uid}:${gid}:JK Test,Room 1:${thinJail}/./home/${u}:/usr/sbin/jk_chrootsh`,
      );
      assert.match(
        Deno.readTextFileSync(`${thinJail}/etc/passwd`),
        new RegExp(`^${u}:x:${uid}:${gid}:JK Test,Room 1:/home/${u}:/bin/bash$`, "m"),
      );
      assert.deepEqual(lsDir(`${thinJail}/usr`), [], "still nothing under /usr");
      // A shell neither the jail nor the host has is refused as in any jail.
      const missing = await runTool("jk_jailuser", ["-n", "-s", "/bin/nosuch", "-j", thinJail, u], {
        env,
      });
      assert.equal(missing.code, 33);
      assert.match(
        missing.stderr,
        new RegExp(`invalid shell, ${thinJail}/bin/nosuch does not exist`),
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Interop with Debian's jailkit 2.23

/** A runnable copy of a jailkit 2.23 Python tool, reading its library and inis from REF. */
function refTool(dir: string, tool: string): string[] {
  Deno.mkdirSync(`${dir}/etc`, { recursive: true });
  for (const e of Deno.readDirSync(`${REF}/etc/jailkit`)) {
    Deno.copyFileSync(`${REF}/etc/jailkit/${e.name}`, `${dir}/etc/${e.name}`);
  }
  const text = Deno.readTextFileSync(`${REF}/usr/sbin/${tool}`)
    .replace("LIBDIR='/usr/share/jailkit'", `LIBDIR='${REF}/usr/share/jailkit'`)
    .replace("INIPREFIX='/etc/jailkit'", `INIPREFIX='${dir}/etc'`);
  Deno.writeTextFileSync(`${dir}/${tool}`, text);
  return ["/usr/bin/python3", `${dir}/${tool}`];
}

async function runArgv(argv: string[]): Promise<{ code: number; out: string }> {
  return await sh(argv[0], argv.slice(1));
}

rootTest(
  "jk_jailuser: on jails made by jailkit 2.23's jk_init, same lines as its jk_jailuser",
  async () => {
    await withFixture("interop", async (f) => {
      const g1 = await f.group();
      const g2 = await f.group();
      const u = await f.user({ groups: [g1, g2], gecos: "Ref User,,," });
      const refDir = `${f.root}/ref`;
      const init = refTool(refDir, "jk_init");
      const jailuser = refTool(refDir, "jk_jailuser");
      const jails = [`${f.root}/refjail`, `${f.root}/ourjail`];
      for (const j of jails) {
        const r = await runArgv([...init, "-j", j, "jk_lsh", "basicshell"]);
        assert.equal(r.code, 0, r.out);
        // the same pre-existing group with another member in both jails
        Deno.writeTextFileSync(`${j}/etc/group`, `${g2}:x:${gidOf(g2)}:root\n`, { append: true });
      }
      assert.equal(sha(`${jails[0]}/etc/passwd`), sha(`${jails[1]}/etc/passwd`));
      const hostBefore = passwdLine(u)!;
      const [home, shell] = hostBefore.split(":").slice(5);

      const ref = await runArgv([...jailuser, "-n", "-s", "/bin/bash", "-j", jails[0], u]);
      assert.equal(ref.code, 0, ref.out);
      const refHost = passwdLine(u)!;
      await must("usermod", ["-d", home, "-s", shell, u]);

      const ours = await runTool("jk_jailuser", ["-n", "-s", "/bin/bash", "-j", jails[1], u]);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(passwdLine(u), refHost.replace(jails[0], jails[1]));
      for (const file of ["etc/passwd", "etc/group"]) {
        assert.equal(
          Deno.readTextFileSync(`${jails[1]}/${file}`),
          Deno.readTextFileSync(`${jails[0]}/${file}`),
          file,
        );
      }
      assert.ok(
        Deno.readTextFileSync(`${jails[1]}/etc/group`).includes(`${g2}:x:${gidOf(g2)}:root,${u}\n`),
      );

      // each tool accepts what the other wrote: a rerun changes nothing
      const sums = jails.flatMap((j) => [sha(`${j}/etc/passwd`), sha(`${j}/etc/group`)]);
      const refAgain = await runArgv([...jailuser, "-n", "-s", "/bin/bash", "-j", jails[1], u]);
      assert.equal(refAgain.code, 0, refAgain.out);
      await must("usermod", ["-d", refHost.split(":")[5], u]);
      const oursAgain = await runTool("jk_jailuser", ["-n", "-s", "/bin/bash", "-j", jails[0], u]);
      assert.equal(oursAgain.code, 0, oursAgain.stderr);
      assert.deepEqual(jails.flatMap((j) => [sha(`${j}/etc/passwd`), sha(`${j}/etc/group`)]), sums);
    });
  },
);

rootTest("jk_jailuser: jailkit 2.23's jk_chrootsh logs in a user we jailed and moved", async () => {
  await withFixture("login", async (f) => {
    const refDir = `${f.root}/ref`;
    const jail = `${f.root}/j`;
    const init = await runArgv([...refTool(refDir, "jk_init"), "-j", jail, "jk_lsh", "basicshell"]);
    assert.equal(init.code, 0, init.out);
    const u = await f.user();
    const home = `${f.root}/home/${u}`;
    Deno.mkdirSync(home, { mode: 0o750 });
    Deno.writeTextFileSync(`${home}/hello`, "hello from the old home\n");
    await must("chown", ["-R", `${u}:`, home]);
    Deno.chmodSync(home, 0o750);
    const r = await runTool("jk_jailuser", ["-m", "-n", "-s", "/bin/bash", "-j", jail, u]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // jk_chrootsh must be set-uid root and needs /etc/jailkit: give it both without touching
    // the host's /etc, through an overlay in a private mount namespace
    const chrootsh = `${f.root}/jk_chrootsh`;
    Deno.copyFileSync(`${REF}/usr/sbin/jk_chrootsh`, chrootsh);
    Deno.chmodSync(chrootsh, 0o4755);
    for (const d of ["upper", "work"]) Deno.mkdirSync(`${f.root}/${d}`);
    const { gid } = idsOf(u);
    const script = [
      "mount --make-rprivate /",
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${f.root}/upper,workdir=${f.root}/work /etc`,
      "mkdir -p /etc/jailkit && chmod 755 /etc/jailkit",
      "cd /",
      `exec env -i PATH=/usr/bin:/bin setpriv --reuid=${u} --regid=${gid} --init-groups ${chrootsh}` +
      ` -c 'echo "$HOME"; pwd; cat hello'`,
    ].join(" && ");
    const login = await sh("unshare", ["-m", "sh", "-c", script]);
    assert.equal(login.code, 0, login.out);
    assert.equal(login.out, `${home}\n${home}\nhello from the old home\n`);
  });
});
