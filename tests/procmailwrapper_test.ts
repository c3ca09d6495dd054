/**
 * jk_procmailwrapper: every exit code of man/jk_procmailwrapper.8 (EXIT STATUS) on the decision
 * logic with a fake system, the privilege module's entry points it needs (dropPrivileges,
 * keepFd3), then the installed setuid binary (launcher built with KEEP_FD3) end to end, for a
 * jailed and a non-jailed recipient, with stub procmail programs that report what they were given,
 * and for a recipient in a thin jail (man/jk_thin.ini.5), whose procmail is the host's stub
 * through the session's /usr bind, with one stage and with two.
 */
import assert from "node:assert/strict";
import { VERSION } from "../lib/core/runtime.ts";
import { THIN_CONFIG_FILE } from "../lib/login/thin_session.ts";
import {
  EXIT,
  PROCMAIL,
  type ProcmailResult,
  type ProcmailSystem,
  runProcmailwrapper,
} from "../lib/login/procmailwrapper.ts";
import { rootTest } from "./helpers.ts";
import { logsSince } from "./namespace.ts";
import {
  buildLoginJail,
  type CallerWorld,
  DIR,
  exitOf,
  fakeCallerSystem,
  FakeEffects,
  JAIL_STEP_EXITS,
  LNK,
  privilegeProbe,
  type Recording,
  REG,
  statOf as st,
  systemDirs,
  withInstalledTools,
  worldsFrom,
  writeJailAccounts,
} from "./login_fixture.ts";
import { fakeThinSystem, type ThinWorld } from "./thin_fake.ts";

interface World extends CallerWorld {
  /** The host's jk_thin.ini and the jail's mount points (tests/thin_fake.ts); none by default. */
  thin?: ThinWorld;
}

const HOST_PASSWD = "root:x:0:0:root:/root:/bin/bash\n" +
  "jkm:x:1001:1001::/srv/jail/./home/jkm:/bin/sh\n" +
  "plain:x:1002:1001::/home/plain:/bin/sh\n";
const HOST_GROUP = "root:x:0:\njkg:x:1001:\nmail2:x:1005:jkm,plain\n";

const world = worldsFrom((): World => ({
  argv0: "/usr/bin/jk_procmailwrapper",
  args: ["-d", "jkm"],
  euid: 0,
  uid: 1001,
  gid: 1001,
  groups: [1001, 1005],
  env: { FOO: "bar", PATH: "/usr/bin" },
  umask: 0o077,
  hostPasswd: HOST_PASSWD,
  hostGroup: HOST_GROUP,
  lstat: {
    ".": st(DIR | 0o755),
    "home/jkm": st(DIR | 0o700, 1001, 1001),
    [PROCMAIL]: st(REG | 0o755),
  },
  stat: systemDirs(),
  jailFiles: {
    "/etc/passwd": "root:x:0:0::/root:/bin/sh\njkm:x:1001:1001::/home/jkm:/bin/sh\n",
    "/etc/group": "root:x:0:\njkg:x:1001:\n",
  },
}));

interface Run extends Recording {
  result: ProcmailResult;
}

/** The lookups are not recorded: `events` are the effects alone. */
function run(w: World): Run {
  const fx = new FakeEffects(w.failStep);
  const sys: ProcmailSystem = {
    ...fakeCallerSystem(w, fx, false),
    dropPrivileges: fx.dropPrivileges,
    thin: fakeThinSystem(w.thin ?? {}, fx.events),
  };
  return { result: runProcmailwrapper(sys), ...fx.recording() };
}

function code(w: World): number {
  return exitOf(run(w).result);
}

