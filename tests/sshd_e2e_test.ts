/**
 * The login path end to end, through a real OpenSSH sshd on 127.0.0.1: `deno task install`
 * into a test prefix, `jk_init … jk_lsh sftp scp rsync`, `jk_jailuser -m -n`, then sftp, scp
 * (SFTP and legacy -O), rsync, refusals, and an interactive bash user.
 *
 * Everything runs in a private mount namespace (tests/namespace.ts) whose /etc and /dev are
 * overlays and whose /home is a test directory: users, /etc/jailkit and /dev/log never touch
 * the host. sshd runs in that namespace with its own config and host key, key-only auth.
 */
import assert from "node:assert/strict";
import { DENO, REPO_ROOT, rootTest, safeTestRoot } from "./helpers.ts";
import { must, sh, syslogListener, TestNamespace } from "./namespace.ts";
import { freePort, sshdConfig, waitForPort } from "./sshd.ts";

const SFTP_USER = "jksftp";
const BASH_USER = "jkbash";
const GROUP = "jksshg";

rootTest(
  "login path through a real sshd: sftp, scp, rsync work; everything else is refused",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("sshd");
    const hostLog = syslogListener(`${dir}/hostlog.sock`);
    const ns = await TestNamespace.create(dir, { devLog: `${dir}/hostlog.sock` });
    const prefix = `${dir}/usr`;
    const jail = `${dir}/jail`;
    let sshd: Deno.ChildProcess | undefined;
    let jailLog: ReturnType<typeof syslogListener> | undefined;
    const createdRunSshd = (() => {
      try {
        Deno.statSync("/run/sshd");
        return false;
      } catch {
        Deno.mkdirSync("/run/sshd", { mode: 0o755 });
        return true;
      }
    })();
    try {
      Deno.mkdirSync(`${dir}/home`, { mode: 0o755 });
      await ns.must(`mount --bind ${dir}/home /home`);

      await t.step("install into a test prefix and build the jail", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
        const st = Deno.statSync(`${prefix}/sbin/jk_chrootsh`);
        assert.equal((st.mode ?? 0) & 0o7777, 0o4755);
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

      const port = freePort();
      Deno.mkdirSync(`${dir}/ssh/keys`, { recursive: true, mode: 0o755 });
      await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/host_ed25519`);
      await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/id_ed25519`);
      const pub = Deno.readTextFileSync(`${dir}/ssh/id_ed25519.pub`);
      for (const u of [SFTP_USER, BASH_USER]) Deno.writeTextFileSync(`${dir}/ssh/keys/${u}`, pub);
      Deno.writeTextFileSync(`${dir}/ssh/sshd_config`, sshdConfig(dir, port));
      await must(`/usr/sbin/sshd -t -f ${dir}/ssh/sshd_config`);
      sshd = ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/ssh/sshd_config`]);
      await waitForPort(port, sshd);

      const opts = `-i ${dir}/ssh/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes ` +
        `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
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
        Deno.mkdirSync(`${dir}/rsrc/sub`, { recursive: true });
        Deno.writeTextFileSync(`${dir}/rsrc/a.txt`, "a\n");
        Deno.writeTextFileSync(`${dir}/rsrc/sub/b.txt`, "b\n");
        const e = `-e "ssh ${opts} -p ${port}"`;
        const push = await sh(
          `timeout 60 rsync -a ${e} ${dir}/rsrc/ ${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/rdst/`,
        );
        assert.equal(push.code, 0, push.stderr);
        assert.equal(Deno.readTextFileSync(`${home}/rdst/sub/b.txt`), "b\n");
        const pull = await sh(
          `timeout 60 rsync -a ${e} ${SFTP_USER}@127.0.0.1:/home/${SFTP_USER}/rdst/ ${dir}/rback/`,
        );
        assert.equal(pull.code, 0, pull.stderr);
        assert.equal(Deno.readTextFileSync(`${dir}/rback/a.txt`), "a\n");
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
        const sessions = hostLog.messages.filter((m) => /jk_lsh\[\d+\]: jk_lsh .* started/.test(m));
        assert.ok(sessions.length > 0, "jk_lsh sessions logged");
        for (const m of sessions) {
          const pid = m.match(/jk_lsh\[(\d+)\]/)![1];
          assert.ok(
            hostLog.messages.some((h) => h.includes(`jk_chrootsh[${pid}]`)),
            `jk_lsh ran in the jk_chrootsh process ${pid}`,
          );
        }
        const all = [...hostLog.messages, ...jailLog!.messages.slice(before)];
        const refusals = all.filter((m) =>
          m.includes("jk_lsh") && m.includes(`user ${SFTP_USER} `) && m.includes("tried")
        );
        assert.ok(
          refusals.length >= 5,
          `refusals logged: ${JSON.stringify(jailLog!.messages.slice(before))}`,
        );
        assert.ok(
          hostLog.messages.some((m) => m.includes("jk_chrootsh") && m.includes(SFTP_USER)),
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
      if (sshd) {
        try {
          sshd.kill();
        } catch { /* already gone */ }
        await sshd.output();
      }
      await jailLog?.close();
      await hostLog.close();
      await ns.close();
      if (createdRunSshd) Deno.removeSync("/run/sshd");
      cleanup();
    }
  },
);

