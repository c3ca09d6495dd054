/**
 * jk_lsh decisions: jailkit 2.23's observed cases with our fixes (man/jk_lsh.8, DIFFERENCES FROM
 * JAILKIT 2.23), the real command lines of rsync, scp, sftp, git, cvs and svn clients, and an
 * escape corpus from the history of restricted shells (rssh CVE-2019-1000018 / CVE-2019-3463 /
 * CVE-2019-3464, scponly, lshell, git-shell). Word expansion uses the real glibc wordexp, as
 * jk_lsh does.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { JailkitError } from "../lib/core/errors.ts";
import { type IniFile, parseIni } from "../lib/config/ini.ts";
import {
  decideLsh,
  type Expander,
  identifyUser,
  isRefusal,
  isStrippedVariable,
  type LshDecision,
  type LshExec,
  type LshRefusal,
  MAX_COMMAND_CHARS,
  MAX_WORDS,
  readLshSettings,
} from "../lib/login/lsh.ts";
import { parseGroup, parsePasswd } from "../lib/config/passwd.ts";
import { wordexp, WRDE_NOCMD } from "../ffi/libc.ts";
import { tempDir } from "./helpers.ts";
import { LSH_PROGRAMS, lshFs } from "./login_fixture.ts";

// ------------------------------------------------------------------------------ fixtures

const USER = { name: "jktest", uid: 1001, group: "jkgrp" };

/** glibc wordexp seeing exactly `env`'s values for the variables it names, like the CLI does. */
const realExpand: Expander = (words, env) => {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(env)) {
    saved.set(k, Deno.env.get(k));
    Deno.env.set(k, v);
  }
  try {
    return wordexp(words, WRDE_NOCMD);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
};

const noExpand: Expander = () => {
  throw new Error("word expansion must not run without allow_word_expansion");
};

const ALL_EXECUTABLES = [...LSH_PROGRAMS, "/usr/bin/id"].join(", ");

/** A [jktest] section allowing every fixture program, plus `extra` lines. */
function iniWith(extra = "", executables = ALL_EXECUTABLES): string {
  return `[jktest]\nexecutables = ${executables}\npaths = /bin, /usr/bin/\n${extra}\n`;
}
const EXPANDING = iniWith("allow_word_expansion = 1");

interface Run {
  ini?: string | null; // null: config file missing
  args?: string[];
  command?: string;
  env?: Record<string, string>;
  user?: typeof USER;
}

function decide(run: Run): LshDecision {
  const ini = run.ini === undefined ? iniWith() : run.ini;
  const loadConfig = (): IniFile => {
    if (ini === null) {
      throw new JailkitError("not-found", "/etc/jailkit/jk_lsh.ini: configuration file not found");
    }
    return parseIni(ini, "/etc/jailkit/jk_lsh.ini", "c");
  };
  return decideLsh({
    args: run.args ?? ["-c", run.command ?? ""],
    user: run.user ?? USER,
    loadConfig,
    env: run.env ?? { HOME: "/home/jktest", USER: "jktest" },
    fs: lshFs,
    expand: /allow_word_expansion\s*=\s*(1|yes)/.test(ini ?? "") ? realExpand : noExpand,
  });
}

function refused(d: LshDecision, code: number, why?: RegExp): LshRefusal {
  assert.ok(isRefusal(d), `expected exit ${code}, got exec ${JSON.stringify(d)}`);
  assert.equal(d.exitCode, code, d.logMessage);
  if (why) assert.match(d.logMessage, why);
  return d;
}

function runs(d: LshDecision, argv?: string[]): LshExec {
  assert.ok(!isRefusal(d), `expected exec, got exit ${isRefusal(d) ? d.logMessage : ""}`);
  if (argv) assert.deepEqual(d.exec.argv, argv);
  assert.equal(d.exec.path, d.exec.argv[0]);
  return d;
}

// ------------------------------------------------------------- jailkit 2.23's observed cases

Deno.test("lsh A: no section for user, group or DEFAULT → 3; [jktes] does not match jktest", () => {
  refused(decide({ ini: "[other]\nexecutables = /bin/ls\n", command: "ls" }), 3);
  refused(decide({ ini: "[jktes]\nexecutables = /bin/ls\n", command: "ls" }), 3, /no section/);
});

Deno.test("lsh A: section choice — user, then `group NAME`, then DEFAULT, nothing inherited", () => {
  const ini = "[DEFAULT]\nexecutables = /bin/ls\n[group jkgrp]\nexecutables = /bin/echo\n";
  runs(decide({ ini, command: "/bin/echo x" }), ["/bin/echo", "x"]);
  refused(decide({ ini, command: "/bin/ls" }), 4);
  // An empty [jktest] shadows everything: executables absent → 5.
  refused(decide({ ini: ini + "[jktest]\n", command: "/bin/echo" }), 5);
});

Deno.test("lsh A: interactive or malformed invocations → 7; only the last argument is the command", () => {
  for (const args of [[], ["-c"], ["--login"], ["-i"], ["-c", "ls", "extra"], ["-x", "ls"]]) {
    const r = refused(decide({ args }), 7);
    assert.equal(r.userMessage, "jk_lsh: interactive sessions are not allowed");
  }
  runs(decide({ args: ["--login", "-c", "ls -la /"] }), ["/bin/ls", "-la", "/"]);
  runs(decide({ args: ["-c", "id", "-c", "echo hi"] }), ["/bin/echo", "hi"]);
});

Deno.test("lsh A: 7 is decided before the config is read (missing config → still 7)", () => {
  refused(decide({ ini: null, args: [] }), 7);
  refused(decide({ ini: null, command: "ls" }), 1, /not found/);
});

Deno.test("lsh A: malformed config or bad values → 1", () => {
  refused(decide({ ini: "executables = /bin/ls\n", command: "ls" }), 1, /before any \[section\]/);
  refused(decide({ ini: iniWith("umask = 999"), command: "ls" }), 1, /umask/);
  refused(decide({ ini: iniWith("umask = 1000"), command: "ls" }), 1, /not a umask/);
  refused(decide({ ini: iniWith("umask = u=rwx"), command: "ls" }), 1, /octal/);
  refused(decide({ ini: iniWith("allow_word_expansion = maybe"), command: "ls" }), 1);
});

Deno.test("lsh A: `ls -la /` allowed through paths; `cat /etc/passwd` not listed → 4; `bin/ls` → 4", () => {
  runs(decide({ command: "ls -la /" }), ["/bin/ls", "-la", "/"]);
  refused(decide({ command: "cat /etc/passwd" }), 4, /\/bin\/cat is not listed/);
  // paths = / would turn bin/ls into /bin/ls; a relative name with "/" is never searched.
  refused(decide({ ini: "[jktest]\nexecutables = /bin/ls\npaths = /\n", command: "bin/ls" }), 4);
});