Deno.test("jailed recipient: the jail's procmail, HOME and USER only, fd 3 kept", () => {
  const r = run(world());
  assert.ok(r.result.exec, JSON.stringify(r.logs));
  assert.deepEqual(r.result.exec, {
    path: "/usr/bin/procmail",
    argv: ["/usr/bin/jk_procmailwrapper", "-d", "jkm"],
    env: ["HOME=/home/jkm", "USER=jkm"],
    umask: 0o077,
    keepFd3: true,
  });
  assert.equal(r.result.execFailure, 111);
  assert.deepEqual(r.events, [
    "chdir /srv/jail",
    "chroot",
    "drop 1001 1001 [1001,1005]",
    "chdir /home/jkm",
  ]);
  assert.ok(r.logs.some(([p, m]) => p === "info" && m.startsWith("now entering jail /srv/jail")));
});

Deno.test("non-jailed recipient: the host's procmail as the user, environment kept", () => {
  const r = run(world((w) => {
    w.uid = 1002;
    w.argv0 = "procmail";
  }));
  assert.ok(r.result.exec);
  assert.deepEqual(r.result.exec, {
    path: "/usr/bin/procmail",
    argv: ["procmail", "-d", "jkm"],
    env: ["FOO=bar", "PATH=/usr/bin"],
    umask: 0o077,
    keepFd3: true,
  });
  assert.equal(r.result.execFailure, 1);
  assert.deepEqual(r.events, ["drop 1002 1001 [1001,1005]"], "no jail, no argv[0] check");
  for (const [step, want] of [["setgroups", 35], ["setresgid", 34], ["setresuid", 36]] as const) {
    assert.equal(code(world((w) => (w.uid = 1002, w.failStep = step))), want, step);
  }
});

Deno.test("the caller's groups are kept on both paths: none added from /etc/group", () => {
  // A caller started with `setpriv --clear-groups`: /etc/group lists both users in mail2.
  const host = run(world((w) => (w.uid = 1002, w.groups = [])));
  assert.ok(host.result.exec, JSON.stringify(host.logs));
  assert.deepEqual(host.events, ["drop 1002 1001 []"]);
  const jailed = run(world((w) => (w.groups = [])));
  assert.ok(jailed.result.exec, JSON.stringify(jailed.logs));
  assert.deepEqual(jailed.events.slice(0, 3), ["chdir /srv/jail", "chroot", "drop 1001 1001 []"]);
  // Only some of the user's groups: exactly those, in the caller's order.
  assert.deepEqual(
    run(world((w) => (w.uid = 1002, w.groups = [1005]))).events,
    ["drop 1002 1001 [1005]"],
  );
});

Deno.test("exit 1: argv[0] of another name on the jailed path", () => {
  assert.equal(code(world((w) => (w.argv0 = "procmail"))), 1);
  assert.equal(code(world((w) => (w.argv0 = "-jk_procmailwrapper"))), 0);
});

Deno.test("exit 11: root, or not effective root on the jailed path", () => {
  assert.equal(code(world((w) => (w.uid = 0))), 11);
  assert.equal(code(world((w) => (w.euid = 1001))), 11);
});

Deno.test("exit 13: unknown uid or gid, unreadable passwd", () => {
  assert.equal(code(world((w) => (w.uid = 4242))), 13);
  assert.equal(code(world((w) => (w.hostPasswd = undefined))), 13);
  assert.equal(code(world((w) => (w.groups = undefined))), 13);
  assert.equal(code(world((w) => (w.uid = 1002, w.groups = undefined))), 13);
  assert.equal(
    code(world((w) => {
      w.gid = 4242;
      w.hostPasswd = HOST_PASSWD.replace("1001:1001::/srv", "1001:4242::/srv");
    })),
    13,
  );
});

Deno.test("exit 15/17: real gid not the passwd gid; no usable jail marker", () => {
  assert.equal(code(world((w) => (w.gid = 1005))), 15);
  assert.equal(
    code(world((w) => (w.hostPasswd = "jkm:x:1001:1001::/a/./home/jkm:/bin/sh\n"))),
    17,
  );
});

