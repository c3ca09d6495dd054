/**
 * jk_chrootsh: every exit code of man/jk_chrootsh.8 (STEPS AND EXIT STATUS) on the decision logic
 * with a fake system, then the installed setuid binary end to end, as an unprivileged user,
 * including the hostile callers the native launcher and the privilege sequence exist for.
 */
import assert from "node:assert/strict";
import { VERSION } from "../lib/core/runtime.ts";
import { parseIni } from "../lib/config/ini.ts";
import { sameDirectory } from "../lib/login/privilege.ts";
import {
  ACCEPTED_NAMES,
  type ChrootshResult,
  type ChrootshSystem,
  CONFIG_FILE,
  EXIT,
  filterEnv,
  readSettings,
  runChrootsh,
} from "../lib/login/chrootsh.ts";
import {
  argv0Problem,
  CONFIG_DIR,
  GROUP,
  GROUPW,
  NOREGPATH,
  OTHERW,
  OWNER,
  safePathProblems,
  SETUID,
  type StatInfo,
} from "../lib/login/common.ts";
import { copyInto, rootTest } from "./helpers.ts";
import { logsSince, must } from "./namespace.ts";
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
  config: string | undefined;
}

const world = worldsFrom((): World => ({
  argv0: "-jk_chrootsh",
  args: [],
  euid: 0,
  uid: 1001,
  gid: 1001,
  groups: [1001, 100],
  env: { USER: "jkt", TERM: "xterm", FOO: "bar", LD_PRELOAD: "/tmp/x.so" },
  umask: 0o027,
  hostPasswd: "root:x:0:0:root:/root:/bin/bash\n" +
    "jkt:x:1001:1001:JK Test:/srv/jail/./home/jkt:/usr/sbin/jk_chrootsh\n",
  hostGroup: "root:x:0:\njkg:x:1001:\nusers:x:100:jkt\n",
  lstat: {
    [CONFIG_DIR]: st(DIR | 0o755),
    [CONFIG_FILE]: undefined,
    ".": st(DIR | 0o755),
    "home/jkt": st(DIR | 0o755, 1001, 1001),
    "/bin/bash": st(REG | 0o755),
  },
  stat: systemDirs(),
  config: undefined,
  jailFiles: {
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\njkt:x:1001:1001::/home/jkt:/bin/bash\n",
    "/etc/group": "root:x:0:\njkg:x:1001:\n",
  },
}));

/** Sets jk_chrootsh.ini (root-owned 0644) to `text`. */
function withConfig(w: World, text: string): void {
  w.config = text;
  w.lstat[CONFIG_FILE] = st(REG | 0o644);
}

interface Run extends Recording {
  result: ChrootshResult;
}

function run(w: World): Run {
  const fx = new FakeEffects(w.failStep);
  const sys: ChrootshSystem = {
    ...fakeCallerSystem(w, fx),
    thin: noThinSystem(),
    readConfig: () => parseIni(w.config ?? "", CONFIG_FILE, "c"),
  };
  return { result: runChrootsh(sys), ...fx.recording() };
}

function code(w: World): number {
  return exitOf(run(w).result);
}

