/**
 * A real OpenSSH sshd for the login tests: a free port on 127.0.0.1, a key-only configuration
 * whose host key, pid file and authorized keys live in the test's DIR/ssh, and a wait for the
 * listener. Run it in a tests/namespace.ts namespace so that its users never touch the host.
 * loginScenario is the login path end to end against an installation, shared by
 * tests/sshd_e2e_test.ts (a test prefix) and tests/deb_test.ts (the installed package's /usr).
 */
import assert from "node:assert/strict";
import { must, sh, syslogListener, type TestNamespace } from "./namespace.ts";

export function freePort(): number {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
      return port;
    } catch { /* in use: try another */ }
  }
  throw new Error("no free port");
}

export async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  const out = await child.output();
  throw new Error(`sshd did not start: ${new TextDecoder().decode(out.stderr)}`);
}

export function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/ssh/host_ed25519`,
    `PidFile ${dir}/ssh/sshd.pid`,
    `AuthorizedKeysFile ${dir}/ssh/keys/%u`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "PermitRootLogin no",
    "StrictModes yes",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PrintMotd no",
    // jailkit needs the external sftp-server: internal-sftp would bypass the login shell.
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}

/** Makes /run/sshd, sshd's privilege-separation directory, when missing: true when it made it. */
export function createRunSshd(): boolean {
  try {
    Deno.statSync("/run/sshd");
    return false;
  } catch {
    Deno.mkdirSync("/run/sshd", { mode: 0o755 });
    return true;
  }
}

/** An sshd that startSshd started, and the ssh/scp/sftp options that log in to it. */
export interface RunningSshd {
  port: number;
  sshd: Deno.ChildProcess;
  opts: string;
}

/**
 * A host key and a client key in DIR/ssh, the client key authorized for `users`, sshdConfig
 * plus `extraConfig` (checked with `sshd -t`), and sshd started in `ns` and listening.
 */
export async function startSshd(
  dir: string,
  ns: TestNamespace,
  users: readonly string[],
  extraConfig = "",
): Promise<RunningSshd> {
  const port = freePort();
  Deno.mkdirSync(`${dir}/ssh/keys`, { recursive: true, mode: 0o755 });
  await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/host_ed25519`);
  await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/id_ed25519`);
  const pub = Deno.readTextFileSync(`${dir}/ssh/id_ed25519.pub`);
  for (const u of users) Deno.writeTextFileSync(`${dir}/ssh/keys/${u}`, pub);
  Deno.writeTextFileSync(`${dir}/ssh/sshd_config`, sshdConfig(dir, port) + extraConfig);
  await must(`/usr/sbin/sshd -t -f ${dir}/ssh/sshd_config`);
  const sshd = ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/ssh/sshd_config`]);
  await waitForPort(port, sshd);
  const opts = `-i ${dir}/ssh/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes ` +
    `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  return { port, sshd, opts };
}

/** Stops an sshd from startSshd, if there is one, and waits for it. */
export async function stopSshd(sshd: Deno.ChildProcess | undefined): Promise<void> {
  if (!sshd) return;
  try {
    sshd.kill();
  } catch { /* already gone */ }
  await sshd.output();
}

/**
 * `rsync -a` of a small tree from DIR/rsrc to USER's jailed home `home` (its rdst/) and back to
 * DIR/rback, through sshd with the ssh options `rsh` (rsync's `-e "ssh …"`).
 */
export async function rsyncPushPull(
  dir: string,
  rsh: string,
  user: string,
  home: string,
): Promise<void> {
  Deno.mkdirSync(`${dir}/rsrc/sub`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/rsrc/a.txt`, "a\n");
  Deno.writeTextFileSync(`${dir}/rsrc/sub/b.txt`, "b\n");
  const push = await sh(
    `timeout 60 rsync -a ${rsh} ${dir}/rsrc/ ${user}@127.0.0.1:/home/${user}/rdst/`,
  );
  assert.equal(push.code, 0, push.stderr);
  assert.equal(Deno.readTextFileSync(`${home}/rdst/sub/b.txt`), "b\n");
  const pull = await sh(
    `timeout 60 rsync -a ${rsh} ${user}@127.0.0.1:/home/${user}/rdst/ ${dir}/rback/`,
  );
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(Deno.readTextFileSync(`${dir}/rback/a.txt`), "a\n");
}

const SFTP_USER = "jksftp";
const BASH_USER = "jkbash";
const GROUP = "jksshg";

/** Where loginScenario runs. */
export interface LoginSetup {
  /**
   * A root-owned 0755 directory, at the same path on the host and in `ns`: the jail, sshd's
   * files and the transferred files go there. `${dir}/home` is /home in `ns`.
   */
  dir: string;
  /** A namespace with private /etc and /home (tests/namespace.ts). */
  ns: TestNamespace;
  /** The installation under test: `${prefix}/sbin` holds jk_init, jk_jailuser, jk_chrootsh. */
  prefix: string;
  /** Listens on the socket that is /dev/log in `ns`. */
  hostLog: ReturnType<typeof syslogListener>;
}