Deno.test("exit 19/21/33/34/35/36: each failed privilege step in the jail", () => {
  for (const [step, want] of JAIL_STEP_EXITS) {
    assert.equal(code(world((w) => (w.failStep = step))), want, step);
  }
});

Deno.test("exit 53: unsafe jail or system directory; home missing, a symlink, not the user's", () => {
  assert.equal(code(world((w) => (w.lstat["."] = st(DIR | 0o775)))), 53);
  assert.equal(code(world((w) => (w.stat.etc = st(DIR | 0o755, 1001)))), 53);
  assert.equal(code(world((w) => (w.lstat["home/jkm"] = undefined))), 53);
  assert.equal(code(world((w) => (w.lstat["home/jkm"] = st(LNK | 0o777, 1001, 1001)))), 53);
  assert.equal(code(world((w) => (w.lstat["home/jkm"] = st(DIR | 0o755)))), 53);
  assert.equal(
    code(world((w) => (w.lstat["home/jkm"] = st(DIR | 0o777, 1001, 0)))),
    0,
    "group and permissions are not checked, as in jailkit",
  );
  const r = run(world((w) => (w.lstat["."] = st(DIR | 0o777))));
  assert.ok(!r.events.some((e) => e.includes("drop")));
  assert.deepEqual(r.logs.at(-1), [
    "err",
    "jail /srv/jail is not safe (must be root:root, not group/world writable)",
  ]);
});

Deno.test("exit 35/37/39: the user in the jail's passwd and group, and the home there", () => {
  assert.equal(code(world((w) => (w.jailFiles["/etc/passwd"] = "root:x:0:0::/:/bin/sh\n"))), 35);
  assert.equal(code(world((w) => (w.jailFiles["/etc/group"] = "root:x:0:\n"))), 35);
  assert.equal(
    code(world((w) => (w.jailFiles["/etc/passwd"] = "other:x:1001:1001::/home/jkm:/bin/sh\n"))),
    37,
  );
  assert.equal(code(world((w) => (w.jailFiles["/etc/group"] = "renamed:x:1001:\n"))), 37);
  assert.equal(
    code(world((w) => (w.jailFiles["/etc/passwd"] = "jkm:x:1001:1001::/home/x:/bin/sh\n"))),
    39,
  );
  assert.equal(
    code(world((w) => (w.jailFiles["/etc/passwd"] = "jkm:x:1001:1001::/home/jkm/:/bin/sh\n"))),
    0,
    "a trailing slash does not matter",
  );
});

Deno.test("exit 41: the home cannot be entered inside the jail; procmail checked for the log", () => {
  assert.equal(code(world((w) => (w.chdirFails = true))), 41);
  const r = run(world((w) => (w.lstat[PROCMAIL] = st(REG | 0o777))));
  assert.ok(r.result.exec, "an unsafe procmail is only logged");
  assert.ok(r.logs.some(([, m]) => m === `path ${PROCMAIL} is writable for others`));
  assert.equal(EXIT.exec, 111);
});

// A thin jail (man/jk_thin.ini.5) for the jailed recipient, /srv/jail.
const THIN_SECTION = "[/srv/jail]\nreadonly_binds = /usr\nprivate_tmp = 1\n";
const THIN_TWO_STAGES = `${THIN_SECTION}private_proc = 1\n`;
const THIN_POINTS = {
  usr: st(DIR | 0o755),
  tmp: st(DIR | 0o755),
  proc: st(DIR | 0o755),
};

