/**
 * cli/jk_lsh.ts run for real: inside a chroot built for the test (Deno runtime, our sources,
 * a few programs and their libraries, passwd/group, jk_lsh.ini, a syslog listener on
 * JAIL/dev/log), as an unprivileged user through `chroot --userspec`. The real rsync, scp and
 * sftp clients of this machine talk through jk_lsh to the servers in the jail.
 */
import assert from "node:assert/strict";
import { VERSION } from "../lib/core/runtime.ts";
import { dirname, join } from "node:path";
import {
  DENO,
  type Out,
  REPO_ROOT,
  rootTest,
  runCommand,
  safeTestRoot,
  tempDir,
} from "./helpers.ts";
import { logsSince, syslogListener } from "./namespace.ts";

const UID = 4242;
const UID2 = 4243;
const GID = 4242;

/** The runtime, our sources and a root-owned module cache, at these paths inside the jail. */
const JAIL_DENO = "/opt/deno/deno";
const JAIL_SRC = "/opt/jk";
const JAIL_DENO_DIR = "/opt/deno-dir";
/** The repository files cli/jk_lsh.ts imports, as `deno info` finds them (no list to forget). */
function sources(): string[] {
  const out = new Deno.Command(DENO, {
    args: ["info", "--json", "--no-config", join(REPO_ROOT, "cli/jk_lsh.ts")],
    stdout: "piped",
  }).outputSync();
  assert.equal(out.code, 0, "deno info cli/jk_lsh.ts");
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const root = new URL(`file://${REPO_ROOT}/`).href;
  const files = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(root))
    .map((s) => decodeURIComponent(s.slice(root.length)));
  assert.ok(files.includes("lib/login/lsh.ts"), files.join(" "));
  return files;
}
const PROGRAMS = [
  "/usr/bin/id",
  "/usr/bin/echo",
  "/usr/bin/env",
  "/usr/bin/mkdir",
  "/usr/bin/rsync",
  "/usr/bin/scp",
  "/usr/lib/openssh/sftp-server",
];

const INI = `# jk_lsh test config
[jkt]
executables = /usr/bin/id, /usr/bin/echo, /usr/bin/env, /usr/bin/mkdir, /usr/bin/rsync, /usr/bin/scp, /usr/lib/openssh/sftp-server, /usr/bin/missing
paths = /usr/bin
umask = 027
environment = GREETING=hello
allow_word_expansion = 1

[jkt2]
executables = /usr/bin/mkdir, /usr/bin/rsync
paths = /usr/bin
allow_extra_options = rsync:--log-file
`;

function copyInto(jail: string, path: string, link = false): void {
  const target = join(jail, path);
  Deno.mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  try {
    Deno.lstatSync(target);
    return;
  } catch {
    // not there yet
  }
  if (link) {
    try {
      Deno.linkSync(path, target);
      return;
    } catch {
      // another file system: copy
    }
  }
  Deno.copyFileSync(path, target);
}

/** The shared libraries of trusted system binaries, as ldd lists them. */
function librariesOf(program: string): string[] {
  const out = new Deno.Command("ldd", { args: [program], stdout: "piped" }).outputSync();
  const libs: string[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = line.match(/(\/\S+) \(0x[0-9a-f]+\)/);
    if (m) libs.push(m[1]);
  }
  assert.ok(libs.length > 0, `ldd found no libraries for ${program}`);
  return libs;
}