Deno.test("lsh A: without expansion, words split on single spaces, no quoting, no variables", () => {
  runs(decide({ command: "echo 'a b'   $HOME *" }), ["/bin/echo", "'a", "b'", "$HOME", "*"]);
  runs(decide({ command: " echo  x " }), ["/bin/echo", "x"]);
});

Deno.test("lsh A: with allow_word_expansion, quotes, $VAR, ~, globbing as glibc wordexp", () => {
  runs(
    decide({ ini: EXPANDING, command: "echo 'a b'   $HOME ~ /e*" }),
    ["/bin/echo", "a b", "/home/jktest", "/home/jktest", "/etc"],
  );
  runs(decide({ ini: EXPANDING, command: "echo ${UNDEF_JK_LSH}x $((1+2))" }), [
    "/bin/echo",
    "x",
    "3",
  ]);
  runs(decide({ ini: EXPANDING, command: "echo /nomatch* /us?" }), [
    "/bin/echo",
    "/nomatch*",
    "/usr",
  ]);
  runs(decide({ ini: iniWith("allow_word_expansion = yes"), command: "echo '1 2'" }), [
    "/bin/echo",
    "1 2",
  ]);
});

Deno.test("lsh A: wordexp refusals → 6 with the WRDE code logged", () => {
  const cases: [string, RegExp][] = [
    ["echo $(id)", /WRDE_CMDSUB/],
    ["echo `id`", /WRDE_CMDSUB/],
    ["echo a|b", /WRDE_BADCHAR/],
    ["echo a;b", /WRDE_BADCHAR/],
    ["echo a > f", /WRDE_BADCHAR/],
    ["echo {a,b}", /WRDE_BADCHAR/],
    ["echo a && id", /WRDE_BADCHAR/],
    ["echo 'unbalanced", /WRDE_SYNTAX/],
    ["echo $((`id`))", /WRDE_CMDSUB/],
  ];
  for (const [command, code] of cases) refused(decide({ ini: EXPANDING, command }), 6, code);
});

Deno.test("lsh A: umask — absent keeps the inherited one (fix), octal when set", () => {
  assert.equal(runs(decide({ command: "ls" })).exec.umask, undefined);
  assert.equal(runs(decide({ ini: iniWith() + "umask=077", command: "ls" })).exec.umask, 0o77);
  const noNewline = "[jktest]\nexecutables = /bin/ls\numask=077";
  assert.equal(runs(decide({ ini: noNewline, command: "/bin/ls" })).exec.umask, 0o77);
  assert.equal(runs(decide({ ini: iniWith("umask = 0"), command: "ls" })).exec.umask, 0);
});

Deno.test("lsh A: environment `A=1, B = two , C=x=y` sets A and B, not C (logged)", () => {
  const d = runs(decide({ ini: iniWith("environment = A=1, B = two , C=x=y"), command: "ls" }));
  assert.equal(d.exec.env.A, "1");
  assert.equal(d.exec.env.B, "two");
  assert.ok(!("C" in d.exec.env));
  assert.ok(d.logs.some((l) => /"C=x=y" ignored/.test(l.message)));
  assert.equal(d.exec.env.HOME, "/home/jktest"); // the rest is inherited
});

Deno.test("lsh A: tab-separated command → 4", () => {
  refused(decide({ command: "ls\t-la" }), 4, /control character/);
});

Deno.test("lsh A: empty or blank command → 4, cleanly (jailkit crashed)", () => {
  for (const command of ["", " ", "     "]) refused(decide({ command }), 4, /empty command/);
  refused(decide({ ini: EXPANDING, command: "$UNDEF_JK_LSH" }), 4, /nothing left/);
});

Deno.test("lsh A: `executable =` is not `executables` (fix) → 5, and the typo is logged", () => {
  const d = refused(decide({ ini: "[jktest]\nexecutable = /bin/ls\n", command: "/bin/ls" }), 5);
  assert.ok(d.logs.some((l) => /unknown key "executable"/.test(l.message)));
});

Deno.test("lsh A: no executables → 5 whether or not another section follows (fix)", () => {
  refused(decide({ ini: "[jktest]\npaths = /bin\n", command: "ls" }), 5);
  refused(
    decide({ ini: "[jktest]\npaths = /bin\n[other]\nexecutables = /bin/ls\n", command: "ls" }),
    5,
  );
  // An empty value counts as no key, as jailkit's reader returned its length (observed: 5);
  // a list whose items are all empty is a list: nothing allowed → 4, as in jailkit.
  refused(decide({ ini: "[jktest]\nexecutables =\n", command: "/bin/ls" }), 5);
  refused(
    decide({ ini: "[jktest]\nexecutables=\n[other]\nexecutables = /bin/ls\n", command: "ls" }),
    5,
  );
  refused(decide({ ini: "[jktest]\nexecutables = ,\n", command: "/bin/ls" }), 4);
});

Deno.test("lsh A: user and group identification → 2 / 3", () => {
  const passwd = parsePasswd(
    "root:x:0:0::/root:/bin/sh\njktest:x:1001:1001::/home/jktest:/usr/sbin/jk_lsh\n",
    "/etc/passwd",
  );
  const groups = parseGroup("root:x:0:\njkgrp:x:1001:\n", "/etc/group");
  const id = (envUser: string | undefined, uid = 1001, gid = 1001) =>
    identifyUser({ passwd, groups, envUser, uid, gid });
  assert.deepEqual(id("jktest"), { name: "jktest", uid: 1001, group: "jkgrp" });
  assert.deepEqual(id(undefined), { name: "jktest", uid: 1001, group: "jkgrp" });
  assert.deepEqual(id(""), { name: "jktest", uid: 1001, group: "jkgrp" });
  const code = (r: ReturnType<typeof id>) => isRefusal(r) ? r.exitCode : 0;
  assert.equal(code(id("root")), 2); // $USER naming another uid
  assert.equal(code(id("nobody")), 2);
  assert.equal(code(id(undefined, 4242)), 2);
  assert.equal(code(id("jktest", 1001, 4242)), 3);
  assert.equal(
    code(identifyUser({ passwd: undefined, groups, envUser: "jktest", uid: 1001, gid: 1001 })),
    2,
  );
  assert.equal(
    code(identifyUser({ passwd, groups: undefined, envUser: "jktest", uid: 1001, gid: 1001 })),
    3,
  );
});

Deno.test("lsh A: executable listed but missing → exec planned (execve fails → 255 in the CLI)", () => {
  const d = runs(decide({ ini: "[jktest]\nexecutables = /bin/gone\n", command: "/bin/gone" }));
  assert.ok(d.logs.some((l) => l.priority === "err" && /not found/.test(l.message)));
});

Deno.test("lsh: exec plan carries the executing log line with user, uid and command", () => {
  const d = runs(decide({ command: "echo hi" }));
  const last = d.logs[d.logs.length - 1];
  assert.equal(last.priority, "info");
  assert.match(last.message, /executing command 'echo hi' for user jktest \(1001\)/);
});