Deno.test("thin jail: the binds after the jail and home checks, before the chroot", () => {
  const r = run(world((w) => (w.thin = { config: THIN_SECTION, inJail: THIN_POINTS })));
  assert.ok(r.result.exec, JSON.stringify(r.logs));
  assert.deepEqual(r.events, [
    "chdir /srv/jail",
    "unshare",
    "bind /usr -> usr",
    "tmpfs 64m -> tmp",
    "chroot",
    "drop 1001 1001 [1001,1005]",
    "chdir /home/jkm",
  ]);
  // An unsafe home is refused before anything is read or mounted for the thin jail.
  const home = run(world((w) => {
    w.thin = { config: THIN_SECTION, inJail: THIN_POINTS };
    w.lstat["home/jkm"] = undefined;
  }));
  assert.equal(home.result.exitCode, EXIT.unsafe);
  assert.deepEqual(home.events, ["chdir /srv/jail"]);
  // The host recipient never looks at jk_thin.ini.
  const host = run(world((w) => (w.uid = 1002, w.thin = { config: "[/home]\nbogus = 1\n" })));
  assert.ok(host.result.exec);
});

Deno.test("thin jail: exit 55, 57, 59 as jk_chrootsh's", () => {
  assert.equal(EXIT.thinConfig, 55);
  assert.equal(EXIT.thinMountPoint, 57);
  assert.equal(EXIT.thinSetup, 59);
  const codes = Object.values(EXIT);
  assert.equal(new Set(codes).size, codes.length, "every code means one thing");
  const thin = (t: ThinWorld) => code(world((w) => (w.thin = t)));
  assert.equal(thin({ config: THIN_SECTION, configStat: st(REG | 0o666) }), 55);
  assert.equal(thin({ config: `${THIN_SECTION}privat_tmp = 1\n`, inJail: THIN_POINTS }), 55);
  assert.equal(
    thin({ config: THIN_SECTION, inJail: { ...THIN_POINTS, usr: st(DIR | 0o755, 1001) } }),
    57,
  );
  assert.equal(thin({ config: THIN_SECTION, inJail: THIN_POINTS, failing: ["bind:/usr"] }), 59);
  assert.equal(thin({ config: THIN_TWO_STAGES, inJail: THIN_POINTS, stageRequested: true }), 59);
  const mountPoint = run(world((w) => {
    w.thin = { config: THIN_SECTION, inJail: { ...THIN_POINTS, tmp: st(DIR | 0o777) } };
  }));
  assert.ok(!mountPoint.events.some((e) => e.includes("drop")), "refused before the chroot");
  assert.ok(mountPoint.logs.some(([p, m]) => p === "err" && m.includes("/srv/jail/tmp is group")));
});

Deno.test("thin jail with a PID namespace: 'now entering jail' logged by the first stage only", () => {
  const entering = (r: Run) => r.logs.filter(([, m]) => m.startsWith("now entering jail"));
  // The fake's restart returns (by throwing), which production's exec only does on failure.
  const first = run(world((w) => (w.thin = { config: THIN_TWO_STAGES, inJail: THIN_POINTS })));
  assert.deepEqual(first.events, ["chdir /srv/jail", "restart"]);
  assert.equal(entering(first).length, 1, JSON.stringify(first.logs));
  const second = run(world((w) => {
    w.thin = { config: THIN_TWO_STAGES, inJail: THIN_POINTS, pid: 1, stageRequested: true };
  }));
  assert.ok(second.result.exec, JSON.stringify(second.logs));
  assert.ok(second.events.includes("proc -> proc"));
  assert.deepEqual(entering(second), [], JSON.stringify(second.logs));
});

// ---------------------------------------------------------------------------------------------
// lib/login/privilege.ts: the entry points jk_procmailwrapper adds, each in a fresh process

Deno.test("privilege: dropPrivileges refuses uid 0 and a second drop", async () => {
  assert.match(
    await privilegeProbe(`p.dropPrivileges({ uid: 0, gid: 0, groups: [] })`),
    /^setresuid: refusing to run a program as uid 0/,
  );
  assert.match(
    await privilegeProbe(
      `try { p.dropPrivileges({ uid: 0, gid: 0, groups: [] }) } catch {} ` +
        `p.dropPrivileges({ uid: 4242, gid: 4242, groups: [] })`,
    ),
    /^setgroups: dropPrivileges after stage failed/,
  );
});

