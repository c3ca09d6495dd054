/**
 * jk_check end to end, as root: a jail built by our jk_init, checked clean, then problems
 * planted one at a time (each must be reported exactly once), host accounts made with useradd,
 * the command line, --json, and proof that nothing is written.
 *
 * With JK_REFERENCE set, jk_check is jailkit 2.23's; the jails are still built by our jk_init.
 */
import assert from "node:assert/strict";
import {
  DENO,
  REPO_ROOT,
  rootTest,
  runTool,
  safeTestRoot,
  SYSTEM_PATH,
  tempDir,
} from "./helpers.ts";
import { createRunSshd } from "./sshd.ts";

/** Our tool even under JK_REFERENCE: fixtures must not depend on the tool being judged. */
async function ours(tool: string, args: string[], env: Record<string, string>) {
  const ref = Deno.env.get("JK_REFERENCE");
  Deno.env.delete("JK_REFERENCE");
  try {
    return await runTool(tool, args, { env });
  } finally {
    if (ref !== undefined) Deno.env.set("JK_REFERENCE", ref);
  }
}

function must(cmd: string, args: string[]): string {
  const o = new Deno.Command(cmd, {
    args,
    env: { PATH: SYSTEM_PATH, LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const dec = new TextDecoder();
  if (o.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: exit ${o.code}: ${dec.decode(o.stderr)}`);
  }
  return dec.decode(o.stdout);
}

interface Fixture {
  root: string;
  jail: string;
  /** An empty configuration directory (JAILKIT_ETC). */
  etc: string;
  cleanup: () => void;
}

async function freshJail(label: string): Promise<Fixture> {
  const { dir: root, cleanup: cleanRoot } = safeTestRoot(label);
  const { dir: etc, cleanup: cleanEtc } = tempDir(`${label}-etc`);
  const jail = `${root}/jail`;
  const init = await ours("jk_init", ["-j", jail, "basicshell"], { JAILKIT_ETC: etc });
  assert.equal(init.code, 0, init.stderr);
  return {
    root,
    jail,
    etc,
    cleanup: () => {
      cleanRoot();
      cleanEtc();
    },
  };
}

/**
 * jk_check with a configuration naming `jail` (so jailkit 2.23, which ignores arguments,
 * checks it too) and `jail` as argument (so ours checks only it).
 */
async function check(f: Fixture, jail = f.jail, extra: string[] = []) {
  const ini = `${f.etc}/check.ini`;
  Deno.writeTextFileSync(ini, `[${jail}]\n`);
  const r = await runTool("jk_check", ["-c", ini, ...extra, jail], {
    env: { JAILKIT_ETC: f.etc },
  });
  return { ...r, lines: r.stdout.split("\n").filter((l) => l !== "") };
}

rootTest("jk_check: a fresh jk_init basicshell jail has no findings, exit 0", async () => {
  const f = await freshJail("check-fresh");
  try {
    const r = await check(f);
    assert.deepEqual(r.lines, []);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
  } finally {
    f.cleanup();
  }
});

rootTest("jk_check: each planted problem is reported exactly once", async () => {
  const f = await freshJail("check-plant");
  const J = f.jail;
  try {
    // A world-writable directory below a system directory.
    Deno.mkdirSync(`${J}/usr/share/upload`);
    Deno.chmodSync(`${J}/usr/share/upload`, 0o777);
    let r = await check(f);
    assert.deepEqual(r.lines, [`WARNING: ${J}/usr/share/upload/ is writable for others!`]);
    assert.equal(r.code, 0, "warnings alone are not errors");
    Deno.removeSync(`${J}/usr/share/upload`);

    // A set-uid root program.
    Deno.chmodSync(`${J}/usr/bin/sleep`, 0o4755);
    r = await check(f);
    assert.deepEqual(r.lines, [
      `WARNING: ${J}/usr/bin/sleep is executable for others and setuid root!!`,
    ]);
    assert.equal(r.code, 0);
    Deno.chmodSync(`${J}/usr/bin/sleep`, 0o755);

    // A copy of a host program changed in its last byte, size unchanged.
    const original = Deno.readFileSync(`${J}/usr/bin/ls`);
    const changed = original.slice();
    changed[changed.length - 1] ^= 0xff;
    Deno.writeFileSync(`${J}/usr/bin/ls`, changed);
    r = await check(f);
    assert.deepEqual(r.lines, [`ERROR: ${J}/usr/bin/ls and /usr/bin/ls are not the same!`]);
    assert.equal(r.code, 2);
    Deno.writeFileSync(`${J}/usr/bin/ls`, original);

    // A jail user whose uid differs from the host account.
    const passwd = Deno.readTextFileSync(`${J}/etc/passwd`);
    Deno.writeTextFileSync(
      `${J}/etc/passwd`,
      `${passwd}daemon:x:4242:1:daemon:/usr/sbin:/usr/sbin/nologin\n`,
    );
    r = await check(f);
    assert.deepEqual(r.lines, [`ERROR: user daemon is changed in jail ${J}`]);
    assert.equal(r.code, 2);
    Deno.writeTextFileSync(`${J}/etc/passwd`, passwd);

    // The jail reached through a symlinked parent directory.
    Deno.symlinkSync(f.root, `${f.root}/via`);
    const viaJail = `${f.root}/via/jail`;
    r = await check(f, viaJail);
    assert.equal(r.lines.length, 1, r.stdout);
    assert.match(
      r.lines[0],
      new RegExp(`^ERROR: jail ${viaJail} is not safe: ${f.root}/via is a symlink`),
    );
    assert.equal(r.code, 2);

    // Everything undone: clean again.
    r = await check(f);
    assert.deepEqual(r.lines, []);
    assert.equal(r.code, 0);
  } finally {
    f.cleanup();
  }
});

rootTest("jk_check: jails of host accounts (/./ homes), their jail entry and shell", async () => {
  const f = await freshJail("check-users");
  const J = f.jail;
  const name = `jkc${crypto.randomUUID().slice(0, 6)}`;
  must("useradd", ["-M", "-d", `${J}/./home/${name}`, "-s", "/usr/sbin/jk_chrootsh", name]);
  // sshd -T refuses to run without its privilege-separation directory, which only a running
  // sshd's service makes.
  const createdRunSshd = createRunSshd();
  try {
    const uid = Number(must("id", ["-u", name]).trim());
    const gid = Number(must("id", ["-g", name]).trim());
    const emptyIni = `${f.etc}/empty.ini`;
    Deno.writeTextFileSync(emptyIni, "");
    // The account's shell is jk_chrootsh, so ours also asks sshd about it: first with a
    // configuration that closes everything, so that only the jail's findings are seen.
    must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${f.etc}/host_key`]);
    const sshd = (config: string) => {
      Deno.writeTextFileSync(`${f.etc}/sshd_config`, `HostKey ${f.etc}/host_key\n${config}`);
      return Deno.env.get("JK_REFERENCE") ? [] : ["--sshd-config", `${f.etc}/sshd_config`];
    };
    const closed = sshd("DisableForwarding yes\nPermitTunnel no\nPermitUserRC no\n");
    // No argument, no section: the jail is found through the host account. Other tests may
    // have jailed accounts of their own at the same time, so only this jail's lines count.
    const all = async () => {
      const r = await runTool("jk_check", ["-c", emptyIni, ...closed], {
        env: { JAILKIT_ETC: f.etc },
      });
      return r.stdout.split("\n").filter((l) => l.includes(J));
    };
    assert.deepEqual(await all(), [`ERROR: user ${name} does not exist in ${J}/etc/passwd`]);

    const passwd = Deno.readTextFileSync(`${J}/etc/passwd`);
    const setJailLine = (line: string) => Deno.writeTextFileSync(`${J}/etc/passwd`, passwd + line);
    Deno.mkdirSync(`${J}/home/${name}`, { recursive: true });
    Deno.chownSync(`${J}/home/${name}`, uid, gid);
    // The user's own files are theirs: not compared with a host file of the same path.
    Deno.writeTextFileSync(`${J}/home/${name}/profile`, "mine");
    setJailLine(`${name}:x:${uid}:${gid}::/home/${name}:/bin/bash\n`);
    assert.deepEqual(await all(), []);
    assert.deepEqual((await check(f, J, closed)).lines, []);

    if (!Deno.env.get("JK_REFERENCE")) {
      // sshd's defaults for this user, but X11 forwarding and tunnels on; PermitUserRC off
      // for everybody else, on for this user (Match User).
      const open = sshd(
        `X11Forwarding yes\nPermitTunnel yes\nPermitUserRC no\nMatch User ${name}\n` +
          "    PermitUserRC yes\n",
      );
      const warned = await check(f, J, open);
      assert.equal(warned.code, 0, warned.stderr);
      assert.deepEqual(warned.lines, [
        `WARNING: sshd lets jailed user ${name} of jail ${J} reach past the jail: ssh -L/-D ` +
        `to the server's local services and network; ssh -R ports listening on the server; ` +
        `Unix socket forwarding to and from the server; agent forwarding; X11 forwarding; ` +
        `tun/tap tunnels into the server's network; ~/.ssh/rc run at login ` +
        `(AllowTcpForwarding yes, PermitOpen any, PermitListen any, GatewayPorts no, ` +
        `AllowStreamLocalForwarding yes, AllowAgentForwarding yes, X11Forwarding yes, ` +
        `PermitTunnel yes, PermitUserRC yes); switch them off in a Match block for jailed ` +
        `users (see jk_check(8))`,
      ]);
      const json = JSON.parse((await check(f, J, [...open, "--json"])).stdout);
      assert.deepEqual(
        json.findings.map((x: { kind: string; user: string; sshd: string[] }) => [
          x.kind,
          x.user,
          x.sshd.length,
        ]),
        [["sshd", name, 9]],
      );
      // The recommended Match block, for the user's group.
      const group = must("id", ["-gn", name]).trim();
      const matched = sshd(
        `X11Forwarding yes\nMatch Group ${group}\n    DisableForwarding yes\n` +
          "    PermitTunnel no\n    PermitUserRC no\n",
      );
      assert.deepEqual((await check(f, J, matched)).lines, []);
      // No sshd configuration sshd accepts: nothing to report, said with -v.
      const broken = sshd("NoSuchKeyword yes\n");
      const verbose = await check(f, J, [...broken, "-v"]);
      assert.equal(verbose.code, 0);
      assert.ok(verbose.lines.some((l) => l.startsWith(`cannot read sshd's settings for user`)));
      assert.ok(!verbose.lines.some((l) => l.startsWith("WARNING")));
      sshd("DisableForwarding yes\nPermitTunnel no\nPermitUserRC no\n");
    }

    setJailLine(`${name}:x:${uid}:${gid}::/home/other:/bin/bash\n`);
    assert.deepEqual((await check(f, J, closed)).lines, [
      `ERROR: the real homedir and jail homedir for user ${name} do not correspond in jail ` +
      `${J} (host ${J}/./home/${name}, jail /home/other, expected ${J}/./home/other)`,
    ]);
    setJailLine(`${name}:x:${uid + 1}:${gid}::/home/${name}:/bin/bash\n`);
    const changed = await check(f, J, closed);
    assert.deepEqual(changed.lines, [`ERROR: user ${name} is changed in jail ${J}`]);
    assert.equal(changed.code, 2);
    setJailLine(`${name}:x:${uid}:${gid}::/home/${name}:/bin/bash\n`);

    must("usermod", ["-s", "/bin/bash", name]);
    assert.deepEqual((await check(f)).lines, [
      `ERROR: user ${name} has a /./ but does not have the /usr/sbin/jk_chrootsh shell ` +
      `(it has /bin/bash)`,
    ]);
  } finally {
    if (createdRunSshd) Deno.removeSync("/run/sshd");
    try {
      // -f: another test's leftover process may still run under a reused uid.
      must("userdel", ["-f", name]);
    } finally {
      f.cleanup();
    }
  }
});

