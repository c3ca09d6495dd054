/**
 * Thin jails (man/jk_thin.ini.5) end to end through a real OpenSSH sshd on 127.0.0.1, as
 * tests/sshd_e2e_test.ts does for copied jails: `deno task install` into a test prefix, a
 * private mount namespace (tests/namespace.ts) whose /etc and /dev are overlays and whose /home
 * is a test directory, so users, /etc/jailkit/jk_thin.ini and /dev/log never touch the host.
 *
 * One thin jail (`jk_init --thin … jk_lsh sftp scp rsync basicshell`) with a jk_lsh user and a
 * bash user, and one ordinary copied jail with a bash user, on the same sshd. What the issue
 * asks of a thin session is checked from both sides: inside (what the user's programs see) and
 * from the host (the session's processes, namespaces and mounts seen through /proc).
 *
 * The second test races logins against `jk_init --thin` building the jail: every login is
 * refused with an exit code or is a whole thin session, and no mount reaches the host.
 */
import assert from "node:assert/strict";
import { parseIni } from "../lib/config/ini.ts";
import { type ThinJail, thinJailFor, withThinSection } from "../lib/config/thin.ts";
import { DENO, readOrUndefined, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { freeIdBase, type Out, sh, syslogListener, TestNamespace } from "./namespace.ts";
import { createRunSshd, rsyncPushPull, startSshd, stopSshd } from "./sshd.ts";

const THIN_INI = "/etc/jailkit/jk_thin.ini";

/**
 * The test namespace starts with private mounts; systemd makes the host's shared. With shared
 * mounts a session that forgot to make its namespace private would mount into sshd's
 * namespace too, which the tests look at: so the namespace is made shared as a host is.
 */
const SHARED_AS_SYSTEMD = "mount --make-rshared /";
const GROUP = "jkthing";
const SFTP_USER = "jktsftp";
const BASH_USER = "jktbash";
const COPY_USER = "jkcbash";

/** One mount of a mountinfo text (proc(5)): where, what, and its per-mount options. */
interface MountEntry {
  point: string;
  fsType: string;
  options: string[];
}

/** mountinfo lines, with the octal escapes of the mount point undone. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 2) throw new Error(`mountinfo line: ${line}`);
    entries.push({
      point: fields[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))),
      fsType: fields[dash + 1],
      options: fields[5].split(","),
    });
  }
  return entries;
}

/** The mounts of `text` at `dir` or below it. */
function mountsUnder(text: string, dir: string): MountEntry[] {
  return parseMountinfo(text).filter((m) => m.point === dir || m.point.startsWith(`${dir}/`));
}

/** The ids of the host's processes whose argv is exactly `argv`. */
function processesWithArgv(argv: readonly string[]): number[] {
  const want = `${argv.join("\0")}\0`;
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`) === want) pids.push(Number(e.name));
    } catch { /* ended meanwhile */ }
  }
  return pids;
}

/** Polls `probe` every 50 ms until it returns a value, at most `tries` times. */
async function waitFor<T>(what: string, tries: number, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The namespace's jk_thin.ini, undefined when it has none. */
async function thinIniText(ns: TestNamespace): Promise<string | undefined> {
  const r = await ns.sh(`cat ${THIN_INI}`);
  return r.code === 0 ? r.stdout : undefined;
}

/** Replaces the namespace's jk_thin.ini (root:root 0644, by rename) with `text`. */
async function writeThinIni(ns: TestNamespace, text: string): Promise<void> {
  await ns.must(
    `cat > ${THIN_INI}.new && chmod 0644 ${THIN_INI}.new && mv ${THIN_INI}.new ${THIN_INI}`,
    { stdin: text },
  );
}

/** The namespace's jk_thin.ini section for `jail`, as the login tools will read it. */
async function thinSection(ns: TestNamespace, jail: string): Promise<ThinJail | undefined> {
  const text = await thinIniText(ns);
  return text === undefined ? undefined : thinJailFor(parseIni(text, THIN_INI, "c"), jail);
}

/** Sets the namespace's section for `thin.jail` to `thin`, keeping the rest of the file. */
async function setThinSection(ns: TestNamespace, thin: ThinJail): Promise<void> {
  await writeThinIni(ns, withThinSection(await thinIniText(ns), thin, THIN_INI));
}

rootTest(
  "thin jail through a real sshd: sftp/scp/rsync, host programs, read-only nosuid /usr, " +
    "processes end at logout, no network when asked, only the session in /proc, copied jails unchanged",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("thin-e2e");
    const hostLog = syslogListener(`${dir}/hostlog.sock`);
    const ns = await TestNamespace.create(dir, { devLog: `${dir}/hostlog.sock` });
    const prefix = `${dir}/usr`;
    const jail = `${dir}/thin`;
    const copied = `${dir}/copied`;
    const hostThinIni = readOrUndefined(THIN_INI);
    const suidDir = `/usr/local/jk-thin-suid-${crypto.randomUUID().slice(0, 8)}`;
    const createdRunSshd = createRunSshd();
    let sshd: Deno.ChildProcess | undefined;
    // The sessions' sleeps, told apart from any other run's by a random fraction; whatever of
    // them is left (the copied jail's, as before thin jails) is killed at the end.
    const tag = 100000 + Math.floor(Math.random() * 900000);
    const thinSleep = ["sleep", `1001.${tag}`];
    const copiedSleep = ["sleep", `1002.${tag}`];
    // A failed step ends the test: the later ones build on it.
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!(await t.step(name, fn))) throw new Error(`step failed: ${name}`);
    };
    try {
      Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
      await ns.must(`mount --bind ${dir}/home /home`);
      await ns.must(SHARED_AS_SYSTEMD);
      await step("install into a test prefix", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
      });

      await step("jk_init --thin copies nothing under /usr and records the jail", async () => {
        await ns.must(
          `${prefix}/sbin/jk_init --thin -j ${jail} jk_lsh sftp scp rsync basicshell`,
        );
        const usr = Deno.lstatSync(`${jail}/usr`);
        assert.ok(usr.isDirectory, "a /usr mount point");
        assert.equal(usr.uid, 0);
        assert.equal((usr.mode ?? 0) & 0o022, 0);
        assert.deepEqual([...Deno.readDirSync(`${jail}/usr`)], [], "nothing copied under /usr");
        const thin = await thinSection(ns, jail);
        assert.ok(thin, `${THIN_INI} has [${jail}]`);
        assert.ok(thin.readonlyBinds.includes("/usr"), JSON.stringify(thin));
        // The settings this test relies on, whatever jk_init's defaults are.
        await setThinSection(ns, {
          ...thin,
          privateTmp: true,
          privateProc: true,
          endProcessesAtLogout: true,
          noNetwork: false,
        });
        Deno.writeTextFileSync(
          `${jail}/etc/jailkit/jk_lsh.ini`,
          `[group ${GROUP}]\nexecutables = /usr/lib/openssh/sftp-server, /usr/bin/scp, ` +
            `/usr/bin/rsync\npaths = /usr/lib/openssh, /usr/bin\numask = 022\n`,
        );
        await ns.must(`${prefix}/sbin/jk_init -k -j ${copied} basicshell`);
        Deno.writeTextFileSync(`${copied}/usr/jk-copy-marker`, "the copied jail's own /usr\n");
      });

      await step("users: jk_lsh and bash in the thin jail, bash in the copied one", async () => {
        await ns.must(`groupadd ${GROUP}`);
        const base = freeIdBase();
        for (const [i, u] of [SFTP_USER, BASH_USER, COPY_USER].entries()) {
          await ns.must(
            `useradd -u ${base + i} -m -d /home/${u} -g ${GROUP} -s /bin/bash ${u} && ` +
              `usermod -p '*' ${u}`,
          );
        }
        await ns.must(`${prefix}/sbin/jk_jailuser -m -n -j ${jail} ${SFTP_USER}`);
        await ns.must(`${prefix}/sbin/jk_jailuser -m -n -s /bin/bash -j ${jail} ${BASH_USER}`);
        await ns.must(`${prefix}/sbin/jk_jailuser -m -n -s /bin/bash -j ${copied} ${COPY_USER}`);
        const entry = (await ns.must(`getent passwd ${BASH_USER}`)).stdout.trim();
        assert.match(
          entry,
          new RegExp(`:${jail}/\\./home/${BASH_USER}:${prefix}/sbin/jk_chrootsh$`),
        );
      });

      const started = await startSshd(dir, ns, [SFTP_USER, BASH_USER, COPY_USER]);
      sshd = started.sshd;
      const { port, opts } = started;
      /** `script` runs through the user's login as one argument of `bash -c`. */
      const ssh = (user: string, script: string): Promise<Out> =>
        sh(`timeout 60 ssh ${opts} -p ${port} ${user}@127.0.0.1 "$JK_SCRIPT"`, {
          env: { JK_SCRIPT: script },
        });
      const home = `${jail}/home/${SFTP_USER}`;
      const payload = `payload ${crypto.randomUUID()}\n`;
      Deno.writeTextFileSync(`${dir}/upload.txt`, payload);

      await step("jk_lsh user: sftp put, get, ls; / is the jail, /usr the host's", async () => {
        const r = await sh(`timeout 60 sftp ${opts} -P ${port} -b - ${SFTP_USER}@127.0.0.1`, {
          stdin: `put ${dir}/upload.txt /home/${SFTP_USER}/up.txt\n` +
            `get /home/${SFTP_USER}/up.txt ${dir}/down.txt\nls -1a /\nls -1 /usr/bin/rsync\n`,
        });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(Deno.readTextFileSync(`${home}/up.txt`), payload);
        assert.equal(Deno.readTextFileSync(`${dir}/down.txt`), payload);
        const listed = r.stdout.split("\n").filter((l) => /^\/[^/]*$/.test(l)).map((l) =>
          l.slice(1)
        ).filter((l) => l !== "." && l !== ".." && l !== "").sort();
        assert.deepEqual(listed, [...Deno.readDirSync(jail)].map((e) => e.name).sort());
        assert.match(r.stdout, /^\/usr\/bin\/rsync$/m, "the host's /usr/bin through the bind");
        assert.deepEqual(
          mountsUnder((await ns.must("cat /proc/self/mountinfo")).stdout, jail),
          [],
          "the session mounted nothing in sshd's namespace",
        );
      });

      await step("jk_lsh user: scp in SFTP mode and legacy -O mode, both ways", async () => {
        for (const [flag, name] of [["", "scp-sftp.txt"], ["-O", "scp-legacy.txt"]]) {
          const r = await sh(
            `timeout 60 scp ${opts} ${flag} -P ${port} ${dir}/upload.txt ` +
              `${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/${name}`,
          );
          assert.equal(r.code, 0, `scp ${flag}: ${r.stderr}`);
          assert.equal(Deno.readTextFileSync(`${home}/${name}`), payload);
          const back = await sh(
            `timeout 60 scp ${opts} ${flag} -P ${port} ` +
              `${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/${name} ${dir}/back-${name}`,
          );
          assert.equal(back.code, 0, `scp ${flag} back: ${back.stderr}`);
          assert.equal(Deno.readTextFileSync(`${dir}/back-${name}`), payload);
        }
      });

      await step("jk_lsh user: rsync push and pull", async () => {
        await rsyncPushPull(dir, `-e "ssh ${opts} -p ${port}"`, SFTP_USER, home);
      });

      await step("bash user: host programs run from the bind; /usr is read-only", async () => {
        const hostId = Deno.statSync("/usr/bin/id");
        const r = await ssh(
          BASH_USER,
          "/usr/bin/id -un; stat -c %i:%d /usr/bin/id; ls /usr/bin/rsync; " +
            "touch /usr/jk-thin-write-test 2>&1; echo touch=$?; " +
            "grep -E '^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /usr ' /proc/self/mountinfo",
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const lines = r.stdout.split("\n");
        assert.equal(lines[0], BASH_USER);
        assert.equal(lines[1].split(":")[0], String(hostId.ino), "the host's own /usr/bin/id");
        assert.equal(lines[2], "/usr/bin/rsync");
        assert.match(lines[3], /Read-only file system/);
        assert.equal(lines[4], "touch=1");
        const usr = parseMountinfo(lines.slice(5).join("\n"));
        assert.equal(usr.length, 1, r.stdout);
        for (const o of ["ro", "nosuid", "nodev"]) assert.ok(usr[0].options.includes(o), o);
        assert.throws(() => Deno.lstatSync("/usr/jk-thin-write-test"), Deno.errors.NotFound);
      });

      await step("bash user: a set-uid root program through the bind gains nothing", async () => {
        Deno.mkdirSync(suidDir, { mode: 0o755 });
        Deno.copyFileSync("/usr/bin/id", `${suidDir}/id`);
        Deno.chownSync(`${suidDir}/id`, 0, 0);
        Deno.chmodSync(`${suidDir}/id`, 0o4755);
        const uid = (await ns.must(`id -u ${BASH_USER}`)).stdout.trim();
        const gid = (await ns.must(`id -g ${BASH_USER}`)).stdout.trim();
        // The fixture works: outside the jail the same user gets euid 0 from it.
        const outside = await ns.must(
          `setpriv --reuid=${uid} --regid=${gid} --clear-groups ${suidDir}/id -u`,
        );
        assert.equal(outside.stdout, "0\n");
        // jk_chrootsh also sets no_new_privs, which alone would keep euid; the bind's own
        // nosuid is checked in the mountinfo of the step before.
        const r = await ssh(BASH_USER, `${suidDir}/id -u; ${suidDir}/id`);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.stdout.split("\n")[0], uid);
        assert.doesNotMatch(r.stdout, /euid=0/);
      });

      await step(
        "attack: out through /proc/1/root, /proc/*/ns, `..` above a bind, or a mount of one's own",
        async () => {
          // A file outside the jail that an escape would reach.
          Deno.writeTextFileSync(`${dir}/outside-marker`, "escaped\n");
          const outside = `../../../../../../../..${dir}/outside-marker`;
          const r = await ssh(
            BASH_USER,
            [
              "readlink /proc/1/root",
              "ls -a /proc/1/root/ | sort | tr '\\n' ' '; echo",
              "ls -a /usr/../ | sort | tr '\\n' ' '; echo",
              "cd /usr/lib/../../.. && pwd -P; cd /",
              `cat /proc/1/root/${outside} /usr/${outside} /proc/self/cwd/${outside} 2>/dev/null`,
              "readlink /proc/[0-9]*/ns/mnt /proc/self/ns/mnt | sort -u | wc -l",
              "for k in mnt:mount pid:pid user:user net:net; do for f in /proc/[0-9]*/ns/${k%:*}; " +
              "do nsenter --${k#*:}=$f true 2>/dev/null && echo SETNS $f; done; done",
              "mount --bind /tmp /usr 2>/dev/null && echo MOUNTED",
              "mount -t proc proc /tmp 2>/dev/null && echo MOUNTED-PROC",
              "echo done",
            ].join("; "),
          );
          assert.equal(r.code, 0, r.stdout + r.stderr);
          const lines = r.stdout.split("\n");
          const inJail = [".", "..", ...Deno.readDirSync(jail).map((e) => e.name)].sort().join(" ");
          assert.equal(lines[0], "/", "the session's PID 1 has the jail as its root");
          assert.equal(lines[1].trim(), inJail, "/proc/1/root is the jail");
          assert.equal(lines[2].trim(), inJail, "/usr/.. is the jail's root, not the host's");
          assert.equal(lines[3], "/");
          assert.equal(lines[4], "1", "one mount namespace among the session's processes");
          assert.deepEqual(lines.slice(5), ["done", ""], r.stdout);
        },
      );
      await step(
        "bash user: only the session's processes in /proc; nothing mounted outside; " +
          "nohup sleep is gone after logout",
        async () => {
          const sleepArgv = thinSleep;
          const alive = `${jail}/home/${BASH_USER}/alive`;
          const go = `${jail}/home/${BASH_USER}/go`;
          const session = ssh(
            BASH_USER,
            `nohup ${sleepArgv.join(" ")} >/dev/null 2>&1 & p=$!; i=0; ` +
              `until grep -q ${tag} /proc/$p/cmdline 2>/dev/null || [ $i -ge 200 ]; ` +
              `do sleep 0.05; i=$((i+1)); done; ps -e -o pid=,comm=; ls /proc | ` +
              `grep -c '^[0-9]*$'; touch ~/alive; i=0; ` +
              `until [ -e ~/go ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done`,
          );
          try {
            await waitFor(
              "the session to start its sleep",
              1200,
              () => readOrUndefined(alive) === undefined ? undefined : true,
            );
            const [pid] = processesWithArgv(sleepArgv);
            assert.ok(pid, "the session's nohup sleep runs");
            const link = (p: string) => Deno.readLinkSync(p);
            assert.notEqual(link(`/proc/${pid}/ns/pid`), link("/proc/self/ns/pid"));
            assert.notEqual(
              link(`/proc/${pid}/ns/mnt`),
              (await ns.must("readlink /proc/self/ns/mnt")).stdout.trim(),
              "the session has its own mount namespace",
            );
            assert.equal(link(`/proc/${pid}/root`), jail);
            const sessionMounts = parseMountinfo(
              Deno.readTextFileSync(`/proc/${pid}/mountinfo`),
            );
            const usr = sessionMounts.filter((m) =>
              m.point === `${jail}/usr` || m.point === "/usr"
            );
            assert.equal(usr.length, 1, JSON.stringify(sessionMounts.map((m) => m.point)));
            const nsMounts = (await ns.must("cat /proc/self/mountinfo")).stdout;
            assert.deepEqual(mountsUnder(nsMounts, jail), [], "sshd's namespace sees no mount");
            assert.deepEqual(
              mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), jail),
              [],
              "the host sees no mount",
            );
          } finally {
            try {
              Deno.writeTextFileSync(go, "");
            } catch { /* the session never got its home: its result says why */ }
          }
          const r = await session;
          assert.equal(r.code, 0, r.stdout + r.stderr);
          const lines = r.stdout.trim().split("\n");
          const procs = lines.slice(0, -1).map((l) => l.trim().split(/\s+/));
          const comms = procs.map((p) => p[1]);
          assert.ok(comms.includes("sleep"), r.stdout);
          assert.ok(comms.includes("ps"), r.stdout);
          assert.ok(!comms.includes("sshd"), r.stdout);
          assert.ok(procs.length <= 6, `only the session's processes: ${r.stdout}`);
          for (const [pid] of procs) assert.ok(Number(pid) < 100, r.stdout);
          assert.ok(Number(lines.at(-1)) <= 6, `/proc lists the session only: ${r.stdout}`);
          assert.deepEqual(processesWithArgv(sleepArgv), [], "nohup sleep ended with the session");
        },
      );

      await step("no_network = 1: no socket connects; 0: it does", async () => {
        const thin = (await thinSection(ns, jail))!;
        // A subshell: a failed redirection of exec may end a non-interactive bash.
        const connect = `(exec 3<>/dev/tcp/127.0.0.1/${port} && head -c 4 <&3 && echo) ` +
          `|| echo refused`;
        await setThinSection(ns, { ...thin, noNetwork: true });
        const off = await ssh(
          BASH_USER,
          `${connect}; curl -sS -m 5 http://127.0.0.1:${port}/ 2>&1; echo curl=$?`,
        );
        assert.equal(off.code, 0, off.stdout + off.stderr);
        assert.match(off.stdout, /^refused$/m);
        assert.doesNotMatch(off.stdout, /SSH-/);
        assert.match(off.stdout, /^curl=7$/m, "curl: could not connect");
        await setThinSection(ns, { ...thin, noNetwork: false });
        const on = await ssh(BASH_USER, connect);
        assert.equal(on.code, 0, on.stdout + on.stderr);
        assert.match(on.stdout, /^SSH-$/m);
      });

      await step("the copied jail's user is unaffected: own /usr, host PID space", async () => {
        const sleepArgv = copiedSleep;
        const r = await ssh(
          COPY_USER,
          `cat /usr/jk-copy-marker; ${sleepArgv.join(" ")} </dev/null >/dev/null 2>&1 & ` +
            `echo $!; ls /usr/bin/rsync 2>&1; exit 0`,
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const lines = r.stdout.split("\n");
        assert.equal(lines[0], "the copied jail's own /usr");
        assert.match(lines[2], /No such file or directory/, "no host /usr in a copied jail");
        const pid = Number(lines[1]);
        // As before thin jails: a copied jail's background process outlives the login.
        await waitFor(
          "the copied jail's sleep",
          200,
          () => processesWithArgv(sleepArgv).includes(pid) ? true : undefined,
        );
        const link = (p: string) => Deno.readLinkSync(p);
        assert.equal(link(`/proc/${pid}/ns/pid`), link("/proc/self/ns/pid"));
        assert.equal(
          link(`/proc/${pid}/ns/mnt`),
          (await ns.must("readlink /proc/self/ns/mnt")).stdout.trim(),
        );
        assert.equal(link(`/proc/${pid}/root`), copied);
      });

      await step(
        "afterwards nothing of the sessions is mounted, here or on the host",
        async () => {
          const nsMounts = (await ns.must("cat /proc/self/mountinfo")).stdout;
          const hostMounts = Deno.readTextFileSync("/proc/self/mountinfo");
          for (const j of [jail, copied]) {
            assert.deepEqual(mountsUnder(nsMounts, j), []);
            assert.deepEqual(mountsUnder(hostMounts, j), []);
          }
          assert.ok(
            hostLog.messages.some((m) => m.includes("jk_chrootsh") && m.includes(BASH_USER)),
            "jk_chrootsh logged the logins",
          );
        },
      );
    } finally {
      for (const pid of [...processesWithArgv(thinSleep), ...processesWithArgv(copiedSleep)]) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await stopSshd(sshd);
      try {
        Deno.removeSync(suidDir, { recursive: true });
      } catch { /* never made */ }
      await hostLog.close();
      await ns.close();
      if (createdRunSshd) Deno.removeSync("/run/sshd");
      cleanup();
    }
    assert.equal(readOrUndefined(THIN_INI), hostThinIni, `the host's ${THIN_INI} is untouched`);
  },
);

/**
 * What one login of the race gave: "thin" (a whole thin session), or the exit code of a clean
 * refusal. Anything else (a crash, a signal, a partial session) fails the test.
 */
function judgeRaceLogin(r: Out, uid: string): "thin" | number {
  const context = `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
  assert.doesNotMatch(r.stderr, /Uncaught|panicked|\n\s+at .*:\d+:\d+/, context);
  if (r.code !== 0) {
    assert.ok(r.code > 0 && r.code < 128, `no signal, no crash: ${context}`);
    return r.code;
  }
  const [mountinfo, rest] = r.stdout.split("---\n");
  const mounts = parseMountinfo(mountinfo);
  const at = (point: string) => mounts.filter((m) => m.point === point);
  assert.equal(at("/usr").length, 1, `/usr bound: ${context}`);
  for (const o of ["ro", "nosuid", "nodev"]) assert.ok(at("/usr")[0].options.includes(o), o);
  assert.deepEqual(at("/tmp").map((m) => m.fsType), ["tmpfs"], context);
  assert.deepEqual(at("/proc").map((m) => m.fsType), ["proc"], context);
  const [procs, id] = rest.trim().split("\n");
  assert.ok(Number(procs) <= 5, `only the session in /proc: ${context}`);
  assert.equal(id, uid, context);
  return "thin";
}

rootTest(
  "logins racing jk_init --thin: each is refused with an exit code or is a whole thin " +
    "session, and no mount reaches the host",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("thin-race");
    const hostLog = syslogListener(`${dir}/hostlog.sock`);
    const ns = await TestNamespace.create(dir, { devLog: `${dir}/hostlog.sock` });
    await ns.must(SHARED_AS_SYSTEMD);
    const prefix = `${dir}/usr`;
    const jail = `${dir}/thin`;
    const user = "jkrace";
    const hostThinIni = readOrUndefined(THIN_INI);
    const stop = `${dir}/stop-watching`;
    const watchers: Deno.ChildProcess[] = [];
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!(await t.step(name, fn))) throw new Error(`step failed: ${name}`);
    };
    try {
      await step("install, a user whose home is in the jail to be", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
        const base = freeIdBase();
        await ns.must(
          `groupadd -g ${base} ${GROUP} && useradd -M -u ${base} -g ${GROUP} ` +
            `-d ${jail}/./home/${user} -s ${prefix}/sbin/jk_chrootsh ${user}`,
        );
      });
      const uid = (await ns.must(`id -u ${user}`)).stdout.trim();
      const nsThinIni = await thinIniText(ns);
      // Every mount under the jail that shows in sshd's namespace or on the host, as it
      // happens: the watchers read mountinfo until told to stop.
      const watch = `while [ ! -e ${stop} ]; do grep -F ' ${jail}' /proc/self/mountinfo; ` +
        `sleep 0.02; done; exit 0`;
      watchers.push(ns.spawn(["/bin/sh", "-c", watch]));
      watchers.push(
        new Deno.Command("/bin/sh", { args: ["-c", watch], stdout: "piped", stderr: "piped" })
          .spawn(),
      );
      const login = () =>
        ns.sh(
          `cd / && exec setpriv --reuid=${uid} --regid=${uid} --init-groups env -i ` +
            `USER=${user} ${prefix}/sbin/jk_chrootsh -c "$JK_SCRIPT"`,
          {
            env: {
              JK_SCRIPT: "cat /proc/self/mountinfo; echo ---; ls /proc | grep -c '^[0-9]*$'; " +
                "/usr/bin/id -u",
            },
          },
        );
      const outcomes = new Map<string | number, number>();
      for (let round = 1; round <= 4; round++) {
        await step(`round ${round}: logins while jk_init --thin builds the jail`, async () => {
          await ns.must(`rm -rf ${jail}`);
          if (nsThinIni === undefined) await ns.must(`rm -f ${THIN_INI}`);
          else await writeThinIni(ns, nsThinIni);
          // The account's home and passwd line are there before jk_init starts, so that
          // logins get as far as the jail allows at each moment.
          Deno.mkdirSync(`${jail}/home/${user}`, { recursive: true, mode: 0o755 });
          Deno.chownSync(`${jail}/home/${user}`, Number(uid), Number(uid));
          Deno.mkdirSync(`${jail}/etc`, { mode: 0o755 });
          Deno.writeTextFileSync(
            `${jail}/etc/passwd`,
            `${user}:x:${uid}:${uid}::/home/${user}:/bin/bash\n`,
          );
          Deno.writeTextFileSync(`${jail}/etc/group`, `${GROUP}:x:${uid}:\n`);
          let built = false;
          const build = ns.sh(
            `${prefix}/sbin/jk_init --thin -j ${jail} jk_lsh sftp scp rsync basicshell`,
          ).finally(() => built = true);
          let during = 0;
          // Two login loops, the second a little later, so that logins start at many moments
          // of the build.
          const loop = async (delayMs: number) => {
            await new Promise((r) => setTimeout(r, delayMs));
            while (!built) {
              const outcome = judgeRaceLogin(await login(), uid);
              outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
              during++;
            }
          };
          await Promise.all([loop(0), loop(100 * round)]);
          const b = await build;
          assert.equal(b.code, 0, b.stdout + b.stderr);
          assert.ok(during > 0, "at least one login ran while jk_init built the jail");
          assert.equal(judgeRaceLogin(await login(), uid), "thin", "the finished jail");
        });
      }
      await step("jk_init --thin -f again on the finished jail: every login is thin", async () => {
        let built = false;
        const build = ns.sh(
          `${prefix}/sbin/jk_init --thin -f -j ${jail} jk_lsh sftp scp rsync basicshell`,
        ).finally(() => built = true);
        const loop = async () => {
          do {
            assert.equal(judgeRaceLogin(await login(), uid), "thin");
            outcomes.set("thin", (outcomes.get("thin") ?? 0) + 1);
          } while (!built);
        };
        await Promise.all([loop(), loop()]);
        const b = await build;
        assert.equal(b.code, 0, b.stdout + b.stderr);
      });
      await step("no mount showed outside the sessions; jk_thin.ini restored", async () => {
        Deno.writeTextFileSync(stop, "");
        const seen = await Promise.all(watchers.map((w) => w.output()));
        for (const out of seen) {
          assert.equal(out.code, 0);
          assert.equal(new TextDecoder().decode(out.stdout), "", "a session mount leaked");
        }
        assert.deepEqual(
          mountsUnder((await ns.must("cat /proc/self/mountinfo")).stdout, jail),
          [],
        );
        assert.deepEqual(mountsUnder(Deno.readTextFileSync("/proc/self/mountinfo"), jail), []);
        if (nsThinIni === undefined) await ns.must(`rm -f ${THIN_INI}`);
        else await writeThinIni(ns, nsThinIni);
        assert.equal(await thinIniText(ns), nsThinIni);
        console.log(
          `logins racing jk_init --thin: ${
            [...outcomes].map(([k, n]) => `${n} × ${k === "thin" ? "thin session" : `exit ${k}`}`)
              .join(", ")
          }`,
        );
      });
    } finally {
      Deno.writeTextFileSync(stop, "");
      for (const w of watchers) {
        try {
          await w.output();
        } catch { /* already collected */ }
      }
      await hostLog.close();
      await ns.close();
      cleanup();
    }
    assert.equal(readOrUndefined(THIN_INI), hostThinIni, `the host's ${THIN_INI} is untouched`);
  },
);
