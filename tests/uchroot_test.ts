/**
 * jk_uchroot: every exit code of man/jk_uchroot.8 (STEPS AND EXIT STATUS) on the decision logic
 * with a fake system — above all that nothing the caller names is examined before the
 * authorisation — then the installed setuid binary end to end, as an unprivileged user.
 */
import assert from "node:assert/strict";
import { parseIni } from "../lib/config/ini.ts";
import { CONFIG_DIR, type StatInfo } from "../lib/login/common.ts";
import { JailkitError } from "../lib/core/errors.ts";
import {
  authorisedJail,
  CONFIG_FILE,
  EXIT,
  jailedEnv,
  parseUchrootArgs,
  runUchroot,
  type UchrootResult,
  type UchrootSystem,
} from "../lib/login/uchroot.ts";
import { copyInto, librariesOf, rootTest } from "./helpers.ts";
import { logsSince } from "./namespace.ts";
import {
  buildLoginJail,
  type CallerWorld,
  DIR,
  exitOf,
  fakeCallerSystem,
  FakeEffects,
  JAIL_STEP_EXITS,
  quoted,
  type Recording,
  REG,
  statOf as st,
  systemDirs,
  withInstalledTools,
  worldsFrom,
} from "./login_fixture.ts";
import { noThinSystem } from "./thin_fake.ts";

// ---------------------------------------------------------------------------------------------
// The fake system

interface World extends CallerWorld {
  /** undefined: the file does not exist. */
  config: string | undefined;
  /** realpath answers; paths not listed do not resolve. */
  realpath: Record<string, string>;
  /** stat inside the jail. */
  inJail: Record<string, StatInfo | undefined>;
}

const JAIL = "/srv/jail";
const CONFIG = "[jku]\nallowed_jails = /srv/other, /srv/jail/\n";

const world = worldsFrom((): World => ({
  argv0: "jk_uchroot",
  args: ["-j", JAIL, "-x", "/usr/bin/id", "--", "-u"],
  euid: 0,
  uid: 1001,
  gid: 1001,
  groups: [1001, 100],
  env: { USER: "jku", TERM: "xterm", LANG: "C.UTF-8", LC_ALL: "C", LD_PRELOAD: "/x.so" },
  umask: 0o027,
  hostPasswd: "root:x:0:0:root:/root:/bin/bash\njku:x:1001:1001::/home/jku:/bin/bash\n",
  hostGroup: "root:x:0:\njkg:x:1001:\nusers:x:100:jku\n",
  lstat: {
    [CONFIG_DIR]: st(DIR | 0o755),
    [CONFIG_FILE]: st(REG | 0o644),
    ".": st(DIR | 0o755),
  },
  stat: systemDirs(),
  config: CONFIG,
  realpath: {
    "/srv/jail": "/srv/jail",
    "/srv/jail/": "/srv/jail",
    "/srv/other": "/srv/other",
    "/srv/link": "/srv/jail",
    "/srv/unlisted": "/srv/unlisted",
  },
  jailFiles: {
    "/etc/passwd": "root:x:0:0::/root:/bin/sh\njku:x:1001:1001::/home/jku:/bin/sh\n",
    "/etc/group": "root:x:0:\njkg:x:1001:\n",
  },
  inJail: { "/usr/bin/id": st(REG | 0o755) },
}));

interface Run extends Recording {
  result: UchrootResult;
}

function run(w: World): Run {
  const fx = new FakeEffects(w.failStep);
  const { events } = fx;
  const sys: UchrootSystem = {
    ...fakeCallerSystem(w, fx),
    thin: noThinSystem(),
    readConfig: () => {
      events.push("config");
      if (w.config === undefined) throw new JailkitError("not-found", `${CONFIG_FILE}: missing`);
      return parseIni(w.config, CONFIG_FILE, "c");
    },
    realpath: (path) => {
      events.push(`realpath ${path}`);
      return w.realpath[path];
    },
    statInJail: (path) => {
      assert.ok(fx.dropped, `${path} examined before the drop`);
      events.push(`statInJail ${path}`);
      return w.inJail[path];
    },
    stdout: fx.writeStdout,
    stderr: fx.writeStderr,
  };
  return { result: runUchroot(sys), ...fx.recording() };
}

function code(w: World): number {
  return exitOf(run(w).result);
}