rootTest("privilege: dropPrivileges drops for good without chroot or no-new-privs", async () => {
  const out = await privilegeProbe(
    `p.dropPrivileges({ uid: 4242, gid: 4243, groups: [4243, 4244] }); ` +
      `const s = Deno.readTextFileSync("/proc/self/status"); ` +
      `console.log(s.match(/^(Uid|Gid|Groups|NoNewPrivs):.*$/gm).join("|"), Deno.cwd())`,
  );
  assert.match(out, /Uid:\s+4242\s+4242\s+4242\s+4242\|Gid:\s+4243\s+4243\s+4243\s+4243\|/);
  assert.match(out, /Groups:\s+4243 4244\s*\|NoNewPrivs:\s+0 /);
  assert.match(out, /no error$/);
});

// ---------------------------------------------------------------------------------------------
// End to end: the installed setuid launcher with KEEP_FD3

const USER = "jkpm";
const UID = 4341;
const GROUP_NAME = "jkpmg";
const GID = 4341;
const SUPP = "jkpms";
const SUPP_GID = 4342;
const PLAIN = "jkpmh";
const PLAIN_UID = 4343;
/** A recipient in a thin jail (man/jk_thin.ini.5): its procmail is the host's, through /usr. */
const THIN_USER = "jkpmt";
const THIN_UID = 4344;

/** A procmail stand-in: what it was started with, one line of the mail from stdin. */
const STUB = `#!/bin/sh
echo "args: $*"
id
export -p
echo "cwd=$(pwd) umask=$(umask)"
while read l; do case $l in NoNewPrivs*) echo "$l";; esac; done < /proc/self/status
echo "fd3=$(readlink /proc/self/fd/3 || echo none) fd4=$(readlink /proc/self/fd/4 || echo none)"
read line
echo "mail: $line"
`;

/** The host's stub also tells how /usr is mounted where it runs (nothing on most hosts). */
const HOST_STUB = STUB.replace("#!/bin/sh", "#!/bin/dash").replace(
  "read line\n",
  'while read -r _ _ _ _ point opts _; do [ "$point" = /usr ] && echo "usr mount: $opts"; ' +
    "done < /proc/self/mountinfo\nread line\n",
);

function buildJail(jail: string): void {
  buildLoginJail(
    jail,
    ["/usr/bin/dash", "/usr/bin/id", "/usr/bin/readlink"],
    `${USER}:x:${UID}:${GID}::/home/${USER}:/bin/sh\n`,
    `${GROUP_NAME}:x:${GID}:\n${SUPP}:x:${SUPP_GID}:${USER}\n`,
  );
  Deno.writeTextFileSync(`${jail}/usr/bin/procmail`, STUB);
  Deno.chmodSync(`${jail}/usr/bin/procmail`, 0o755);
  Deno.mkdirSync(`${jail}/proc`, { mode: 0o755 });
  Deno.mkdirSync(`${jail}/home`, { mode: 0o755 });
  Deno.mkdirSync(`${jail}/home/${USER}`, { mode: 0o700 });
  Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
}

/**
 * A thin jail by hand: root's empty mount points, the merged-/usr links, the user's passwd,
 * group and home; nothing copied.
 */
function buildThinJail(jail: string): void {
  for (const d of ["usr", "proc", "dev", "etc/ssl", `home/${THIN_USER}`]) {
    Deno.mkdirSync(`${jail}/${d}`, { recursive: true, mode: 0o755 });
  }
  Deno.chmodSync(`${jail}/home/${THIN_USER}`, 0o700);
  Deno.chownSync(`${jail}/home/${THIN_USER}`, THIN_UID, GID);
  for (const l of ["bin", "lib", "lib64", "sbin"]) Deno.symlinkSync(`usr/${l}`, `${jail}/${l}`);
  writeJailAccounts(
    jail,
    `${THIN_USER}:x:${THIN_UID}:${GID}::/home/${THIN_USER}:/bin/sh\n`,
    `${GROUP_NAME}:x:${GID}:\n${SUPP}:x:${SUPP_GID}:${THIN_USER}\n`,
  );
}