// ------------------------------------------------------------------------------ settings and env

Deno.test("lsh settings: relative executables and paths entries are ignored with a warning", () => {
  const ini = "[jktest]\nexecutables = ls, /bin/echo\npaths = ., bin, /bin\n";
  const d = refused(decide({ ini, command: "ls" }), 4, /ls is not listed/);
  assert.equal(d.logs.filter((l) => /must be an absolute path/.test(l.message)).length, 3);
  runs(decide({ ini, command: "echo x" }), ["/bin/echo", "x"]);
});

Deno.test("lsh settings: environment items need one = and a variable name; LD_* refused", () => {
  const ini = iniWith(
    "environment = LD_PRELOAD=/home/jktest/x.so, =A=1, A==1, 1X=2, BAD-NAME=3, EMPTY=, OK_1=v w",
  );
  const d = runs(decide({ ini, command: "ls" }));
  assert.deepEqual(
    Object.keys(d.exec.env).filter((k) => !["HOME", "USER"].includes(k)).sort(),
    ["EMPTY", "OK_1"],
  );
  assert.equal(d.exec.env.OK_1, "v w");
  assert.equal(d.logs.filter((l) => /environment item .* ignored/.test(l.message)).length, 5);
});

Deno.test("lsh env: inherited loader/interpreter hooks are removed, GIT_PROTOCOL kept", () => {
  const env = {
    HOME: "/home/jktest",
    LANG: "C.UTF-8",
    LD_PRELOAD: "/home/jktest/evil.so",
    LD_LIBRARY_PATH: "/home/jktest",
    GCONV_PATH: "/home/jktest",
    BASH_ENV: "/home/jktest/x",
    "BASH_FUNC_echo%%": "() { id; }",
    PERL5OPT: "-Mevil",
    PYTHONSTARTUP: "/x",
    GIT_CONFIG_PARAMETERS: "'uploadpack.packobjectshook'='sh -c id'",
    GIT_CONFIG_COUNT: "1",
    GIT_PROTOCOL: "version=2",
    RSYNC_RSH: "sh -c id",
    RSYNC_CONNECT_PROG: "id",
    IFS: "/",
  };
  const d = runs(decide({ command: "ls", env }));
  assert.deepEqual(Object.keys(d.exec.env).sort(), ["GIT_PROTOCOL", "HOME", "LANG"]);
  assert.equal(d.logs.filter((l) => /removed .* from the environment/.test(l.message)).length, 12);
  // The admin may still set them on purpose (but LD_*).
  const set = runs(
    decide({ ini: iniWith("environment = PYTHONPATH=/srv/py"), command: "ls", env }),
  );
  assert.equal(set.exec.env.PYTHONPATH, "/srv/py");
  assert.ok(isStrippedVariable("LD_AUDIT") && !isStrippedVariable("PATH"));
});

Deno.test("lsh settings: allow_unsafe_options / allow_extra_options are validated strictly", () => {
  const bad = [
    "allow_unsafe_options = rsnyc",
    "allow_extra_options = rsync",
    "allow_extra_options = git:--exec",
    "allow_extra_options = rsync:-e sh",
    "allow_extra_options = scp:--foo",
    "allow_extra_options = sftp-server:-xy",
  ];
  for (const line of bad) refused(decide({ ini: iniWith(line), command: "ls" }), 1);
  const section = parseIni(
    iniWith("allow_unsafe_options = scp, git\nallow_extra_options = rsync:--log-file, scp:-l:"),
    "t.ini",
    "c",
  ).section("jktest")!;
  const { settings } = readLshSettings(section);
  assert.deepEqual([...settings.unsafe], ["scp", "git"]);
  assert.deepEqual([...settings.extra.get("rsync")!.long], [["log-file", "value"]]);
  assert.deepEqual([...settings.extra.get("scp")!.withArg], ["l"]);
});

// ------------------------------------------------------------------------------ real client lines