rootTest("jk_check --json: findings as data; the jail is never written to", async () => {
  const f = await freshJail("check-json");
  const J = f.jail;
  try {
    Deno.writeTextFileSync(`${J}/etc/profile`, Deno.readTextFileSync("/etc/profile") + "#");
    Deno.mkdirSync(`${J}/srv`);
    Deno.chmodSync(`${J}/srv`, 0o775);
    const before = snapshot(J);
    const r = await check(f, J, ["--json"]);
    assert.deepEqual(snapshot(J), before);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.jails, [{ jail: J, source: "argument" }]);
    assert.deepEqual(doc.findings, [
      {
        severity: "error",
        kind: "content",
        jail: J,
        path: `${J}/etc/profile`,
        message: `${J}/etc/profile and /etc/profile have a different size!`,
      },
      {
        severity: "warning",
        kind: "writable-dir",
        jail: J,
        path: `${J}/srv`,
        message: `${J}/srv/ is writable for group!`,
      },
    ]);
    assert.equal(doc.errors, 1);
    assert.equal(doc.warnings, 1);
  } finally {
    f.cleanup();
  }
});

/** Everything a write could change, except access times. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    const st = Deno.lstatSync(p);
    out.set(
      p,
      `${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtime?.getTime()} ${st.ctime?.getTime()}`,
    );
    if (st.isDirectory) { for (const e of Deno.readDirSync(p)) walk(`${p}/${e.name}`); }
  };
  walk(dir);
  return out;
}

rootTest("jk_check: command line, configuration file errors, verbose progress", async () => {
  const f = await freshJail("check-cli");
  try {
    const env = { JAILKIT_ETC: f.etc };
    const help = await runTool("jk_check", ["-h"], { env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: jk_check/);
    assert.match(help.stdout, /--configfile=FILE/);

    const bad = await runTool("jk_check", ["--bogus"], { env });
    assert.equal(bad.code, 1);

    // A configuration file named with -c must exist; the default one need not.
    const missing = await runTool("jk_check", ["-c", `${f.etc}/nope.ini`, f.jail], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.ini: configuration file not found/);
    const byDefault = await runTool("jk_check", [f.jail], { env });
    assert.equal(byDefault.code, 0, byDefault.stdout + byDefault.stderr);
    assert.equal(byDefault.stdout, "");
    // The jail spelled as the other tools take it: -j DIR, --jail DIR, --jail=DIR.
    for (const jailArgs of [["-j", f.jail], ["--jail", f.jail], [`--jail=${f.jail}`]]) {
      const r = await runTool("jk_check", ["--json", ...jailArgs], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).jails, [{ jail: f.jail, source: "argument" }]);
    }

    Deno.writeTextFileSync(`${f.etc}/jk_check.ini`, `[${f.jail}]\nignorepathoncompare\n`);
    const malformed = await runTool("jk_check", [f.jail], { env });
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /jk_check\.ini:2: expected a comment/);

    // A section for a jail that does not exist: a warning, not an error.
    Deno.writeTextFileSync(`${f.etc}/jk_check.ini`, `[${f.root}/gone]\n`);
    const gone = await runTool("jk_check", [`${f.root}/gone`], { env });
    assert.equal(gone.stdout, `WARNING: cannot check files in ${f.root}/gone, it does not exist\n`);
    assert.equal(gone.code, 0);

    const verbose = await runTool("jk_check", ["-v", f.jail], { env });
    assert.equal(verbose.code, 0);
    assert.match(verbose.stdout, new RegExp(`^testing jail ${f.jail}$`, "m"));
    assert.match(
      verbose.stdout,
      new RegExp(`^comparing ${f.jail}/usr/bin/ls and /usr/bin/ls$`, "m"),
    );
    assert.doesNotMatch(verbose.stdout, /^(ERROR|WARNING):/m);
  } finally {
    f.cleanup();
  }
});

/** Binds a Unix socket at `path` and leaves it there, as jk_socketd leaves JAIL/dev/log. */
function makeSocket(path: string): void {
  // Deno removes the socket file when its listener closes; a process that exits does not.
  must("python3", [
    "-c",
    "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
    path,
  ]);
}