// ---------------------------------------------------------------------------------------------
// Pieces

Deno.test("parseUchrootArgs: jailkit's options, -- and the program's arguments", () => {
  assert.deepEqual(parseUchrootArgs(["-v", "-j", "/a", "-x", "/b"]), {
    kind: "run",
    jail: "/a",
    executable: "/b",
    args: [],
  });
  assert.deepEqual(parseUchrootArgs(["--jail=/a", "--exec", "/b", "--", "-c", "x"]), {
    kind: "run",
    jail: "/a",
    executable: "/b",
    args: ["-c", "x"],
  });
  assert.equal(
    (parseUchrootArgs(["-j", "/a", "--executable=/c", "-x", "/d"]) as { executable: string })
      .executable,
    "/d",
    "the last of -x/--executable wins",
  );
  assert.deepEqual(parseUchrootArgs(["-h"]), { kind: "help" });
  assert.equal(parseUchrootArgs(["--help", "-j"]).kind, "usage", "-j without its value");
  assert.deepEqual(parseUchrootArgs(["--version"]), { kind: "version" });
  assert.equal(parseUchrootArgs(["-j", "/a"]).kind, "usage");
  assert.equal(parseUchrootArgs(["-x", "/a"]).kind, "usage");
  assert.equal(parseUchrootArgs(["-j", "/a", "-x", "/b", "-la"]).kind, "usage");
});

Deno.test("authorisedJail: canonical forms compared; unresolvable or relative never allowed", () => {
  const real = (m: Record<string, string>) => (p: string) => m[p];
  const map = { "/srv/jail": "/srv/jail", "/srv/jail/": "/srv/jail", "/l": "/srv/jail" };
  assert.equal(authorisedJail("/srv/jail/", ["/srv/jail"], real(map)), "/srv/jail");
  assert.equal(authorisedJail("/l", ["/srv/jail/"], real(map)), "/srv/jail");
  assert.equal(authorisedJail("/srv/jail", ["/other"], real(map)), undefined);
  assert.equal(
    authorisedJail("srv/jail", ["srv/jail"], real({ "srv/jail": "/srv/jail" })),
    undefined,
  );
  assert.equal(authorisedJail("/missing", ["/missing"], real(map)), undefined);
  assert.equal(authorisedJail("/", ["/"], real({ "/": "/" })), undefined, "never / itself");
});

Deno.test("jailedEnv: fixed PATH, HOME=/, USER, LOGNAME; only TERM, LANG, LC_* pass", () => {
  const env = jailedEnv(
    new Map([
      ["TERM", "vt100"],
      ["LANG", "C"],
      ["LC_TIME", "C"],
      ["LD_PRELOAD", "x"],
      [
        "PATH",
        "/evil",
      ],
      ["HOME", "/root"],
      ["LC_", "x"],
      ["LCX", "y"],
    ]),
    "jku",
  );
  assert.deepEqual(env, [
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/",
    "USER=jku",
    "LOGNAME=jku",
    "TERM=vt100",
    "LANG=C",
    "LC_TIME=C",
  ]);
});

// ---------------------------------------------------------------------------------------------
// The run

Deno.test("allowed: enters the canonical jail as the caller and runs the program", () => {
  const r = run(world());
  assert.ok(r.result.exec, JSON.stringify(r.logs));
  assert.deepEqual(r.result.exec, {
    path: "/usr/bin/id",
    argv: ["/usr/bin/id", "-u"],
    env: [
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "HOME=/",
      "USER=jku",
      "LOGNAME=jku",
      "TERM=xterm",
      "LANG=C.UTF-8",
      "LC_ALL=C",
    ],
    umask: 0o027,
  });
  assert.ok(r.events.includes("chdir /srv/jail"));
  assert.ok(r.events.includes("drop 1001 1001 [1001,100]"), "the caller's own groups");
  assert.equal(r.stdout + r.stderr, "");
  const entering = r.logs.find(([, m]) => m.startsWith("now entering jail"));
  assert.deepEqual(entering, [
    "info",
    "now entering jail /srv/jail for user jku (1001) to run /usr/bin/id with arguments -u",
  ]);
});

