/**
 * jk_chrootlaunch: every exit code of man/jk_chrootlaunch.8 (EXIT STATUS) on the decision logic
 * with a fake file system, the credentials it computes (never gid 0 or root's groups by accident),
 * the executable checks inside the jail, the pid file, then the installed tool end to end as root
 * starting programs as a throwaway user.
 */
import assert from "node:assert/strict";
import { parseGroup, parsePasswd } from "../lib/config/passwd.ts";
import type { PrivilegeStep } from "../lib/login/privilege.ts";
import { initgroups, type StatInfo } from "../lib/login/common.ts";
import { JailkitError } from "../lib/core/errors.ts";
import {
  checkExecutable,
  type ChrootlaunchResult,
  type ChrootlaunchSystem,
  executableInJail,
  EXIT,
  launchCredentials,
  parseLaunchArgs,
  runChrootlaunch,
} from "../lib/login/chrootlaunch.ts";
import { pidDirProblem, writePidFile } from "../lib/core/safeio.ts";
import { rootTest, safeTestRoot } from "./helpers.ts";
import { logsSince } from "./namespace.ts";
import {
  buildLoginJail,
  DIR,
  exitOf,
  FakeEffects,
  LNK,
  type Recording,
  REG,
  statOf as st,
  withInstalledTools,
  worldsFrom,
} from "./login_fixture.ts";
import { noThinSystem } from "./thin_fake.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/bash\n" +
  "daemon:x:1:1::/:/usr/sbin/nologin\n" +
  "jkd:x:1002:1001::/home/jkd:/bin/sh\n";
const GROUP = "root:x:0:jkd-not-really\nwheel:x:10:root\njkg:x:1001:\nextra:x:1003:jkd,other\n" +
  "more:x:1004:other,jkd\n";

// ---------------------------------------------------------------------------------------------
// Pieces

Deno.test("parseLaunchArgs: jailkit's options; -h and --version; the rest for the program", () => {
  assert.deepEqual(
    parseLaunchArgs(["-v", "-j", "/j", "-x", "/d", "-u", "a", "-g", "b", "-p", "/run/x", "--"]),
    {
      kind: "run",
      options: { jail: "/j", executable: "/d", user: "a", group: "b", pidfile: "/run/x", args: [] },
    },
  );
  const long = parseLaunchArgs(["--jail=/j", "--exec", "/d", "--user=1", "--", "-f", "x"]);
  assert.equal(long.kind, "run");
  if (long.kind === "run") assert.deepEqual(long.options.args, ["-f", "x"]);
  assert.deepEqual(parseLaunchArgs(["-h"]), { kind: "help" });
  assert.deepEqual(parseLaunchArgs(["--help"]), { kind: "help" });
  assert.deepEqual(parseLaunchArgs(["--version"]), { kind: "version" });
  assert.equal(parseLaunchArgs(["-q"]).kind, "usage");
  assert.equal(parseLaunchArgs(["-j"]).kind, "usage");
});

Deno.test("initgroups: the gid first, then each group listing the user, once", () => {
  const g = parseGroup(GROUP, "g");
  assert.deepEqual(initgroups("jkd", 1001, g), [1001, 1003, 1004]);
  assert.deepEqual(initgroups("jkd", 1003, g), [1003, 1004]);
  assert.deepEqual(initgroups("root", 0, g), [0, 10]);
  assert.deepEqual(initgroups("nobody", 5, g), [5]);
});