rootTest(
  "jk_check: every entry a jailed user or intruder can plant is reported, text and --json",
  async () => {
    const f = await freshJail("check-planted");
    const J = f.jail;
    try {
      Deno.symlinkSync("/etc/shadow", `${J}/usr/share/x`);
      Deno.symlinkSync("/etc/passwd", `${J}/usr/bin/pw`);
      Deno.symlinkSync("../../../../../../etc", `${J}/usr/lib/up`);
      Deno.copyFileSync(`${J}/usr/bin/true`, `${J}/usr/bin/dropped`);
      Deno.mkdirSync(`${J}/opt/tools`, { recursive: true });
      Deno.writeTextFileSync(`${J}/opt/tools/readme`, "hi");
      // A hard link needs the same file system: a host file next to the jail stands for one.
      Deno.writeTextFileSync(`${f.root}/host-secret`, "secret");
      Deno.linkSync(`${f.root}/host-secret`, `${J}/usr/share/hn`);
      must("mknod", [`${J}/usr/share/mem`, "c", "1", "1"]);
      must("mknod", [`${J}/dev/sda-null`, "b", "8", "0"]);
      must("mkfifo", [`${J}/usr/share/fifo`]);
      makeSocket(`${J}/etc/sock`);
      Deno.copyFileSync(`${J}/usr/bin/true`, `${J}/usr/bin/suidbob`);
      Deno.chownSync(`${J}/usr/bin/suidbob`, 1000, 1000);
      Deno.chmodSync(`${J}/usr/bin/suidbob`, 0o4755);
      const passwd = Deno.readTextFileSync(`${J}/etc/passwd`);
      Deno.writeTextFileSync(
        `${J}/etc/passwd`,
        `${passwd}ghost:x:2000:2000::/home/ghost:/bin/zsh\n`,
      );
      // What jk_socketd and the users leave is theirs: a socket at dev/log, a user's own link
      // to a host file in /tmp.
      makeSocket(`${J}/dev/log`);
      Deno.symlinkSync("/etc/shadow", `${J}/tmp/mine`);

      const r = await check(f);
      assert.deepEqual(r.lines, [
        `ERROR: ${J}/dev/sda-null is a block device, but /dev/sda-null does not exist on the host!`,
        `WARNING: ${J}/etc/sock is a socket, which no jailkit tool makes there`,
        `WARNING: ${J}/opt/tools/ is only in the jail: /opt/tools does not exist on the host`,
        `WARNING: ${J}/usr/bin/dropped is only in the jail: /usr/bin/dropped does not exist on ` +
        "the host",
        `ERROR: symlink ${J}/usr/bin/pw leads out of the jail when followed from the host ` +
        "(to /etc/passwd; /usr/bin/pw does not exist)",
        `WARNING: ${J}/usr/bin/suidbob is only in the jail: /usr/bin/suidbob does not exist on ` +
        "the host",
        `WARNING: ${J}/usr/bin/suidbob is setuid and owned by uid 1000, not root!`,
        `ERROR: symlink ${J}/usr/lib/up leads out of the jail when followed from the host ` +
        "(to ../../../../../../etc; /usr/lib/up does not exist)",
        `WARNING: ${J}/usr/share/fifo is a FIFO, which no jailkit tool makes there`,
        `ERROR: ${J}/usr/share/mem is a char device outside /dev!`,
        `ERROR: symlink ${J}/usr/share/x leads out of the jail when followed from the host ` +
        "(to /etc/shadow; /usr/share/x does not exist)",
        `ERROR: ${J}/usr/share/hn is a hard link to a file outside the jail (2 links, 1 in the ` +
        "jail)",
        `ERROR: user ghost in jail ${J} does not exist on the real system`,
        `WARNING: the shell /bin/zsh of user ghost does not exist in jail ${J}`,
      ]);
      assert.equal(r.code, 2);

      const doc = JSON.parse((await check(f, J, ["--json"])).stdout);
      assert.deepEqual(
        doc.findings.map((x: { severity: string; kind: string }) => `${x.severity} ${x.kind}`),
        [
          "error device",
          "warning special",
          "warning jail-only",
          "warning jail-only",
          "error symlink-escape",
          "warning jail-only",
          "warning setid",
          "error symlink-escape",
          "warning special",
          "error device",
          "error symlink-escape",
          "error hardlink",
          "error jail-user",
          "warning jail-user",
        ],
      );
      assert.equal(doc.errors, 7);
      assert.equal(doc.warnings, 7);
    } finally {
      f.cleanup();
    }
  },
);

