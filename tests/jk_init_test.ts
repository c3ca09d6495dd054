/**
 * jk_init end to end, as root, with the bundled data/jk_init.ini: panels' command lines, a
 * per-section "does every program run in its jail" table, idempotency and dry runs.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, rootTest, runTool, safeTestRoot, SYSTEM_PATH } from "./helpers.ts";
import { treeDigest } from "./jk_cp_test.ts";
import { readIni } from "../lib/config/ini.ts";
import { expandSections } from "../lib/config/profile.ts";
import { locateProgram } from "../lib/core/paths.ts";

const INI = `${REPO_ROOT}/data/jk_init.ini`;

function jailIn(dir: string, name = "jail"): string {
  return `${dir}/${name}`;
}

/** Runs jk_init with a private config directory (jk_socketd.ini goes there, not to /etc). */
function jkInit(dir: string, args: string[]) {
  return runTool("jk_init", args, { env: { JAILKIT_ETC: `${dir}/etc-jailkit` } });
}

/** Each "skip [section]: not on this system: a, b" entry must really be absent here. */
function assertSkipsAreReal(output: string): void {
  for (const m of output.matchAll(/^skip \[([^\]]+)\]: not on this system: (.*)$/gm)) {
    for (const name of m[2].split(", ")) {
      assert.equal(
        locateProgram(name, SYSTEM_PATH),
        undefined,
        `[${m[1]}] claims ${name} is missing`,
      );
    }
  }
}