Deno.test("allowed through a symlink or a trailing slash: the real directory is entered", () => {
  for (const jail of ["/srv/link", "/srv/jail/"]) {
    const r = run(world((w) => (w.args = ["-j", jail, "-x", "/usr/bin/id"])));
    assert.ok(r.result.exec, jail);
    assert.ok(r.events.includes("chdir /srv/jail"), jail);
  }
});

Deno.test("exit 0 and usage on stdout for -h; --version; exit 1 for bad options", () => {
  const help = run(world((w) => (w.args = ["-h"])));
  assert.equal(help.result.exitCode, 0);
  assert.match(help.stdout, /^Usage: jk_uchroot -j JAIL -x EXECUTABLE/);
  const version = run(world((w) => (w.args = ["--version"])));
  assert.equal(version.result.exitCode, 0);
  assert.match(version.stdout, /^jk_uchroot version 2\.23/);
  for (
    const args of [["-j", JAIL], ["-x", "/usr/bin/id"], ["-q"], ["-j", JAIL, "-x", "/a", "-l"]]
  ) {
    const r = run(world((w) => (w.args = args)));
    assert.equal(r.result.exitCode, EXIT.usage, args.join(" "));
    assert.match(r.stdout, /^ERROR: .*\nUsage: jk_uchroot/, args.join(" "));
    assert.deepEqual(r.events, [], "nothing examined for a usage error");
  }
});

Deno.test("exit 1: argv[0] of another name", () => {
  assert.equal(code(world((w) => (w.argv0 = "jk_other"))), 1);
  assert.equal(code(world((w) => (w.argv0 = "/usr/bin/-jk_uchroot"))), 0);
});

Deno.test("exit 11: not effective root; exit 12: real uid 0", () => {
  assert.equal(code(world((w) => (w.euid = 1001))), 11);
  assert.equal(code(world((w) => (w.uid = 0))), 12);
});

Deno.test("exit 13: USER of another uid, unknown uid or gid, unreadable passwd, getgroups", () => {
  assert.equal(code(world((w) => (w.env.USER = "root"))), 13);
  assert.equal(code(world((w) => (w.env.USER = "nobody-here"))), 13);
  assert.equal(code(world((w) => (w.uid = 4242, delete w.env.USER))), 13);
  assert.equal(code(world((w) => (w.gid = 4242))), 13);
  assert.equal(code(world((w) => (w.hostPasswd = undefined))), 13);
  assert.equal(code(world((w) => (w.groups = undefined))), 13);
  assert.equal(code(world((w) => delete w.env.USER)), 0, "by uid without $USER");
});

Deno.test("exit 14: /etc/jailkit or jk_uchroot.ini unsafe, ini malformed", () => {
  assert.equal(code(world((w) => (w.lstat[CONFIG_DIR] = undefined))), 14);
  assert.equal(code(world((w) => (w.lstat[CONFIG_DIR] = st(DIR | 0o757)))), 14);
  assert.equal(code(world((w) => (w.lstat[CONFIG_DIR] = st(DIR | 0o755, 5)))), 14);
  assert.equal(code(world((w) => (w.lstat[CONFIG_DIR] = st(DIR | 0o775)))), 0, "g+w warns");
  assert.equal(code(world((w) => (w.lstat[CONFIG_FILE] = st(REG | 0o666)))), 14);
  assert.equal(code(world((w) => (w.lstat[CONFIG_FILE] = st(REG | 0o777, 0, 0, true)))), 14);
  assert.equal(code(world((w) => (w.config = "[jku]\nallowed_jails\n"))), 14);
  assert.equal(
    code(world((w) => (w.config = `${CONFIG}skip_injail_passwd_check = yes\n`))),
    14,
  );
});

Deno.test("exit 1: no config, no section for the user, no allowed_jails", () => {
  const missing = world((w) => {
    w.config = undefined;
    w.lstat[CONFIG_FILE] = undefined;
  });
  assert.equal(code(missing), 1);
  const none = run(world((w) => (w.config = "[someone]\nallowed_jails = /srv/jail\n")));
  assert.equal(none.result.exitCode, 1);
  assert.match(none.stderr, /user jku \(1001\) may not use jk_uchroot: no \[jku\], \[group jkg\]/);
  assert.ok(!none.events.some((e) => e.startsWith("realpath")), "the jail is not even resolved");
  assert.equal(code(world((w) => (w.config = "[jku]\nallowed_jails = , \n"))), 1);
  // One section only: an empty [jku] shadows [group jkg] and [DEFAULT].
  assert.equal(
    code(world((w) => (w.config = "[jku]\n[group jkg]\nallowed_jails = /srv/jail\n"))),
    1,
  );
  assert.equal(code(world((w) => (w.config = "[group jkg]\nallowed_jails = /srv/jail\n"))), 0);
  assert.equal(code(world((w) => (w.config = "[DEFAULT]\nallowed_jails = /srv/jail\n"))), 0);
});