function buildJail(jail: string): void {
  for (const d of ["etc/jailkit", "dev", "home", "usr/bin"]) {
    Deno.mkdirSync(join(jail, d), { recursive: true, mode: 0o755 });
  }
  for (const [user, uid] of [["jkt", UID], ["jkt2", UID2]] as const) {
    const home = join(jail, "home", user);
    Deno.mkdirSync(home, { mode: 0o755 });
    Deno.chownSync(home, uid, GID);
  }
  Deno.writeTextFileSync(
    join(jail, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\n" +
      `jkt:x:${UID}:${GID}::/home/jkt:/usr/sbin/jk_lsh\n` +
      `jkt2:x:${UID2}:${GID}::/home/jkt2:/usr/sbin/jk_lsh\n`,
  );
  Deno.writeTextFileSync(join(jail, "etc/group"), `root:x:0:\njkgrp:x:${GID}:\n`);
  Deno.writeTextFileSync(join(jail, "etc/jailkit/jk_lsh.ini"), INI);
  // scp opens /dev/null; jk_init gives every jail one.
  const mknod = new Deno.Command("/usr/bin/mknod", {
    args: ["-m", "666", join(jail, "dev/null"), "c", "1", "3"],
  }).outputSync();
  assert.equal(mknod.code, 0, "mknod dev/null");

  Deno.mkdirSync(join(jail, dirname(JAIL_DENO)), { recursive: true, mode: 0o755 });
  try {
    Deno.linkSync(DENO, join(jail, JAIL_DENO));
  } catch {
    Deno.copyFileSync(DENO, join(jail, JAIL_DENO));
  }
  for (const lib of librariesOf(DENO)) copyInto(jail, lib);
  for (const program of PROGRAMS) {
    copyInto(jail, program, true);
    for (const lib of librariesOf(program)) copyInto(jail, lib);
  }
  for (const src of sources()) {
    const target = join(jail, JAIL_SRC, src);
    Deno.mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    Deno.copyFileSync(join(REPO_ROOT, src), target);
  }
}

/**
 * Deno 2.9.6 panics while parsing our modules in a jail without /proc (its parser's stack
 * probe reads /proc/self/maps). With a module cache filled beforehand it does not parse at all,
 * so the cache is filled once as root with /proc mounted in a throwaway mount namespace, then
 * left root-owned and read-only: the jail itself never has /proc.
 */
async function warmModuleCache(jail: string): Promise<void> {
  Deno.mkdirSync(join(jail, "proc"), { mode: 0o555 });
  Deno.mkdirSync(join(jail, JAIL_DENO_DIR), { mode: 0o755 });
  const out = await new Deno.Command("/usr/bin/unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "--fork",
      "/bin/sh",
      "-c",
      `mount -t proc proc "$1/proc" && exec /usr/sbin/chroot "$1" ${JAIL_DENO} run -A ` +
      `--no-config --quiet ${JAIL_SRC}/cli/jk_lsh.ts`,
      "sh",
      jail,
    ],
    clearEnv: true,
    env: { DENO_DIR: JAIL_DENO_DIR, RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 7, `warm-up run of jk_lsh (expected exit 7): ${stderr}`);
  const leftover = new Deno.Command("/usr/bin/findmnt", { args: [join(jail, "proc")] })
    .outputSync();
  assert.notEqual(leftover.code, 0, "proc mount leaked out of the namespace");
  new Deno.Command("/usr/bin/chmod", { args: ["-R", "go-w", join(jail, JAIL_DENO_DIR)] })
    .outputSync();
}

/** The command line that starts jk_lsh in the jail as `uid`, for sh -c. */
function lshCommand(jail: string, uid: number): string {
  return `/usr/sbin/chroot --userspec=${uid}:${GID} ${jail} ${JAIL_DENO} run -A --no-config --quiet ` +
    `${JAIL_SRC}/cli/jk_lsh.ts`;
}

function loginEnv(user: string): Record<string, string> {
  return {
    USER: user,
    HOME: `/home/${user}`,
    DENO_DIR: JAIL_DENO_DIR,
    NO_COLOR: "1",
    RUST_BACKTRACE: "0",
  };
}

function lsh(
  jail: string,
  user: "jkt" | "jkt2",
  args: string[],
  opts: { env?: Record<string, string>; umask?: string } = {},
): Promise<Out> {
  const uid = user === "jkt" ? UID : UID2;
  return runCommand("/bin/sh", {
    args: ["-c", `umask ${opts.umask ?? "022"}; exec ${lshCommand(jail, uid)} "$@"`, "sh", ...args],
    clearEnv: true,
    env: { ...loginEnv(user), ...opts.env },
  });
}

function modeOf(path: string): number {
  return Deno.statSync(path).mode! & 0o7777;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  return runCommand(cmd, { args, clearEnv: true, env: { PATH: "/usr/bin:/bin", ...env } });
}

rootTest("jk_lsh CLI in a chroot: runs, refuses, logs, umask, env, real clients", async (t) => {
  const { dir: jail, cleanup } = safeTestRoot("lsh-cli");
  const wrap = tempDir("lsh-wrap");
  let log: ReturnType<typeof syslogListener> | undefined;
  try {
    buildJail(jail);
    await warmModuleCache(jail);
    log = syslogListener(join(jail, "dev/log"));
    const messages = log.messages;

    await t.step("allowed command runs with the intended argv, env and uid; logged", async () => {
      const since = messages.length;
      const r = await lsh(jail, "jkt", ["-c", "echo 'a  b' $GREETING ~"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "a  b hello /home/jkt\n");
      assert.equal(r.stderr, "");
      const id = await lsh(jail, "jkt", ["--login", "-c", "id -u"]);
      assert.equal(id.stdout, `${UID}\n`);
      const logs = await logsSince(messages, since);
      // auth.info = <38>, ident jk_lsh with the pid
      assert.ok(logs.some((m) => /^<38>.*jk_lsh\[\d+\]: jk_lsh \(jailkit-deno\) started/.test(m)));
      assert.ok(
        logs.some((m) =>
          /^<38>.*jk_lsh\[\d+\]: executing command 'echo 'a {2}b' \$GREETING ~' for user jkt \(4242\)/
            .test(m)
        ),
        logs.join("\n"),
      );
    });

    await t.step("environment: admin values set, hooks stripped, the rest inherited", async () => {
      const r = await lsh(jail, "jkt", ["-c", "env"], {
        env: { LANG: "C.UTF-8", GIT_CONFIG_PARAMETERS: "'core.pager'='id'", BASH_ENV: "/x" },
      });
      assert.equal(r.code, 0, r.stderr);
      const vars = new Set(r.stdout.trim().split("\n").map((l) => l.split("=")[0]));
      assert.ok(vars.has("GREETING") && vars.has("LANG") && vars.has("USER"), r.stdout);
      assert.ok(!vars.has("GIT_CONFIG_PARAMETERS") && !vars.has("BASH_ENV"), r.stdout);
      assert.match(r.stdout, /^GREETING=hello$/m);
    });

    await t.step("umask: set from the ini, inherited when the key is absent", async () => {
      const r = await lsh(jail, "jkt", ["-c", "mkdir /home/jkt/m1"], { umask: "000" });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(modeOf(join(jail, "home/jkt/m1")), 0o750);
      const r2 = await lsh(jail, "jkt2", ["-c", "mkdir /home/jkt2/m2"], { umask: "002" });
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(modeOf(join(jail, "home/jkt2/m2")), 0o775); // jailkit 2.23: 0777
    });

    await t.step("a command not listed exits 4, runs nothing, one line on stderr", async () => {
      const since = messages.length;
      const r = await lsh(jail, "jkt2", ["-c", "echo should-not-print"]);
      assert.equal(r.code, 4);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "jk_lsh: command not allowed\n");
      const logs = await logsSince(messages, since);
      // auth.warning = <36>
      assert.ok(
        logs.some((m) =>
          /^<36>.*user jkt2 \(4243\) tried to run 'echo should-not-print': .*not listed/.test(m)
        ),
        logs.join("\n"),
      );
    });

    await t.step(
      "the rsync rule stops --log-file; lifting it for jkt2 lets it through",
      async () => {
        const line = (home: string) =>
          `rsync --server -vlogDtpre.iLsfxCIvu --log-file=${home}/pwned.log . ${home}/d`;
        const r = await lsh(jail, "jkt", ["-c", line("/home/jkt")]);
        assert.equal(r.code, 4);
        assert.equal(r.stdout, "");
        assert.throws(() => Deno.statSync(join(jail, "home/jkt/pwned.log")));
        const lifted = await lsh(jail, "jkt2", ["-c", line("/home/jkt2")]);
        assert.notEqual(lifted.code, 4, lifted.stderr);
        assert.ok(Deno.statSync(join(jail, "home/jkt2/pwned.log")).isFile);
      },
    );

    await t.step("a lone --version or --help is answered, unlogged", async () => {
      const since = messages.length;
      const version = await lsh(jail, "jkt", ["--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout, `jk_lsh (jailkit-deno) ${VERSION}\n`);
      const help = await lsh(jail, "jkt", ["--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: jk_lsh -c COMMAND\n/);
      assert.deepEqual(await logsSince(messages, since), []);
      assert.equal((await lsh(jail, "jkt", ["-c", "--version"])).code, 4, "a command, not listed");
    });

    await t.step("interactive → 7, $USER of another account → 2, exec failure → 255", async () => {
      const since = messages.length;
      assert.equal((await lsh(jail, "jkt", [])).code, 7);
      assert.equal((await lsh(jail, "jkt", ["-c", "id"], { env: { USER: "root" } })).code, 2);
      const r = await lsh(jail, "jkt", ["-c", "/usr/bin/missing"]);
      assert.equal(r.code, 255);
      const logs = await logsSince(messages, since);
      assert.ok(logs.some((m) => /failed to execute \/usr\/bin\/missing/.test(m)), logs.join("\n"));
      assert.ok(logs.some((m) => /reason: execve\(\/usr\/bin\/missing\): ENOENT/.test(m)));
    });

    await t.step("real rsync push and pull go through jk_lsh to rsync --server", async () => {
      const rsh = join(wrap.dir, "rsh");
      Deno.writeTextFileSync(
        rsh,
        `#!/bin/sh\nshift\nexec env -i USER=jkt HOME=/home/jkt DENO_DIR=${JAIL_DENO_DIR} ` +
          `${lshCommand(jail, UID)} -c "$*"\n`,
      );
      Deno.chmodSync(rsh, 0o755);
      const src = join(wrap.dir, "src");
      Deno.mkdirSync(join(src, "sub dir"), { recursive: true });
      Deno.writeTextFileSync(join(src, "sub dir", "f.txt"), "payload\n");
      const push = await run("rsync", ["-a", "--delete", "-e", rsh, `${src}/`, "h:/home/jkt/up"]);
      assert.equal(push.code, 0, push.stderr);
      assert.equal(Deno.readTextFileSync(join(jail, "home/jkt/up/sub dir/f.txt")), "payload\n");
      const back = join(wrap.dir, "back");
      const pull = await run("rsync", ["-az", "-e", rsh, "h:/home/jkt/up/sub dir/", back]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal(Deno.readTextFileSync(join(back, "f.txt")), "payload\n");
      // The same client told to run a program on the server side is refused.
      const evil = await run("rsync", [
        "-a",
        "-e",
        rsh,
        "--rsync-path=/usr/bin/mkdir /home/jkt/pwned; rsync",
        `${src}/`,
        "h:/home/jkt/x",
      ]);
      assert.notEqual(evil.code, 0);
      assert.match(evil.stderr, /jk_lsh: command not allowed/);
      assert.throws(() => Deno.statSync(join(jail, "home/jkt/pwned")));
    });

    await t.step("real scp -O upload and sftp mkdir/put go through jk_lsh", async () => {
      const ssh = join(wrap.dir, "ssh");
      Deno.writeTextFileSync(
        ssh,
        `#!/bin/sh\nfor a; do last=$a; done\nexec env -i USER=jkt HOME=/home/jkt ` +
          `DENO_DIR=${JAIL_DENO_DIR} ${lshCommand(jail, UID)} -c "$last"\n`,
      );
      const sftp = join(wrap.dir, "sftp-direct");
      Deno.writeTextFileSync(
        sftp,
        `#!/bin/sh\nexec env -i USER=jkt HOME=/home/jkt DENO_DIR=${JAIL_DENO_DIR} ` +
          `${lshCommand(jail, UID)} -c /usr/lib/openssh/sftp-server\n`,
      );
      Deno.chmodSync(ssh, 0o755);
      Deno.chmodSync(sftp, 0o755);
      const file = join(wrap.dir, "scp.txt");
      Deno.writeTextFileSync(file, "by scp\n");
      Deno.chmodSync(file, 0o644);
      const scp = await run("scp", ["-O", "-S", ssh, file, "h:/home/jkt/scp.txt"]);
      assert.equal(scp.code, 0, scp.stderr);
      assert.equal(Deno.readTextFileSync(join(jail, "home/jkt/scp.txt")), "by scp\n");
      assert.equal(modeOf(join(jail, "home/jkt/scp.txt")), 0o640); // 0644 sent, umask 027

      const batch = join(wrap.dir, "batch");
      Deno.writeTextFileSync(batch, `cd /home/jkt\nmkdir newdir\nput ${file} newdir/f\n`);
      const s = await run("sftp", ["-b", batch, "-D", sftp]);
      assert.equal(s.code, 0, s.stderr + s.stdout);
      assert.equal(modeOf(join(jail, "home/jkt/newdir")), 0o750); // jailkit 2.23: 0777
      assert.equal(Deno.readTextFileSync(join(jail, "home/jkt/newdir/f")), "by scp\n");
    });
  } finally {
    await log?.close();
    wrap.cleanup();
    cleanup();
  }
});