Deno.test("launchCredentials: primary group by default, never root's groups", () => {
  const p = parsePasswd(PASSWD, "p");
  const g = parseGroup(GROUP, "g");
  assert.deepEqual(launchCredentials("jkd", undefined, p, g), {
    uid: 1002,
    gid: 1001,
    groups: [1001, 1003, 1004],
  });
  assert.deepEqual(launchCredentials("1002", undefined, p, g), {
    uid: 1002,
    gid: 1001,
    groups: [1001, 1003, 1004],
  });
  assert.deepEqual(launchCredentials("jkd", "extra", p, g), {
    uid: 1002,
    gid: 1003,
    groups: [1003, 1004],
  });
  assert.deepEqual(launchCredentials(undefined, "1001", p, g), { uid: 0, gid: 1001, groups: [] });
  assert.deepEqual(launchCredentials(undefined, undefined, p, g), { uid: 0, gid: 0, groups: [] });
  assert.deepEqual(launchCredentials("root", undefined, p, g), { uid: 0, gid: 0, groups: [0, 10] });
  assert.match(launchCredentials("nobody-here", undefined, p, g) as string, /user nobody-here/);
  assert.match(launchCredentials("4242", undefined, p, g) as string, /user 4242 does not exist/);
  assert.match(launchCredentials("1002x", undefined, p, g) as string, /does not exist/);
  assert.match(launchCredentials("jkd", "nogroup-here", p, g) as string, /group nogroup-here/);
  assert.match(launchCredentials(undefined, "4242", p, g) as string, /group 4242/);
});

Deno.test("executableInJail: JAIL/path loses the prefix, a relative path gets /", () => {
  assert.equal(executableInJail("/srv/j/usr/sbin/d", ["/srv/j"]), "/usr/sbin/d");
  assert.equal(executableInJail("/srv/j/usr/sbin/d", ["/srv/x", "/srv/j/"]), "/usr/sbin/d");
  assert.equal(executableInJail("/usr/sbin/d", ["/srv/j"]), "/usr/sbin/d");
  assert.equal(executableInJail("usr/bin/id", ["/srv/j"]), "/usr/bin/id");
  assert.equal(executableInJail("/srv/jail2/x", ["/srv/j"]), "/srv/jail2/x");
});

/** A file system of host paths; readlink answers from `links`. */
function fakeFs(nodes: Record<string, StatInfo>, links: Record<string, string> = {}) {
  return {
    lstat: (p: string) => nodes[p],
    readlink: (p: string) => {
      const t = links[p];
      if (t === undefined) throw new Error(`readlink ${p}: EINVAL`);
      return t;
    },
  };
}

const TREE: Record<string, StatInfo> = {
  "/j": st(DIR | 0o755),
  "/j/usr": st(DIR | 0o755),
  "/j/usr/bin": st(DIR | 0o755),
  "/j/usr/bin/id": st(REG | 0o755),
  "/j/bin": st(LNK | 0o777),
  "/j/abs": st(LNK | 0o777),
  "/j/home": st(DIR | 0o755),
  "/j/home/u": st(DIR | 0o755, 1002, 1001),
  "/j/home/u/d": st(REG | 0o755),
  "/j/tmp": st(DIR | 0o1777),
  "/j/tmp/d": st(REG | 0o755),
  "/j/usr/bin/link": st(LNK | 0o777),
  "/j/usr/bin/suid": st(REG | 0o4755),
  "/j/usr/bin/sgid": st(REG | 0o2755),
  "/j/usr/bin/gw": st(REG | 0o775),
  "/j/usr/bin/ow": st(REG | 0o757),
  "/j/usr/bin/mine": st(REG | 0o755, 1002),
  "/j/usr/bin/grp": st(REG | 0o755, 0, 1001),
  "/j/usr/bin/dir": st(DIR | 0o755),
};
const LINKS = { "/j/bin": "usr/bin", "/j/abs": "/usr/bin", "/j/usr/bin/link": "id" };