/** Server command lines the rsync 3.5.0 client of Debian 12 sent (captured with -e). */
const RSYNC_LINES = [
  "rsync --server -vlogDtpre.iLsfxCIvu . /dst\\ dir/x",
  "rsync --server --sender -vlogDtpre.iLsfxCIvu . /srcdir/a\\ b",
  "rsync --server -vlogDtpre.iLsfxCIvu --delete . /dst",
  "rsync --server -vlogDtprze.iLsfxCIvu . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --partial . /dst",
  "rsync --server -logDtpre.iLsfxCIvu --log-format=X --info=ALL . /d",
  "rsync --server -lHogDtpAXre.iLsfxCIvu . /dst",
  "rsync --server --sender -vlogDtprce.iLsfxCIvu . /src",
  "rsync --server -vlogDtpre.iLsfxCIvu --inplace . /dst",
  "rsync --server --sender -vlogDtpre.iLsfxCIvu --bwlimit=100 . /src",
  "rsync --server -vlogDtpre.iLsfxCIvu --delete-after --delete-excluded . /dst",
  "rsync --server --sender -vlogDtpre.LsfxCIvu . /src",
  "rsync --server -vnlogDtpre.iLsfxCIvu . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --compress-choice=zstd . /dst",
  "rsync --server -re.iLsfxCIvu . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --append --append . /dst",
  "rsync --server --sender -vlogDtpre.iLsfxCIvu --remove-source-files . /src",
  "rsync --server -vblogDtpre.iLsfxCIvu --suffix=.bak . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --numeric-ids . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --iconv=latin1 . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --timeout=30 . /dst",
  "rsync --server -vlWogDtpre.iLsfxCIvu . /dst",
  "rsync --server -vlogDtprSe.iLsfxCIvu . /dst",
  "rsync --server --sender -vlLogDtpre.iLsfxCIvu . /src",
  "rsync --server -vlogDtpre.iLsfxCIvu --size-only . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --max-size=10485760 . /dst",
  "rsync --server -vlogDtpre.iLsfxCIvu --log-format=%i . /dst",
  "rsync --server --sender -vlogDtpre.iLsfxCIvu . /a /b",
  "rsync --server -vlogDtpre.iLsfxCIvu . ~/x\\;y\\$z",
  "rsync --server -vlogDtpre.iLsfxCIvu . .",
  "rsync --server -logDtpre.iLsfxCIvu -B2048 --max-delete=5 --modify-window=2 . /d",
  "rsync --server -blogDtpre.iLsfxCIvu --backup-dir /b --partial-dir .p --temp-dir /t . /d",
  "rsync --server --sender -logDtpRe.LsfxCIvu --files-from=- --from0 . /s",
  "rsync --server --sender -logDtpRe.LsfxCIvu --files-from /list . /s",
  "rsync --server -logDtpre.iLsfxCIvu --fake-super . /d",
  "rsync --server -logDtpre.iLsfxCIvu --usermap=\\*:a --groupmap=\\*:b . /d",
  "rsync --server -logDtpre.iLsfxCIvu --checksum-choice=md5 . /d",
  "rsync --server -logDtpre.iLsfxCIvu --delay-updates --ignore-existing --existing --mkpath . /d",
  "rsync --server -logDtpre.iLsfxCIvu --super --copy-unsafe-links --safe-links . /d",
  "rsync --server --sender -logDtprze.iLsfxCIvu --compress-level=3 --skip-compress=gz . /s",
  "rsync --server -logDtpre.iLsfxCIvu --fsync --preallocate --open-noatime . /d",
  "rsync --server -logDtpre.iLsfxCIvu --delete-missing-args . /d",
  "rsync --server -logDtpre.iLsfxCIvu --msgs2stderr . /d",
  "rsync --server -logDtpre.iLsfxCIvu --list-only . /d",
  "rsync --server -logDtprxxe.iLsfxCIvu . /d",
  "rsync --server -lyogDtpre.iLsfxCIvu . /d",
  "rsync --server -logDtprze.iLsfxCIvu --old-compress . /d",
  "rsync --server -logDtpre.iLsfxCIvu --new-compress . /d",
  "rsync --server -logDtpre.iLsfxCIvu --no-specials . /d",
  "rsync --server -logDtpre.LsfxCIvu --use-qsort . /d",
  "rsync --server -lKogDtpre.iLsfxCIvu . /d",
  "rsync --server -logDtpAXre.iLsfxCIvu . /d",
  "rsync --server -lJogDtpre.iLsfxCIvu . /d",
  "rsync --server -lmogDtpre.iLsfxCIvu . /d",
  "rsync --server -logDtprIe.iLsfxCIvu --size-only . /d",
  "rsync --server -logDtprSe.iLsfxCIvu --inplace . /d",
  "rsync --server -logDtpre.iLsfxCIvu --checksum-seed=5 . /d",
  "rsync --server -logDtprRe.iLsfxCIvu . /d",
  "rsync --server -logDtpre.iLsfxCIvu --bwlimit=1024 . /d",
  "rsync --server -logDtpre.iLsfxCIvu --iconv=. . /d",
  "rsync --server -logDtpre.iLsfxCIvu . /d/-x",
  "rsync --server --sender -logDtpre.iLsfxCIvu . ./-x ./--rsh=sh",
  "rsync --server -logDtpRe.LsfxCIvu --files-from /list . /d",
  "rsync --server --sender -de.LsfxCIvu . /s",
  "rsync --server -ulogDtpre.iLsfxCIvu . /d",
  "rsync --server --sender -lkogDtpre.iLsfxCIvu . /s",
  "rsync --server -lOogDtpre.iLsfxCIvu . /d",
  "rsync --server -logDtUpre.iLsfxCIvu . /d",
  "rsync --server -logDtprCe.iLsfxCIvu . /d",
  "rsync --server -qlogDtpre.iLsfxCIvu . /d",
  "rsync --server -logDtpre.iLsfxCIvu --compare-dest /c . /d",
  "rsync --server -logDtpre.iLsfxCIvu --link-dest /l . /d",
  "rsync --server -logDtpre.iLsfxCIvu --copy-dest /cd . /d",
  "rsync --server -logDtpre.iLsfxCIvu --force . /d",
  "rsync --server --sender -logDtpre.iLsfxCIvu --ignore-errors . /s",
  "rsync --server -logDtpre.iLsfxCIvu --delete-during . /d",
  "rsync --server -logDtpre.iLsfxCIvu --delete-before . /d",
  "rsync --server -logDtpre.iLsfxCIvu --delete-delay . /d",
  "rsync --server -logDtpe.LsfxCIvu . /d",
  "rsync --server -logDtpr . /d", // --protocol=29: no capability string
  "rsync --server -lgDtpre.iLsfxCIvu . /d",
  "rsync --server -ogDtpre.iLsfxCIvu . /d",
  "rsync --server -vlogDtpr . /d", // older clients
];

/** Legacy-protocol scp (`scp -O`) remote commands, captured with -S. */
const SCP_LINES = [
  "scp -t /tmp/x",
  "scp -t /tmp/a b",
  "scp -r -t /tmp/x",
  "scp -p -t /tmp/x",
  "scp -v -r -p -d -t /tmp/x",
  "scp -t -- -weird",
  "scp -f /tmp/x",
  "scp -p -f /tmp/x",
  "scp -r -f /tmp/x",
  "scp -f -- -weird",
  "scp -f /tmp/*.txt",
  "scp -d -f /a",
  "scp -t .",
];

const SFTP_LINES = [
  "/usr/lib/openssh/sftp-server",
  "/usr/lib/openssh/sftp-server -e -l VERBOSE -f AUTH",
  "/usr/lib/openssh/sftp-server -d /home/%u -P remove,rename -p read,write -R",
  "/usr/lib/openssh/sftp-server -d ..",
  "/usr/lib/openssh/sftp-server -lDEBUG3",
  "/usr/lib/openssh/sftp-server -Q requests",
  "/usr/lib/openssh/sftp-server -h",
];

/** What git clients send over ssh (captured with GIT_SSH_COMMAND). */
const GIT_LINES: [string, string[]][] = [
  ["git-upload-pack '/srv/repo.git'", ["/usr/bin/git-upload-pack", "/srv/repo.git"]],
  ["git-upload-pack '~/my repo'", ["/usr/bin/git-upload-pack", "~/my repo"]],
  ["git-upload-pack 'it'\\''s'", ["/usr/bin/git-upload-pack", "it's"]],
  ["git-receive-pack '/srv/r.git'", ["/usr/bin/git-receive-pack", "/srv/r.git"]],
  ["git-upload-archive '/srv/r.git'", ["/usr/bin/git-upload-archive", "/srv/r.git"]],
  ["git upload-pack '/srv/r.git'", ["/usr/bin/git", "upload-pack", "/srv/r.git"]],
];

Deno.test("lsh clients: every captured rsync server line runs, with and without expansion", () => {
  for (const command of RSYNC_LINES) {
    const plain = runs(decide({ command }));
    assert.deepEqual(plain.exec.argv, ["/usr/bin/rsync", ...command.split(" ").slice(1)]);
    runs(decide({ ini: EXPANDING, command }));
  }
  // rsync 3.2.4+ backslash-escapes the path; wordexp turns it back into one argument.
  runs(decide({ ini: EXPANDING, command: RSYNC_LINES[0] }), [
    "/usr/bin/rsync",
    "--server",
    "-vlogDtpre.iLsfxCIvu",
    ".",
    "/dst dir/x",
  ]);
  runs(decide({ ini: EXPANDING, command: "rsync --server -vlogDtpre.iLsfxCIvu . ~/x\\;y\\$z" }), [
    "/usr/bin/rsync",
    "--server",
    "-vlogDtpre.iLsfxCIvu",
    ".",
    "/home/jktest/x;y$z",
  ]);
});