rootTest(
  "jk_check: silent on jails the jailkit tools wrote, for every shipped jk_init section",
  () => {
    const { dir: root, cleanup } = safeTestRoot("check-sections");
    const ini = Deno.readTextFileSync(`${REPO_ROOT}/data/jk_init.ini`);
    const sections = [...ini.matchAll(/^\[([a-z0-9_-]+)\]/gm)].map((m) => m[1]);
    assert.ok(sections.length > 30, sections.join(" "));
    try {
      // need_proc sections add a line to /etc/fstab and mount proc in the jail: everything
      // runs in a mount namespace of its own, with a copy of /etc bound over the host's. Our
      // tools, also under JK_REFERENCE: the question is what they leave behind.
      const tool = (name: string) =>
        `${DENO} run -A --no-config --quiet ${REPO_ROOT}/cli/${name}.ts`;
      const socket = "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])";
      const script = [
        `cp -a /etc ${root}/etc-copy`,
        `mount --bind ${root}/etc-copy /etc`,
        `for s in ${sections.join(" ")}; do`,
        `  j=${root}/jail-$s`,
        `  ${tool("jk_init")} -j $j $s >/dev/null 2>${root}/init.err ||` +
        ` { echo "=== $s jk_init failed"; cat ${root}/init.err; }`,
        // need_logsocket names JAIL/dev/log in jk_socketd.ini; jk_socketd makes the socket.
        `  if grep -qF "[$j/dev/log]" ${root}/etc-jailkit/jk_socketd.ini 2>/dev/null; then` +
        ` python3 -c '${socket}' $j/dev/log; fi`,
        `  out=$(${tool("jk_check")} $j 2>&1); rc=$?`,
        `  if [ -n "$out" ] || [ $rc != 0 ]; then echo "=== $s exit $rc"; echo "$out"; fi`,
        `  umount $j/proc 2>/dev/null; rm -rf $j`,
        `done`,
        `echo checked`,
      ].join("\n");
      const o = new Deno.Command("unshare", {
        args: ["-m", "--propagation", "private", "sh", "-c", script],
        stdout: "piped",
        stderr: "piped",
        env: { PATH: SYSTEM_PATH, JAILKIT_ETC: `${root}/etc-jailkit`, NO_COLOR: "1" },
      }).outputSync();
      const dec = new TextDecoder();
      assert.equal(o.code, 0, dec.decode(o.stderr));
      assert.equal(dec.decode(o.stdout), "checked\n");
    } finally {
      cleanup();
    }
  },
);