rootTest("ISPConfig's default jk_init line runs clean with our profiles", async () => {
  const { dir, cleanup } = safeTestRoot("init-isp");
  try {
    const jail = jailIn(dir);
    const sections = [
      "coreutils",
      "basicshell",
      "editors",
      "extendedshell",
      "netutils",
      "ssh",
      "sftp",
      "scp",
      "jk_lsh",
      "mysql-client",
      "git",
    ];
    const r = await jkInit(dir, ["-f", "-k", "-c", INI, "-j", jail, ...sections]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /does not exist/);
    assert.doesNotMatch(r.stderr, /ERROR/);
    assertSkipsAreReal(r.stdout);
    // The older default names `groups`, which is no section: a warning, still exit 0.
    const old = await jkInit(dir, [
      "-f",
      "-k",
      "-c",
      INI,
      "-j",
      jail,
      "basicshell",
      "groups",
      "jk_lsh",
    ]);
    assert.equal(old.code, 0, old.stderr);
    assert.match(
      old.stdout,
      new RegExp(`^WARNING: section \\[groups\\] does not exist in ${INI}$`, "m"),
    );
    const logBlock = Deno.readTextFileSync(`${dir}/etc-jailkit/jk_socketd.ini`);
    assert.equal(
      logBlock,
      `\n[${jail}/dev/log]\nbase=512\npeak=2048\ninterval=10\n`,
      "appended once",
    );
    // In-jail shell works for an unprivileged user, with the jail's passwd.
    const sh = new Deno.Command("chroot", {
      args: ["--userspec=65534:65534", jail, "/bin/bash", "-c", "ls / && git --version"],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const out = new TextDecoder().decode(sh.stdout) + new TextDecoder().decode(sh.stderr);
    assert.equal(sh.code, 0, out);
    assert.match(out, /git version/);
    assert.match(Deno.readTextFileSync(`${jail}/etc/passwd`), /^root:x:0:0:/m);
  } finally {
    cleanup();
  }
});

rootTest(
  "Virtualmin calls one section at a time; unknown or uninstalled sections exit 0",
  async () => {
    const { dir, cleanup } = safeTestRoot("init-vmin");
    try {
      const jail = jailIn(dir);
      for (const s of ["basicshell", "extendedshell", "ssh", "php", "nosuchsection"]) {
        const r = await jkInit(dir, ["-f", "-j", jail, s]);
        assert.equal(r.code, 0, `${s}: ${r.stdout}${r.stderr}`);
        assert.doesNotMatch(r.stderr, /ERROR/);
        assertSkipsAreReal(r.stdout);
      }
    } finally {
      cleanup();
    }
  },
);

rootTest("a missing section as the first call on a new jail warns and exits 0", async () => {
  const { dir, cleanup } = safeTestRoot("init-nosection");
  try {
    const jail = jailIn(dir);
    for (const jailArgs of [[`--jail=${jail}`], [jail]]) {
      const r = await jkInit(dir, ["-f", "-c", INI, ...jailArgs, "php-not-a-section"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, /^WARNING: section \[php-not-a-section\] does not exist in /m);
    }
  } finally {
    cleanup();
  }
});

rootTest(
  "a second identical run changes nothing and says so; --dry-run lists exactly what runs",
  async () => {
    const { dir, cleanup } = safeTestRoot("init-idem");
    try {
      const jail = jailIn(dir);
      const sections = ["basicshell", "sftp", "scp", "rsync"];
      const dry = await jkInit(dir, ["--dry-run", "-j", jail, ...sections]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.throws(() => Deno.lstatSync(jail), Deno.errors.NotFound, "dry run created nothing");
      const planned = dry.stdout.split("\n").filter((l) => l.startsWith("would ")).map((l) =>
        l.slice(6)
      );
      const real = await jkInit(dir, ["--json", "-j", jail, ...sections]);
      assert.equal(real.code, 0, real.stderr);
      const done = JSON.parse(real.stdout);
      assert.equal(done.summary.failed, 0);
      const doneOps = done.operations.filter((o: { op: string }) => o.op !== "note");
      assert.equal(doneOps.length, planned.length);
      const first = treeDigest(jail);
      for (const flags of [[], ["-f"], ["-f", "-k"]]) {
        const again = await jkInit(dir, [...flags, "-j", jail, ...sections]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /^Nothing to do: /m, `flags ${flags}: ${again.stdout}`);
        assert.equal(treeDigest(jail), first, `flags ${flags} changed the jail`);
      }
      // -f refreshes a changed file, and only that file.
      const contents = treeDigest(jail, { dirTimes: false });
      Deno.writeTextFileSync(`${jail}/etc/hosts`, "tampered\n");
      const refresh = await jkInit(dir, ["-f", "-j", jail, ...sections]);
      assert.equal(refresh.code, 0, refresh.stderr);
      const lines = refresh.stdout.trim().split("\n").filter((l) => !l.startsWith("skip "));
      assert.deepEqual(lines, [`Copying /etc/hosts to ${jail}/etc/hosts`]);
      // Replacing a file updates its directory's mtime; everything else is as before.
      assert.equal(treeDigest(jail, { dirTimes: false }), contents);
    } finally {
      cleanup();
    }
  },
);

rootTest(
  "jk_init refuses an unsafe jail, a missing config, and bad usage with jailkit's codes",
  async () => {
    const { dir, cleanup } = safeTestRoot("init-codes");
    try {
      const tmp = Deno.makeTempDirSync();
      const unsafe = await jkInit(dir, ["-j", `${tmp}/jail`, "basicshell"]);
      Deno.removeSync(tmp, { recursive: true });
      assert.equal(unsafe.code, 3);
      assert.match(
        unsafe.stderr,
        /jail directory .*\/jail is not safe: \/tmp is writable by group or others/,
      );
      assert.equal((await jkInit(dir, ["-c", `${dir}/none.ini`, "-j", jailIn(dir), "x"])).code, 3);
      assert.equal((await jkInit(dir, ["-j", jailIn(dir)])).code, 2);
      assert.equal((await jkInit(dir, ["--bogus"])).code, 1);
      const list = await jkInit(dir, ["-c", INI, "-l"]);
      assert.equal(list.code, 0);
      assert.match(list.stdout, /^basicshell - /m);
      const legacy = await jkInit(dir, [jailIn(dir, "legacy"), "uidbasics"]);
      assert.equal(legacy.code, 0, legacy.stderr);
      const eq = await jkInit(dir, [`--jail=${jailIn(dir, "eq")}`, "uidbasics"]);
      assert.equal(eq.code, 0, eq.stderr);
    } finally {
      cleanup();
    }
  },
);

/** What counts as "the program started": the loader found everything and nothing crashed. */
function runsInJail(jail: string, path: string): string | undefined {
  const args = path.endsWith("/ssh") ? ["-V"] : ["--version"];
  const o = new Deno.Command("timeout", {
    args: ["-k", "2", "5", "chroot", "--userspec=65534:65534", jail, path, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: SYSTEM_PATH, LC_ALL: "C", TERM: "dumb", HOME: "/" },
    clearEnv: true,
  }).outputSync();
  const text = new TextDecoder().decode(o.stderr) + new TextDecoder().decode(o.stdout);
  if (/error while loading shared libraries|cannot open shared object/.test(text)) {
    return text.match(
      /[^\n]*(error while loading shared libraries|cannot open shared object)[^\n]*/,
    )![0];
  }
  if (o.code === 124 || o.code === 137) return "timed out";
  if (o.code === 126 || o.code === 127) return `exit ${o.code}: ${text.trim().split("\n")[0]}`;
  if (o.signal) return `killed by ${o.signal}`;
  if (/Can't locate .* in @INC|ModuleNotFoundError|No module named/.test(text)) {
    return text.trim().split("\n")[0];
  }
  return undefined;
}

function executablesIn(jail: string): string[] {
  const found: string[] = [];
  for (const dir of ["/usr/bin", "/usr/sbin", "/usr/lib/openssh", "/usr/lib/git-core"]) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${jail}${dir}`)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isFile) continue;
      const st = Deno.statSync(`${jail}${dir}/${e.name}`);
      if (((st.mode ?? 0) & 0o111) !== 0) found.push(`${dir}/${e.name}`);
    }
  }
  return found.sort();
}

/** Sections whose main program is installed on this machine (CI installs these). */
const SECTION_PROGRAMS: Record<string, string> = {
  uidbasics: "/etc/nsswitch.conf",
  basicshell: "bash",
  coreutils: "ls",
  extendedshell: "awk",
  editors: "vim",
  midnightcommander: "mc",
  ssh: "ssh",
  scp: "scp",
  sftp: "/usr/lib/openssh/sftp-server",
  rsync: "rsync",
  git: "git",
  perl: "perl",
  python3: "python3",
  curl: "curl",
  procmail: "procmail",
  zip: "zip",
  netutils: "ssh",
};

/**
 * Programs that start but cannot be exercised with --version alone in a bare jail, with why.
 * Anything else failing is a profile defect.
 */
const KNOWN: Record<string, string> = {
  "/usr/lib/git-core/git-filter-branch":
    "ran: prints its deprecation warning, then sleeps 10 s by design",
  "/usr/lib/git-core/git-subtree": "ran: exits 126 unless started as `git subtree`, by design",
};

rootTest("every executable of each installed section runs inside its own fresh jail", async () => {
  const { dir, cleanup } = safeTestRoot("init-table");
  const rows: string[] = [];
  const failures: string[] = [];
  try {
    const ini = readIni(INI, "python");
    const names = ini.sections.map((s) => s.name).filter((n) => n in SECTION_PROGRAMS);
    assert.ok(expandSections(ini, names).sections.length >= names.length);
    for (const section of names) {
      const main = SECTION_PROGRAMS[section];
      const installed = main.startsWith("/")
        ? (() => {
          try {
            Deno.statSync(main);
            return true;
          } catch {
            return false;
          }
        })()
        : locateProgram(main, SYSTEM_PATH) !== undefined;
      if (!installed) {
        rows.push(`${section.padEnd(18)} (not installed here)`);
        continue;
      }
      const jail = jailIn(dir, section);
      const r = await jkInit(dir, ["-j", jail, section]);
      assert.equal(r.code, 0, `${section}: ${r.stderr}`);
      const exes = executablesIn(jail);
      let ok = 0;
      const bad: string[] = [];
      for (const exe of exes) {
        const why = runsInJail(jail, exe);
        if (why === undefined) ok++;
        else if (KNOWN[exe]) bad.push(`${exe} (known: ${KNOWN[exe]})`);
        else {
          bad.push(`${exe}: ${why}`);
          failures.push(`[${section}] ${exe}: ${why}`);
        }
      }
      rows.push(
        `${section.padEnd(18)} ${String(exes.length).padStart(4)} ${String(ok).padStart(4)}  ${
          bad.join("; ")
        }`,
      );
      Deno.removeSync(jail, { recursive: true });
    }
  } finally {
    console.log(`\nsection            exes   ok  failures\n${rows.join("\n")}`);
    cleanup();
  }
  assert.deepEqual(failures, []);
});

rootTest(
  "need_proc: JAIL/proc, one correct fstab line, mounted once (private mount namespace)",
  () => {
    const { dir, cleanup } = safeTestRoot("init-proc");
    try {
      const jail = jailIn(dir);
      const ini = `${dir}/proc.ini`;
      Deno.writeTextFileSync(
        ini,
        "[procjail]\ncomment = test\nneed_proc = yes\npaths = /etc/hostname\n",
      );
      const realFstab = Deno.readTextFileSync("/etc/fstab");
      // The tools edit /etc/fstab by rename, so a private copy of /etc is bound over it, in a
      // mount namespace that disappears with the command.
      const etc = `${dir}/etc-copy`;
      const jk =
        `${Deno.execPath()} run -A --no-config --quiet ${REPO_ROOT}/cli/jk_init.ts -c ${ini} -j ${jail} procjail`;
      const script = [
        `cp -a /etc ${etc}`,
        `mount --bind ${etc} /etc`,
        `${jk} && ${jk}`,
        `echo ===fstab; cat /etc/fstab`,
        `echo ===mounts; awk '$5 == "${jail}/proc" {print $5, $9}' /proc/self/mountinfo`,
      ].join(" && ");
      const o = new Deno.Command("unshare", {
        args: ["-m", "--propagation", "private", "sh", "-c", script],
        stdout: "piped",
        stderr: "piped",
        env: { PATH: SYSTEM_PATH, JAILKIT_ETC: `${dir}/etc-jailkit` },
      }).outputSync();
      const out = new TextDecoder().decode(o.stdout);
      assert.equal(o.code, 0, out + new TextDecoder().decode(o.stderr));
      const fstab = out.split("===fstab\n")[1].split("===mounts\n")[0];
      const lines = fstab.split("\n").filter((l) => l.includes(`${jail}/proc`));
      assert.deepEqual(lines, [`proc\t${jail}/proc\tproc\tdefaults\t0\t0`]);
      assert.equal(
        out.split("===mounts\n")[1].trim(),
        `${jail}/proc proc`,
        "mounted once, as proc",
      );
      assert.match(out, /^Nothing to do: /m, "second run changes nothing");
      assert.equal(Deno.readTextFileSync("/etc/fstab"), realFstab, "the host's fstab is untouched");
      assert.ok(Deno.statSync(`${jail}/proc`).isDirectory);
    } finally {
      cleanup();
    }
  },
);