Deno.test("lsh clients: scp -t/-f, sftp-server, git, cvs server, svnserve -t run", () => {
  for (const command of SCP_LINES) {
    runs(decide({ command }), ["/usr/bin/scp", ...command.split(" ").slice(1)]);
  }
  for (const command of SFTP_LINES) runs(decide({ command }), command.split(" "));
  for (const [command, argv] of GIT_LINES) runs(decide({ ini: EXPANDING, command }), argv);
  runs(decide({ command: "cvs server" }), ["/usr/bin/cvs", "server"]);
  runs(decide({ command: "svnserve -t" }), ["/usr/bin/svnserve", "-t"]);
});

/** Runs a real client against a capture script and returns the remote commands it sent. */
async function capture(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  dir: string,
): Promise<string[]> {
  const out = join(dir, "captured.txt");
  await Deno.remove(out).catch(() => {});
  const child = new Deno.Command(cmd, { args, env, cwd: dir, stdout: "null", stderr: "null" });
  await child.output();
  const text = await Deno.readTextFile(out).catch(() => "");
  return text.split("\n").filter((l) => l !== "");
}

Deno.test("lsh clients: lines captured live from this machine's rsync, scp and git run", async () => {
  const { dir, cleanup } = tempDir("lsh-capture");
  try {
    // rsync -e runs `RSH host rsync --server …` and ssh would join the words with spaces.
    await Deno.writeTextFile(
      join(dir, "rsh"),
      `#!/bin/sh\nshift\nprintf '%s\\n' "$*" >> ${dir}/captured.txt\nexit 1\n`,
    );
    // scp -S and GIT_SSH_COMMAND (variant "simple") pass the remote command as the last word.
    await Deno.writeTextFile(
      join(dir, "ssh"),
      `#!/bin/sh\nfor a; do last=$a; done\nprintf '%s\\n' "$last" >> ${dir}/captured.txt\nexit 1\n`,
    );
    await Deno.chmod(join(dir, "rsh"), 0o755);
    await Deno.chmod(join(dir, "ssh"), 0o755);
    await Deno.mkdir(join(dir, "src"));
    await Deno.writeTextFile(join(dir, "src", "f"), "x");
    const env = { PATH: "/usr/bin:/bin", HOME: dir, LANG: "C" };
    const lines: string[] = [];
    for (
      const opts of [
        ["-av"],
        ["-av", "--delete"],
        ["-avz"],
        ["-avP"],
        ["-a", "--info=progress2"],
        ["-aHAX", "--numeric-ids"],
        ["-rlptD", "--inplace", "--bwlimit=1m"],
        ["-av", "--partial-dir=.p", "--backup", "--backup-dir=/b"],
        ["-avn", "--checksum", "--delete-after"],
      ]
    ) {
      for (const ends of [["src/", "h:/dst dir"], ["h:/srcdir/a b", "dst/"]]) {
        lines.push(
          ...await capture("rsync", [...opts, "-e", `${dir}/rsh`, ...ends], env, dir),
        );
      }
    }
    for (
      const args of [
        ["src/f", "h:/tmp/x"],
        ["-r", "src", "h:/tmp/x"],
        ["-p", "h:/tmp/x", "."],
        ["-rp", "src/f", "src", "h:/tmp/x"],
      ]
    ) {
      lines.push(...await capture("scp", ["-O", "-S", `${dir}/ssh`, ...args], env, dir));
    }
    const gitEnv = { ...env, GIT_SSH_COMMAND: `${dir}/ssh`, GIT_SSH_VARIANT: "simple" };
    lines.push(...await capture("git", ["clone", "h:/srv/repo.git", "r"], gitEnv, dir));
    lines.push(
      ...await capture("git", ["archive", "--remote=h:/srv/r.git", "HEAD"], gitEnv, dir),
    );

    assert.ok(lines.filter((l) => l.startsWith("rsync --server")).length >= 18, lines.join("\n"));
    assert.ok(lines.filter((l) => l.startsWith("scp ")).length >= 4, lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("git-upload-pack ")), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("git-upload-archive ")), lines.join("\n"));
    for (const command of lines) {
      const d = decide({ ini: EXPANDING, command });
      assert.ok(!isRefusal(d), `${command}: ${isRefusal(d) ? d.logMessage : ""}`);
    }
  } finally {
    cleanup();
  }
});

// ------------------------------------------------------------------------------ escape corpus