Deno.test("exit 21: jail not allowed — identical answer whatever the executable is", () => {
  const variants = ["/usr/bin/id", "/etc/shadow", "/nonexistent", "../../../etc/shadow"];
  for (const jail of ["/srv/unlisted", "/", "/srv/missing", "srv/jail", "/srv/jail/../x"]) {
    const runs = variants.map((x) =>
      run(world((w) => {
        w.args = ["-j", jail, "-x", x];
        w.inJail[x] = st(REG | 0o755);
      }))
    );
    for (const [i, r] of runs.entries()) {
      assert.equal(r.result.exitCode, EXIT.notAllowed, `${jail} ${variants[i]}`);
      assert.deepEqual(
        { out: r.stdout, err: r.stderr, logs: r.logs, events: r.events },
        { out: runs[0].stdout, err: runs[0].stderr, logs: runs[0].logs, events: runs[0].events },
        `${jail}: ${variants[i]} answers differently from ${variants[0]}`,
      );
      assert.ok(
        !r.events.some((e) => e.includes(variants[i]) && !e.startsWith("realpath")),
        `${variants[i]} was examined: ${r.events}`,
      );
      assert.ok(!r.events.some((e) => e.startsWith("chdir")), "no jail entered");
    }
    assert.match(
      runs[0].stderr,
      new RegExp(`^jk_uchroot: user jku \\(1001\\) is not allowed to use jail ${jail} `),
    );
  }
});

Deno.test("the executable is examined only inside the jail, after the drop", () => {
  const r = run(world());
  const drop = r.events.findIndex((e) => e.startsWith("drop "));
  const look = r.events.indexOf("statInJail /usr/bin/id");
  assert.ok(drop >= 0 && look > drop, r.events.join("\n"));
  assert.ok(!r.events.some((e) => e.includes("/srv/jail/usr/bin/id")), "never JAIL + EXE");
});

Deno.test("exit 1: the executable is not a regular file inside the jail", () => {
  const missing = run(world((w) => (w.inJail = {})));
  assert.equal(missing.result.exitCode, 1);
  assert.match(
    missing.stderr,
    /user jku \(1001\): \/usr\/bin\/id is not a regular file inside jail \/srv\/jail/,
  );
  assert.equal(code(world((w) => (w.inJail["/usr/bin/id"] = st(DIR | 0o755)))), 1);
});

Deno.test("exit 19/21/33/34/35/36: each failed privilege step", () => {
  for (const [step, want] of JAIL_STEP_EXITS) {
    assert.equal(code(world((w) => (w.failStep = step))), want, step);
  }
});

Deno.test("exit 53: the jail or one of its system directories is unsafe", () => {
  assert.equal(code(world((w) => (w.lstat["."] = st(DIR | 0o775)))), 53);
  assert.equal(code(world((w) => (w.lstat["."] = st(DIR | 0o755, 1001)))), 53);
  assert.equal(code(world((w) => (w.stat.etc = st(DIR | 0o755, 1001)))), 53);
  assert.equal(code(world((w) => (w.stat.usr = st(DIR | 0o775)))), 53);
  assert.equal(code(world((w) => (w.stat.sbin = undefined))), 0, "a missing one is fine");
  const r = run(world((w) => (w.lstat["."] = st(DIR | 0o777))));
  assert.ok(!r.events.some((e) => e.startsWith("drop")));
  assert.deepEqual(r.logs.at(-1), [
    "err",
    "jail /srv/jail is not safe (must be root:root, not group/world writable)",
  ]);
  assert.equal(r.stderr, "jk_uchroot: jail /srv/jail is not safe; see the system log\n");
});