/**
 * `jk_init -k … jk_lsh sftp scp rsync basicshell`, `jk_jailuser -m -n` for an sftp-only user
 * and a bash user, then through a real sshd: sftp, scp (SFTP and legacy -O), rsync, the
 * refusals of jk_lsh, and the bash user's shell, which sees only the jail.
 */
export async function loginScenario(t: Deno.TestContext, setup: LoginSetup): Promise<void> {
  const { dir, ns, prefix } = setup;
  // What the scenario's own logins logged (the caller may have run the tools before).
  const since = setup.hostLog.messages.length;
  const hostMessages = () => setup.hostLog.messages.slice(since);
  const jail = `${dir}/jail`;
  let sshd: Deno.ChildProcess | undefined;
  let jailLog: ReturnType<typeof syslogListener> | undefined;
  const createdRunSshd = createRunSshd();
  try {
    await t.step("build the jail with jk_init", async () => {
      await ns.must(`${prefix}/sbin/jk_init -k -j ${jail} jk_lsh sftp scp rsync basicshell`);
      assert.ok(
        Deno.statSync(`${jail}${prefix}/sbin/jk_lsh`).isFile,
        "jk_lsh's launcher in the jail",
      );
      assert.throws(
        () => Deno.lstatSync(`${jail}${prefix}/lib/jailkit`),
        Deno.errors.NotFound,
        "no runtime in the jail: jk_chrootsh runs jk_lsh from the host's installation",
      );
      Deno.writeTextFileSync(
        `${jail}/etc/jailkit/jk_lsh.ini`,
        `[group ${GROUP}]\nexecutables = /usr/lib/openssh/sftp-server, /usr/bin/scp, /usr/bin/rsync\n` +
          `paths = /usr/lib/openssh, /usr/bin\numask = 022\n`,
      );
      jailLog = syslogListener(`${jail}/dev/log`);
    });

    await t.step("create users and jail them with jk_jailuser -m -n", async () => {
      await ns.must(`groupadd ${GROUP}`);
      for (const u of [SFTP_USER, BASH_USER]) {
        await ns.must(
          `useradd -m -d /home/${u} -g ${GROUP} -s /bin/bash ${u} && usermod -p '*' ${u}`,
        );
      }
      await ns.must(`echo before-move > /home/${SFTP_USER}/notes.txt`);
      await ns.must(`${prefix}/sbin/jk_jailuser -m -n -j ${jail} ${SFTP_USER}`);
      await ns.must(`${prefix}/sbin/jk_jailuser -m -n -s /bin/bash -j ${jail} ${BASH_USER}`);
      const entry = (await ns.must(`getent passwd ${SFTP_USER}`)).stdout.trim();
      assert.match(
        entry,
        new RegExp(`:${jail}/\\./home/${SFTP_USER}:${prefix}/sbin/jk_chrootsh$`),
      );
      assert.equal(Deno.readTextFileSync(`${jail}/home/${SFTP_USER}/notes.txt`), "before-move\n");
      const jailPasswd = Deno.readTextFileSync(`${jail}/etc/passwd`);
      assert.match(
        jailPasswd,
        new RegExp(
          `^${SFTP_USER}:x:\\d+:\\d+:[^:]*:/home/${SFTP_USER}:${prefix}/sbin/jk_lsh$`,
          "m",
        ),
      );
      assert.match(
        jailPasswd,
        new RegExp(`^${BASH_USER}:x:\\d+:\\d+:[^:]*:/home/${BASH_USER}:/bin/bash$`, "m"),
      );
    });

    const started = await startSshd(dir, ns, [SFTP_USER, BASH_USER]);
    sshd = started.sshd;
    const { port, opts } = started;
    const ssh = (user: string, cmd: string, extra = "") =>
      sh(`timeout 60 ssh ${opts} ${extra} -p ${port} ${user}@127.0.0.1 ${cmd}`);
    const home = `${jail}/home/${SFTP_USER}`;
    const payload = `payload ${crypto.randomUUID()}\n`;
    Deno.writeTextFileSync(`${dir}/upload.txt`, payload);

    await t.step("sftp put, get and ls work; / is the jail", async () => {
      const r = await sh(`timeout 60 sftp ${opts} -P ${port} -b - ${SFTP_USER}@127.0.0.1`, {
        stdin: `put ${dir}/upload.txt /home/${SFTP_USER}/up.txt\n` +
          `get /home/${SFTP_USER}/up.txt ${dir}/down.txt\nls -1a /\n`,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(Deno.readTextFileSync(`${home}/up.txt`), payload);
      assert.equal(Deno.readTextFileSync(`${dir}/down.txt`), payload);
      const st = Deno.statSync(`${home}/up.txt`);
      assert.equal((st.mode ?? 0) & 0o022, 0, "umask 022 from jk_lsh.ini");
      const listed = r.stdout.split("\n").filter((l) => l.startsWith("/")).map((l) => l.slice(1))
        .filter((l) => l !== "." && l !== "..").sort();
      const inJail = [...Deno.readDirSync(jail)].map((e) => e.name).sort();
      assert.deepEqual(listed, inJail);
    });

    await t.step("scp in SFTP mode and legacy -O mode", async () => {
      for (const [flag, name] of [["", "scp-sftp.txt"], ["-O", "scp-legacy.txt"]]) {
        const r = await sh(
          `timeout 60 scp ${opts} ${flag} -P ${port} ${dir}/upload.txt ${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/${name}`,
        );
        assert.equal(r.code, 0, `scp ${flag}: ${r.stderr}`);
        assert.equal(Deno.readTextFileSync(`${home}/${name}`), payload);
      }
      const back = await sh(
        `timeout 60 scp ${opts} -O -P ${port} ${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/scp-legacy.txt ${dir}/scp-back.txt`,
      );
      assert.equal(back.code, 0, back.stderr);
      assert.equal(Deno.readTextFileSync(`${dir}/scp-back.txt`), payload);
    });

    await t.step("rsync push and pull", async () => {
      const e = `-e "ssh ${opts} -p ${port}"`;
      await rsyncPushPull(dir, e, SFTP_USER, home);
      const attack = await sh(
        `timeout 60 rsync -a ${e} --rsync-path="sh -c 'touch /home/${SFTP_USER}/pwned'" ${dir}/rsrc/ ${SFTP_USER}@127.0.0.1:x/`,
      );
      assert.notEqual(attack.code, 0);
      assert.throws(() => Deno.statSync(`${home}/pwned`), Deno.errors.NotFound);
    });

    await t.step("commands, shells and interactive logins are refused and logged", async () => {
      const before = jailLog!.messages.length;
      for (const cmd of ["ls /", "/bin/sh", "'cat /etc/shadow'", "'bash -i'"]) {
        const r = await ssh(SFTP_USER, cmd);
        assert.notEqual(r.code, 0, `${cmd} ran: ${r.stdout}`);
        assert.equal(r.stdout, "", `${cmd} printed ${r.stdout}`);
      }
      const tty = await sh(`timeout 60 ssh ${opts} -tt -p ${port} ${SFTP_USER}@127.0.0.1`, {
        stdin: "id\nexit\n",
      });
      assert.equal(tty.code, 7, `interactive login: ${tty.stdout}${tty.stderr}`);
      assert.doesNotMatch(tty.stdout, /uid=\d+/);
      await new Promise((r) => setTimeout(r, 300));
      // jk_chrootsh runs the jk_lsh session itself (same process, host /dev/log) when the
      // in-jail shell is jailkit-deno's jk_lsh entry.
      const sessions = hostMessages().filter((m) => /jk_lsh\[\d+\]: jk_lsh .* started/.test(m));
      assert.ok(sessions.length > 0, "jk_lsh sessions logged");
      for (const m of sessions) {
        const pid = m.match(/jk_lsh\[(\d+)\]/)![1];
        assert.ok(
          hostMessages().some((h) => h.includes(`jk_chrootsh[${pid}]`)),
          `jk_lsh ran in the jk_chrootsh process ${pid}`,
        );
      }
      const all = [...hostMessages(), ...jailLog!.messages.slice(before)];
      const refusals = all.filter((m) =>
        m.includes("jk_lsh") && m.includes(`user ${SFTP_USER} `) && m.includes("tried")
      );
      assert.ok(
        refusals.length >= 5,
        `refusals logged: ${JSON.stringify(jailLog!.messages.slice(before))}`,
      );
      assert.ok(
        hostMessages().some((m) => m.includes("jk_chrootsh") && m.includes(SFTP_USER)),
        "jk_chrootsh logged the logins to the host's /dev/log",
      );
    });

    await t.step("an interactive bash user sees only the jail", async () => {
      const r = await ssh(
        BASH_USER,
        `'echo hi; echo $USER; ls -a /; cat /etc/shadow 2>&1; echo $HOME'`,
      );
      assert.equal(r.code === 0 || r.code === 1, true, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines[0], "hi");
      assert.equal(lines[1], BASH_USER);
      const listed = lines.slice(2, -2).filter((l) => l !== "." && l !== "..").sort();
      assert.deepEqual(listed, [...Deno.readDirSync(jail)].map((e) => e.name).sort());
      assert.match(lines[lines.length - 2], /No such file or directory/);
      assert.equal(lines[lines.length - 1], `/home/${BASH_USER}`);
      const tty = await sh(`timeout 60 ssh ${opts} -tt -p ${port} ${BASH_USER}@127.0.0.1`, {
        stdin: "echo marker-$((6*7))\nexit\n",
      });
      assert.match(tty.stdout, /marker-42/, tty.stdout + tty.stderr);
    });
  } finally {
    await stopSshd(sshd);
    await jailLog?.close();
    if (createdRunSshd) Deno.removeSync("/run/sshd");
  }
}