function exec(w: World) {
  const r = run(w);
  assert.ok(r.result.exec, `refused: ${JSON.stringify(r.logs)}`);
  return { ...r.result.exec, run: r };
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

Deno.test("safePathProblems: jailkit's testsafepath bits and log priorities", () => {
  assert.deepEqual(safePathProblems("/x", undefined, 0, 0), { bits: NOREGPATH, logs: [] });
  assert.equal(safePathProblems("/x", st(LNK | 0o777, 0, 0, true), 0, 0).bits, NOREGPATH);
  assert.equal(safePathProblems("/x", st(DIR | 0o755), 0, 0).bits, 0);
  const bad = safePathProblems("/x", st(DIR | 0o6777, 5, 6), 0, 0);
  assert.equal(bad.bits, GROUPW | OTHERW | SETUID | 16 | OWNER | GROUP);
  assert.deepEqual(bad.logs.map((l) => l.priority), ["warning", "err", "err", "err", "err", "err"]);
  const user = safePathProblems("/h", st(DIR | 0o777, 0, 0), 1001, 1001);
  assert.deepEqual(user.logs.map((l) => l.priority), ["notice", "notice", "notice", "notice"]);
  assert.match(user.logs[2].message, /^path \/h is not owned by user 1001$/);
});

Deno.test("argv0Problem: jk_chrootsh, -jk_chrootsh, su, -su by basename only", () => {
  for (const ok of ["jk_chrootsh", "-jk_chrootsh", "/usr/sbin/jk_chrootsh", "su", "-su", "/x/su"]) {
    assert.equal(argv0Problem(ok, ACCEPTED_NAMES), undefined, ok);
  }
  for (const no of ["", "jk_lsh", "jk_chrootsh2", "/usr/sbin/jk_chrootsh/", "--jk_chrootsh"]) {
    assert.equal(
      argv0Problem(no, ACCEPTED_NAMES),
      `started as ${JSON.stringify(no)}; only jk_chrootsh, -jk_chrootsh, su, -su are accepted`,
      no,
    );
  }
});

Deno.test("filterEnv keeps exactly the listed names", () => {
  const env = new Map([["TERM", "x"], ["PATH", "/bin"], ["TERMINFO", "y"]]);
  assert.deepEqual([...filterEnv(env, ["TERM", "LANG"])], [["TERM", "x"]]);
  assert.deepEqual([...filterEnv(env, [])], []);
});

Deno.test("sameDirectory tolerates only a trailing slash", () => {
  assert.ok(sameDirectory("/srv/jail", "/srv/jail/"));
  assert.ok(sameDirectory("/srv/jail", "/srv/jail"));
  assert.ok(!sameDirectory("/srv/jail", "/srv/./jail"));
  assert.ok(!sameDirectory("/srv/real", "/srv/link"));
});

Deno.test("readSettings: one section, exact keys, trimmed values, strict integers", () => {
  const ini = parseIni(
    "[group jkg]\nenv = TERM, PATH\nrelax_home_group = 1\ninjail_shell = /bin/sh \n" +
      "[jkt]\n[DEFAULT]\ninjail_login_shell = 1\n",
    "f",
    "c",
  );
  assert.deepEqual(readSettings(ini, "jkt", "jkg").env, []); // empty [jkt] shadows the group
  const g = readSettings(ini, "other", "jkg");
  assert.deepEqual(g.env, ["TERM", "PATH"]);
  assert.equal(g.relaxHomeGroup, true);
  assert.equal(g.relaxHomeGroupPermissions, false); // no prefix matching
  assert.equal(g.injailShell, "/bin/sh");
  assert.equal(readSettings(ini, "other", "x").injailLoginShell, true);
  assert.equal(readSettings(undefined, "jkt", "jkg").section, undefined);
  assert.throws(
    () => readSettings(parseIni("[DEFAULT]\nrelax_home_owner = yes\n", "f", "c"), "a", "b"),
    /f:2: relax_home_owner/,
  );
});

// ---------------------------------------------------------------------------------------------
// The run, step by step (man/jk_chrootsh.8, STEPS AND EXIT STATUS)

Deno.test("default: the in-jail shell runs with HOME/USER/USERNAME/SHELL only, in order", () => {
  const e = exec(world((w) => (w.args = ["-c", "export -p"])));
  assert.equal(e.path, "/bin/bash");
  assert.deepEqual(e.argv, ["/bin/bash", "-c", "export -p"]);
  assert.deepEqual(e.env, ["HOME=/home/jkt", "USER=jkt", "USERNAME=jkt", "SHELL=/bin/bash"]);
  assert.equal(e.umask, 0o027);
  const ev = e.run.events;
  const at = (x: string) => ev.indexOf(x);
  assert.ok(at("chdir /srv/jail") >= 0);
  assert.ok(at("lstat .") > at("chdir /srv/jail"), "jail checked after chdir");
  assert.ok(at("lstat home/jkt") < at("chroot"), "home checked before chroot");
  assert.ok(at("chroot") < at("drop 1001 1001 [1001,100]"));
  assert.ok(at("read /etc/passwd") > at("drop 1001 1001 [1001,100]"));
  assert.equal(ev[ev.length - 1], "chdir /home/jkt");
  assert.deepEqual(
    e.run.logs.filter(([p]) => p === "info"),
    [["info", "now entering jail /srv/jail for user jkt (1001) with arguments -c export -p"]],
  );
});

Deno.test("env = TERM, FOO keeps those two; LD_PRELOAD never passes unlisted", () => {
  const e = exec(world((w) => withConfig(w, "[DEFAULT]\nenv = TERM, FOO\n")));
  assert.deepEqual(e.env.slice(0, 2), ["TERM=xterm", "FOO=bar"]);
  assert.ok(!e.env.some((v) => v.startsWith("LD_PRELOAD=")));
});

Deno.test("injail_login_shell = 1 runs [shell, --login] and drops the arguments", () => {
  const e = exec(world((w) => {
    w.args = ["-c", "echo X"];
    withConfig(w, "[jkt]\ninjail_login_shell = 1\n");
  }));
  assert.deepEqual(e.argv, ["/bin/bash", "--login"]);
});

Deno.test("exit 1: argv[0] of another name", () => {
  assert.equal(code(world((w) => (w.argv0 = "jk_other"))), EXIT.argv0);
  assert.equal(code(world((w) => (w.argv0 = ""))), 1);
  assert.equal(code(world((w) => (w.argv0 = "/usr/sbin/jk_chrootsh"))), 0);
  assert.equal(code(world((w) => (w.argv0 = "-su"))), 0);
});

Deno.test("exit 11: not effective root; exit 12: real uid 0", () => {
  assert.equal(code(world((w) => (w.euid = 1001))), 11);
  assert.equal(code(world((w) => (w.uid = 0))), 12);
});

Deno.test("exit 13: USER=root, unknown USER, unknown uid/gid, getgroups error", () => {
  assert.equal(code(world((w) => (w.env.USER = "root"))), 13);
  assert.equal(code(world((w) => (w.env.USER = "nosuch"))), 13);
  assert.equal(code(world((w) => (w.uid = 1500, delete w.env.USER))), 13);
  assert.equal(code(world((w) => (delete w.env.USER))), 0);
  assert.equal(code(world((w) => (w.env.USER = ""))), 0); // empty USER: looked up by uid
  assert.equal(code(world((w) => (w.gid = 4444))), 13);
  assert.equal(code(world((w) => (w.groups = undefined))), 13);
  assert.equal(code(world((w) => (w.hostPasswd = undefined))), 13);
  const r = run(world((w) => (w.env.USER = "root")));
  assert.match(r.logs.at(-1)![1], /\$USER is root \(uid 0\) but the caller's uid is 1001/);
});

Deno.test("exit 14: /etc/jailkit missing, world writable, not root's, a symlink; g+w warns", () => {
  const dir = (s: StatInfo | undefined) => code(world((w) => (w.lstat[CONFIG_DIR] = s)));
  assert.equal(dir(undefined), 14);
  assert.equal(dir(st(DIR | 0o757)), 14);
  assert.equal(dir(st(DIR | 0o755, 1001)), 14);
  assert.equal(dir(st(LNK | 0o777, 0, 0, true)), 14);
  assert.equal(dir(st(DIR | 0o1755)), 0);
  const r = run(world((w) => (w.lstat[CONFIG_DIR] = st(DIR | 0o775))));
  assert.ok(r.result.exec);
  assert.deepEqual(r.logs[0], ["warning", "path /etc/jailkit is group writable"]);
});

Deno.test("exit 14: jk_chrootsh.ini malformed, non-numeric, a symlink, world writable", () => {
  const cfg = (text: string, s?: StatInfo) =>
    code(world((w) => {
      withConfig(w, text);
      if (s) w.lstat[CONFIG_FILE] = s;
    }));
  assert.equal(cfg("[DEFAULT]\nrelax_home_owner = 1\n"), 0);
  assert.equal(cfg("[DEFAULT]\nnot a key value line\n"), 14);
  assert.equal(cfg("[jkt]\nrelax_home_owner = yes\n"), 14);
  assert.equal(cfg("[DEFAULT]\n", st(LNK | 0o777, 0, 0, true)), 14);
  assert.equal(cfg("[DEFAULT]\n", st(REG | 0o646)), 14);
  const r = run(world((w) => withConfig(w, "[jkt]\nrelax_home_owner = yes\n")));
  assert.match(r.logs.at(-1)![1], /jk_chrootsh\.ini:2: relax_home_owner .* refusing user jkt/);
});

Deno.test("exit 15: real gid other than the passwd gid", () => {
  assert.equal(code(world((w) => (w.gid = 100))), 15);
});

Deno.test("exit 16/17: empty home, no /./ marker, jail shorter than 3 characters", () => {
  const home = (h: string) =>
    code(world((w) => (w.hostPasswd = `jkt:x:1001:1001::${h}:/usr/sbin/jk_chrootsh\n`)));
  assert.equal(home(""), 16);
  assert.equal(home("/home/jkt"), 17);
  assert.equal(home("/a/./x"), 17);
});

Deno.test("exit 19/21/33/34/35/36: each failed privilege step", () => {
  for (const [step, want] of JAIL_STEP_EXITS) {
    const r = run(world((w) => (w.failStep = step)));
    assert.equal(r.result.exitCode, want, step);
    assert.match(r.logs.at(-1)![1], new RegExp(`user jkt \\(1001\\), jail /srv/jail: ${step}`));
  }
});

Deno.test("exit 53: jail and its system directories", () => {
  const jail = (s: StatInfo) => code(world((w) => (w.lstat["."] = s)));
  assert.equal(jail(st(DIR | 0o775)), 53);
  assert.equal(jail(st(DIR | 0o755, 1001)), 53);
  assert.equal(jail(st(DIR | 0o755, 0, 100)), 53);
  const sub = (name: string, s: StatInfo | undefined) => code(world((w) => (w.stat[name] = s)));
  assert.equal(sub("etc", st(DIR | 0o755, 1001)), 53);
  assert.equal(sub("usr", st(DIR | 0o775)), 53);
  assert.equal(sub("sbin", undefined), 0); // missing is fine
  assert.equal(sub("var", st(DIR | 0o777)), 0); // not checked
  const r = run(world((w) => (w.lstat["."] = st(DIR | 0o775))));
  assert.ok(!r.events.includes("chroot"), "no chroot after a failed check");
  assert.deepEqual(r.logs.at(-1), [
    "err",
    "jail /srv/jail is not safe (must be root:root, not group/world writable)",
  ]);
});

Deno.test("exit 53: the home and each relax_* key (exact names)", () => {
  const home = (s: StatInfo | undefined, ini = "") =>
    code(world((w) => {
      w.lstat["home/jkt"] = s;
      if (ini) withConfig(w, `[jkt]\n${ini}\n`);
    }));
  assert.equal(home(st(DIR | 0o775, 1001, 1001)), 53);
  assert.equal(home(st(DIR | 0o775, 1001, 1001), "relax_home_group_permissions = 1"), 0);
  // Deliberate difference: jailkit's prefix matching let relax_home_group relax this too.
  assert.equal(home(st(DIR | 0o775, 1001, 1001), "relax_home_group = 1"), 53);
  assert.equal(home(st(DIR | 0o757, 1001, 1001)), 53);
  assert.equal(home(st(DIR | 0o757, 1001, 1001), "relax_home_other_permissions = 1"), 0);
  assert.equal(home(st(DIR | 0o755, 0, 1001)), 53);
  assert.equal(home(st(DIR | 0o755, 0, 1001), "relax_home_owner = 1"), 0);
  assert.equal(home(st(DIR | 0o755, 1001, 100)), 53);
  assert.equal(home(st(DIR | 0o755, 1001, 100), "relax_home_group = 1"), 0);
  assert.equal(home(undefined), 53);
  assert.equal(home(st(LNK | 0o777, 1001, 1001, true)), 53);
  assert.equal(home(st(DIR | 0o2755, 1001, 1001)), 0); // set-id bits: logged, allowed
});

Deno.test("exit 35/37/39: the user in the jail's passwd and group", () => {
  const files = (passwd: string | undefined, group?: string) =>
    code(world((w) => {
      w.jailFiles["/etc/passwd"] = passwd;
      if (group !== undefined) w.jailFiles["/etc/group"] = group;
    }));
  assert.equal(files("root:x:0:0::/root:/bin/sh\n"), 35);
  assert.equal(files(undefined), 35);
  assert.equal(files("jkt:x:1001:1001::/home/jkt:/bin/bash\n", "other:x:5:\n"), 35);
  assert.equal(files("jkt:x:1001:1001::/home/jkt:/bin/bash\n", "renamed:x:1001:\n"), 37);
  // Renamed user: looked up by $USER it is missing (35), by uid it has another name (37).
  assert.equal(files("renamed:x:1001:1001::/home/jkt:/bin/bash\n"), 35);
  assert.equal(
    code(world((w) => {
      delete w.env.USER;
      w.jailFiles["/etc/passwd"] = "renamed:x:1001:1001::/home/jkt:/bin/bash\n";
    })),
    37,
  );
  assert.equal(files("jkt:x:1001:1001::/home/other:/bin/bash\n"), 39);
  assert.equal(files("jkt:x:1001:1001::/home/jkt/:/bin/bash\n"), 0); // trailing slash
  assert.equal(files("jkt:x:1001:1001::/home/jkt/:\n"), 39); // direct parse needs a shell
});

Deno.test("injail_shell and skip_injail_passwd_check", () => {
  const gone = (w: World) => (w.jailFiles["/etc/passwd"] = "root:x:0:0::/root:/bin/sh\n");
  const e = exec(world((w) => {
    gone(w);
    withConfig(w, "[jkt]\ninjail_shell = /bin/sh\nskip_injail_passwd_check = 1\n");
    w.lstat["/bin/sh"] = st(REG | 0o755);
  }));
  assert.equal(e.path, "/bin/sh"); // value trimmed: jailkit ran " /bin/sh" (exit 111)
  assert.ok(e.env.includes("HOME=/home/jkt"));
  assert.ok(!e.run.events.includes("read /etc/passwd"));
  // skip without injail_shell is ignored
  assert.equal(
    code(world((w) => (gone(w), withConfig(w, "[jkt]\nskip_injail_passwd_check=1")))),
    35,
  );
  // injail_shell alone replaces the passwd shell after the checks
  assert.equal(exec(world((w) => withConfig(w, "[jkt]\ninjail_shell=/bin/zsh"))).path, "/bin/zsh");
});

Deno.test("exit 41: home missing inside the jail; exit 111: no shell", () => {
  assert.equal(code(world((w) => (w.chdirFails = true))), 41);
  assert.equal(
    code(world((w) => (w.jailFiles["/etc/passwd"] = "jkt:x:1001:1001::/home/jkt:\n"))),
    111,
  );
  const r = run(world((w) => (w.lstat["/bin/bash"] = st(REG | 0o777, 1001))));
  assert.ok(r.result.exec, "an unsafe shell is only logged");
  assert.ok(r.logs.some(([, m]) => m === "path /bin/bash is writable for others"));
});

// ---------------------------------------------------------------------------------------------
// The privilege sequence's guards, each in a fresh process (the module keeps its stage)

Deno.test("privilege: steps fail with their names; exec only after the drop", async () => {
  const creds = "{ uid: 4242, gid: 4242, groups: [] }";
  assert.match(await privilegeProbe(`p.enterJail("/nonexistent", ${creds})`), /^chdir-jail: /);
  assert.match(await privilegeProbe(`p.enterJail("relative", ${creds})`), /^chdir-jail: /);
  assert.match(
    await privilegeProbe(`p.enterJail("/proc/self/cwd", ${creds})`),
    /^getcwd: jail \/proc\/self\/cwd is not a canonical path/,
  );
  assert.match(
    await privilegeProbe(`p.enterJail("/", { uid: 0, gid: 0, groups: [] })`),
    /^setresuid: refusing/,
  );
  assert.match(
    await privilegeProbe(`p.execInJail({ path: "/bin/true", argv: ["true"], env: [] })`),
    /^exec: refusing to exec \/bin\/true: privileges not dropped/,
  );
  assert.match(
    await privilegeProbe(
      `try { p.enterJail("/nonexistent", ${creds}) } catch {} p.enterJail("/", ${creds})`,
    ),
    /^chdir-jail: enterJail called twice/,
  );
});

// ---------------------------------------------------------------------------------------------
// End to end: the installed setuid launcher, as an unprivileged user

const USER = "jkcsh";
const UID = 4311;
const GROUP_NAME = "jkcshg";
const GID = 4311;
const SUPP_GID = 4312;

/** A minimal jail: dash as /bin/sh, readlink, the user's home, passwd/group, /proc. */
function buildJail(jail: string): void {
  buildLoginJail(
    jail,
    ["/usr/bin/dash", "/usr/bin/readlink"],
    `${USER}:x:${UID}:${GID}::/home/${USER}:/bin/sh\n`,
    `${GROUP_NAME}:x:${GID}:\n`,
  );
  Deno.mkdirSync(`${jail}/proc`, { mode: 0o755 });
  Deno.mkdirSync(`${jail}/home/${USER}`, { recursive: true, mode: 0o755 });
  Deno.chownSync(`${jail}/home/${USER}`, UID, GID);
}

const PROBE = [
  "export -p",
  "echo cwd=$(pwd) umask=$(umask)",
  'while read l; do case $l in Uid*|Gid*|Groups*|NoNewPrivs*|CapEff*) echo "$l";; esac; ' +
  "done < /proc/self/status",
  "readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2",
  "readlink /proc/self/fd/3 || echo no-fd-3",
].join("; ");

rootTest(
  "jk_chrootsh installed: login, privilege drop, refusals, hostile callers",
  (t) =>
    withInstalledTools("chrootsh-e2e", async ({ root, ns, log }) => {
      const jail = `${root}/jail`;
      const chrootsh = `${root}/usr/sbin/jk_chrootsh`;
      buildJail(jail);
      const add = await ns.sh(
        `groupadd -g ${GID} ${GROUP_NAME} && groupadd -g ${SUPP_GID} ${GROUP_NAME}2 && ` +
          `useradd -M -u ${UID} -g ${GID} -G ${GROUP_NAME}2 -d ${jail}/./home/${USER} ` +
          `-s ${chrootsh} ${USER} && mount -t proc proc ${jail}/proc`,
      );
      assert.equal(add.code, 0, add.stderr);

      /** Runs jk_chrootsh as the test user with exactly `env`; `pre` runs first (as root). */
      const login = (args: string[], env: Record<string, string> = {}, pre = "", redir = "") =>
        ns.sh(
          `${pre} umask 027; exec setpriv --reuid=${UID} --regid=${GID} --init-groups ` +
            `env -i ${
              quoted(Object.entries({ USER, ...env }).map(([k, v]) => `${k}=${v}`))
            } ${chrootsh} ${quoted(args)} ${redir}`,
        );

      await t.step(
        "login: the shell runs as the user with the documented environment",
        async () => {
          const since = log.messages.length;
          const r = await login(["-c", PROBE], { TERM: "xterm", PATH: "/bin" });
          assert.equal(r.code, 0, r.stderr + r.stdout);
          assert.equal(r.stderr, "");
          const exported = r.stdout.split("\n").filter((l) => l.startsWith("export "));
          assert.deepEqual(exported, [
            `export HOME='/home/${USER}'`,
            `export PWD='/home/${USER}'`,
            "export SHELL='/bin/sh'",
            `export USER='${USER}'`,
            `export USERNAME='${USER}'`,
          ]);
          assert.match(r.stdout, new RegExp(`cwd=/home/${USER} umask=0027`));
          assert.match(r.stdout, new RegExp(`Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}\\n`));
          assert.match(r.stdout, new RegExp(`Gid:\\s+${GID}\\s+${GID}\\s+${GID}\\s+${GID}\\n`));
          assert.match(r.stdout, new RegExp(`Groups:\\s+${GID} ${SUPP_GID}\\s*\\n`));
          assert.match(r.stdout, /CapEff:\s+0+\n/);
          assert.match(r.stdout, /NoNewPrivs:\s+1\n/);
          assert.match(r.stdout, /no-fd-3/);
          const lines = await logsSince(log.messages, since);
          const entering = lines.find((m) => m.includes("now entering jail"));
          assert.ok(entering, `no log line; got ${JSON.stringify(lines)}`);
          assert.match(entering, /<38>.*jk_chrootsh\[\d+\]: now entering jail /);
          assert.ok(entering.includes(`${jail} for user ${USER} (${UID}) with arguments -c`));
        },
      );

      await t.step("jk_chrootsh.ini env list is honoured", async () => {
        await ns.sh(`printf '[${USER}]\\nenv = TERM, FOO\\n' > /etc/jailkit/jk_chrootsh.ini`);
        const r = await login(["-c", "export -p"], { TERM: "vt100", FOO: "1", BAR: "2" });
        await ns.sh(`rm /etc/jailkit/jk_chrootsh.ini`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /export FOO='1'\n/);
        assert.match(r.stdout, /export TERM='vt100'\n/);
        assert.ok(!r.stdout.includes("BAR"));
      });

      // Hostile callers: each one gets the normal result or the documented refusal, and
      // nothing else runs.
      const evil = `${root}/evil`;
      Deno.mkdirSync(evil, { mode: 0o755 });
      const marker = `${evil}/ran`;
      Deno.writeTextFileSync(
        `${evil}/evil.js`,
        `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`,
      );
      const noMarker = () => assert.throws(() => Deno.lstatSync(marker), Deno.errors.NotFound);

      await t.step("NODE_OPTIONS=--require is never seen by the runtime", async () => {
        const r = await login(["-c", "export -p"], { NODE_OPTIONS: `--require ${evil}/evil.js` });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes("NODE_OPTIONS"));
        noMarker();
      });

      await t.step("DENO_INTERNAL_CHILD_ENTRYPOINT + NODE_CHANNEL_FD=3 does nothing", async () => {
        // fd 3 is a socket, as for a real IPC channel.
        const r = await ns.sh(
          `exec python3 -c 'import socket,os
a,b=socket.socketpair(); os.dup2(a.fileno(),3)
os.execvp("setpriv",["setpriv","--reuid=${UID}","--regid=${GID}","--init-groups","env","-i",
"USER=${USER}","DENO_INTERNAL_CHILD_ENTRYPOINT=${evil}/evil.js","NODE_CHANNEL_FD=3",
"${chrootsh}","-c","echo ok; readlink /proc/self/fd/3 || echo no-fd-3"])'`,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "ok\nno-fd-3\n");
        assert.equal(r.stderr.includes("IPC"), false);
        noMarker();
      });

      await t.step("DENO_DIR=<user dir> is not used", async () => {
        const userDir = `${root}/userdir`;
        Deno.mkdirSync(userDir, { mode: 0o755 });
        Deno.chownSync(userDir, UID, GID);
        const r = await login(["-c", "echo ok"], { DENO_DIR: userDir, HOME: userDir });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "ok\n");
        assert.deepEqual([...Deno.readDirSync(userDir)], []);
      });

      await t.step("LD_PRELOAD=<lib> reaches neither the tool nor the shell", async () => {
        const src = `${evil}/preload.c`;
        Deno.writeTextFileSync(
          src,
          `#include <unistd.h>\n__attribute__((constructor)) static void hit(void) ` +
            `{ write(2, "PRELOADED\\n", 10); }\n`,
        );
        await must(`cc -shared -fPIC -o ${evil}/preload.so ${src}`);
        // The library exists at the same path inside the jail, so the shell could load it too.
        copyInto(jail, `${evil}/preload.so`);
        const r = await login(["-c", "echo ok"], { LD_PRELOAD: `${evil}/preload.so` });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "ok\n");
        assert.equal(r.stderr, "");
      });

      await t.step(
        "fds 0-2 closed: the shell gets a null device there, no runtime file",
        async () => {
          // $$ is the shell; the command substitution leaves its fds alone while readlink runs.
          // glibc itself fills closed fds of a setuid program: /dev/full on 0, /dev/null on 1, 2.
          const r = await login(
            [
              "-c",
              'x=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo "$x" > $HOME/fds',
            ],
            {},
            "",
            "<&- >&- 2>&-",
          );
          assert.equal(r.code, 0, r.stderr);
          const fds = Deno.readTextFileSync(`${jail}/home/${USER}/fds`).split("\n");
          assert.equal(fds.length, 4, fds.join("|"));
          for (const fd of fds.slice(0, 3)) assert.match(fd, /^\/dev\/(null|full)$/);
        },
      );

      await t.step("USER=root: exit 13", async () => {
        const r = await login(["-c", "echo ran"], { USER: "root" });
        assert.equal(r.code, 13);
        assert.equal(r.stdout + r.stderr, "");
      });

      await t.step("home without /./: exit 17", async () => {
        await ns.sh(`usermod -d /home/${USER} ${USER}`);
        const r = await login(["-c", "echo ran"]);
        await ns.sh(`usermod -d ${jail}/./home/${USER} ${USER}`);
        assert.equal(r.code, 17);
        assert.equal(r.stdout + r.stderr, "");
      });

      await t.step("home ROOT/./jail/./home/USER: the jail is not canonical, exit 21", async () => {
        // The last /./ marks the jail, ROOT/./jail, which getcwd() does not give back.
        await ns.sh(`usermod -d ${root}/./jail/./home/${USER} ${USER}`);
        const r = await login(["-c", "echo ran"]);
        await ns.sh(`usermod -d ${jail}/./home/${USER} ${USER}`);
        assert.equal(r.code, 21);
        assert.equal(r.stdout, "");
      });

      await t.step("in-jail shell /bin/zsh missing: exit 111", async () => {
        const passwd = Deno.readTextFileSync(`${jail}/etc/passwd`);
        Deno.writeTextFileSync(
          `${jail}/etc/passwd`,
          passwd.replace(`/${USER}:/bin/sh`, `/${USER}:/bin/zsh`),
        );
        assert.notEqual(Deno.readTextFileSync(`${jail}/etc/passwd`), passwd);
        const r = await login(["-c", "echo ran"]);
        Deno.writeTextFileSync(`${jail}/etc/passwd`, passwd);
        assert.equal(r.code, 111);
        assert.equal(r.stdout, "");
      });

      await t.step("group-writable jail: exit 53", async () => {
        Deno.chmodSync(jail, 0o775);
        const r = await login(["-c", "echo ran"]);
        Deno.chmodSync(jail, 0o755);
        assert.equal(r.code, 53);
        assert.equal(r.stdout + r.stderr, "");
      });

      await t.step("run as root: exit 12; called under another name: exit 1", async () => {
        assert.equal((await ns.sh(`${chrootsh} -c 'echo ran'`)).code, 12);
        const other = await ns.sh(
          `exec setpriv --reuid=${UID} --regid=${GID} --init-groups env -i USER=${USER} ` +
            `python3 -c 'import os; os.execv("${chrootsh}", ["jk_other", "-c", "echo ran"])'`,
        );
        assert.equal(other.code, 1);
        assert.equal(other.stdout, "");
      });

      await t.step(
        "a lone --version or --help is answered, unlogged; otherwise the shell gets it",
        async () => {
          const since = log.messages.length;
          const version = await login(["--version"]);
          assert.equal(version.code, 0, version.stderr);
          assert.equal(version.stdout, `jk_chrootsh (jailkit-deno) ${VERSION}\n`);
          assert.equal(version.stderr, "");
          const help = await login(["--help"]);
          assert.equal(help.code, 0, help.stderr);
          assert.match(help.stdout, /^Usage: jk_chrootsh \[ARGUMENT\.\.\.\]\n/);
          // Before the refusal of root (exit 12): nothing is checked for the answer.
          const asRoot = await ns.sh(`${chrootsh} --version`);
          assert.equal(asRoot.code, 0, asRoot.stderr);
          assert.equal(asRoot.stdout, version.stdout);
          assert.deepEqual(await logsSince(log.messages, since), []);
          const shell = await login(["-c", "echo --version"]);
          assert.equal(shell.code, 0, shell.stderr);
          assert.equal(shell.stdout, "--version\n");
          assert.equal(
            (await login(["--version", "extra"])).stdout,
            "",
            "two arguments go to the shell",
          );
        },
      );
    }),
);