Deno.test("checkExecutable: resolved inside the jail; jailkit's checks plus the directories", () => {
  const fsys = fakeFs(TREE, LINKS);
  assert.deepEqual(checkExecutable("/j", "/usr/bin/id", fsys), { path: "/usr/bin/id" });
  assert.deepEqual(checkExecutable("/j", "/bin/id", fsys), { path: "/usr/bin/id" });
  assert.deepEqual(
    checkExecutable("/j", "/abs/id", fsys),
    { path: "/usr/bin/id" },
    "an absolute link target starts at the jail root, not the host's",
  );
  assert.deepEqual(checkExecutable("/j", "/usr/../../usr/bin/id", fsys), { path: "/usr/bin/id" });
  const refused: [string, RegExp][] = [
    ["/usr/bin/link", /is a symlink/],
    ["/usr/bin/suid", /is setuid/],
    ["/usr/bin/sgid", /is setgid/],
    ["/usr/bin/gw", /is group writable/],
    ["/usr/bin/ow", /is writable for others/],
    ["/usr/bin/mine", /is not owned by user 0/],
    ["/usr/bin/grp", /is not owned by group 0/],
    ["/usr/bin/dir", /is not a regular file/],
    ["/usr/bin/none", /does not exist in the jail/],
    ["/home/u/d", /directory \/home\/u on the way .* group\/world writable/],
    ["/tmp/d", /directory \/tmp on the way/],
    ["/usr/bin/id/x", /not a directory/],
  ];
  for (const [path, why] of refused) {
    const r = checkExecutable("/j", path, fsys);
    assert.ok("problem" in r, path);
    assert.match(r.problem, why, path);
  }
  const loop = fakeFs({ "/j": st(DIR | 0o755), "/j/a": st(LNK | 0o777) }, { "/j/a": "/a" });
  assert.match((checkExecutable("/j", "/a/x", loop) as { problem: string }).problem, /too many/);
});

Deno.test("pidDirProblem: every directory of the real path root-owned, not writable", () => {
  const tree: Record<string, StatInfo> = {
    "/": st(DIR | 0o755),
    "/run": st(DIR | 0o755),
    "/tmp": st(DIR | 0o1777),
    "/home": st(DIR | 0o755),
    "/home/u": st(DIR | 0o755, 1002),
    "/run/g": st(DIR | 0o775),
  };
  const lstat = (p: string) => tree[p];
  assert.equal(pidDirProblem("/run", lstat), undefined);
  assert.equal(pidDirProblem("/", lstat), undefined);
  assert.match(pidDirProblem("/tmp", lstat)!, /\/tmp is writable by group or others/);
  assert.match(pidDirProblem("/home/u", lstat)!, /\/home\/u is not owned by root/);
  assert.match(pidDirProblem("/run/g", lstat)!, /\/run\/g is writable/);
  assert.match(pidDirProblem("/run/none", lstat)!, /\/run\/none is not a directory/);
});

rootTest("writePidFile: pid and newline; refuses symlinks and unsafe directories", () => {
  const { dir, cleanup } = safeTestRoot("pidfile");
  try {
    writePidFile(`${dir}/a.pid`, 4242);
    assert.equal(Deno.readTextFileSync(`${dir}/a.pid`), "4242\n");
    assert.equal(Deno.statSync(`${dir}/a.pid`).mode! & 0o777, 0o644);
    Deno.writeTextFileSync(`${dir}/a.pid`, "a much longer old content\n");
    writePidFile(`${dir}/a.pid`, 7);
    assert.equal(Deno.readTextFileSync(`${dir}/a.pid`), "7\n", "truncated");
    Deno.writeTextFileSync(`${dir}/victim`, "keep\n");
    Deno.symlinkSync(`${dir}/victim`, `${dir}/l.pid`);
    assert.throws(() => writePidFile(`${dir}/l.pid`, 1), JailkitError);
    assert.equal(Deno.readTextFileSync(`${dir}/victim`), "keep\n");
    Deno.mkdirSync(`${dir}/open`, { mode: 0o777 });
    Deno.chmodSync(`${dir}/open`, 0o1777);
    assert.throws(() => writePidFile(`${dir}/open/x.pid`, 1), /writable by group or others/);
    // Through a symlinked directory: the real directory is checked and written.
    Deno.mkdirSync(`${dir}/real`, { mode: 0o755 });
    Deno.symlinkSync(`${dir}/real`, `${dir}/dirlink`);
    writePidFile(`${dir}/dirlink/y.pid`, 9);
    assert.equal(Deno.readTextFileSync(`${dir}/real/y.pid`), "9\n");
    Deno.mkdirSync(`${dir}/fifo-dir`, { mode: 0o755 });
    new Deno.Command("mkfifo", { args: [`${dir}/fifo-dir/f.pid`] }).outputSync();
    assert.throws(() => writePidFile(`${dir}/fifo-dir/f.pid`, 1), JailkitError);
  } finally {
    cleanup();
  }
});