Deno.test("exit 35/37: the caller in the jail's passwd and group; skip_injail_passwd_check", () => {
  const noUser = world((w) => (w.jailFiles["/etc/passwd"] = "root:x:0:0::/root:/bin/sh\n"));
  assert.equal(code(noUser), 35);
  assert.equal(code(world((w) => (w.jailFiles["/etc/passwd"] = undefined))), 35);
  assert.equal(code(world((w) => (w.jailFiles["/etc/group"] = "root:x:0:\n"))), 35);
  assert.equal(
    code(world((w) => {
      delete w.env.USER;
      w.jailFiles["/etc/passwd"] = "other:x:1001:1001::/:/bin/sh\n";
    })),
    37,
  );
  assert.equal(code(world((w) => (w.jailFiles["/etc/group"] = "renamed:x:1001:\n"))), 37);
  const skipped = world((w) => {
    w.config = `${CONFIG}skip_injail_passwd_check = 1\n`;
    w.jailFiles = {};
  });
  const r = run(skipped);
  assert.ok(r.result.exec, JSON.stringify(r.logs));
  assert.ok(!r.events.some((e) => e.startsWith("read ")));
});

// ---------------------------------------------------------------------------------------------
// End to end: the installed setuid launcher, as an unprivileged user

const USER = "jkuc";
const UID = 4321;
const GROUP_NAME = "jkucg";
const GID = 4321;
const SUPP_GID = 4322;
const OTHER = "jkuco";
const OTHER_UID = 4323;

function buildJail(jail: string): void {
  buildLoginJail(
    jail,
    ["/usr/bin/dash", "/usr/bin/id", "/usr/bin/env"],
    `${USER}:x:${UID}:${GID}::/home/${USER}:/bin/sh\n`,
    `${GROUP_NAME}:x:${GID}:\n${GROUP_NAME}2:x:${SUPP_GID}:${USER}\n`,
  );
  for (const lib of librariesOf("/usr/bin/id")) {
    const dir = lib.slice(0, lib.lastIndexOf("/"));
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.startsWith("libnss_files")) copyInto(jail, `${dir}/${e.name}`);
    }
  }
  Deno.writeTextFileSync(`${jail}/usr/bin/notexec`, "#!/bin/sh\necho ran\n", { mode: 0o644 });
  Deno.chmodSync(`${jail}/usr/bin/notexec`, 0o644);
}