/** Hostile commands and the exit code jk_lsh must give; all programs involved are listed. */
const ESCAPES: [string, number, RegExp?][] = [
  // rsync (rssh CVE-2019-3463/3464, scponly): client mode, remote shells, daemon configs
  ["rsync -e 'sh -c id' x:y .", 4, /only run as a server/],
  ["rsync --rsh=sh x:y .", 4, /only run as a server/],
  ["rsync --daemon --config=/home/jktest/r.conf", 4, /only run as a server/],
  ["rsync --server -e sh . /x", 4, /-e/],
  ["rsync --server -vlogDtpre sh . /x", 4, /-e /],
  ["rsync --server -vlogDtpre.iLs;id . /x", 4, /-e/],
  ["rsync --server --rsh=sh . /x", 4, /--rsh is refused/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --rsync-path=sh . /x", 4, /--rsync-path/],
  ["rsync --server --daemon .", 4, /--daemon is refused/],
  ["rsync --server --daemon --config=/home/jktest/evil.conf .", 4, /--daemon/],
  ["rsync --server --config=/home/jktest/evil.conf . /x", 4, /--config/],
  ["rsync --server --dparam=pre-xfer\\ exec=sh . /x", 4, /--dparam/],
  ["rsync --server -M--rsh=sh . /x", 4, /-M is refused/],
  ["rsync --server --remote-option=--log-file=/x . /y", 4, /--remote-option/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --log-file=/home/jktest/.profile . /x", 4, /--log-file/],
  ["rsync --server --write-devices -vlogDtpre.iLsfxCIvu . /dev/sda", 4, /--write-devices/],
  ["rsync --server --sender --copy-devices -vlogDtpre.iLsfxCIvu . /dev/zero", 4, /devices/],
  ["rsync --server -slogDtpre.iLsfxCIvu", 4, /-s is refused/],
  ["rsync --server --protect-args -vlogDtpre.iLsfxCIvu . /x", 4, /--protect-args/],
  ["rsync --server --secluded-args . /x", 4, /--secluded-args/],
  ["rsync --server -vlogDtpre.iLsfxCIvu . /x --rsh=sh", 4, /--rsh/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --temp-dir --rsh=sh . /x", 4, /--temp-dir needs/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --delete=x . /x", 4, /takes no value/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --timeout 5 . /x", 4, /needs =VALUE/],
  ["rsync --server --rsync-p=sh . /x", 4, /--rsync-p is not allowed/],
  ["rsync --ser --daemon .", 4, /only run as a server/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --password-file=/x . /y", 4, /--password-file/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --read-batch=/x . /y", 4, /--read-batch/],
  ["rsync --server -vlogDtpre.iLsfxCIvu --only-write-batch=/x . /y", 4, /batch/],
  ["rsync --server -vlogDtpre.iLsfxCIvu -- /x", 4, /must end with "\."/],
  ["rsync --server -vlogDtpre.iLsfxCIvu", 4, /must end with "\."/],
  ["rsync --server -B1x . /x", 4, /-B needs a number/],
  ["rsync --server -46 . /x", 4, /-4/],
  ["rsync --server ‐‐rsh=sh . /x", 4, /must end with "\."/], // U+2010 hyphens: a path, not "."
  ["/usr/local/bin/backup -e sh x:y /tmp", 4, /only run as a server/], // rsync under another name
  // scp (rssh CVE-2019-1000018, scponly -S): client mode runs ssh, -S/-o/-F/-D choose programs
  ["scp -S /bin/sh x y:z", 4, /-S is not allowed/],
  ["scp -o ProxyCommand=sh x y:z", 4, /-o is not allowed/],
  ["scp -oProxyCommand=sh -t /x", 4, /-o is not allowed/],
  ["scp -F /home/jktest/ssh_config x y:z", 4, /-F/],
  ["scp -t /x -S sh", 4, /after a non-option/],
  ["scp -tS sh /x", 4, /-S/],
  ["scp -J evil x y:z", 4, /-J/],
  ["scp -3 a:b c:d", 4, /-3/],
  ["scp -P 2222 x y:z", 4, /-P/],
  ["scp -i /home/jktest/key x y:z", 4, /-i/],
  ["scp -D /bin/sh -s x y", 4, /-D/],
  ["scp /etc/passwd h:/x", 4, /remote end/],
  ["scp -t -f /x", 4, /both -t and -f/],
  ["scp -r -t", 4, /no path/],
  // sftp-server
  ["/usr/lib/openssh/sftp-server -d /x extra", 4, /no arguments/],
  ["/usr/lib/openssh/sftp-server -X", 4, /-X is not allowed/],
  ["/usr/lib/openssh/sftp-server -d", 4, /needs an argument/],
  ["/usr/lib/openssh/sftp-server -Q", 4, /needs an argument/],
  // git (git-shell history: options smuggled as the path, client-side command runners)
  ["git-upload-pack --upload-pack=sh /x", 4, /exactly one repository path/],
  ["git-upload-pack --help", 4, /exactly one repository path/],
  ["git-upload-pack /a /b", 4, /exactly one/],
  ["git-receive-pack", 4, /exactly one/],
  ["git -c core.sshCommand=sh fetch x", 4, /no -c/],
  ["git upload-pack --exec=sh /x", 4, /git may only run/],
  ["git --config-env=core.fsmonitor=X upload-pack /x", 4, /git may only run/],
  ["git --exec-path=/home/jktest upload-pack /x", 4, /git may only run/],
  ["git clone ext::sh /x", 4, /git may only run/],
  ["git-shell -c sh", 4, /git-shell is not allowed/],
  ["git-shell", 4, /git-shell is not allowed/],
  // cvs, svnserve
  ["cvs -e vi commit", 4, /cvs server/],
  ["cvs server extra", 4, /cvs server/],
  ["svnserve -t --tunnel-user=admin", 4, /svnserve -t/],
  ["svnserve -d -r /", 4, /svnserve -t/],
  // shell syntax is inert without expansion: never refused for it, never interpreted
  // (these are listed in NO_SHELL below with their exact argv)
  // control characters, encoding, size
  ["echo a\nid", 4, /control character/],
  ["echo a\0id", 4, /control character/],
  ["echo\ta", 4, /control character/],
  ["echo a\rid", 4, /control character/],
  ["echo \x1b[2J", 4, /control character/],
  ["echo \x7f", 4, /control character/],
  ["echo \u0085id", 4, /control character/],
  ["echo \ufffd", 4, /not valid UTF-8/],
  ["echo " + "a".repeat(MAX_COMMAND_CHARS), 4, /longer than/],
  ["echo " + "a ".repeat(MAX_WORDS), 4, /more than/],
  // look-alikes and path tricks
  ["rsуnc --server -vlogDtpre.iLsfxCIvu . /x", 4, /not listed/], // Cyrillic у
  ["／bin／sh", 4, /not listed/], // fullwidth solidus
  ["sh -c id", 4, /\/bin\/sh is not listed/], // found through paths, not allowed
  ["../bin/sh", 4, /not listed/],
  ["/usr/bin/../bin/sh", 4, /not listed/],
  ["/bin//ls", 4, /not listed/],
  ["/bin/./ls", 4, /not listed/],
  ["/home/jktest/rsync --server -vlogDtpre.iLsfxCIvu . /x", 4, /not listed/], // user's symlink
  ["/home/jktest/upload", 4, /not listed/],
  ["rsync$IFS--server", 4, /not listed/],
  ["/bin/ec*", 4, /not listed/],
  ["ssh -o ProxyCommand=sh x", 4, /not listed/],
];

/** Shell syntax without allow_word_expansion: words are passed on literally, nothing runs it. */
const NO_SHELL: [string, string[]][] = [
  ["rsync --server -vlogDtpre.iLsfxCIvu . /x;sh", [
    "/usr/bin/rsync",
    "--server",
    "-vlogDtpre.iLsfxCIvu",
    ".",
    "/x;sh",
  ]],
  ["echo hi | sh", ["/bin/echo", "hi", "|", "sh"]],
  ["echo $(id) `id` && id", ["/bin/echo", "$(id)", "`id`", "&&", "id"]],
  ["scp -t /x;sh", ["/usr/bin/scp", "-t", "/x;sh"]],
  ["git-upload-pack '/x'", ["/usr/bin/git-upload-pack", "'/x'"]],
];

Deno.test("lsh escapes: the corpus is refused with the expected code and reason", () => {
  assert.ok(ESCAPES.length + NO_SHELL.length >= 40);
  for (const [command, code, why] of ESCAPES) {
    const d = decide({ command });
    assert.ok(isRefusal(d), `not refused: ${JSON.stringify(command)}`);
    assert.equal(d.exitCode, code, `${JSON.stringify(command)}: ${d.logMessage}`);
    if (why) assert.match(d.logMessage, why, JSON.stringify(command));
    assert.equal(d.userMessage, "jk_lsh: command not allowed");
    // One log line, no raw control characters.
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\x00-\x1f\x7f-\x9f]/.test(d.logMessage), d.logMessage);
    assert.ok(d.logMessage.length < 1000);
  }
});

Deno.test("lsh escapes: shell syntax without expansion is passed on literally", () => {
  for (const [command, argv] of NO_SHELL) runs(decide({ command }), argv);
});

Deno.test("lsh escapes: the same attacks through wordexp are refused after expansion", () => {
  const cases: [string, number][] = [
    ["rsync --server -vlogDtpre.iLsfxCIvu . '/x' \"--rsh=sh\"", 4],
    ["rsync --server '-e' 'sh -c id' . /x", 4],
    ["rsync${IFS}--server${IFS}--rsh=sh . /x", 4],
    ["git-upload-pack '--upload-pack=touch /tmp/x'", 4],
    ["scp -t '/x' '-S' sh", 4],
    ["echo $(id)", 6],
    ["rsync --server -vlogDtpre.iLsfxCIvu . /x; sh", 6],
    ["echo ~root/../../bin/sh", 0],
  ];
  for (const [command, code] of cases) {
    const d = decide({ ini: EXPANDING, command });
    if (code === 0) runs(d);
    else refused(d, code);
  }
});

Deno.test("lsh escapes: a file named like an option, reached by a glob, is refused", () => {
  const { dir, cleanup } = tempDir("lsh-glob");
  const cwd = Deno.cwd();
  try {
    Deno.writeTextFileSync(join(dir, "--rsh=sh -c id"), "");
    Deno.writeTextFileSync(join(dir, "data"), "");
    Deno.chdir(dir);
    refused(
      decide({ ini: EXPANDING, command: "rsync --server --sender -vlogDtpre.iLsfxCIvu . *" }),
      4,
      /--rsh is refused/,
    );
    runs(decide({ ini: EXPANDING, command: "rsync --server --sender -vlogDtpre.iLsfxCIvu . d*" }), [
      "/usr/bin/rsync",
      "--server",
      "--sender",
      "-vlogDtpre.iLsfxCIvu",
      ".",
      "data",
    ]);
  } finally {
    Deno.chdir(cwd);
    cleanup();
  }
});

Deno.test("lsh escapes: renamed rsync is still checked, as server it runs", () => {
  runs(decide({ command: "/usr/local/bin/backup --server -vlogDtpre.iLsfxCIvu . /x" }));
});

Deno.test("lsh escapes: generic programs keep jailkit behaviour (no argument rules)", () => {
  runs(decide({ command: "ls --color=always -- -e --rsh=sh" }), [
    "/bin/ls",
    "--color=always",
    "--",
    "-e",
    "--rsh=sh",
  ]);
});

// ------------------------------------------------------------------------------ lifting the rules

Deno.test("lsh lift: allow_unsafe_options = rsync restores jailkit behaviour for rsync only", () => {
  const ini = iniWith("allow_unsafe_options = rsync");
  runs(decide({ ini, command: "rsync -e sh x:y ." }), ["/usr/bin/rsync", "-e", "sh", "x:y", "."]);
  refused(decide({ ini, command: "scp -S sh x y:z" }), 4);
});

Deno.test("lsh lift: allow_extra_options adds single options to a rule", () => {
  const ini = iniWith(
    "allow_extra_options = rsync:--log-file, rsync:--write-devices, rsync:-s, scp:-l:, scp:-q",
  );
  runs(decide({ ini, command: "rsync --server -vlogDtpre.iLsfxCIvu --log-file=/l . /x" }));
  runs(decide({ ini, command: "rsync --server --write-devices -vlogDtpre.iLsfxCIvu . /x" }));
  runs(decide({ ini, command: "scp -l 100 -t /x" }), ["/usr/bin/scp", "-l", "100", "-t", "/x"]);
  runs(decide({ ini, command: "scp -l100 -t /x" }));
  runs(decide({ ini, command: "scp -q -t /x" }));
  // Still refused: what was not added.
  refused(decide({ ini, command: "rsync --server --rsh=sh . /x" }), 4);
  refused(decide({ ini, command: "scp -S sh -t /x" }), 4);
  // -s alone does not help: its command line has no "." and paths.
  refused(decide({ ini, command: "rsync --server -slogDtpre.iLsfxCIvu" }), 4, /must end/);
});

Deno.test("lsh lift: unsafe options of one section do not leak into another user's", () => {
  const ini = "[other]\nexecutables = /usr/bin/rsync\nallow_unsafe_options = rsync\n" +
    iniWith();
  refused(decide({ ini, command: "rsync -e sh x:y ." }), 4);
  const other = { name: "other", uid: 7, group: "g" };
  runs(decide({ ini, command: "/usr/bin/rsync -e sh x:y .", user: other }));
});

// ------------------------------------------------------------------------------ user-written config

/** Runs `cmd` and returns its status and stderr; never throws for a failing status. */
async function runCmd(cmd: string, args: string[], env: Record<string, string>, cwd?: string) {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** A shell script that runs exactly what the exec plan says: its argv, in its environment. */
function planScript(path: string, plan: LshExec["exec"]): void {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const env = Object.entries(plan.env).map(([k, v]) => q(`${k}=${v}`)).join(" ");
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\nexec /usr/bin/env -i ${env} ${plan.argv.map(q).join(" ")}\n`,
  );
  Deno.chmodSync(path, 0o755);
}

Deno.test("lsh escapes: ~/.gitconfig hooks of git-upload-pack and git-upload-archive do not run", async () => {
  const { dir, cleanup } = tempDir("lsh-gitconfig");
  try {
    const home = join(dir, "home");
    const client = join(dir, "client");
    Deno.mkdirSync(home);
    Deno.mkdirSync(client);
    const git = { PATH: "/usr/bin:/bin", HOME: client, GIT_CONFIG_NOSYSTEM: "1", LANG: "C" };
    const setup = async (...args: string[]) => {
      const r = await runCmd("git", args, git, dir);
      assert.equal(r.code, 0, `git ${args.join(" ")}: ${r.stderr}`);
    };
    await setup("init", "-q", "work");
    Deno.writeTextFileSync(join(dir, "work", "f"), "content\n");
    await setup("-C", "work", "add", "f");
    await setup("-C", "work", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "f");
    await setup("clone", "-q", "--bare", "work", "repo.git");
    const repo = join(dir, "repo.git");

    // What the jailed user uploads with sftp: hooks in ~/.gitconfig that git trusts.
    const marker = join(dir, "hook-ran");
    for (const name of ["pack-hook", "tar-hook"]) {
      Deno.writeTextFileSync(
        join(home, name),
        `#!/bin/sh\necho ${name} >> ${marker}\n` +
          (name === "pack-hook" ? 'exec "$@"\n' : "exec cat\n"),
      );
      Deno.chmodSync(join(home, name), 0o755);
    }
    const hooks = `[uploadpack]\n\tpackObjectsHook = ${home}/pack-hook\n` +
      `[tar "evil"]\n\tcommand = ${home}/tar-hook\n\tremote = true\n`;
    Deno.writeTextFileSync(join(home, ".gitconfig"), hooks);
    Deno.mkdirSync(join(home, ".config", "git"), { recursive: true });
    Deno.writeTextFileSync(join(home, ".config", "git", "config"), hooks);
    // The repository's own config: git-upload-pack ignores packObjectsHook there.
    Deno.writeTextFileSync(
      join(repo, "config"),
      Deno.readTextFileSync(join(repo, "config")) +
        `[uploadpack]\n\tpackObjectsHook = ${home}/pack-hook\n`,
    );

    const env = {
      HOME: home,
      USER: "jktest",
      PATH: "/usr/bin:/bin",
      XDG_CONFIG_HOME: join(home, ".config"),
    };
    const plan = (command: string) => runs(decide({ ini: EXPANDING, command, env })).exec;

    const pack = plan(`git-upload-pack '${repo}'`);
    assert.equal(pack.path, "/usr/bin/git-upload-pack");
    planScript(join(dir, "upload-pack"), pack);
    const clone = await runCmd("git", [
      "clone",
      "-q",
      "--no-local",
      `--upload-pack=${dir}/upload-pack`,
      `file://${repo}`,
      join(dir, "cloned"),
    ], git);
    assert.equal(clone.code, 0, clone.stderr);
    assert.equal(Deno.readTextFileSync(join(dir, "cloned", "f")), "content\n");

    const archive = plan(`git-upload-archive '${repo}'`);
    planScript(join(dir, "upload-archive"), archive);
    const archived = (format: string) =>
      runCmd("git", [
        "archive",
        `--remote=file://${repo}`,
        `--exec=${dir}/upload-archive`,
        `--format=${format}`,
        "-o",
        join(dir, `out.${format}`),
        "HEAD",
      ], git);
    const tar = await archived("tar");
    assert.equal(tar.code, 0, tar.stderr);
    const evil = await archived("evil");

    let ran = "";
    try {
      ran = Deno.readTextFileSync(marker);
    } catch { /* no hook ran */ }
    assert.equal(ran, "", "a hook from the user's git config ran");
    assert.notEqual(evil.code, 0, "the user's tar.evil format must be unknown");
  } finally {
    cleanup();
  }
});