// ---------------------------------------------------------------------------------------------
// The run, with a fake system

const JAIL = "/srv/jail";

interface World {
  args: string[];
  uid: number;
  euid: number;
  passwd: string | undefined;
  nodes: Record<string, StatInfo>;
  links: Record<string, string>;
  realpath: Record<string, string>;
  pidFails?: string;
  failStep?: PrivilegeStep;
}

const world = worldsFrom((): World => {
  const nodes: Record<string, StatInfo> = {
    [JAIL]: st(DIR | 0o755),
    [`${JAIL}/usr`]: st(DIR | 0o755),
    [`${JAIL}/usr/bin`]: st(DIR | 0o755),
    [`${JAIL}/usr/bin/id`]: st(REG | 0o755),
    [`${JAIL}/usr/bin/mine`]: st(REG | 0o755, 1002),
    [`${JAIL}/bin`]: st(LNK | 0o777),
    [`${JAIL}/etc`]: st(DIR | 0o755),
    "/srv/link": st(LNK | 0o777),
  };
  return {
    args: ["-j", JAIL, "-u", "jkd", "-x", "/usr/bin/id", "--", "-a"],
    uid: 0,
    euid: 0,
    passwd: PASSWD,
    nodes,
    links: { [`${JAIL}/bin`]: "usr/bin", "/srv/link": "jail" },
    realpath: { [JAIL]: JAIL, "/srv/link": JAIL, "/srv/jail/.": JAIL, "/": "/" },
  };
});

interface Run extends Recording {
  result: ChrootlaunchResult;
}

function run(w: World): Run {
  const fx = new FakeEffects(w.failStep);
  const { events } = fx;
  /** "." and "./x" mean the jail once the process is in it. */
  const host = (p: string) =>
    fx.entered !== undefined && (p === "." || p.startsWith("./"))
      ? fx.entered + p.slice(1)
      : fx.entered !== undefined && !p.startsWith("/")
      ? `${fx.entered}/${p}`
      : p;
  const follow = (p: string): StatInfo | undefined => {
    const node = w.nodes[p];
    if (node?.isSymlink) {
      const t = w.links[p];
      return follow(t.startsWith("/") ? t : `${p.slice(0, p.lastIndexOf("/"))}/${t}`);
    }
    return node;
  };
  const sys: ChrootlaunchSystem = {
    thin: noThinSystem(),
    args: w.args,
    uid: w.uid,
    euid: w.euid,
    cwd: "/root",
    pid: 4242,
    callerEnv: new Map([["PATH", "/usr/bin"], ["HOME", "/root"]]),
    callerUmask: 0o022,
    hostPasswd: () => w.passwd === undefined ? undefined : parsePasswd(w.passwd, "p"),
    hostGroup: () => parseGroup(GROUP, "g"),
    lstat: (p) => {
      events.push(`lstat ${host(p)}`);
      return w.nodes[host(p)];
    },
    stat: (p) => follow(host(p)),
    readlink: (p) => {
      const t = w.links[host(p)];
      if (t === undefined) throw new Error("EINVAL");
      return t;
    },
    realpath: (p) => w.realpath[p],
    writePidFile: (path, pid) => {
      assert.equal(fx.entered, JAIL, "the pid file is written after the checks, before chroot");
      events.push(`pidfile ${path} ${pid}`);
      if (w.pidFails) throw new JailkitError("unsafe-jail", w.pidFails);
    },
    enterJail: fx.enterJail,
    log: fx.log,
    stdout: fx.writeStdout,
    stderr: fx.writeStderr,
  };
  return { result: runChrootlaunch(sys), ...fx.recording() };
}