rootTest(
  "jk_uchroot installed: allowed run, refusals, no file-existence oracle",
  (t) =>
    withInstalledTools("uchroot-e2e", async ({ root, ns, log }) => {
      const uchroot = `${root}/usr/bin/jk_uchroot`;
      assert.equal(Deno.statSync(uchroot).mode! & 0o7777, 0o4755);
      const jail = `${root}/jail`;
      const jail2 = `${root}/jail2`;
      buildJail(jail);
      buildJail(jail2);
      Deno.symlinkSync(jail, `${root}/jail-link`);
      await ns.must(
        `groupadd -g ${GID} ${GROUP_NAME} && groupadd -g ${SUPP_GID} ${GROUP_NAME}2 && ` +
          `useradd -M -u ${UID} -g ${GID} -G ${GROUP_NAME}2 -d /home/${USER} ${USER} && ` +
          `useradd -M -u ${OTHER_UID} -g ${GID} -d /home/${OTHER} ${OTHER} && ` +
          `printf '[${USER}]\\nallowed_jails = ${jail}/\\n' > /etc/jailkit/jk_uchroot.ini`,
      );

      const as = (uid: number, args: string[], env: Record<string, string> = {}) =>
        ns.sh(
          `umask 027; exec setpriv --reuid=${uid} --regid=${GID} --init-groups env -i ${
            quoted(Object.entries(env).map(([k, v]) => `${k}=${v}`))
          } ${uchroot} ${quoted(args)}`,
        );

      await t.step("allowed user runs /usr/bin/id in the jail as themself", async () => {
        const since = log.messages.length;
        const r = await as(UID, ["-j", jail, "-x", "/usr/bin/id"], { USER });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(
          r.stdout,
          `uid=${UID}(${USER}) gid=${GID}(${GROUP_NAME}) ` +
            `groups=${GID}(${GROUP_NAME}),${SUPP_GID}(${GROUP_NAME}2)\n`,
        );
        assert.equal(r.stderr, "");
        const lines = await logsSince(log.messages, since);
        const entering = lines.find((m) => m.includes("now entering jail"));
        assert.ok(entering, JSON.stringify(lines));
        assert.match(entering, /^<38>.*jk_uchroot\[\d+\]: now entering jail /);
      });

      await t.step(
        "the program gets the small environment, cwd /, the caller's umask",
        async () => {
          const r = await as(
            UID,
            ["-j", `${root}/jail-link`, "-x", "/bin/sh", "--", "-c", "env; pwd; umask"],
            {
              USER,
              TERM: "vt100",
              LANG: "C.UTF-8",
              PATH: "/evil",
              LD_LIBRARY_PATH: "/x",
              FOO: "1",
            },
          );
          assert.equal(r.code, 0, r.stderr);
          const lines = r.stdout.split("\n");
          assert.deepEqual(
            [...lines.slice(0, -3).sort(), ...lines.slice(-3)],
            [
              "HOME=/",
              "LANG=C.UTF-8",
              `LOGNAME=${USER}`,
              "PATH=/usr/local/bin:/usr/bin:/bin",
              "PWD=/",
              "TERM=vt100",
              `USER=${USER}`,
              "/",
              "0027",
              "",
            ],
          );
        },
      );

      await t.step("-h exits 0 with the usage on stdout", async () => {
        const r = await as(UID, ["-h"], { USER });
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^Usage: jk_uchroot/);
      });

      await t.step("a user without a section: exit 1", async () => {
        const r = await as(OTHER_UID, ["-j", jail, "-x", "/usr/bin/id"]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, new RegExp(`user ${OTHER} \\(${OTHER_UID}\\) may not use`));
      });

      await t.step(
        "a jail not allowed: exit 21, the same answer whether the file exists",
        async () => {
          const exists = await as(UID, ["-j", jail2, "-x", "/usr/bin/id"], { USER });
          const absent = await as(UID, ["-j", jail2, "-x", "/usr/bin/nothing-here"], { USER });
          const hostShadow = await as(UID, ["-j", "/", "-x", "etc/shadow"], { USER });
          const hostNone = await as(UID, ["-j", "/", "-x", "etc/nothing-here"], { USER });
          for (const r of [exists, absent, hostShadow, hostNone]) {
            assert.equal(r.code, 21, r.stderr);
          }
          const strip = (s: string, x: string) => s.replaceAll(x, "X");
          assert.equal(exists.stdout + exists.stderr, absent.stdout + absent.stderr);
          assert.equal(
            strip(hostShadow.stdout + hostShadow.stderr, "etc/shadow"),
            strip(hostNone.stdout + hostNone.stderr, "etc/nothing-here"),
          );
          assert.equal(exists.stdout, "");
          assert.match(exists.stderr, new RegExp(`is not allowed to use jail ${jail2} `));
        },
      );

      await t.step("allowed, but the program is missing in the jail: exit 1", async () => {
        const r = await as(UID, ["-j", jail, "-x", "/usr/bin/nothing-here"], { USER });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /\/usr\/bin\/nothing-here is not a regular file inside jail/);
      });

      await t.step("allowed, program not executable: exit 111", async () => {
        const r = await as(UID, ["-j", jail, "-x", "/usr/bin/notexec"], { USER });
        assert.equal(r.code, 111, r.stderr);
        assert.match(r.stderr, /cannot execute \/usr\/bin\/notexec: .*EACCES/);
      });

      await t.step("caller missing from the jail's passwd: exit 35", async () => {
        const passwd = Deno.readTextFileSync(`${jail}/etc/passwd`);
        Deno.writeTextFileSync(`${jail}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
        const r = await as(UID, ["-j", jail, "-x", "/usr/bin/id"], { USER });
        Deno.writeTextFileSync(`${jail}/etc/passwd`, passwd);
        assert.equal(r.code, 35, r.stderr);
        assert.equal(r.stdout, "");
      });

      await t.step("group-writable jail: exit 53", async () => {
        Deno.chmodSync(jail, 0o775);
        const r = await as(UID, ["-j", jail, "-x", "/usr/bin/id"], { USER });
        Deno.chmodSync(jail, 0o755);
        assert.equal(r.code, 53);
        assert.equal(r.stdout, "");
      });

      await t.step("run as root: exit 12", async () => {
        const r = await ns.sh(`${uchroot} -j ${jail} -x /usr/bin/id`);
        assert.equal(r.code, 12);
        assert.equal(r.stdout, "");
      });
    }),
);