Deno.test("lsh env: config the user can write is switched off for git and rsync", () => {
  const env = { HOME: "/home/jktest", USER: "jktest", XDG_CONFIG_HOME: "/home/jktest/.config" };
  const git = runs(decide({ ini: EXPANDING, command: "git-upload-pack '/srv/r.git'", env }));
  assert.equal(git.exec.env.GIT_CONFIG_GLOBAL, "/dev/null");
  assert.equal(git.exec.env.GIT_CONFIG_NOSYSTEM, "1");
  assert.equal(git.exec.env.XDG_CONFIG_HOME, "/dev/null");
  assert.equal(git.exec.env.GIT_NO_LAZY_FETCH, "1");
  assert.equal(git.exec.env.HOME, "/home/jktest"); // git-upload-pack '~/repo' needs it
  // rsync reads popt aliases from ~/.popt: no HOME, no aliases.
  const rsync = runs(decide({ command: "rsync --server -vlogDtpre.iLsfxCIvu . /x", env }));
  assert.equal(rsync.exec.env.HOME, undefined);
  assert.equal(rsync.exec.env.USER, "jktest");
  // Other programs keep what they had; the admin's environment key wins over the defaults.
  assert.equal(runs(decide({ command: "ls", env })).exec.env.HOME, "/home/jktest");
  const admin = runs(decide({
    ini: iniWith("allow_word_expansion = 1\nenvironment = GIT_CONFIG_NOSYSTEM=0"),
    command: "git-upload-pack '/srv/r.git'",
    env,
  }));
  assert.equal(admin.exec.env.GIT_CONFIG_NOSYSTEM, "0");
  assert.equal(admin.exec.env.GIT_CONFIG_GLOBAL, "/dev/null");
});