rootTest(
  "sshd ChrootDirectory with jk_lsh as the in-jail shell: works with [jk_lsh_standalone], says so without",
  async (t) => {
    const { dir, cleanup } = safeTestRoot("sshd-chroot");
    const ns = await TestNamespace.create(dir);
    const prefix = `${dir}/usr`;
    let sshd: Deno.ChildProcess | undefined;
    const createdRunSshd = (() => {
      try {
        Deno.statSync("/run/sshd");
        return false;
      } catch {
        Deno.mkdirSync("/run/sshd", { mode: 0o755 });
        return true;
      }
    })();
    // jail, section, user: sshd chroots these users itself and starts their shell, jk_lsh.
    const setups = [
      { jail: `${dir}/standalone`, section: "jk_lsh_standalone", user: "jkstand" },
      { jail: `${dir}/small`, section: "jk_lsh", user: "jksmall" },
    ];
    try {
      await t.step("install, the two jails, users whose shell is jk_lsh", async () => {
        await ns.must(`cd ${REPO_ROOT} && ${DENO} run -A tools/install.ts --prefix ${prefix}`);
        await ns.must(`groupadd ${GROUP}`);
        for (const { jail, section, user } of setups) {
          await ns.must(`${prefix}/sbin/jk_init -j ${jail} ${section}`);
          await ns.must(`${prefix}/sbin/jk_cp -j ${jail} /usr/bin/id`);
          await ns.must(
            `useradd -M -d /home/${user} -g ${GROUP} -s ${prefix}/sbin/jk_lsh ${user} && ` +
              `usermod -p '*' ${user} && mkdir -p ${jail}/home/${user} && ` +
              `chown ${user}:${GROUP} ${jail}/home/${user} && ` +
              `grep -h '^${user}:' /etc/passwd >> ${jail}/etc/passwd && ` +
              `grep -h '^${GROUP}:' /etc/group >> ${jail}/etc/group`,
          );
          Deno.writeTextFileSync(
            `${jail}/etc/jailkit/jk_lsh.ini`,
            `[group ${GROUP}]\nexecutables = /usr/bin/id\npaths = /usr/bin\n`,
          );
        }
        assert.ok(Deno.statSync(`${setups[0].jail}${prefix}/lib/jailkit/deno`).isFile);
        // need_proc: the runtime reads /proc/self/exe at start (mounted in the namespace).
        await ns.must(`test -d ${setups[0].jail}/proc/self`);
      });

      const port = freePort();
      Deno.mkdirSync(`${dir}/ssh/keys`, { recursive: true, mode: 0o755 });
      await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/host_ed25519`);
      await must(`ssh-keygen -q -t ed25519 -N '' -f ${dir}/ssh/id_ed25519`);
      const pub = Deno.readTextFileSync(`${dir}/ssh/id_ed25519.pub`);
      const match = setups.map(({ jail, user }) =>
        `Match User ${user}\n  ChrootDirectory ${jail}\n  DisableForwarding yes\n`
      );
      for (const { user } of setups) Deno.writeTextFileSync(`${dir}/ssh/keys/${user}`, pub);
      Deno.writeTextFileSync(`${dir}/ssh/sshd_config`, sshdConfig(dir, port) + match.join(""));
      await must(`/usr/sbin/sshd -t -f ${dir}/ssh/sshd_config`);
      sshd = ns.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/ssh/sshd_config`]);
      await waitForPort(port, sshd);
      const opts = `-i ${dir}/ssh/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes ` +
        `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
      const ssh = (user: string, cmd: string) =>
        sh(`timeout 60 ssh ${opts} -p ${port} ${user}@127.0.0.1 ${cmd}`);

      await t.step(
        "[jk_lsh_standalone]: jk_lsh runs inside the jail and applies jk_lsh.ini",
        async () => {
          const uid = (await ns.must("id -u jkstand")).stdout.trim();
          const ok = await ssh("jkstand", "'id -u'");
          assert.equal(ok.code, 0, ok.stderr);
          assert.equal(ok.stdout, `${uid}\n`);
          const refused = await ssh("jkstand", "'cat /etc/passwd'");
          assert.equal(refused.code, 4, refused.stderr);
          assert.equal(refused.stdout, "");
        },
      );

      await t.step("[jk_lsh] alone: the entry names jk_lsh_standalone and fails", async () => {
        const r = await ssh("jksmall", "'id -u'");
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /no jailkit-deno runtime.*jk_init -j JAIL jk_lsh_standalone/);
      });
    } finally {
      if (sshd) {
        try {
          sshd.kill();
        } catch { /* already gone */ }
        await sshd.output();
      }
      await ns.close();
      if (createdRunSshd) Deno.removeSync("/run/sshd");
      cleanup();
    }
  },
);