rootTest("jk_check: silent after jk_init -k, jk_jailuser -m, jk_cp and jk_update", async () => {
  const { dir: root, cleanup } = safeTestRoot("check-tools");
  const { dir: etc, cleanup: cleanEtc } = tempDir("check-tools-etc");
  const jail = `${root}/jail`;
  const name = `jkk${crypto.randomUUID().slice(0, 6)}`;
  const env = { JAILKIT_ETC: etc };
  let created = false;
  try {
    const init = await ours("jk_init", ["-k", "-j", jail, "basicshell", "jk_lsh", "openvpn"], env);
    assert.equal(init.code, 0, init.stderr);
    must("useradd", ["-m", "-d", `/home/${name}`, "-s", "/bin/bash", name]);
    created = true;
    const jailed = await ours(
      "jk_jailuser",
      ["-m", "-n", "-s", "/bin/bash", "-j", jail, name],
      env,
    );
    assert.equal(jailed.code, 0, jailed.stderr);
    // Host absolute symlinks (the alternatives chain of an editor, the time zone) as copied.
    const cp = await ours("jk_cp", ["-j", jail, "/usr/bin/editor", "/etc/localtime"], env);
    assert.equal(cp.code, 0, cp.stderr);
    const update = await ours("jk_update", ["-j", jail], env);
    assert.equal(update.code, 0, update.stderr);
    const r = await runTool("jk_check", [jail], { env });
    // Other tests' jailed accounts name other jails; sshd's settings for jailed accounts are
    // another check (the sshd tests above).
    const lines = r.stdout.split("\n").filter((l) => l.includes(jail));
    assert.deepEqual(lines.filter((l) => !l.startsWith("WARNING: sshd ")), []);
  } finally {
    try {
      if (created) must("userdel", ["-f", name]);
    } finally {
      cleanup();
      cleanEtc();
    }
  }
});