// ------------------------------------------------------------------------------ option arity

Deno.test("lsh extra options: an added rsync option takes a value when rsync's does (-T DIR)", () => {
  const ini = iniWith("allow_extra_options = rsync:-T, rsync:--exclude, rsync:--omit-dir-times");
  // -T's value is not an operand: read as rsync reads it, only "." is left.
  refused(
    decide({ ini, command: "rsync --server -vlogDtpre.iLsfxCIvu . -T /home/jktest/dir" }),
    4,
    /must end with "\."/,
  );
  runs(decide({ ini, command: "rsync --server -vlogDtpre.iLsfxCIvu -T /tmp/t . /x" }));
  runs(decide({ ini, command: "rsync --server -vlogDtprT/tmp/t . /x" }));
  runs(decide({ ini, command: "rsync --server -vlogDtpre.iLsfxCIvu --exclude *.o . /x" }));
  runs(decide({ ini, command: "rsync --server -vlogDtpre.iLsfxCIvu --exclude=*.o . /x" }));
  refused(decide({ ini, command: "rsync --server -vT --rsh=sh . /x" }), 4, /-T needs/);
  refused(decide({ ini, command: "rsync --server -v . /x -T" }), 4, /-T needs/);
  refused(decide({ ini, command: "rsync --server --omit-dir-times=1 . /x" }), 4, /no value/);
  runs(decide({ ini, command: "rsync --server --omit-dir-times . /x" }));
});

Deno.test("lsh extra options: arity comes from the program; unknown options are refused", () => {
  for (
    const item of [
      "rsync:--no-such-option",
      "rsync:-Q",
      "scp:-x",
      "scp:-l", // fine alone, but not as a flag:
      "sftp-server:-x",
      "sftp-server:-e:",
    ]
  ) {
    const d = decide({ ini: iniWith(`allow_extra_options = ${item}`), command: "ls" });
    if (item === "scp:-l") {
      runs(d);
      continue;
    }
    refused(d, 1, /allow_extra_options/);
  }
  // scp's -l takes a value whether or not the admin wrote "-l:".
  for (const item of ["scp:-l", "scp:-l:"]) {
    const ini = iniWith(`allow_extra_options = ${item}`);
    runs(decide({ ini, command: "scp -l 100 -t /x" }), ["/usr/bin/scp", "-l", "100", "-t", "/x"]);
  }
});

Deno.test("lsh sftp-server: -u (umask) is refused unless allowed, so jk_lsh.ini's umask holds", () => {
  const ini = iniWith("umask = 027");
  for (const command of ["sftp-server -u 000", "sftp-server -u000", "sftp-server -eu 0"]) {
    refused(decide({ ini, command: `/usr/lib/openssh/${command}` }), 4, /-u/);
  }
  const allowed = runs(decide({
    ini: iniWith("umask = 027\nallow_extra_options = sftp-server:-u"),
    command: "/usr/lib/openssh/sftp-server -u 002",
  }));
  assert.deepEqual(allowed.exec.argv.slice(1), ["-u", "002"]);
});