rootTest(
  "jk_procmailwrapper installed: jailed and host recipients, fd 3, refusals",
  (t) =>
    withInstalledTools("procmail-e2e", async ({ root, ns, log }) => {
      const wrapper = `${root}/usr/bin/jk_procmailwrapper`;
      assert.equal(Deno.statSync(wrapper).mode! & 0o7777, 0o4755);
      const jail = `${root}/jail`;
      buildJail(jail);
      const thinJail = `${root}/thin`;
      buildThinJail(thinJail);
      // The host's procmail is replaced by the stub inside the namespace only.
      for (const d of ["bin-up", "bin-work"]) Deno.mkdirSync(`${root}/${d}`, { mode: 0o755 });
      Deno.writeTextFileSync(`${root}/bin-up/procmail`, HOST_STUB);
      Deno.chmodSync(`${root}/bin-up/procmail`, 0o755);
      await ns.must(
        `mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=${root}/bin-up,` +
          `workdir=${root}/bin-work /usr/bin && mount -t proc proc ${jail}/proc && ` +
          `groupadd -g ${GID} ${GROUP_NAME} && groupadd -g ${SUPP_GID} ${SUPP} && ` +
          `useradd -M -u ${UID} -g ${GID} -G ${SUPP} -d ${jail}/./home/${USER} ${USER} && ` +
          `useradd -M -u ${PLAIN_UID} -g ${GID} -G ${SUPP} -d /nonexistent ${PLAIN} && ` +
          `useradd -M -u ${THIN_UID} -g ${GID} -G ${SUPP} -d ${thinJail}/./home/${THIN_USER} ` +
          `${THIN_USER} && mount -t proc proc ${thinJail}/proc && mkdir -p /etc/jailkit`,
      );
      Deno.writeTextFileSync(`${root}/fd3-file`, "");

      /** Runs the wrapper as `uid` with fd 3 on fd3-file and fd 4 open, the mail on stdin. */
      const deliver = (
        uid: number,
        argv0 = "jk_procmailwrapper",
        fd3 = true,
        groups = "--init-groups",
        env = "FOO=bar",
      ) =>
        ns.sh(
          `umask 027; exec python3 -c 'import os
def place(path, n):
  fd = os.open(path, os.O_RDONLY)
  if fd == n: os.set_inheritable(n, True)
  else: os.dup2(fd, n); os.close(fd)
if ${fd3 ? "True" : "False"}: place("${root}/fd3-file", 3)
place("/dev/zero", 4)
os.execvp("setpriv", ["setpriv", "--reuid=${uid}", "--regid=${GID}", "${groups}", "env",
  "-i", "${env}", "/usr/bin/python3", "-c",
  "import os; os.execv(\\"${wrapper}\\", [\\"${argv0}\\", \\"-a\\", \\"x y\\"])"])'`,
          { stdin: "From: someone@example.org\nSubject: hi\n\nbody\n" },
        );

      /** The stub's output for `user` delivered to in a jail, with the lines `more` before the mail. */
      const jailedOutput = (user: string, uid: number, ...more: string[]) =>
        [
          "args: -a x y",
          `uid=${uid}(${user}) gid=${GID}(${GROUP_NAME}) ` +
          `groups=${GID}(${GROUP_NAME}),${SUPP_GID}(${SUPP})`,
          `export HOME='/home/${user}'`,
          `export PWD='/home/${user}'`,
          `export USER='${user}'`,
          `cwd=/home/${user} umask=0027`,
          "NoNewPrivs:\t1",
          `fd3=${root}/fd3-file fd4=none`,
          ...more,
          "mail: From: someone@example.org",
          "",
        ].join("\n");
      const entering = (lines: string[]) => lines.filter((m) => m.includes("now entering jail"));

      await t.step("jailed recipient: in the jail, as the user, clean environment", async () => {
        const since = log.messages.length;
        const r = await deliver(UID);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, jailedOutput(USER, UID));
        const lines = await logsSince(log.messages, since);
        const [line] = entering(lines);
        assert.ok(line, JSON.stringify(lines));
        assert.match(line, /^<38>.*jk_procmailwrapper\[\d+\]: now entering jail /);
      });

      await t.step("fd 3 closed by the caller: procmail gets /dev/null there", async () => {
        const r = await deliver(UID, "jk_procmailwrapper", false);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /\nfd3=\/dev\/null fd4=none\n/);
      });

      await t.step(
        "host recipient: the host's procmail, caller's environment, no no-new-privs",
        async () => {
          const r = await deliver(PLAIN_UID, "procmail");
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /^args: -a x y\n/);
          assert.match(
            r.stdout,
            new RegExp(
              `\\nuid=${PLAIN_UID}\\(${PLAIN}\\) gid=${GID}\\(${GROUP_NAME}\\) ` +
                `groups=${GID}\\(${GROUP_NAME}\\),${SUPP_GID}\\(${SUPP}\\)\\n`,
            ),
          );
          assert.match(r.stdout, /\nexport FOO='bar'\n/);
          assert.match(r.stdout, /\nNoNewPrivs:\t0\n/);
          assert.match(r.stdout, new RegExp(`\\nfd3=${root}/fd3-file fd4=none\\n`));
          assert.match(r.stdout, /\nmail: From: someone@example.org\n$/);
        },
      );

      await t.step("a caller without supplementary groups gets none back", async () => {
        for (
          const [uid, argv0] of [[PLAIN_UID, "procmail"], [UID, "jk_procmailwrapper"]] as const
        ) {
          const r = await deliver(uid, argv0, true, "--clear-groups");
          assert.equal(r.code, 0, r.stderr);
          // id lists the gid as a group even when there are no supplementary groups
          assert.match(
            r.stdout,
            new RegExp(` gid=${GID}\\(${GROUP_NAME}\\) groups=${GID}\\(${GROUP_NAME}\\)\\n`),
          );
        }
      });

      await t.step("jailed path under another name: exit 1; as root: exit 11", async () => {
        const r = await deliver(UID, "procmail");
        assert.equal(r.code, 1);
        assert.equal(r.stdout, "");
        const asRoot = await ns.sh(`${wrapper} -a x`, { stdin: "" });
        assert.equal(asRoot.code, 11);
      });

      await t.step("a lone --version or --help is answered before any check", async () => {
        // As root, which is otherwise refused (exit 11).
        const version = await ns.sh(`${wrapper} --version`, { stdin: "" });
        assert.equal(version.code, 0, version.stderr);
        assert.equal(version.stdout, `jk_procmailwrapper (jailkit-deno) ${VERSION}\n`);
        const help = await ns.sh(`${wrapper} --help`, { stdin: "" });
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: jk_procmailwrapper /);
        assert.equal((await ns.sh(`${wrapper} --version -a x`, { stdin: "" })).code, 11);
      });

      await t.step("refusals: 35 user not in the jail, 39 other home, 53 unsafe", async () => {
        const passwd = Deno.readTextFileSync(`${jail}/etc/passwd`);
        Deno.writeTextFileSync(`${jail}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
        assert.equal((await deliver(UID)).code, 35);
        Deno.writeTextFileSync(
          `${jail}/etc/passwd`,
          passwd.replace(`/home/${USER}:`, "/home/elsewhere:"),
        );
        assert.equal((await deliver(UID)).code, 39);
        Deno.writeTextFileSync(`${jail}/etc/passwd`, passwd);
        Deno.chmodSync(jail, 0o775);
        const unsafe = await deliver(UID);
        Deno.chmodSync(jail, 0o755);
        assert.equal(unsafe.code, 53);
        Deno.chownSync(`${jail}/home/${USER}`, 0, 0);
        const notMine = await deliver(UID);
        Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
        assert.equal(notMine.code, 53);
        assert.equal(unsafe.stdout + notMine.stdout, "");
      });

      /** Sets the namespace's jk_thin.ini (root:root 0644) to `text`. */
      const writeThinIni = (text: string) =>
        ns.must(
          `cat > ${THIN_CONFIG_FILE}.new && chmod 0644 ${THIN_CONFIG_FILE}.new && ` +
            `mv ${THIN_CONFIG_FILE}.new ${THIN_CONFIG_FILE}`,
          { stdin: text },
        );
      const thinLines = jailedOutput(THIN_USER, THIN_UID, "usr mount: OPTIONS");
      /** The stub's output, its /usr mount options checked and replaced by OPTIONS. */
      const thinDelivery = (out: { code: number; stdout: string; stderr: string }) => {
        assert.equal(out.code, 0, out.stderr + out.stdout);
        assert.match(out.stdout, /^usr mount: ro,nosuid,nodev(,|$)/m);
        assert.equal(out.stdout.replace(/^usr mount: .*$/m, "usr mount: OPTIONS"), thinLines);
      };

      await t.step("thin jail: the host's procmail through the read-only /usr bind", async () => {
        await writeThinIni(`[${thinJail}]\nreadonly_binds = /usr\n`);
        const since = log.messages.length;
        thinDelivery(await deliver(THIN_UID));
        const lines = await logsSince(log.messages, since);
        assert.equal(entering(lines).length, 1, lines.join("\n"));
        const mounts = (await ns.must("cat /proc/self/mountinfo")).stdout;
        assert.ok(!mounts.includes(`${thinJail}/usr`), "the bind stays in the session");
      });

      await t.step(
        "thin jail with a PID namespace: two stages, one 'now entering' line",
        async () => {
          await writeThinIni(`[${thinJail}]\nreadonly_binds = /usr\nprivate_proc = 1\n`);
          const since = log.messages.length;
          thinDelivery(await deliver(THIN_UID));
          const lines = await logsSince(log.messages, since);
          assert.ok(lines.some((m) => m.includes("new PID namespace")), lines.join("\n"));
          assert.equal(entering(lines).length, 1, lines.join("\n"));
          // The session's /proc was mounted over the host's the test put there: gone with it.
          const mounts = (await ns.must("cat /proc/self/mountinfo")).stdout;
          assert.equal(mounts.split(`${thinJail}/proc `).length, 2, mounts);
        },
      );

      await t.step(
        "thin jail refusals: 55 jk_thin.ini, 57 mount point, 59 stage marker",
        async () => {
          await ns.must(`chmod 0666 ${THIN_CONFIG_FILE}`);
          const unsafe = await deliver(THIN_UID);
          await ns.must(`chmod 0644 ${THIN_CONFIG_FILE}`);
          assert.equal(unsafe.code, 55, unsafe.stderr);
          // usr is checked with the jail (53): a mount point outside the system directories.
          await writeThinIni(`[${thinJail}]\nreadonly_binds = /usr, /etc/ssl\nprivate_proc = 1\n`);
          Deno.chownSync(`${thinJail}/etc/ssl`, THIN_UID, GID);
          const since = log.messages.length;
          const owned = await deliver(THIN_UID);
          Deno.chownSync(`${thinJail}/etc/ssl`, 0, 0);
          assert.equal(owned.code, 57, owned.stderr);
          assert.match(
            (await logsSince(log.messages, since)).join("\n"),
            /mount point refused: .*\/etc\/ssl is not owned by root/,
          );
          const marker = await deliver(
            THIN_UID,
            "jk_procmailwrapper",
            true,
            "--init-groups",
            "JAILKIT_THIN_STAGE=2",
          );
          assert.equal(marker.code, 59, marker.stderr);
          assert.equal(unsafe.stdout + owned.stdout + marker.stdout, "");
        },
      );
    }),
);