function code(w: World): number {
  return exitOf(run(w).result);
}

Deno.test("run: -u USER starts the program as the user, primary group, the user's groups", () => {
  const r = run(world());
  assert.ok(r.result.exec, r.stderr);
  assert.deepEqual(r.result.exec, {
    path: "/usr/bin/id",
    argv: ["/usr/bin/id", "-a"],
    env: ["PATH=/usr/bin", "HOME=/root"],
    umask: 0o022,
  });
  assert.ok(r.events.includes(`chdir ${JAIL}`));
  assert.ok(r.events.includes("drop 1002 1001 [1001,1003,1004]"), r.events.join("\n"));
  assert.ok(
    r.logs.some(([p, m]) => p === "notice" && m.startsWith(`executing /usr/bin/id in jail`)),
  );
  assert.equal(r.stdout + r.stderr, "");
});

Deno.test("run: -g only, nothing, -u root; through a symlinked jail and JAIL/path", () => {
  const g = run(world((w) => (w.args = ["-j", JAIL, "-g", "jkg", "-x", "/usr/bin/id"])));
  assert.ok(g.events.includes("drop 0 1001 []"));
  const none = run(world((w) => (w.args = ["-j", JAIL, "-x", "/usr/bin/id"])));
  assert.ok(none.events.includes("drop 0 0 []"), "never root's supplementary groups");
  const bin = run(world((w) => (w.args = ["-j", `${JAIL}/`, "-x", `${JAIL}/bin/id`])));
  assert.equal(bin.result.exec?.path, "/usr/bin/id");
  assert.equal(bin.result.exec?.argv[0], "/bin/id");
  const rel = run(world((w) => (w.args = ["-j", JAIL, "-x", "usr/bin/id"])));
  assert.equal(rel.result.exec?.path, "/usr/bin/id");
  assert.equal(code(world((w) => (w.args = ["-j", "/srv/link", "-x", "/usr/bin/id"]))), 25);
});

Deno.test("exit 0: -h and --version print to stdout", () => {
  const h = run(world((w) => (w.args = ["-h"])));
  assert.equal(h.result.exitCode, 0);
  assert.match(h.stdout, /^Usage: jk_chrootlaunch -j JAIL -x EXECUTABLE/);
  const v = run(world((w) => (w.args = ["--version"])));
  assert.equal(v.result.exitCode, 0);
  assert.match(v.stdout, /^jk_chrootlaunch version 2\.23/);
});

Deno.test("exit 1: bad option, not root, unknown user or group, unreadable passwd", () => {
  const bad = run(world((w) => (w.args = ["-q"])));
  assert.equal(bad.result.exitCode, 1);
  assert.match(bad.stdout, /^ERROR: .*\nUsage:/);
  const notRoot = run(world((w) => (w.uid = 1002)));
  assert.equal(notRoot.result.exitCode, 1);
  assert.match(notRoot.stderr, /must be run as root/);
  assert.equal(code(world((w) => (w.euid = 1002))), 1);
  assert.equal(code(world((w) => (w.args = ["-j", JAIL, "-u", "nobody-here", "-x", "/a"]))), 1);
  assert.equal(code(world((w) => (w.args = ["-j", JAIL, "-g", "nogroup-here", "-x", "/a"]))), 1);
  assert.equal(code(world((w) => (w.passwd = undefined))), 1);
});