rootTest(
  "jk_check: a thin jail's mount points are left alone, anything else is still reported",
  async () => {
    const { dir: root, cleanup } = safeTestRoot("check-thin");
    const { dir: etc, cleanup: cleanEtc } = tempDir("check-thin-etc");
    const jail = `${root}/jail`;
    const env = { JAILKIT_ETC: etc };
    try {
      const init = await ours(
        "jk_init",
        ["--thin", "-j", jail, "jk_lsh", "sftp", "scp", "rsync", "basicshell"],
        env,
      );
      assert.equal(init.code, 0, init.stderr);
      const fresh = await runTool("jk_check", [jail], { env });
      assert.equal(fresh.stdout, "", "a fresh thin jail is silent");
      assert.equal(fresh.code, 0);
      // Below the mount points the session sees the host (or its own /tmp and /proc), never
      // what the directories hold: a set-uid file, a writable directory, a jail-only file there
      // are nobody's business at login.
      Deno.mkdirSync(`${jail}/usr/local/upload`, { recursive: true });
      Deno.chmodSync(`${jail}/usr/local/upload`, 0o777);
      Deno.writeTextFileSync(`${jail}/usr/local/suid`, "#!/bin/sh\n");
      Deno.chmodSync(`${jail}/usr/local/suid`, 0o4755);
      Deno.writeTextFileSync(`${jail}/tmp/left`, "");
      Deno.writeTextFileSync(`${jail}/etc/alternatives/editor`, "");
      const mounted = await runTool("jk_check", [jail], { env });
      assert.equal(mounted.stdout, "", "nothing about the mount points");
      assert.equal(mounted.code, 0);
      const verbose = await runTool("jk_check", ["-v", jail], { env });
      assert.match(
        verbose.stdout,
        new RegExp(`ignoring path ${jail}/usr \\(a mount point of this thin jail\\)`),
      );
      // The same plants elsewhere are reported.
      Deno.mkdirSync(`${jail}/etc/upload`);
      Deno.chmodSync(`${jail}/etc/upload`, 0o777);
      Deno.writeTextFileSync(`${jail}/etc/suid`, "#!/bin/sh\n");
      Deno.chmodSync(`${jail}/etc/suid`, 0o4755);
      const planted = await runTool("jk_check", [jail], { env });
      const lines = planted.stdout.split("\n").filter((l) => l !== "");
      assert.ok(lines.length > 0, planted.stdout);
      assert.ok(lines.every((l) => /\/etc\/(upload|suid)/.test(l)), planted.stdout);
      assert.ok(lines.some((l) => l.includes(`${jail}/etc/upload/ is writable for others`)));
      assert.ok(lines.some((l) => l.includes(`${jail}/etc/suid`) && /setuid root/.test(l)));
    } finally {
      cleanup();
      cleanEtc();
    }
  },
);
