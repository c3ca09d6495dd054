/**
 * Thin jails at login (lib/login/thin_session.ts, man/jk_thin.ini.5): the decisions against a
 * fake system (which stage, which mount point is refused, which exit code), then the installed
 * jk_chrootsh, jk_uchroot and jk_chrootlaunch building real sessions: read-only nosuid binds,
 * a private /tmp and /proc, no network, nothing left running, nothing visible outside, and the
 * attacks a jail owner or a jailed user can try.
 */
import assert from "node:assert/strict";
import {
  AT_FDCWD,
  ErrnoError,
  mknod,
  newMount,
  OPEN_TREE_CLOEXEC,
  openTree,
  unshare,
} from "../ffi/libc.ts";
import { parseIni } from "../lib/config/ini.ts";
import { type ThinJail, thinJailFor, withThinSection } from "../lib/config/thin.ts";
import { Refusal, type StatInfo } from "../lib/login/common.ts";
import {
  carryOutThin,
  enterThinSession,
  mountPointProblem,
  openMountPoint,
  prepareThin,
  THIN_CONFIG_FILE,
  THIN_EXIT,
  thinStage,
} from "../lib/login/thin_session.ts";
import { EXIT as CHROOTSH_EXIT } from "../lib/login/chrootsh.ts";
import { EXIT as UCHROOT_EXIT } from "../lib/login/uchroot.ts";
import { EXIT as LAUNCH_EXIT } from "../lib/login/chrootlaunch.ts";
import { EXIT as PROCMAIL_EXIT } from "../lib/login/procmailwrapper.ts";
import { copyInto, DENO, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { sh, syslogListener, TestNamespace } from "./namespace.ts";
import { FakeRestart, fakeThinSystem, type ThinWorld } from "./thin_fake.ts";
import { statOf } from "./login_fixture.ts";

// ---------------------------------------------------------------------------------------------
// Decisions

const JAIL = "/srv/thin";
const SECTION = `[${JAIL}]
readonly_binds = /usr, /etc/ssl
private_tmp = 1
tmp_size_mb = 16
private_proc = 1
end_processes_at_logout = 1
`;

function thinOf(text: string): ThinJail {
  return thinJailFor(parseIni(text, THIN_CONFIG_FILE, "c"), JAIL)!;
}

const D = 0o040755;
/** A jail whose mount points are all fine. */
function goodJail(): Record<string, StatInfo> {
  return {
    usr: statOf(D),
    etc: statOf(D),
    "etc/ssl": statOf(D),
    tmp: statOf(D),
    proc: statOf(D),
  };
}

/** The tool's line for its log, which enterThinSession writes once per login. */
const ENTERING = "now entering jail /srv/thin for user x (1001)";

function attempt(
  w: ThinWorld,
): { code: number | "restarted" | 0; events: string[]; logs: string[] } {
  const events: string[] = [];
  const logs: string[] = [];
  const sys = fakeThinSystem(w, events);
  try {
    enterThinSession(sys, JAIL, (p, m) => logs.push(`${p}: ${m}`), ENTERING);
  } catch (e) {
    if (e instanceof Refusal) return { code: e.exitCode, events, logs };
    throw e;
  }
  assert.equal(sys.openCount(), 0, "descriptors leaked");
  return { code: 0, events, logs };
}

Deno.test("thinStage: ordinary, one stage, restart, PID 1, a caller's stage marker", () => {
  const pidNs = thinOf(SECTION);
  const noPidNs = thinOf(`[${JAIL}]\nreadonly_binds = /usr\nprivate_tmp = 1\n`);
  assert.deepEqual(thinStage(undefined, 4242, false), { kind: "ordinary" });
  assert.deepEqual(thinStage(undefined, 4242, true), { kind: "ordinary" });
  assert.deepEqual(thinStage(noPidNs, 4242, false), {
    kind: "setup",
    thin: noPidNs,
    secondStage: false,
  });
  assert.deepEqual(thinStage(noPidNs, 4242, true).kind, "setup");
  assert.deepEqual(thinStage(pidNs, 4242, false), { kind: "restart", thin: pidNs });
  assert.deepEqual(thinStage(pidNs, 1, true), { kind: "setup", thin: pidNs, secondStage: true });
  assert.equal(thinStage(pidNs, 4242, true).kind, "refuse");
});

Deno.test("mountPointProblem: root's directory only, not writable, no symlink", () => {
  assert.equal(mountPointProblem("/j/usr", statOf(D)), undefined);
  assert.match(mountPointProblem("/j/usr", statOf(0o120777, 0, 0, true))!, /is a symlink/);
  assert.match(mountPointProblem("/j/usr", statOf(0o100644))!, /is not a directory/);
  assert.match(mountPointProblem("/j/usr", statOf(D, 1001))!, /not owned by root \(uid 1001\)/);
  assert.match(mountPointProblem("/j/usr", statOf(0o040775))!, /group or world writable/);
  assert.match(mountPointProblem("/j/tmp", statOf(0o041777))!, /group or world writable/);
});

Deno.test("openMountPoint: every component is checked; descriptors closed on refusal", () => {
  const events: string[] = [];
  const inJail = { ...goodJail(), etc: statOf(0o040757) };
  const sys = fakeThinSystem({ inJail }, events);
  const r = openMountPoint(sys, JAIL, "/etc/ssl");
  assert.deepEqual(r, { problem: `${JAIL}/etc is group or world writable` });
  assert.equal(sys.openCount(), 0);
  const missing = openMountPoint(sys, JAIL, "/opt/x");
  assert.deepEqual(missing, { problem: `${JAIL}/opt is missing` });
  const ok = openMountPoint(sys, JAIL, "/usr");
  assert.ok("fd" in ok);
  sys.close(ok.fd);
  assert.equal(sys.openCount(), 0);
});

Deno.test("no jk_thin.ini, or no section for the jail: nothing happens but the log line", () => {
  const entering = [`info: ${ENTERING}`];
  assert.deepEqual(attempt({}), { code: 0, events: [], logs: entering });
  const other = attempt({ config: SECTION.replace(JAIL, "/srv/other"), inJail: goodJail() });
  assert.deepEqual(other, { code: 0, events: [], logs: entering });
  // A caller's stage marker means nothing for an ordinary jail.
  assert.equal(attempt({ stageRequested: true }).code, 0);
});

Deno.test("one stage: namespaces, then binds, tmpfs and proc onto the checked mount points", () => {
  const text = `[${JAIL}]\nreadonly_binds = /usr, /etc/ssl\nprivate_tmp = 1\ntmp_size_mb = 8\n` +
    `no_network = 1\n`;
  const r = attempt({ config: text, inJail: goodJail() });
  assert.deepEqual(r, {
    code: 0,
    events: ["unshare+net", "bind /etc/ssl -> etc/ssl", "bind /usr -> usr", "tmpfs 8m -> tmp"],
    logs: [`info: ${ENTERING}`],
  });
  // a caller's stage marker is ignored without a PID namespace
  assert.equal(attempt({ config: text, inJail: goodJail(), stageRequested: true }).code, 0);
});

Deno.test("PID namespace: stage 1 restarts, stage 2 (PID 1) mounts proc too", () => {
  const first = attempt({ config: SECTION, inJail: goodJail() });
  // The fake's restart returns by throwing, which production only does when the exec failed.
  assert.equal(first.code, THIN_EXIT.setup);
  assert.deepEqual(first.events, ["restart"]);
  assert.equal(first.logs[0], `info: ${ENTERING}`);
  assert.match(first.logs[1], /^info: thin jail \/srv\/thin: new PID namespace/);
  assert.match(first.logs[2], /^err: thin jail \/srv\/thin: cannot start the second stage/);

  const second = attempt({ config: SECTION, inJail: goodJail(), pid: 1, stageRequested: true });
  assert.deepEqual(second, {
    code: 0,
    events: [
      "unshare",
      "bind /etc/ssl -> etc/ssl",
      "bind /usr -> usr",
      "tmpfs 16m -> tmp",
      "proc -> proc",
    ],
    logs: [],
  }, "the first stage logged the entering line: the second does not");
});

Deno.test("exit 59: a caller's stage marker, not the main thread, unshare or a mount failing", () => {
  const marker = attempt({ config: SECTION, inJail: goodJail(), stageRequested: true });
  assert.equal(marker.code, THIN_EXIT.setup);
  assert.deepEqual(marker.events, []);
  assert.match(marker.logs[0], /JAILKIT_THIN_STAGE is set but this process \(pid 4242\)/);
  assert.equal(marker.logs.length, 1, "refused before entering");

  const thread = attempt({ config: SECTION, inJail: goodJail(), pid: 1, tid: 7 });
  assert.equal(thread.code, THIN_EXIT.setup);
  assert.deepEqual(thread.events, []);
  assert.match(thread.logs[0], /runs on thread 7, not on the main thread 1/);

  for (const failing of ["unshare", "bind:/usr", "tmp", "proc"]) {
    const r = attempt({ config: SECTION, inJail: goodJail(), pid: 1, failing: [failing] });
    assert.equal(r.code, THIN_EXIT.setup, failing);
    assert.match(r.logs.at(-1)!, /EPERM/, failing);
  }
});

Deno.test("exit 57: a symlinked, user-owned, writable or missing mount point; nothing mounted", () => {
  const cases: [Record<string, StatInfo>, RegExp][] = [
    [{ ...goodJail(), usr: statOf(0o120777, 0, 0, true) }, /\/srv\/thin\/usr is a symlink/],
    [{ ...goodJail(), usr: statOf(D, 1001, 1001) }, /usr is not owned by root \(uid 1001\)/],
    [{ ...goodJail(), "etc/ssl": statOf(0o040775) }, /etc\/ssl is group or world writable/],
    [{ ...goodJail(), tmp: statOf(0o041777) }, /\/srv\/thin\/tmp is group or world writable/],
    [(({ proc: _, ...rest }) => rest)(goodJail()), /\/srv\/thin\/proc is missing/],
  ];
  for (const [inJail, why] of cases) {
    const r = attempt({ config: SECTION, inJail, pid: 1 });
    assert.equal(r.code, THIN_EXIT.mountPoint, String(why));
    assert.deepEqual(r.events, ["unshare"], String(why));
    assert.match(r.logs.at(-1)!, /^err: thin jail \/srv\/thin: mount point refused: /);
    assert.match(r.logs.at(-1)!, why);
  }
});

Deno.test("exit 55: jk_thin.ini unsafe or malformed, naming FILE:LINE", () => {
  const unsafe: ThinWorld[] = [
    { config: SECTION, configStat: statOf(0o100664) },
    { config: SECTION, configStat: statOf(0o100646) },
    { config: SECTION, configStat: statOf(0o100644, 1001) },
    { config: SECTION, configStat: statOf(0o120777, 0, 0, true) },
    { config: SECTION, configStat: statOf(0o040755) },
    { config: SECTION, dirStat: statOf(0o040757) },
  ];
  for (const w of unsafe) {
    const r = attempt({ ...w, inJail: goodJail() });
    assert.equal(r.code, THIN_EXIT.config, JSON.stringify(w));
    assert.deepEqual(r.events, []);
  }
  const bad = attempt({ config: `${SECTION}privat_tmp = 1\n`, inJail: goodJail() });
  assert.equal(bad.code, THIN_EXIT.config);
  assert.match(bad.logs.at(-1)!, /\/etc\/jailkit\/jk_thin\.ini:7: unknown key privat_tmp/);
  // An error in another jail's section refuses this one too.
  const elsewhere = attempt({ config: `${SECTION}[/srv/b]\nreadonly_binds = usr\n` });
  assert.equal(elsewhere.code, THIN_EXIT.config);
});

Deno.test("prepareThin and carryOutThin apart: jk_chrootlaunch learns the stage first", () => {
  const events: string[] = [];
  const sys = fakeThinSystem({ config: SECTION, inJail: goodJail(), pid: 1 }, events);
  const plan = prepareThin(sys, JAIL, () => {});
  assert.equal(plan.kind === "setup" && plan.secondStage, true);
  assert.deepEqual(events, []);
  carryOutThin(sys, plan, () => {});
  assert.equal(events.length, 5);
  assert.throws(
    () => fakeThinSystem({}, []).restart(),
    FakeRestart,
  );
});

Deno.test("exit codes 55, 57, 59 are free and the same in the four tools", () => {
  const tables = [CHROOTSH_EXIT, UCHROOT_EXIT, LAUNCH_EXIT, PROCMAIL_EXIT];
  for (const table of tables as Record<string, number>[]) {
    assert.equal(table.thinConfig, 55);
    assert.equal(table.thinMountPoint, 57);
    assert.equal(table.thinSetup, 59);
    const codes = Object.values(table);
    assert.equal(new Set(codes).size, codes.length, JSON.stringify(table));
  }
});

Deno.test("ffi mounts: deno run is on the main thread; failures are ErrnoErrors by name", async () => {
  // What the thin step relies on (and checks at every login): `deno run`, as the launcher starts
  // the tools, runs our JavaScript on the process's main thread. `deno test` does not, which
  // is why the check exists.
  const probe = await new Deno.Command(DENO, {
    args: [
      "eval",
      `import { getpid, gettid } from "${REPO_ROOT}/ffi/libc.ts"; ` +
      "console.log(gettid() === getpid() ? 'main' : 'other');",
    ],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(probe.stdout), "main\n");
  const named = (syscall: string, codes: string[]) => (e: unknown) =>
    e instanceof ErrnoError && e.syscall === syscall && codes.includes(e.code);
  assert.throws(
    () => openTree(AT_FDCWD, "/nonexistent-jk-thin", OPEN_TREE_CLOEXEC),
    named("open_tree", ["ENOENT"]),
  );
  // ENODEV as root, EPERM without CAP_SYS_ADMIN.
  assert.throws(() => newMount("jk-no-such-fs", {}, 0), named("fsopen", ["ENODEV", "EPERM"]));
  // A flag unshare does not know: refused before anything changes.
  assert.throws(() => unshare(0x1), named("unshare", ["EINVAL"]));
});

// ---------------------------------------------------------------------------------------------
// The installed tools, as an unprivileged user

const USER = "jkthin";
const UID = 4361;
const GID = 4361;
/** A marker argument no other process on the machine has. */
const SLEEPER = "1234361";

/**
 * A thin jail by hand: the mount points (root's, 0755), the merged-/usr links, the user's
 * passwd, group and home; nothing copied.
 */
function buildThinJail(jail: string): void {
  for (const d of ["usr", "etc/ssl", "tmp", "proc", "dev", `home/${USER}`]) {
    Deno.mkdirSync(`${jail}/${d}`, { recursive: true, mode: 0o755 });
  }
  for (const l of ["bin", "lib", "lib64", "sbin"]) Deno.symlinkSync(`usr/${l}`, `${jail}/${l}`);
  Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
  mknod(`${jail}/dev/null`, "c", 0o666, 1, 3);
  Deno.chmodSync(`${jail}/dev/null`, 0o666);
  Deno.writeTextFileSync(
    `${jail}/etc/passwd`,
    `root:x:0:0:root:/root:/bin/bash\n${USER}:x:${UID}:${GID}::/home/${USER}:/bin/bash\n`,
  );
  Deno.writeTextFileSync(`${jail}/etc/group`, `root:x:0:\n${USER}:x:${GID}:\n`);
}

/** An ordinary jail: dash and a few programs copied, host /proc mounted by the test. */
function buildOrdinaryJail(jail: string): void {
  Deno.mkdirSync(`${jail}/usr/bin`, { recursive: true, mode: 0o755 });
  Deno.mkdirSync(`${jail}/tmp`, { mode: 0o755 });
  Deno.mkdirSync(`${jail}/proc`, { mode: 0o755 });
  Deno.mkdirSync(`${jail}/home/${USER}`, { recursive: true, mode: 0o755 });
  Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
  copyInto(jail, "/usr/bin/dash");
  for (const lib of ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]) {
    copyInto(jail, lib);
  }
  Deno.symlinkSync("usr/bin", `${jail}/bin`);
  Deno.symlinkSync("dash", `${jail}/usr/bin/sh`);
  Deno.mkdirSync(`${jail}/etc`, { mode: 0o755 });
  Deno.writeTextFileSync(
    `${jail}/etc/passwd`,
    `root:x:0:0:root:/root:/bin/sh\n${USER}:x:${UID}:${GID}::/home/${USER}:/bin/sh\n`,
  );
  Deno.writeTextFileSync(`${jail}/etc/group`, `root:x:0:\n${USER}:x:${GID}:\n`);
}

/** Lines of a mountinfo text that mention `path`. */
function mountsUnder(mountinfo: string, path: string): string[] {
  return mountinfo.split("\n").filter((l) => l.includes(path));
}

rootTest("thin jails installed: sessions, isolation and attacks", async (t) => {
  const { dir: root, cleanup } = safeTestRoot("thin-session");
  const log = syslogListener(`${root}/log.sock`);
  let ns: TestNamespace | undefined;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    try {
      for await (const conn of listener) conn.close();
    } catch {
      // closed
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    ns = await TestNamespace.create(root, { devLog: `${root}/log.sock` });
    const inst = await ns.sh(
      `cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${root}/usr`,
    );
    assert.equal(inst.code, 0, inst.stderr + inst.stdout);
    const jail = `${root}/thin`;
    const plain = `${root}/plain`;
    const chrootsh = `${root}/usr/sbin/jk_chrootsh`;
    buildThinJail(jail);
    buildOrdinaryJail(plain);
    // The test's namespace propagates mounts like a systemd host (shared), so a session that
    // did not make its own mounts private would show them here. A set-uid-root program in a
    // bound host directory: a tmpfs (which allows set-uid) over /usr/local/games, in the
    // test's namespace only.
    const suid = "/usr/local/games/jkthin-id";
    await ns.must(
      `mount --make-rshared / && mount -t tmpfs -o mode=755 jkthin /usr/local/games && cp /usr/bin/id ${suid} && ` +
        `chmod 4755 ${suid} && groupadd -g ${GID} ${USER} && ` +
        `useradd -M -u ${UID} -g ${GID} -d ${jail}/./home/${USER} -s ${chrootsh} ${USER} && ` +
        `mount -t proc proc ${plain}/proc`,
    );

    const original = (await ns.sh(`cat ${THIN_CONFIG_FILE}`)).stdout;
    const hadFile = (await ns.sh(`test -e ${THIN_CONFIG_FILE}`)).code === 0;
    /** Sets this test's section (read-modify-write right before use, as jk_init does). */
    const setSection = async (extra: Partial<ThinJail>) => {
      const current = await ns!.sh(`cat ${THIN_CONFIG_FILE}`);
      const thin: ThinJail = {
        jail,
        readonlyBinds: ["/etc/ssl", "/usr"],
        privateTmp: true,
        tmpSizeMiB: 16,
        privateProc: true,
        noNetwork: false,
        endProcessesAtLogout: true,
        ...extra,
      };
      const text = withThinSection(
        current.code === 0 ? current.stdout : undefined,
        thin,
        THIN_CONFIG_FILE,
      );
      Deno.writeTextFileSync(`${root}/thin.ini`, text);
      await ns!.must(
        `install -o root -g root -m 0644 ${root}/thin.ini ${THIN_CONFIG_FILE}.new && ` +
          `mv ${THIN_CONFIG_FILE}.new ${THIN_CONFIG_FILE}`,
      );
    };

    const asUser = (cmd: string, env: Record<string, string> = {}) =>
      `exec setpriv --reuid=${UID} --regid=${GID} --init-groups env -i ${
        Object.entries({ USER, ...env }).map(([k, v]) => `'${k}=${v}'`).join(" ")
      } ${cmd}`;
    const login = (script: string, env: Record<string, string> = {}) =>
      ns!.sh(asUser(`${chrootsh} -c '${script}'`, env));
    const logSince = (since: number) => log.messages.slice(since).join("\n");
    const settle = () => new Promise((res) => setTimeout(res, 100));

    await setSection({});

    await t.step("binds: visible, read-only, nosuid, nodev; set-uid gains nothing", async () => {
      const r = await login(
        'grep -E " /(usr|etc/ssl|usr/local/games) " /proc/self/mountinfo; ' +
          "echo x > /usr/jkthin-write || echo write-refused; test -d /etc/ssl/certs && " +
          `echo ssl-visible; ${suid} -u; echo $$`,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const lines = r.stdout.split("\n");
      for (const m of [" /usr ", " /etc/ssl ", " /usr/local/games "]) {
        const line = lines.find((l) => l.includes(m));
        assert.ok(line, `${m} not mounted: ${r.stdout}`);
        assert.match(line, / ro,nosuid,nodev[, ]/, line);
      }
      assert.match(r.stderr, /Read-only file system/);
      assert.ok(lines.includes("write-refused"));
      assert.ok(lines.includes("ssl-visible"));
      assert.ok(lines.includes(String(UID)), `set-uid id reported: ${r.stdout}`);
    });

    /** The "now entering jail" lines logged since `since`. */
    const enteringSince = (since: number) =>
      log.messages.slice(since).filter((m) => m.includes("now entering jail"));

    await t.step("private /tmp and /proc: the session alone, its shell is PID 1", async () => {
      const since = log.messages.length;
      const r = await login(
        'echo pid=$$; grep " /tmp " /proc/self/mountinfo; touch /tmp/mine && echo tmp-ok; ' +
          "stat -c tmp=%a:%u:%g /tmp; ps -e -o pid=,comm=",
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^pid=1\n/);
      assert.match(r.stdout, / \/tmp rw,nosuid,nodev[, ].* - tmpfs .*size=16384k/);
      assert.match(r.stdout, /tmp=1777:0:0\n/);
      assert.match(r.stdout, /tmp-ok/);
      const ps = r.stdout.split("\n").filter((l) => /^\s*\d+ \S+$/.test(l));
      // bash execs its last command: ps itself is PID 1, and all there is.
      assert.deepEqual(ps.map((l) => l.trim()), ["1 ps"]);
      await settle();
      assert.equal(enteringSince(since).length, 1, logSince(since));
      assert.match(logSince(since), /new PID namespace/);
      assert.equal(
        (await ns!.sh(`ls ${jail}/tmp ${jail}/proc`)).stdout,
        `${jail}/proc:\n\n${jail}/tmp:\n`,
      );
    });

    /** A login whose script prints "ready" first; resolves once it did. */
    const startLogin = async (script: string) => {
      const child = new Deno.Command("nsenter", {
        args: [
          `--mount=${ns!.nsFile}`,
          "--",
          "/bin/sh",
          "-c",
          asUser(`${chrootsh} -c "${script}"`),
        ],
        clearEnv: true,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "ready\n");
      reader.releaseLock();
      return child;
    };

    await t.step("nothing of the session is mounted outside, during or after it", async () => {
      const child = await startLogin("echo ready; read x");
      const inNs = (await ns!.must("cat /proc/self/mountinfo")).stdout;
      assert.deepEqual(mountsUnder(inNs, `${jail}/`), []);
      assert.deepEqual(mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), jail), []);
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("\n"));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(mountsUnder((await ns!.must("cat /proc/self/mountinfo")).stdout, jail), []);
    });

    await t.step(
      "a hang-up ends a session whose PID 1 ignores it (the launcher's relay)",
      async () => {
        // sleep as PID 1 has no handler, so the kernel drops the relayed SIGHUP: the relay kills.
        const child = await startLogin(`echo ready; exec sleep ${SLEEPER}`);
        const relay = await sh(`ps -o comm= -p ${child.pid}`);
        assert.equal(relay.stdout, "jk_chrootsh\n");
        child.kill("SIGHUP");
        const out = await child.output();
        assert.equal(out.code, 128 + 9);
        assert.equal((await sh(`pgrep -f "^sleep ${SLEEPER}"`)).stdout, "");
      },
    );

    await t.step("nohup sleep & is gone when the shell exits", async () => {
      const r = await login(`nohup sleep ${SLEEPER} >/tmp/out 2>&1 & echo started`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "started\n");
      const left = await sh(`pgrep -f "^sleep ${SLEEPER}"`);
      assert.equal(left.stdout, "", `left running: ${left.stdout}`);
    });

    await t.step(
      "what the user cannot undo: remount, umount, userns, setns, /proc/sys",
      async () => {
        const r = await login(
          [
            "mount -o remount,rw /usr 2>/dev/null && echo REMOUNTED",
            "umount /usr 2>/dev/null && echo UNMOUNTED",
            "umount -l /tmp 2>/dev/null && echo UNMOUNTED-TMP",
            "unshare -Urm true 2>/dev/null && echo USERNS",
            "unshare -Ur true 2>/dev/null && echo USERNS-PLAIN",
            "nsenter -t 1 -m true 2>/dev/null && echo SETNS",
            "echo jkthin > /proc/sys/kernel/domainname 2>/dev/null && echo PROCSYS",
            'grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status',
            "echo done",
          ].join("; "),
        );
        assert.equal(r.code, 0, r.stderr);
        for (const bad of ["REMOUNTED", "UNMOUNTED", "USERNS", "SETNS", "PROCSYS"]) {
          assert.ok(!r.stdout.includes(bad), `${bad}: ${r.stdout}`);
        }
        assert.match(r.stdout, /CapPrm:\s+0+\nCapEff:\s+0+\n/);
        assert.match(r.stdout, /NoNewPrivs:\s+1\n/);
        assert.match(r.stdout, /done\n$/);
        assert.notEqual(Deno.readTextFileSync("/proc/sys/kernel/domainname"), "jkthin\n");
      },
    );

    await t.step("no PID namespace: nsenter against the host's init is refused too", async () => {
      await setSection({ privateProc: false, endProcessesAtLogout: false, privateTmp: false });
      // The host's /proc, mounted by the test on the jail's /proc (a bind target would be
      // refused: /proc is never bound).
      await ns!.must(`mount -t proc proc ${jail}/proc`);
      const r = await login(
        "echo pid=$$; nsenter -t 1 -m true 2>&1 || echo setns-refused; " +
          "unshare -Urm true 2>&1 || echo userns-refused",
        { [`JAILKIT_THIN_STAGE`]: "2" },
      );
      await ns!.must(`umount ${jail}/proc`);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.doesNotMatch(r.stdout, /pid=1\n/);
      assert.match(r.stdout, /setns-refused/);
      assert.match(r.stdout, /userns-refused/);
    });

    await t.step("no_network: a connect fails; with the network it succeeds", async () => {
      const probe =
        `/usr/bin/python3 -c "import socket; s=socket.create_connection((\\"127.0.0.1\\", ${port}), 5); print(\\"connected\\")" 2>&1 | tail -1`;
      const open = await login(probe);
      assert.equal(open.stdout, "connected\n", open.stderr);
      await setSection({ noNetwork: true });
      const closed = await login(probe);
      assert.equal(closed.code, 0);
      assert.match(closed.stdout, /Network is unreachable/);
    });

    await t.step(
      "JAILKIT_THIN_STAGE=2 from the caller: refused 59 for a PID namespace",
      async () => {
        await setSection({});
        const since = log.messages.length;
        const r = await login("echo ran", { JAILKIT_THIN_STAGE: "2" });
        assert.equal(r.code, THIN_EXIT.setup);
        assert.equal(r.stdout, "");
        await settle();
        assert.match(logSince(since), /JAILKIT_THIN_STAGE is set but this process/);
        // and the second stage strips it from the session's environment
        await ns!.must(
          `printf '[${USER}]\\nenv = JAILKIT_THIN_STAGE, TERM\\n' > /etc/jailkit/jk_chrootsh.ini`,
        );
        const env = await login("export -p", { TERM: "vt100" });
        await ns!.must("rm /etc/jailkit/jk_chrootsh.ini");
        assert.equal(env.code, 0, env.stderr);
        assert.match(env.stdout, /TERM/);
        assert.doesNotMatch(env.stdout, /JAILKIT/);
      },
    );

    const refusedMountPoint = async (why: RegExp) => {
      const since = log.messages.length;
      const r = await login("echo ran");
      assert.equal(r.code, THIN_EXIT.mountPoint, r.stdout + r.stderr);
      assert.equal(r.stdout, "");
      await settle();
      assert.match(logSince(since), /mount point refused: /);
      assert.match(logSince(since), why);
      assert.deepEqual(mountsUnder((await ns!.must("cat /proc/self/mountinfo")).stdout, jail), []);
    };

    await t.step(
      "attack: a mount point replaced by a symlink to /etc: 57, nothing mounted",
      async () => {
        Deno.renameSync(`${jail}/usr`, `${jail}/usr.real`);
        Deno.symlinkSync("/etc", `${jail}/usr`);
        try {
          await refusedMountPoint(new RegExp(`${jail}/usr is a symlink`));
        } finally {
          Deno.removeSync(`${jail}/usr`);
          Deno.renameSync(`${jail}/usr.real`, `${jail}/usr`);
        }
      },
    );

    await t.step("attack: a user-owned mount point: 57", async () => {
      Deno.chownSync(`${jail}/etc/ssl`, UID, GID);
      try {
        await refusedMountPoint(new RegExp(`${jail}/etc/ssl is not owned by root`));
      } finally {
        Deno.chownSync(`${jail}/etc/ssl`, 0, 0);
      }
    });

    await t.step("attack: a mount point made group-writable after setup: 57", async () => {
      Deno.chmodSync(`${jail}/tmp`, 0o775);
      try {
        await refusedMountPoint(new RegExp(`${jail}/tmp is group or world writable`));
      } finally {
        Deno.chmodSync(`${jail}/tmp`, 0o755);
      }
    });

    await t.step("jk_thin.ini unsafe or malformed: 55", async () => {
      await ns!.must(`chmod 666 ${THIN_CONFIG_FILE}`);
      const unsafe = await login("echo ran");
      await ns!.must(`chmod 644 ${THIN_CONFIG_FILE}`);
      assert.equal(unsafe.code, THIN_EXIT.config);
      const since = log.messages.length;
      await ns!.must(`echo 'privat_tmp = 1' >> ${THIN_CONFIG_FILE}`);
      const bad = await login("echo ran");
      await ns!.must(`sed -i '/^privat_tmp/d' ${THIN_CONFIG_FILE}`);
      assert.equal(bad.code, THIN_EXIT.config);
      await settle();
      assert.match(logSince(since), /jk_thin\.ini:\d+: unknown key privat_tmp/);
    });

    await t.step("an ordinary jail on the same host is unaffected", async () => {
      await ns!.must(`usermod -d ${plain}/./home/${USER} ${USER}`);
      const r = await login(
        `echo pid=$$; cat /proc/self/mountinfo | grep -c " ${plain}/" ; echo ok`,
        {
          JAILKIT_THIN_STAGE: "2",
        },
      );
      await ns!.must(`usermod -d ${jail}/./home/${USER} ${USER}`);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.doesNotMatch(r.stdout, /pid=1\n/);
      assert.match(r.stdout, /ok\n$/);
    });

    await t.step("jk_uchroot and jk_chrootlaunch build the same session", async () => {
      await ns!.must(
        `printf '[${USER}]\\nallowed_jails = ${jail}\\n' > /etc/jailkit/jk_uchroot.ini`,
      );
      const since = log.messages.length;
      const u = await ns!.sh(
        asUser(
          `${root}/usr/bin/jk_uchroot -j ${jail} -x /usr/bin/bash -- -c ` +
            `'echo pid=$$; grep " /usr " /proc/self/mountinfo'`,
        ),
      );
      await ns!.must("rm /etc/jailkit/jk_uchroot.ini");
      assert.equal(u.code, 0, u.stderr + u.stdout);
      assert.match(u.stdout, /^pid=1\n.* \/usr ro,nosuid,nodev/);
      await settle();
      assert.equal(enteringSince(since).length, 1, logSince(since));
      const l = await ns!.sh(
        `${root}/usr/sbin/jk_chrootlaunch -j ${jail} -u ${USER} -x /usr/bin/bash -- -c ` +
          `'echo pid=$$; grep " /tmp " /proc/self/mountinfo; id -u'`,
      );
      assert.equal(l.code, 0, l.stderr + l.stdout);
      assert.match(l.stdout, /^pid=1\n.* \/tmp rw,nosuid,nodev.* tmpfs /);
      assert.match(l.stdout, new RegExp(`\\n${UID}\\n$`));
    });

    // The test's own section goes; anything else in the file stays as it was.
    if (hadFile) {
      Deno.writeTextFileSync(`${root}/thin.ini`, original);
      await ns.must(`install -m 0644 ${root}/thin.ini ${THIN_CONFIG_FILE}`);
    } else {
      await ns.must(`rm -f ${THIN_CONFIG_FILE}`);
    }
  } finally {
    listener.close();
    await accepting;
    // A session that outlived a failed check: ended by its pid.
    for (const pid of (await sh(`pgrep -f "^sleep ${SLEEPER}"`)).stdout.split("\n")) {
      if (pid !== "") Deno.kill(Number(pid), "SIGKILL");
    }
    // A session that outlived a failed check: ended by its pid.
    for (const pid of (await sh(`pgrep -f "^sleep ${SLEEPER}"`)).stdout.split("\n")) {
      if (pid !== "") Deno.kill(Number(pid), "SIGKILL");
    }
    if (ns) {
      await ns.sh(`umount /usr/local/games; umount ${root}/plain/proc; true`);
      await ns.sh(`userdel ${USER}; groupdel ${USER}`);
      await ns.close();
    }
    await log.close();
    cleanup();
  }
});