Deno.test("exit 21/23/27: no jail, no executable, relative jail", () => {
  assert.equal(code(world((w) => (w.args = ["-x", "/usr/bin/id"]))), 21);
  assert.equal(code(world((w) => (w.args = ["-j", JAIL]))), 23);
  assert.equal(code(world((w) => (w.args = ["-j", "srv/jail", "-x", "/usr/bin/id"]))), 27);
  assert.equal(code(world((w) => (w.args = ["-j", "", "-x", "/usr/bin/id"]))), 21);
});

Deno.test("exit 25: the jail is missing, a symlink, /, or unsafe", () => {
  assert.equal(code(world((w) => delete w.nodes[JAIL])), 25);
  assert.equal(code(world((w) => (w.nodes[JAIL] = st(DIR | 0o775)))), 25);
  assert.equal(code(world((w) => (w.nodes[JAIL] = st(DIR | 0o755, 1002)))), 25);
  assert.equal(code(world((w) => (w.nodes[JAIL] = st(DIR | 0o4755)))), 25);
  assert.equal(code(world((w) => (w.nodes[`${JAIL}/etc`] = st(DIR | 0o755, 1002)))), 25);
  assert.equal(code(world((w) => (w.nodes[`${JAIL}/usr`] = st(DIR | 0o777)))), 25);
  assert.equal(code(world((w) => (w.args = ["-j", "/", "-x", "/usr/bin/id"]))), 25);
  const r = run(world((w) => (w.nodes[JAIL] = st(DIR | 0o775))));
  assert.ok(!r.events.some((e) => e.startsWith("drop") || e.startsWith("pidfile")));
});

Deno.test("exit 29: symlink, set-id, writable, not root's, missing, in a user's directory", () => {
  const exe = (path: string, node?: StatInfo) =>
    code(world((w) => {
      if (node) w.nodes[`${JAIL}${path}`] = node;
      w.args = ["-j", JAIL, "-u", "jkd", "-x", path];
    }));
  assert.equal(exe("/usr/bin/l", st(LNK | 0o777)), 29);
  assert.equal(exe("/usr/bin/s", st(REG | 0o4755)), 29);
  assert.equal(exe("/usr/bin/s", st(REG | 0o2755)), 29);
  assert.equal(exe("/usr/bin/w", st(REG | 0o775)), 29);
  assert.equal(exe("/usr/bin/w", st(REG | 0o757)), 29);
  assert.equal(exe("/usr/bin/mine"), 29);
  assert.equal(exe("/usr/bin/none"), 29);
  assert.equal(
    code(world((w) => {
      w.nodes[`${JAIL}/opt`] = st(DIR | 0o775, 0, 1001);
      w.nodes[`${JAIL}/opt/d`] = st(REG | 0o755);
      w.args = ["-j", JAIL, "-x", "/opt/d"];
    })),
    29,
    "a group-writable directory on the way",
  );
  const r = run(world((w) => (w.args = ["-j", JAIL, "-p", "/run/x.pid", "-x", "/usr/bin/mine"])));
  assert.match(r.stderr, /executable \/usr\/bin\/mine in jail \/srv\/jail refused: .*user 0/);
  assert.ok(!r.events.some((e) => e.startsWith("pidfile")), "no pid file for a refused start");
});

Deno.test("pid file: written after the checks with our pid, relative to the cwd", () => {
  const r = run(world((w) => (w.args = ["-j", JAIL, "-p", "run/d.pid", "-x", "/usr/bin/id"])));
  assert.ok(r.result.exec);
  const at = r.events.indexOf("pidfile /root/run/d.pid 4242");
  assert.ok(
    at > r.events.indexOf(`chdir ${JAIL}`) && at < r.events.findIndex((e) => e.startsWith("drop")),
  );
  const failed = run(world((w) => {
    w.args = ["-j", JAIL, "-p", "/tmp/d.pid", "-x", "/usr/bin/id"];
    w.pidFails = "pid file /tmp/d.pid not written: /tmp is writable by group or others";
  }));
  assert.ok(failed.result.exec, "a pid file problem is reported, the daemon still starts");
  assert.match(failed.stderr, /pid file \/tmp\/d\.pid not written/);
});

Deno.test("exit 31/33/35/37/39: each failed privilege step", () => {
  const cases: [PrivilegeStep, number][] = [
    ["chdir-jail", 33],
    ["getcwd", 33],
    ["chroot", 35],
    ["setgroups", 37],
    ["setresgid", 37],
    ["setresuid", 39],
    ["verify", 39],
  ];
  for (const [step, want] of cases) {
    assert.equal(code(world((w) => (w.failStep = step))), want, step);
  }
  assert.equal(EXIT.exec, 31);
});

// ---------------------------------------------------------------------------------------------
// End to end: the installed tool, run by root, starting programs as a throwaway user

const USER = "jkcl";
const UID = 4331;
const GROUP_NAME = "jkclg";
const GID = 4331;
const SUPP = "jkcls";
const SUPP_GID = 4332;

function buildJail(jail: string): void {
  buildLoginJail(
    jail,
    ["/usr/bin/dash", "/usr/bin/id"],
    `${USER}:x:${UID}:${GID}::/:/bin/sh\n`,
    `${GROUP_NAME}:x:${GID}:\n${SUPP}:x:${SUPP_GID}:${USER}\n`,
  );
  Deno.mkdirSync(`${jail}/run`, { mode: 0o755 });
}

rootTest(
  "jk_chrootlaunch installed: users and groups, executable checks, pid file",
  (t) =>
    withInstalledTools("chrootlaunch-e2e", async ({ root, ns, log }) => {
      const launch = `${root}/usr/sbin/jk_chrootlaunch`;
      assert.equal(Deno.statSync(launch).mode! & 0o7777, 0o755, "not set-uid");
      const jail = `${root}/jail`;
      buildJail(jail);
      await ns.must(
        `groupadd -g ${GID} ${GROUP_NAME} && groupadd -g ${SUPP_GID} ${SUPP} && ` +
          `useradd -M -u ${UID} -g ${GID} -G ${SUPP} -d /nonexistent ${USER}`,
      );
      const idLine = `uid=${UID}(${USER}) gid=${GID}(${GROUP_NAME}) ` +
        `groups=${GID}(${GROUP_NAME}),${SUPP_GID}(${SUPP})\n`;
      const run = (args: string) => ns.sh(`umask 022; ${launch} ${args}`);

      await t.step("-u U -g G -x /usr/bin/id: exactly the user's uid, gid and groups", async () => {
        const since = log.messages.length;
        const r = await run(`-u ${USER} -g ${GROUP_NAME} -j ${jail} -x /usr/bin/id`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, idLine);
        assert.equal(r.stderr, "");
        const lines = await logsSince(log.messages, since);
        const line = lines.find((m) => m.includes("executing /usr/bin/id"));
        assert.ok(line, JSON.stringify(lines));
        assert.match(line, /^<29>.*jk_chrootlaunch\[\d+\]: executing \/usr\/bin\/id in jail /);
      });

      await t.step(`-u ${UID} alone: the primary group, not 0; the user's groups`, async () => {
        const r = await run(`-u ${UID} -j ${jail} -x /usr/bin/id`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, idLine);
      });

      await t.step(
        "no -u: root without root's supplementary groups, environment kept",
        async () => {
          const r = await ns.sh(
            `umask 027; FOO=bar setpriv --groups 0,4 ${launch} -j ${jail} -x /bin/dash -- -c ` +
              `'id; echo FOO=$FOO; umask; pwd'`,
          );
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, "uid=0(root) gid=0(root) groups=0(root)\nFOO=bar\n0027\n/\n");
        },
      );

      await t.step("symlink, set-uid, writable, non-root executables: exit 29", async () => {
        const bin = `${jail}/usr/bin`;
        Deno.symlinkSync("id", `${bin}/idlink`);
        Deno.copyFileSync(`${bin}/id`, `${bin}/idsuid`);
        Deno.chmodSync(`${bin}/idsuid`, 0o4755);
        Deno.copyFileSync(`${bin}/id`, `${bin}/idgw`);
        Deno.chmodSync(`${bin}/idgw`, 0o775);
        Deno.copyFileSync(`${bin}/id`, `${bin}/idmine`);
        Deno.chownSync(`${bin}/idmine`, UID, GID);
        for (const name of ["idlink", "idsuid", "idgw", "idmine", "nothing"]) {
          const r = await run(`-u ${USER} -j ${jail} -x /usr/bin/${name}`);
          assert.equal(r.code, 29, `${name}: ${r.stderr}`);
          assert.equal(r.stdout, "");
          assert.match(r.stderr, new RegExp(`executable /usr/bin/${name} in jail .* refused`));
        }
        // Allowed by the path alone, but the user owns a directory on the way.
        Deno.mkdirSync(`${jail}/home/${USER}`, { recursive: true, mode: 0o755 });
        Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
        Deno.copyFileSync(`${bin}/id`, `${jail}/home/${USER}/id`);
        const r = await run(`-j ${jail} -x /home/${USER}/id`);
        assert.equal(r.code, 29, r.stderr);
      });

      await t.step("an intermediate symlink is resolved inside the jail", async () => {
        // Outside the jail, /outside/id would be a user-writable copy.
        Deno.symlinkSync("/usr/bin", `${jail}/ub`);
        const r = await run(`-u ${USER} -j ${jail} -x /ub/id`);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, idLine);
      });

      await t.step("relative jail: 27; no jail: 21; no exec: 23; unknown user: 1", async () => {
        assert.equal((await run(`-j jail -x /usr/bin/id`)).code, 27);
        assert.equal((await run(`-x /usr/bin/id`)).code, 21);
        assert.equal((await run(`-j ${jail}`)).code, 23);
        assert.equal((await run(`-u nobody-here -j ${jail} -x /usr/bin/id`)).code, 1);
      });

      await t.step("group-writable jail: 25", async () => {
        Deno.chmodSync(jail, 0o775);
        const r = await run(`-j ${jail} -x /usr/bin/id`);
        Deno.chmodSync(jail, 0o755);
        assert.equal(r.code, 25);
      });

      await t.step("pid file: the daemon's pid and a newline; not through a symlink", async () => {
        const pidDir = `${root}/run`;
        Deno.mkdirSync(pidDir, { mode: 0o755 });
        const r = await run(
          `-p ${pidDir}/d.pid -u ${USER} -j ${jail} -x /bin/dash -- -c 'echo $$'`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(Deno.readTextFileSync(`${pidDir}/d.pid`), r.stdout, "same pid, then newline");
        assert.match(r.stdout, /^\d+\n$/);
        Deno.writeTextFileSync(`${root}/victim`, "keep\n");
        Deno.symlinkSync(`${root}/victim`, `${pidDir}/l.pid`);
        const l = await run(`-p ${pidDir}/l.pid -u ${USER} -j ${jail} -x /usr/bin/id`);
        assert.equal(l.code, 0, "the daemon starts; the pid file is refused");
        assert.match(l.stderr, /pid file .*l\.pid not written/);
        assert.equal(Deno.readTextFileSync(`${root}/victim`), "keep\n");
      });

      await t.step("not root: a clear error, exit 1", async () => {
        const r = await ns.sh(
          `setpriv --reuid=${UID} --regid=${GID} --clear-groups ${launch} -j ${jail} -x /usr/bin/id`,
        );
        assert.equal(r.code, 1);
        assert.match(r.stderr, /jk_chrootlaunch: must be run as root/);
      });
    }),
);
